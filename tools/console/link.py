# The serial link to the rig, owned by the console process (one owner: browsers never touch it).
# Telemetry rows come in as on `monitor` (the same reader, the same CSV); commands go out as REPL
# lines and their replies are picked out of the stream by a marker. On connect the console types
# one helper into the rig's REPL:
#   _ecq(n, "rig.set_flow(3.5)")  ->  "@ECQ 7 ok None"  or  "@ECQ 7 err 'flow_lpm must be ...'"
# written with one sys.stdout.write, so a telemetry row (also one write) never lands inside it.
# The command text is built here from checked values only (tools/console/commands.py), never from
# a browser's text.
import ast
import asyncio
import csv
import os
import threading
import time

from tools import ports

from tools import monitor as M
from tools.monitor import TelemetryReader

INFO_WAIT_S = 3.0         # rows wait this long at most for the board's answer to the CSV header

MARK = "@ECQ "
NO_REPLY = "no reply from the rig"
# Defined in the rig's REPL namespace (where `rig` lives) by one line; the marker is split in the
# source so the echo of this line never reads as a reply.
_HELPER = (
    "def _ecq(n, s):\n"
    " import sys\n"
    " try:\n"
    "  r = eval(s)\n"
    "  sys.stdout.write('@E' 'CQ %d ok %r\\n' % (n, r))\n"
    " except Exception as e:\n"
    "  sys.stdout.write('@E' 'CQ %d err %r\\n' % (n, str(e) or type(e).__name__))\n"
)
# What the telemetry row does not carry, asked for a few times a second: limits, blind
# interlocks, the alarm log with the rig's clock, audio pause and its time left (Alarms keeps the
# pause start privately; read as the firmware's own update() computes it), who is acknowledged.
_STATE = (
    "def _ecs():\n"
    " from time import ticks_diff\n"
    " from ecmo.safety import alarms as A\n"
    " al = rig.al\n"
    " now = rig.loop.now_ms\n"
    " left = al.silence_ms - ticks_diff(now, al._pause_t) if al.paused else 0\n"
    " acked = [A.NAMES[c] for c in range(A.COUNT) if al.acked[c] and al.active(c)]\n"
    " return {'limits': rig.limits(), 'blind': rig.blind(), 'log': rig.log(16), 'now_ms': now,\n"
    "  'paused': al.paused, 'pause_left_ms': left if left > 0 else 0, 'acked': acked,\n"
    "  'audible': al.audible(), 'profile': rig.settings['profile'], 'gains': rig.gains(),\n"
    "  'fio2_target': rig.settings.get('fio2'), 'rpm_target': rig.control.rpm_target,\n"
    "  'flow_target_lpm': rig.settings['flow_lpm'], 'clamp_request': rig.sup.clamp_request}\n"
)
_PRIORITIES = "dict(zip(__import__('ecmo.safety.alarms').safety.alarms.NAMES, " \
              "__import__('ecmo.safety.alarms').safety.alarms.PRIORITY))"


def _t(row):
    try:
        return float(row.get("t_s") or 0)
    except ValueError:
        return 0.0


def _typed(code):
    # one REPL line that defines a function: exec of its text with the newlines escaped
    return "exec(%r)" % code


