# Telemetry: one CSV row of the rig's state, printed at a settable rate from its own soft timer
# (never from the control tick: formatting allocates). Lines on the serial link:
#   "#TLM t_s,state,..."   header: sent when telemetry starts and every HEADER_EVERY rows
#   "TLM 12.340,run,..."   one row, the columns of the header in order
# Anything else on the link is ordinary REPL output. Numbers are formatted from the firmware's
# integers (no floats), so a row reads the same on a board, the unix port and CPython.
# An invalid reading (sensor fault) is an empty field.
import sys
import micropython
from micropython import const
from machine import Timer   # for its constants; wiring makes the object
from time import ticks_ms, ticks_diff
from ecmo.safety.supervisor import STATE_NAMES, STOP
from ecmo.control.pump_control import MODE_NAMES, PRESSURE, ZERO, ZERO_TARGET_MLPM
from ecmo.safety import alarms as A
from ecmo.redundancy import SUSPECT_NAMES

ROW_PREFIX = "TLM "
HEADER_PREFIX = "#TLM "
HEADER_EVERY = 100
COLUMNS = ("t_s", "state", "profile", "control", "flow_setpoint_lpm", "flow_lpm", "rpm", "duty",
           "p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg", "bubble", "clamp_closed", "alarms",
           "flow_est_lpm", "suspect", "p1_setpoint_mmhg", "level_ml", "level_low")


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


_ROW_MAX = const(400)         # bytes: every column at its widest (27 alarm names: it truncates)


