# The fixed-rate tick: read -> supervise -> control -> actuate -> annunciate, every period.
# On a board machine.Timer calls tick(); on the host the fake machine's virtual clock does.
# Nothing here allocates in the steady state; an exception never leaves the pump undefined.
import sys
from micropython import const, heap_lock, heap_unlock
from time import ticks_us, ticks_ms, ticks_diff
from ecmo.safety import alarms as A
from ecmo.drivers.pins import rearm
from ecmo.safety.supervisor import STOP, RUN

_OVERRUN_HOLD_TICKS = const(100)   # keep the overrun alarm up for 1 s after the last overrun
_MAX_SKIPS = const(5)              # a REPL update may hold the tick off this many periods, no more

# On a board the tick runs with the heap locked. MicroPython puts a call's frame on the heap
# when it needs more than 11 words (py/objfun.c, VM_MAX_STATE_ON_STACK): most of the tick's
# functions, ~30 calls a tick. Each such call searched the heap for room and freed it after,
# so the tick's time followed the heap's state: on the emulated Pico 4 ms with a collected
# heap, 16.8 ms on the nearly full heap after boot (48 overruns at every power-on), and where
# no room was left the collection (13 ms) ran inside the tick (3 overruns in 10 minutes of REPL
# use). With the heap locked the interpreter puts every frame on the C stack instead (8 KB on
# rp2), so no tick can search the heap or collect it, and an allocation in the tick raises
# MemoryError. The unix port (the simulated board) and CPython run unlocked: their host device
# models allocate per read (a board's parts do not); the tests lock it with canned devices.
LOCK_HEAP = sys.platform in ("rp2", "esp32")