class Link:
    # rows_cb(row, t_host) on every telemetry row; state_cb() when the rig's picture changed
    def __init__(self, port, baud=115200, rate=10, csv_path=None, on_change=None):
        self.port = port
        self.baud = baud
        self.rate = rate
        self.csv_path = csv_path
        self.on_change = on_change or (lambda kind: None)
        self.ser = None
        self.reader = TelemetryReader()
        self.rows = 0
        self.last_row = None
        self.last_row_t = None        # monotonic time of the last row
        self.state = None             # the last _ecs() reply
        self.state_t = None
        self.priorities = {}
        self.error = "not connected yet"
        self._n = 0
        self._waiting = {}            # command id -> future
        self._csv_file = None
        self._writer = None
        self._loop = None
        self.info = None              # {"board", "firmware", "settings_crc32", "platform"}
        self._info_deadline = 0.0
        self._early = []              # rows waiting for the board's answer
        self.installed_t = None
        self.state_error = None
        self.state_cost_s = 0.0       # how long the last state query took to answer

    # ---- the port ----
    def open(self):
        # the port as every host tool opens it (tools/ports.py: pyserial's timeouts, no select(),
        # so Windows too); a thread reads it and hands the bytes to the event loop
        ser = ports.open_port(self.port, self.baud, timeout=0.05)
        self.ser = ser
        self.reader = TelemetryReader()
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._read_thread, args=(ser,), daemon=True).start()
        self.error = None
        # what the board is, for the CSV's header lines (as monitor writes them)
        self._write("\x02\x03\r\n" + M._INFO + "\r\n")
        self._info_deadline = time.monotonic() + INFO_WAIT_S
        self.install()

    def install(self):
        # Ctrl-B leaves a raw REPL mpremote may have left behind, Ctrl-C drops a half-typed
        # line; then the helpers and telemetry on. Again after a reset of the rig (watchdog,
        # rig.reboot()): the REPL's namespace is new and telemetry is as last saved.
        self.installed_t = time.monotonic()
        self._write("\x02\x03")
        self._write(_typed(_HELPER) + "\r\n")
        self._write(_typed(_STATE) + "\r\n")
        self._write("rig.telemetry(%d)\r\n" % self.rate)

    def close(self, why="closed"):
        ser, self.ser = self.ser, None     # the reader thread ends when it sees this
        if ser is not None:
            try:
                ser.cancel_read()
            except Exception:
                pass
            try:
                ser.close()
            except Exception:
                pass
        self.error = why
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_result((False, "link lost: %s" % why))
        self._waiting.clear()
        self.on_change("link")

    def stop(self):
        # leave the rig as monitor does: telemetry off
        if self._write("rig.telemetry(0)\r\n"):
            try:
                self.ser.flush()
            except Exception:
                pass
        self.close("stopped")
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None

    def _write(self, text):
        # False (and the link closed) when the port cannot take it: gone, or stuck past the
        # write timeout (pyserial raises its own exceptions, not OSError)
        ser = self.ser
        if ser is None:
            return False
        try:
            ser.write(text.encode())
            return True
        except Exception as e:
            self.close("%s: %s" % (self.port, e))
            return False

    def connected(self):
        return self.ser is not None

    def _read_thread(self, ser):
        while self.ser is ser:
            try:
                data = ports.read_some(ser)
            except Exception as e:   # pyserial's SerialException when the device goes away
                if self.ser is ser:
                    self._loop.call_soon_threadsafe(self._lost, ser, "%s: %s" % (self.port, e))
                return
            if data:
                self._loop.call_soon_threadsafe(self._feed, ser, data)

    def _lost(self, ser, why):
        if self.ser is ser:
            self.close(why)

    def _feed(self, ser, data):
        if self.ser is not ser:
            return                    # bytes of a port closed meanwhile
        rows, text = self.reader.feed(data)
        now = time.monotonic()
        for row in rows:
            if self.last_row is not None and _t(row) < _t(self.last_row) - 0.5:
                self._reinstall()     # the rig's telemetry clock began again: it was reset
            self._record(row)
            self.rows += 1
            self.last_row = row
            self.last_row_t = now
            self.on_change("row")
        for line in text:
            i = line.find(MARK)
            if i >= 0:
                self._reply(line[i + len(MARK):])
            elif line.startswith(M.INFO_TAG) and self.info is None:
                f = line[len(M.INFO_TAG):].split()
                if len(f) == 4:
                    self.info = dict(zip(("board", "firmware", "settings_crc32", "platform"), f))
            elif "NameError" in line and "_ec" in line:
                self._reinstall()     # our helpers are gone: a new REPL namespace (a reset)

    def _reinstall(self):
        if self.ser is not None and time.monotonic() - self.installed_t > 1.0:
            self.priorities = {}
            self.install()

    def resume_rows(self):
        # rows stopped with the link up: telemetry may be off (as saved, after a reset)
        if self.ser is not None:
            self._write("rig.telemetry(%d)\r\n" % self.rate)

    def _record(self, row):
        # the monitor's CSV: "# key: value" lines, then wall_utc + the telemetry columns
        if not self.csv_path:
            return
        row = dict(row, wall_utc=M._now_utc())
        if self._writer is None:
            if self.info is None and time.monotonic() < self._info_deadline:
                self._early.append(row)
                return
            d = os.path.dirname(os.path.abspath(self.csv_path))
            os.makedirs(d, exist_ok=True)
            f = self._csv_file = open(self.csv_path, "w", newline="")
            f.write("# ecmo-rig telemetry recorded by `ecmo console`\n")
            info = self.info or {}
            for k in ("board", "firmware", "settings_crc32", "platform"):
                f.write("# %s: %s\n" % (k, info.get(k, "unknown (the board did not answer)")))
            f.write("# port: %s\n# start_utc: %s\n" % (self.port, (self._early or [row])[0]["wall_utc"]))
            # the columns of the first header; a later header with more columns (another
            # board after a reset) keeps the file readable rather than changing its shape
            self._writer = csv.DictWriter(f, fieldnames=["wall_utc"] + self.reader.header,
                                          extrasaction="ignore", restval="")
            self._writer.writeheader()
            for r in self._early:
                self._writer.writerow(r)
            self._early = []
        self._writer.writerow(row)
        self._csv_file.flush()

    def _reply(self, text):
        parts = text.split(" ", 2)
        if len(parts) < 2 or not parts[0].isdigit():
            return
        fut = self._waiting.pop(int(parts[0]), None)
        if fut is None or fut.done():
            return
        body = parts[2] if len(parts) > 2 else ""
        try:
            value = ast.literal_eval(body)
        except (ValueError, SyntaxError):
            value = body
        fut.set_result((parts[1] == "ok", value))

    # ---- commands ----
    async def call(self, expr, timeout=3.0):
        # evaluate a checked expression on the rig: (True, value) or (False, the rig's message)
        if self.ser is None:
            return False, "no link to the rig (%s)" % self.error
        self._n += 1
        n = self._n
        fut = self._loop.create_future()
        self._waiting[n] = fut
        if not self._write("_ecq(%d, %r)\r\n" % (n, expr)):
            self._waiting.pop(n, None)
            return False, "link lost: %s" % self.error
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._waiting.pop(n, None)
            return False, NO_REPLY + " in %.0f s" % timeout

    async def refresh(self):
        # the part of the picture that is not in the rows
        if not self.priorities:
            ok, v = await self.call(_PRIORITIES)
            if ok and isinstance(v, dict):
                self.priorities = v
        t0 = time.monotonic()
        ok, v = await self.call("_ecs()", timeout=5.0)
        if not ok and str(v).startswith(NO_REPLY):
            return ok, v              # a busy or slow rig (an emulated chip): asked again later
        # a firmware that answers differently: said on the page, the rows still shown
        self.state_error = None if ok else str(v)
        if ok and isinstance(v, dict):
            self.state_cost_s = time.monotonic() - t0
            self.state = v
            self.state_t = time.monotonic()
            self.on_change("state")
        return ok, v
