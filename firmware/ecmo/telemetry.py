# Telemetry: one CSV row of the rig's state, printed at a settable rate from its own soft timer
# (never from the control tick: formatting allocates). Lines on the serial link:
#   "#TLM t_s,state,..."   header: sent when telemetry starts and every HEADER_EVERY rows
#   "TLM 12.340,run,..."   one row, the columns of the header in order
# Anything else on the link is ordinary REPL output. Numbers are formatted from the firmware's
# integers (no floats), so a row reads the same on a board, the unix port and CPython.
# An invalid reading (sensor fault) is an empty field.
import sys
import micropython
from machine import Timer   # for its constants; wiring makes the object
from time import ticks_ms, ticks_diff
from ecmo.safety.supervisor import STATE_NAMES, STOP
from ecmo.control.pump_control import MODE_NAMES

ROW_PREFIX = "TLM "
HEADER_PREFIX = "#TLM "
HEADER_EVERY = 100
COLUMNS = ("t_s", "state", "profile", "control", "flow_setpoint_lpm", "flow_lpm", "rpm", "duty",
           "p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg", "bubble", "clamp_closed", "alarms",
           "flow_est_lpm", "suspect")


def fixed(v, decimals):
    # integer v in units of 10**-decimals -> "%.<decimals>f" text without a float
    s = "-" if v < 0 else ""
    v = -v if v < 0 else v
    if decimals == 0:
        return s + str(v)
    d = 10 ** decimals
    return "%s%d.%0*d" % (s, v // d, decimals, v % d)


def rounded(v, div):
    # v / div to the nearest integer, halves away from zero (integers only)
    h = div // 2
    return (v + h) // div if v >= 0 else -((h - v) // div)


def reading(sensor, decimals, div=1):
    # a sensor's value (divided by div, rounded) as text; an invalid reading is an empty field
    if sensor.status:
        return ""
    return fixed(rounded(sensor.value, div) if div != 1 else sensor.value, decimals)


class Telemetry:
    # the parts a row shows; new_timer(): a machine.Timer for the row rate (ecmo/wiring.py)
    def __init__(self, sup, control, alarms, oxygenator, loop, new_timer):
        self.sup = sup
        self.control = control
        self.alarms = alarms
        self.gas = oxygenator          # or None
        self.loop = loop               # an error in a row is kept as the loop's last_error
        self._new_timer = new_timer
        self.hz = 0
        self.timer = None
        self.rows = 0
        self.t_ms = 0                  # ms since telemetry was first started (wrap-proof sum)
        self._last = ticks_ms()
        self._pending = False
        self._emit_cb = self._emit     # bound once: the timer callback only schedules it
        self._tick_cb = self._tick
        self.dropped = 0               # rows not sent because the link had no room
        self._poll = None
        try:
            import select
            p = select.poll()
            p.register(sys.stdout, select.POLLOUT)
            self._poll = p
        except Exception:              # a stdout that cannot be polled: write and hope
            pass

    # ---- columns ----
    def columns(self):
        g = self.gas
        return COLUMNS + (tuple(g.columns()) if g is not None else ())

    def header(self):
        return ",".join(self.columns())

    def row(self):
        sup = self.sup
        now = ticks_ms()
        self.t_ms += ticks_diff(now, self._last)
        self._last = now
        c = self.control
        flow_mode = MODE_NAMES[c.mode] == "flow"
        p2, p3 = sup.p2, sup.p3
        dp = "" if (p2.status or p3.status) else fixed(p2.value - p3.value, 1)
        vals = [
            fixed(self.t_ms, 3),
            STATE_NAMES[STOP if sup.stopped() else sup.state],   # never "run" when tripped
            sup.profile,
            MODE_NAMES[c.mode],
            fixed(c.flow_target_mlpm, 3) if flow_mode else "",
            reading(sup.flow, 3),
            str(sup.pump.rpm),
            str(sup.pump.duty_u16),
            reading(sup.p1, 1),
            reading(p2, 1),
            reading(p3, 1),
            dp,
            "1" if sup.bubble.air else "0",
            "1" if sup.clamp.closed else "0",
            "|".join(self.alarms.codes()),
        ]
        # issue 11: the flow the loop runs on when it is the pump map's estimate (empty while
        # the flow sensor is trusted), and the sensors the cross-checks name ("p1+flow")
        red = sup.red
        vals.append(fixed(red.q_g, 3) if red.q_est else "")
        vals.append("+".join(red.suspects()))
        g = self.gas
        if g is not None:
            vals.extend(g.values())
        return ",".join(vals)

    # ---- rate and output ----
    def set_rate(self, hz):
        # hz already validated by the caller (settings.check_field)
        if self.timer is not None:
            self.timer.deinit()
            self.timer = None
        self.hz = hz
        if hz:
            self.rows = 0
            self._last = ticks_ms()
            self.timer = self._new_timer()
            self.timer.init(mode=Timer.PERIODIC, freq=hz, callback=self._tick_cb)

    def _tick(self, _t):
        # may run in a hard IRQ on some ports: hand the printing to the scheduler, allocate nothing
        if not self._pending:
            self._pending = True
            try:
                micropython.schedule(self._emit_cb, None)
            except RuntimeError:      # schedule queue full: skip this row
                self._pending = False

    def _room(self):
        # The row is written from a scheduled callback, and while it blocks the tick (also a
        # scheduled callback) cannot run: on rp2 a USB port that is open but not read blocks
        # each write up to 500 ms. So a row goes out only when the link can take it now.
        return self._poll is None or bool(self._poll.poll(0))

    def _emit(self, _arg):
        self._pending = False
        try:
            if not self._room():
                self.dropped += 1
                return
            text = ROW_PREFIX + self.row() + "\n"
            if self.rows % HEADER_EVERY == 0:
                text = HEADER_PREFIX + self.header() + "\n" + text
            self.rows += 1
            sys.stdout.write(text)       # one write per row, not two
        except Exception as e:        # telemetry must never take the rig down
            self.loop.last_error = e
