# Telemetry: one CSV row of the rig's state, printed at a settable rate from its own soft timer
# (never from the control tick: formatting allocates). Lines on the serial link:
#   "#TLM t_s,state,..."   header: sent when telemetry starts and every HEADER_EVERY rows
#   "TLM 12.340,run,..."   one row, the columns of the header in order
# Anything else on the link is ordinary REPL output. Numbers are formatted from the firmware's
# integers (no floats), so a row reads the same on a board, the unix port and CPython.
# An invalid reading (sensor fault) is an empty field.
import sys
import micropython
from micropython import const, heap_lock, heap_unlock
from machine import Timer   # for its constants; wiring makes the object
from time import ticks_ms, ticks_us, ticks_diff
from ecmo.safety.supervisor import STATE_NAMES, STOP
from ecmo.control.pump_control import MODE_NAMES, PRESSURE, ZERO, ZERO_TARGET_MLPM
from ecmo.safety import alarms as A
from ecmo.redundancy import SUSPECT_NAMES
from ecmo.loop import LOCK_HEAP

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
_LIM = const(398)             # _ROW_MAX - 2: room for the newline
_BLOCKED_US = const(3000)     # a row write longer than this blocked: the link is full
_BACKOFF_MAX_S = const(64)
_SLACK = const(48)            # past _LIM only separators, signs and points are stored (unchecked)
_SHOWN = const(2)             # ecmo/safety/alarms.py _F_SHOWN (a private const: not importable)


# A telemetry row is written into one preallocated buffer by plain functions that take the
# buffer and the write position and return the new position: digits and names are stored byte
# by byte, so a row allocates nothing. On the emulated Pico the string-building row took 8 ms
# and 1.2 KB; a writer object with a method per field 4.1 ms and 0 B (a method call costs about
# twice a function call, and a row made ~100 of them); this one 2.2 ms and 0 B.
# The numbers, most of a row's time, are written by native code where it loads
# (ecmo/numtext.py: 1.05 -> 0.54 ms a row on the emulated Pico); _fixed below is
# the same text in bytecode, for a runtime that refuses the target's native code (the simulated
# board, the unix port, boots the .mpy files deployed for the Pico).

def _text(buf, n, b):
    # b: bytes, copied in with one slice store (no heap slice on a bytearray)
    end = n + len(b)
    if end > _LIM:
        return n
    buf[n:end] = b
    return end


def _fixed(buf, n, v, decimals):
    # the same text as fixed() above, in one call: the digit count by compares, then the digits
    # right to left with the point placed on the way (a helper call per part, integer and
    # fraction, cost the emulated Pico 17 % more a number)
    if v < 0:
        buf[n] = 45
        n += 1
        v = -v
    if v < 10:
        k = 1
    elif v < 100:
        k = 2
    elif v < 1000:
        k = 3
    elif v < 10000:
        k = 4
    elif v < 100000:
        k = 5
    else:
        k = 6
        d = 1000000
        while d <= v:
            d *= 10
            k += 1
    if decimals:
        if k <= decimals:
            k = decimals + 1              # "0.005": a zero before the point
        end = n + k + 1
        if end > _LIM:
            return n
        i = end
        p = end - decimals - 1
        while i > p + 1:
            i -= 1
            buf[i] = 48 + v % 10
            v //= 10
        buf[p] = 46
        i = p
    else:
        end = n + k
        if end > _LIM:
            return n
        i = end
    while i > n:
        i -= 1
        buf[i] = 48 + v % 10
        v //= 10
    return end


try:
    from ecmo.numtext import put_fixed as _number
    NATIVE = True
except Exception:      # "incompatible .mpy arch" (native code made for another chip), or any
    # other refusal to load it: the rig must boot whatever happens to this module
    _number = _fixed
    NATIVE = False


