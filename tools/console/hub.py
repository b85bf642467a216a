# Between the one serial link and any number of browsers: keeps the last 5 minutes of rows for
# the trends (so a page opened late, or reloaded, shows the same as every other), relays each
# row, a status beat five times a second (a page that hears nothing shows NO DATA), the rig's
# slower state (limits, log, pause), and carries commands back. It holds the rig's picture only
# as the rig reported it; no setpoint or alarm is made up here.
import asyncio
import collections
import hmac
import json
import time

from tools.console import commands as C

TREND_S = 300.0
STALE_S = 0.5            # no row for this long: the link is not live (rows come at 10 Hz;
                         # slower rates get three row periods, see stale_s())
BEAT_S = 0.2
STATE_EVERY_S = 0.5
STATE_SLOWEST_S = 3.0
REOPEN_S = 1.0
ROWS_AGAIN_S = 3.0       # no row this long with the link up: ask for telemetry again
TREND_COLUMNS = ("flow_lpm", "rpm", "p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg", "sweep_lpm")


def _num(v):
    try:
        return float(v) if v not in (None, "") else None
    except ValueError:
        return None


class Hub:
    def __init__(self, link, token=None, sim=False, info=None):
        self.link = link
        self.token = token            # None: control needs no token (served on loopback only)
        self.sim = sim
        self.info = dict(info or {})
        self.clients = set()
        self.trend = collections.deque()      # (t, values...) per row
        self.events = collections.deque()     # (t, text)
        self._prev = None                     # last row, for state/alarm change events
        self._tasks = []
        link.on_change = self._changed
        self._state_due = False

    # ---- lifecycle ----
    async def start(self):
        self._open()
        self._tasks = [asyncio.create_task(self._beat()), asyncio.create_task(self._poll())]

    async def stop(self):
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self.link.stop()

    def _open(self):
        try:
            self.link.open()
        except (Exception, SystemExit) as e:   # missing or busy port (ports.py says which): shown, retried
            self.link.error = str(e)
            self.link.ser = None

    # ---- from the link ----
    def _changed(self, kind):
        if kind == "row":
            self._row(self.link.last_row)
        elif kind == "state":
            self._send_all(self._state_msg())
        elif kind == "link":
            self._event("link lost: %s" % self.link.error)
            self._send_all(self._beat_msg())

    def _row(self, row):
        t = time.time()
        self.trend.append((t,) + tuple(_num(row.get(k)) for k in TREND_COLUMNS))
        while self.trend and self.trend[0][0] < t - TREND_S:
            self.trend.popleft()
        p = self._prev
        if p is None or p.get("state") != row.get("state"):
            self._event("state %s" % row.get("state"), t)
        old = set((p.get("alarms") or "").split("|")) - {""} if p else set()
        new = set((row.get("alarms") or "").split("|")) - {""}
        for a in sorted(new - old):
            self._event("alarm %s" % a, t)
        for a in sorted(old - new):
            self._event("%s cleared" % a, t)
        self._prev = row
        self._send_all({"type": "row", "t": t, "row": row})

    def note(self, text):
        # an event from the console itself (a played scenario step), marked on the trends
        self._event(text)

    def _event(self, text, t=None):
        t = time.time() if t is None else t
        self.events.append((t, text))
        while self.events and self.events[0][0] < t - TREND_S:
            self.events.popleft()
        self._send_all({"type": "event", "t": t, "text": text})

    # ---- to the browsers ----
    def fresh(self):
        lk = self.link
        return lk.connected() and lk.last_row_t is not None and \
            time.monotonic() - lk.last_row_t < self.stale_s()

    def stale_s(self):
        return max(STALE_S, 3.0 / self.link.rate) if self.link.rate > 0 else STALE_S

    def _beat_msg(self):
        lk = self.link
        age = None if lk.last_row_t is None else time.monotonic() - lk.last_row_t
        return {"type": "beat", "fresh": self.fresh(), "connected": lk.connected(),
                "age_s": age, "error": lk.error, "rows": lk.rows}

    def _state_msg(self):
        lk = self.link
        age = None if lk.state_t is None else time.monotonic() - lk.state_t
        return {"type": "state", "state": lk.state, "age_s": age, "priorities": lk.priorities,
                "error": lk.state_error}

    def hello(self):
        return {"type": "hello", "sim": self.sim, "token_needed": self.token is not None,
                "stale_s": self.stale_s(),
                "info": self.info, "trend_columns": TREND_COLUMNS, "trend_s": TREND_S,
                "trend": list(self.trend), "events": list(self.events),
                "row": self.link.last_row if self.fresh() else None,
                "header": self.link.reader.header}

    def _send_all(self, msg):
        text = json.dumps(msg)
        for ws in list(self.clients):
            ws.queue_text(text)

    async def _beat(self):
        while True:
            await asyncio.sleep(BEAT_S)
            self._send_all(self._beat_msg())

    async def _poll(self):
        # the slower state, and reopening a link that went away (a board unplugged and back)
        reopen_at = 0.0
        rows_asked = 0.0
        while True:
            # a rig slow to answer (an emulated chip) is asked less often: the REPL shares
            # its CPU with the control tick
            await asyncio.sleep(min(STATE_SLOWEST_S, max(STATE_EVERY_S, 4 * self.link.state_cost_s)))
            lk = self.link
            now = time.monotonic()
            if lk.connected():
                quiet = lk.last_row_t is None or now - lk.last_row_t > ROWS_AGAIN_S
                if quiet and now - max(rows_asked, lk.installed_t or 0) > ROWS_AGAIN_S:
                    rows_asked = now
                    lk.resume_rows()
                await lk.refresh()
            elif now >= reopen_at:
                reopen_at = time.monotonic() + REOPEN_S
                self._open()

    # ---- from the browsers ----
    def allowed(self, token):
        if self.token is None:
            return True
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.token.encode())

    async def command(self, msg):
        # one control request from a page -> the reply it shows
        rid = msg.get("id")
        action = msg.get("action")
        if not self.allowed(msg.get("token")):
            return {"type": "reply", "id": rid, "ok": False, "action": action,
                    "message": "refused: this console serves beyond this machine, so control "
                               "needs its token (printed when the console started)"}
        try:
            expr = C.expression(action, msg.get("args") or {}, self.sim)
        except C.Refused as e:
            return {"type": "reply", "id": rid, "ok": False, "action": action, "message": str(e)}
        ok, value = await self.link.call(expr)
        args = msg.get("args") or {}
        text = "%s(%s)" % (action, ", ".join("%s=%s" % (k, json.dumps(args[k])) for k in sorted(args)))
        self._event("%s %s" % (text, "done" if ok else "refused"))
        await self.link.refresh()       # the page sees what the command did, from the rig
        if ok:
            return {"type": "reply", "id": rid, "ok": True, "action": action,
                    "message": "%s: done" % text, "value": value}
        return {"type": "reply", "id": rid, "ok": False, "action": action, "message": str(value),
                "needs_confirm": C.needs_confirm(value)}