class Loop:
    def __init__(self, sensors, pump, control, supervisor, alarms, annunciator, period_ms,
                 wdt=None, aux=(), red=None):
        self.sensors = sensors          # tuple of drivers, each with read()
        self.pump = pump
        self.control = control
        self.sup = supervisor
        self.alarms = alarms
        self.ann = annunciator
        self.period_ms = period_ms
        self._period_us = period_ms * 1000
        self.wdt = wdt
        self.aux = aux                  # further loops (gas side), each with tick(now_ms, n)
        self.red = red                  # analytical redundancy (ecmo/redundancy.py), or None
        self.n = 0                      # ticks run
        self.overruns = 0               # ticks that took longer than the period
        self.late = 0                   # ticks that started more than half a period late
        self.coalesced = 0              # timer calls dropped: under half a period after a tick
        self._dt_ms = period_ms         # the next tick's dt (the timer path measures it)
        self._dt_max_ms = 2 * period_ms  # control/pid.py: its gain bounds hold to dt 20 ms
        self.errors = 0                 # ticks that raised
        self.last_error = None
        self.tick_us = 0
        self.max_tick_us = 0
        self.max_tick_at_ms = 0         # when (ticks_ms) the longest tick and the last overrun
        self.overrun_at_ms = 0          # ran: to find what coincided with them
        self.now_ms = ticks_ms()
        self.lock_heap = LOCK_HEAP      # off after the first allocation a locked tick refused
        self.alloc_faults = 0           # ticks that raised MemoryError with the heap locked
        self.lost = 0                   # ticks whose fail-safe raised too (C stack spent)
        self._lost_shown = 0
        self.irq_rearmed = 0            # pin handlers found disabled and re-armed (drivers/pins.py)
        self._start_us = ticks_us()
        self._ovr_hold = 0
        self.flow_ok = False
        self.busy = False               # the REPL is changing settings: skip this period
        self.deferred = 0               # periods skipped for it
        self._skips = 0                 # periods skipped in a row
        self.cb = self._timed           # bound once, for machine.Timer

    def _timed(self, _timer=None):
        # The timer's call. rp2's Timer(-1) is a scheduled callback: held off (the REPL
        # compiling, a long print) its missed periods then run back to back, each claiming a
        # period that never passed. One tick with the time that really passed covers them
        # (within the PID's integer bounds); the queued rest are dropped and counted.
        if self.n and not self.busy:
            gap = ticks_diff(ticks_us(), self._start_us)
            if gap < (self._period_us >> 1):
                self.coalesced += 1
                return
            dt = (gap + 500) // 1000
            self._dt_ms = dt if dt < self._dt_max_ms else self._dt_max_ms
        self.tick()

    def tick(self):
        # Small: its own frame must fit on the C stack too (11 words, counting 3 for each
        # exception handler level: one level here; no unused argument), since it is taken
        # before the heap is locked.
        lk = self.lock_heap
        if lk:
            heap_lock()
        try:
            self._tick()
        except Exception:
            # Even the tick's fail-safe raised: the C stack is spent (REPL code nested ~20
            # calls deep when the tick came; README, docs/bench.md). Uncaught, the scheduler
            # prints it with its traceback at that depth (once on the emulated Pico that ended
            # in a watchdog reset): count the lost tick. (No `as e`: its cleanup is a second
            # handler level, and the frame would no longer fit.)
            self.lost += 1
        except BaseException:
            if lk:
                heap_unlock()
            raise
        if lk:
            heap_unlock()

    def _tick(self):
        if self.busy:
            if self._skips < _MAX_SKIPS:
                self.deferred += 1
                self._skips += 1
                return
            # a REPL update held on too long: run anyway (a torn read beats no supervision)
        else:
            self._skips = 0
        t0 = ticks_us()
        if self.n and ticks_diff(t0, self._start_us) > self._period_us + (self._period_us >> 1):
            self.late += 1
        self._start_us = t0
        now = ticks_ms()
        self.now_ms = now
        dt = self._dt_ms
        self._dt_ms = self.period_ms
        ok = True
        try:
            for s in self.sensors:
                s.read()
            self.pump.read()
            red = self.red
            if red is None:
                flow = self.sup.flow
                self.flow_ok = flow.status == 0
                q = flow.value
            else:
                # the sensors checked against each other; the flow loop may run on the map's
                # estimate while the flow sensor is not trusted (red.q_est)
                red.update(self.sup.state == RUN, self.sup.rpm_applied)
                red.guards()
                self.flow_ok = red.q_g_ok
                q = red.q_g
            req = self.control.update(q, self.flow_ok, dt)
            applied = self.sup.update(now, req, dt)
            self.control.track(applied)
            for a in self.aux:
                a.tick(now, self.n)
            if self.lost != self._lost_shown:   # ticks lost before even their fail-safe ran
                self._lost_shown = self.lost      # could raise it: shown now (HIGH latches)
                self.alarms.set(A.TICK_ERROR, True, now)
            if self.alarms.flags[A.TICK_ERROR] & 1:    # set() only on a change (_F_PRESENT)
                self.alarms.set(A.TICK_ERROR, False, now)
        except Exception as e:
            ok = False
            self._error(e)
            self._fail_safe(now)
        except BaseException:
            # not a firmware error (Ctrl-C on the unix port, the simulator's resets): leave
            # the actuators defined, then let it go on to whoever asked for it
            self._fail_safe(now)
            raise
        try:
            # here, not in the body above: an error there every tick must not stop it
            if self.n % 10 == 0:
                k = rearm()
                if k:            # a handler raised: a firmware fault, shown (HIGH latches)
                    self.irq_rearmed += k
                    self.alarms.set(A.TICK_ERROR, True, now)
            if (self._ovr_hold > 0) != self.alarms.flags[A.OVERRUN] & 1:
                self.alarms.set(A.OVERRUN, self._ovr_hold > 0, now)
            if self._ovr_hold:
                self._ovr_hold -= 1
            top = self.alarms.update(now)
            self.ann.show(top, self.alarms.audible(), now)
            self.ann.update(now)
        except Exception as e:
            ok = False
            self._error(e)
        n = self.n            # (n + 1) & mask would make a long int at 2^30 - 1 on a board
        self.n = n + 1 if n < 0x3FFFFFFF else 0
        us = ticks_diff(ticks_us(), t0)
        self.tick_us = us
        if us > self.max_tick_us:
            self.max_tick_us = us
            self.max_tick_at_ms = now
        if us > self._period_us:
            self.overruns += 1
            self.overrun_at_ms = now
            self._ovr_hold = _OVERRUN_HOLD_TICKS
        # the watchdog is fed only by a healthy tick: a loop that keeps failing gets reset
        if ok and self.wdt is not None:
            self.wdt.feed()

    def _error(self, e):
        self.errors += 1
        self.last_error = e
        if self.lock_heap and isinstance(e, MemoryError):
            # A path in the tick allocated (a bug: a tick allocates nothing). That tick is lost
            # (an error, as any tick error); the next ones run unlocked, as on the host, so a
            # path that allocates on every call (an alarm's reaction, say) cannot stop every
            # tick from then on.
            self.alloc_faults += 1
            self.lock_heap = False

    def _fail_safe(self, now):
        # a defined state whatever raised: a latched stop stays stopped, otherwise hold the last
        # speed the supervisor applied (fail operational), and raise the alarm
        sup = self.sup
        try:
            if sup.state == STOP or sup.tripped:
                sup.trip()
            elif sup.state == RUN:
                sup.actuate(sup.rpm_applied, True, sup.clamp.closed)
            else:
                sup.actuate(0, False, sup.clamp.closed)
            self.alarms.set(A.TICK_ERROR, True, now)
        except Exception:
            self.pump.stop()    # the one thing left that is defined