class _Row:
    # the buffer and the length of the row in it
    def __init__(self):
        self.buf = bytearray(_ROW_MAX + _SLACK)
        self.buf[0:4] = b"TLM "       # ROW_PREFIX: the link gets buf[:n] in one write
        self.n = 4


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
        # time since telemetry was first started (wrap-proof sum), as whole seconds and the ms
        # past them: one ms count would be a long int after 12.4 days (2^30 ms), and each row
        # would then allocate; seconds last 34 years
        self.t_s = 0
        self.t_ms = 0
        self._last = ticks_ms()
        self._pending = False
        self._emit_cb = self._emit     # bound once: the timer callback only schedules it
        self._tick_cb = self._tick
        self.dropped = 0               # rows not sent because the link had no room
        self.blocked = 0               # rows whose write blocked (the link was full after all)
        self._hold = 0                 # rows to skip before trying the link again
        self._backoff = 1              # seconds of the next hold
        self._row = _Row()
        # names as bytes, made once: the row copies them without making strings
        self._states = tuple(n.encode() for n in STATE_NAMES)
        self._modes = tuple(n.encode() for n in MODE_NAMES)
        self._alarms = tuple(n.encode() for n in A.NAMES)
        self._no_alarms = bytearray(A.COUNT)
        self._suspects = tuple((b, n.encode()) for b, n in SUSPECT_NAMES)
        self._profiles = {}
        self.lock_heap = LOCK_HEAP     # the row's frames on the C stack, as the tick's (loop.py)
        self._flow_mode = MODE_NAMES.index("flow")
        self._raw = sys.implementation.name == "micropython"   # stream.write(buf, n) there
        self._out = sys.stdout
        self._poll = None
        self._ipoll = None
        self._ipoll_of = None
        try:
            import select
            p = select.poll()
            p.register(sys.stdout, select.POLLOUT)
            self._poll = p
            # MicroPython's ipoll() answers without allocating; poll() makes a list each call
            # (10 rows/s of garbage: a collection every few minutes with no REPL in use)
            self._ipoll = getattr(p, "ipoll", None)
            self._ipoll_of = p         # (a poll object put in its place is asked by poll())
        except Exception:              # a stdout that cannot be polled: write and hope
            pass

    # ---- columns ----
    def columns(self):
        g = self.gas
        return COLUMNS + (tuple(g.columns()) if g is not None else ())

    def header(self):
        return ",".join(self.columns())

    def row(self):
        # the row as text (REPL, simulator); the link gets the buffer itself (_emit). Not
        # locked: at the REPL scheduled callbacks (the tick, the flash latch record) may run
        # inside the fill, and they must be free to allocate what they may
        self._prepare()
        self._fill()
        return bytes(self._row.buf[4:self._row.n]).decode()

    def _prepare(self):
        prof = self.sup.profile
        if prof not in self._profiles:
            self._profiles[prof] = prof.encode()   # once per profile name, before any lock

    def _fill_row(self):
        # _fill() with the heap locked on a board (the timer's row: a scheduled callback, so
        # nothing else runs inside it); a refused allocation (a bug) costs that row, and the
        # rows after it run unlocked
        self._prepare()
        if self.lock_heap:
            heap_lock()
            try:
                self._fill()
            except MemoryError:
                self.lock_heap = False
                raise
            finally:
                heap_unlock()
        else:
            self._fill()

    def _fill(self):
        # every column, comma-separated, after "TLM "; a sensor with a fault is an empty field
        sup = self.sup
        w = self._row
        buf = w.buf
        fx = _number
        tx = _text
        now = ticks_ms()
        ms = self.t_ms + ticks_diff(now, self._last)
        self._last = now
        if ms < 0:
            ms = 0          # no row for over 2^29 ms (6.2 days): ticks_diff wrapped
        if ms >= 1000:
            q = ms // 1000
            self.t_s += q
            ms -= q * 1000
        self.t_ms = ms
        c = self.control
        n = fx(buf, 4, self.t_s, 0)
        buf[n] = 46                      # then the ms past the second, three digits
        buf[n + 1] = 48 + ms // 100
        buf[n + 2] = 48 + ms // 10 % 10
        buf[n + 3] = 48 + ms % 10
        buf[n + 4] = 44
        n += 4
        n = tx(buf, n + 1, self._states[STOP if sup.stopped() else sup.state])  # never "run" when tripped
        buf[n] = 44
        n = tx(buf, n + 1, self._profiles[sup.profile])     # made by _prepare()
        buf[n] = 44
        mode = c.mode
        n = tx(buf, n + 1, self._modes[mode])
        buf[n] = 44
        n += 1
        if mode == self._flow_mode:
            n = fx(buf, n, c.flow_target_mlpm, 3)
        elif mode == ZERO:
            n = fx(buf, n, ZERO_TARGET_MLPM, 3)
        buf[n] = 44
        n += 1
        s = sup.flow
        if not s.status:
            n = fx(buf, n, s.value, 3)
        buf[n] = 44
        pump = sup.pump
        n = fx(buf, n + 1, pump.rpm, 0)
        buf[n] = 44
        n = fx(buf, n + 1, pump.duty_u16, 0)
        buf[n] = 44
        n += 1
        s = sup.p1
        if not s.status:
            n = fx(buf, n, s.value, 1)
        buf[n] = 44
        n += 1
        p2, p3 = sup.p2, sup.p3
        if not p2.status:
            n = fx(buf, n, p2.value, 1)
        buf[n] = 44
        n += 1
        if not p3.status:
            n = fx(buf, n, p3.value, 1)
        buf[n] = 44
        n += 1
        if not (p2.status or p3.status):
            n = fx(buf, n, p2.value - p3.value, 1)
        buf[n] = 44
        buf[n + 1] = 49 if sup.bubble.air else 48
        buf[n + 2] = 44
        buf[n + 3] = 49 if sup.clamp.closed else 48
        buf[n + 4] = 44
        n += 5
        fl = self.alarms.flags
        if fl != self._no_alarms:        # one C compare: the loop only when an alarm is up
            first = True
            names = self._alarms
            for code in range(A.COUNT):
                if fl[code] & _SHOWN:        # = shown (codes())
                    if not first and n < _LIM:
                        buf[n] = 124
                        n += 1
                    first = False
                    n = tx(buf, n, names[code])
        # issue 11: the flow the loop runs on when it is the pump map's estimate (empty while
        # the flow sensor is trusted), and the sensors the cross-checks name ("p1+flow")
        red = sup.red
        buf[n] = 44
        n += 1
        if red is not None and red.q_est:
            n = fx(buf, n, red.q_g, 3)
        buf[n] = 44
        n += 1
        if red is not None and red.suspect:
            first = True
            for bit, name in self._suspects:
                if red.suspect & bit:
                    if not first and n < _LIM:
                        buf[n] = 43
                        n += 1
                    first = False
                    n = tx(buf, n, name)
        # issue 17: the P1 servo's ramped target (pressure mode), the reservoir level (an
        # analog sensor, mL; empty when invalid or on a switch) and the low-level state
        buf[n] = 44
        n += 1
        if mode == PRESSURE:
            n = fx(buf, n, c.p1_sp_dmmhg, 1)
        buf[n] = 44
        n += 1
        lv = sup.level
        if lv is not None and not sup.level_switch and not lv.status:
            n = fx(buf, n, lv.value, 0)
        buf[n] = 44
        n += 1
        if lv is not None:
            if sup.level_switch:
                buf[n] = 49 if lv.low else 48
                n += 1
            elif not lv.status:
                buf[n] = 49 if lv.value < sup.level_low_ml else 48
                n += 1
        g = self.gas
        if g is not None:
            # the oxygenator's columns (gas.values()) written as integers
            buf[n] = 44
            n = fx(buf, n + 1, rounded(g.control.target_mlpm, 10), 2)
            buf[n] = 44
            n += 1
            s = g.sweep
            if not s.status:
                n = fx(buf, n, rounded(s.value, 10), 2)
            buf[n] = 44
            n += 1
            s = g.o2
            if not s.status:
                n = fx(buf, n, s.value, 3)
            buf[n] = 44
            n += 1
            s = g.temp
            if not s.status:
                n = fx(buf, n, s.value, 2)
            buf[n] = 44
            n += 1
            s = g.sat
            if not s.status:
                n = fx(buf, n, s.value, 1)
        w.n = n

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
        # each write up to 500 ms. So a row goes out only when the link can take it now. poll()
        # alone is not enough there: rp2's USB serial reports writable while any byte of its
        # buffer is free, and a row longer than the free space still blocks. So a write that
        # took longer than _BLOCKED_US also marks the link full: rows are skipped for a hold
        # that doubles while writes keep blocking (1 s .. 64 s) and resets on a quick one.
        if self._hold:
            self._hold -= 1
            return False
        if self._ipoll is not None and self._poll is self._ipoll_of:
            for _ in self._ipoll(0):
                return True
            return False
        return self._poll is None or bool(self._poll.poll(0))

    def _timed_send(self, w):
        t = ticks_us()
        self._send(w)
        if ticks_diff(ticks_us(), t) > _BLOCKED_US:
            self.blocked += 1
            self._hold = self._backoff * (self.hz if self.hz else 1)
            if self._backoff < _BACKOFF_MAX_S:
                self._backoff *= 2
        else:
            self._backoff = 1

    def _emit(self, _arg):
        self._pending = False
        try:
            if not self._room():
                self.dropped += 1
                return
            if self.rows % HEADER_EVERY == 0:
                sys.stdout.write(HEADER_PREFIX + self.header() + "\n")   # 1 row in 100
            self.rows += 1
            self._fill_row()
            self._timed_send(self._row)
        except Exception as e:        # telemetry must never take the rig down
            self.loop.last_error = e