class _Row:
    # A telemetry row written into one preallocated buffer: digits and names are stored byte by
    # byte, so a row allocates nothing (on the emulated Pico the string-building row took 8 ms
    # and 1.2 KB, mostly new small strings each looked up in the qstr pools; this one 3.2 ms and
    # 0 B; 4.1 ms without native code).
    # Not @micropython.native: a native .mpy runs only on its own architecture, and the simulated
    # board (the unix port on the host) boots the very .mpy files deployed for the Pico.
    def __init__(self):
        self.buf = bytearray(_ROW_MAX)
        self.buf[0:4] = b"TLM "       # ROW_PREFIX: the link gets buf[:n] in one write
        self.n = 4

    def text(self, b):
        # b: bytes (indexing gives ints: nothing allocated)
        buf = self.buf
        n = self.n
        end = n + len(b)
        if end > _ROW_MAX - 2:
            return
        buf[n:end] = b                # slice store on a bytearray: no heap slice (not in native code)
        self.n = end

    def ch(self, c):
        if self.n < _ROW_MAX - 2:
            self.buf[self.n] = c
            self.n += 1

    def uint(self, v, width=1):
        # v >= 0, at least `width` digits (zero-padded)
        k = 1
        d = 10
        while d <= v:
            d *= 10
            k += 1
        if k < width:
            k = width
        n = self.n
        if n + k > _ROW_MAX - 2:
            return
        buf = self.buf
        i = n + k
        self.n = i
        while i > n:
            i -= 1
            buf[i] = 48 + v % 10
            v //= 10

    def fixed(self, v, decimals):
        # the same text as fixed() above, into the buffer
        if v < 0:
            self.ch(45)
            v = -v
        if decimals == 0:
            self.uint(v)
            return
        d = 10
        k = 1
        while k < decimals:
            d *= 10
            k += 1
        self.uint(v // d)
        self.ch(46)
        self.uint(v % d, decimals)

    def reading(self, sensor, decimals):
        if not sensor.status:
            self.fixed(sensor.value, decimals)


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
        self._row = _Row()
        # names as bytes, made once: the row copies them without making strings
        self._states = tuple(n.encode() for n in STATE_NAMES)
        self._modes = tuple(n.encode() for n in MODE_NAMES)
        self._alarms = tuple(n.encode() for n in A.NAMES)
        self._suspects = tuple((b, n.encode()) for b, n in SUSPECT_NAMES)
        self._profiles = {}
        self._flow_mode = MODE_NAMES.index("flow")
        self._raw = sys.implementation.name == "micropython"   # stream.write(buf, n) there
        self._out = sys.stdout
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
        # the row as text (REPL, simulator); the link gets the buffer itself (_emit)
        self._fill()
        return bytes(self._row.buf[4:self._row.n]).decode()

    def _fill(self):
        sup = self.sup
        w = self._row
        w.n = 4
        now = ticks_ms()
        self.t_ms += ticks_diff(now, self._last)
        self._last = now
        c = self.control
        w.fixed(self.t_ms, 3)
        w.ch(44)
        w.text(self._states[STOP if sup.stopped() else sup.state])   # never "run" when tripped
        w.ch(44)
        p = self._profiles.get(sup.profile)
        if p is None:
            p = self._profiles[sup.profile] = sup.profile.encode()   # once per profile name
        w.text(p)
        w.ch(44)
        w.text(self._modes[c.mode])
        w.ch(44)
        if c.mode == self._flow_mode:
            w.fixed(c.flow_target_mlpm, 3)
        elif c.mode == ZERO:
            w.fixed(ZERO_TARGET_MLPM, 3)
        w.ch(44)
        w.reading(sup.flow, 3)
        w.ch(44)
        w.fixed(sup.pump.rpm, 0)
        w.ch(44)
        w.fixed(sup.pump.duty_u16, 0)
        w.ch(44)
        w.reading(sup.p1, 1)
        w.ch(44)
        p2, p3 = sup.p2, sup.p3
        w.reading(p2, 1)
        w.ch(44)
        w.reading(p3, 1)
        w.ch(44)
        if not (p2.status or p3.status):
            w.fixed(p2.value - p3.value, 1)
        w.ch(44)
        w.ch(49 if sup.bubble.air else 48)
        w.ch(44)
        w.ch(49 if sup.clamp.closed else 48)
        w.ch(44)
        al = self.alarms
        first = True
        for code in range(A.COUNT):
            if al.active(code):          # = shown (codes())
                if not first:
                    w.ch(124)
                first = False
                w.text(self._alarms[code])
        # issue 11: the flow the loop runs on when it is the pump map's estimate (empty while
        # the flow sensor is trusted), and the sensors the cross-checks name ("p1+flow")
        red = sup.red
        w.ch(44)
        if red is not None and red.q_est:
            w.fixed(red.q_g, 3)
        w.ch(44)
        if red is not None:
            first = True
            for bit, name in self._suspects:
                if red.suspect & bit:
                    if not first:
                        w.ch(43)
                    first = False
                    w.text(name)
        # issue 17: the P1 servo's ramped target (pressure mode), the reservoir level (an
        # analog sensor, mL; empty when invalid or on a switch) and the low-level state
        w.ch(44)
        if c.mode == PRESSURE:
            w.fixed(c.p1_sp_dmmhg, 1)
        w.ch(44)
        lv = sup.level
        if lv is not None and not sup.level_switch:
            w.reading(lv, 0)
        w.ch(44)
        if lv is not None:
            if sup.level_switch:
                w.ch(49 if lv.low else 48)
            elif not lv.status:
                w.ch(49 if lv.value < sup.level_low_ml else 48)
        g = self.gas
        if g is not None:
            # the oxygenator's columns (gas.values()) written as integers
            w.ch(44)
            w.fixed(rounded(g.control.target_mlpm, 10), 2)
            w.ch(44)
            if not g.sweep.status:
                w.fixed(rounded(g.sweep.value, 10), 2)
            w.ch(44)
            w.reading(g.o2, 3)
            w.ch(44)
            w.reading(g.temp, 2)
            w.ch(44)
            w.reading(g.sat, 1)

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

    def _send(self, w):
        buf = w.buf
        n = w.n
        buf[n] = 10
        n += 1
        out = self._out
        if self._raw:
            out.write(buf, n)  # type: ignore  # MicroPython streams: write(buf, max_len), no slice
        else:
            out.write(bytes(buf[:n]).decode())

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
            if self.rows % HEADER_EVERY == 0:
                sys.stdout.write(HEADER_PREFIX + self.header() + "\n")   # 1 row in 100
            self.rows += 1
            self._fill()
            self._send(self._row)
        except Exception as e:        # telemetry must never take the rig down
            self.loop.last_error = e
