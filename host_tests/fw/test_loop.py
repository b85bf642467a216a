# The full tick on a running rig: fixed rate, no allocation in the steady state, overrun counting.
import gc
import machine
import devices
from rigkit import Bench


def test_tick_runs_at_the_board_rate():
    b = Bench()
    n0 = b.rig.loop.n
    b.ticks(100)
    assert b.rig.loop.n - n0 == 100 and b.rig.loop.late == 0


def test_full_tick_allocates_nothing_in_steady_state():
    if not hasattr(gc, "mem_alloc"):
        return   # only MicroPython boxes floats and counts heap bytes
    b = Bench()
    b.set(flow=3.0)
    b.running(2500)
    b.rig.mode("flow")
    b.rig.set_flow(4.0)
    tick = b.rig.loop.tick
    devices.can_all(machine)    # the host's device models allocate per read; a board's don't
    for _ in range(200):
        tick()
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(2000):
        tick()
    used = gc.mem_alloc() - a
    gc.enable()
    assert b.rig.loop.errors == 0
    assert used == 0, "tick allocated %d bytes over 2000 ticks" % used


def test_irq_handlers_allocate_nothing():
    # the air and e-stop hard IRQs (which also trip the pump) and the tach IRQ
    if not hasattr(gc, "mem_alloc"):
        print("skipped: heap figures need MicroPython")
        return
    import board_pico as board
    b = Bench()
    b.running(2500)
    for pid in (board.BUBBLE["pin"], board.ESTOP["pin"], board.PUMP["tach"]):
        pin = machine.sim_pin(pid)
        pin.drive(0)
        pin.drive(1)
        pin.drive(0)
        # the fake pin's drive() itself may allocate: measure it alone, then with the handler
        handler = pin.irq_handler
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        for _ in range(100):
            pin.drive(1)
            pin.drive(0)
        with_handler = gc.mem_alloc() - a
        pin.irq_handler = None
        a = gc.mem_alloc()
        for _ in range(100):
            pin.drive(1)
            pin.drive(0)
        without = gc.mem_alloc() - a
        gc.enable()
        pin.irq_handler = handler
        assert with_handler == without, (pid, with_handler, without)



def test_a_tick_due_inside_a_repl_update_is_skipped_not_torn():
    # regression: IRQs masked do not keep a scheduled tick out, so a tick could see half of a
    # profile switch; the tick now skips a period that falls inside the REPL's update
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    n0 = loop.n
    with b.rig._crit:
        b.rig.sup.p1_warn_dmmhg = -500          # the first half of an update ...
        b.ticks(3)                               # ... periods fall due meanwhile
        assert loop.n == n0 and loop.deferred == 3
        b.rig.sup.p1_crit_dmmhg = -600          # ... and the second half
    b.ticks(1)
    assert loop.n == n0 + 1 and loop.errors == 0


def test_i2c_is_built_with_a_short_timeout():
    import board_pico as board
    for n in board.I2C:
        assert board.I2C[n].get("timeout_us", 50000) <= 5000


def test_an_exception_while_actuating_leaves_interrupts_enabled():
    # regression: actuate() masked IRQs and an exception skipped enable_irq: air IRQs dead
    b = Bench()
    b.running(2500)
    pump = b.rig.pump
    drive = pump.drive

    def broken(rpm, enable):
        raise RuntimeError("PWM write failed")

    pump.drive = broken
    b.ticks(3)
    pump.drive = drive
    assert machine.sim_irqs_enabled()
    assert b.rig.loop.errors >= 1
    b.air(True)                               # the air IRQ still acts
    assert b.duty() == 0 and b.clamp_closed()


def test_a_repl_update_cannot_hold_the_tick_off_for_long():
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    n0 = loop.n
    with b.rig._crit:
        b.ticks(20)                           # a REPL call stuck for 200 ms
    assert loop.deferred == 5 and loop.n - n0 == 15
    assert not loop.busy


def test_crit_is_released_when_the_update_raises():
    b = Bench()
    try:
        with b.rig._crit:
            raise ValueError("bad input")
    except ValueError:
        pass
    assert not b.rig.loop.busy


def _steady_bench():
    b = Bench()
    b.set(flow=3.0)
    b.running(2500)
    b.rig.mode("flow")
    b.rig.set_flow(4.0)
    devices.can_all(machine)    # the host's device models allocate per read; a board's don't
    return b


def test_a_board_tick_runs_with_the_heap_locked_and_allocates_nothing():
    # On rp2 and the ESP32 the tick locks the heap (its frames on the C stack). The unix port
    # really refuses allocations while it is locked: 2000 locked ticks without one error.
    b = _steady_bench()
    lp = b.rig.loop
    lp.lock_heap = True
    for _ in range(2000):
        lp.tick()
    assert lp.errors == 0 and lp.alloc_faults == 0 and lp.lock_heap, lp.last_error


class _Allocating:
    # a pressure part's bus whose read allocates (raises MemoryError while the heap is locked);
    # not a closure: calling a closure with many arguments allocates on MicroPython
    def __init__(self, i2c, loop):
        self.i2c = i2c
        self.loop = loop
        self.calls = 0

    def readfrom_into(self, addr, buf):
        self.calls += 1
        if self.loop.lock_heap:
            raise MemoryError("memory allocation failed")
        return self.i2c.readfrom_into(addr, buf)


def test_an_allocation_in_a_locked_tick_costs_that_tick_then_the_tick_runs_unlocked():
    # a path that allocates (a bug) raises MemoryError with the heap locked: that tick is an
    # error with the fail-safe reaction; the lock is then off so the same path cannot fail
    # every tick from then on; a driver does not take the MemoryError for a bus fault
    from ecmo.safety import alarms as A
    b = _steady_bench()
    lp = b.rig.loop
    lp.lock_heap = True
    p2 = b.rig.sup.p2
    bus = p2._i2c = _Allocating(p2._i2c, lp)
    rpm = b.rig.sup.rpm_applied
    lp.tick()
    assert lp.errors == 1 and lp.alloc_faults == 1 and not lp.lock_heap
    assert isinstance(lp.last_error, MemoryError)
    assert b.rig.al.active(A.TICK_ERROR)
    assert b.rig.sup.rpm_applied == rpm and b.rig.pump.enabled     # held, not stopped
    for _ in range(50):
        lp.tick()
    from ecmo.drivers import status as S
    # (canned frames read as frozen after a while: only the bus must not be blamed)
    assert lp.errors == 1 and bus.calls == 51 and p2.status != S.BUS, (lp.errors, bus.calls, p2.status)


class _Spent:
    # a part whose every call raises, as when the C stack is spent (RuntimeError: maximum
    # recursion depth exceeded): REPL code nested ~20 calls deep when the tick came
    def __init__(self, part):
        self.part = part

    def __getattr__(self, name):
        a = getattr(self.part, name)
        if callable(a):
            return self.raiser
        return a

    def raiser(self, *args):
        raise RuntimeError("maximum recursion depth exceeded")


def test_a_tick_whose_fail_safe_raises_too_is_counted_and_the_timer_lives_on():
    # The C stack spent (REPL code 22 calls deep on the emulated Pico): not even the fail-safe
    # runs. The timer's call returns anyway (uncaught, the scheduler printed the exception at
    # that depth: once that ended in a watchdog reset) and counts the tick as lost.
    b = Bench()
    b.running(2500)
    lp = b.rig.loop
    sensors, pump = lp.sensors, lp.pump
    lp.sensors = (_Spent(sensors[0]),)
    lp.pump = _Spent(pump)
    sup_actuate = lp.sup.actuate
    lp.sup.actuate = lp.pump.raiser
    e0 = lp.errors
    lp.tick()                    # must not raise
    from time import ticks_add
    lp._start_us = ticks_add(lp._start_us, -20000)   # a period later, as the timer calls it
    lp.cb(None)                  # nor the timer's own call
    assert lp.lost == 2 and lp.errors == e0 + 2     # both tick bodies counted once
    lp.sensors, lp.pump, lp.sup.actuate = sensors, pump, sup_actuate
    b.rig.ack()
    assert "TICK_ERROR" not in b.rig.al.codes()
    n = lp.n
    b.ticks(10)
    assert lp.n > n and lp.lost == 2
    # the first good tick shows what the lost ones could not raise (HIGH: it stays shown)
    assert "TICK_ERROR" in b.rig.al.codes()


def test_a_pin_handler_the_port_disabled_is_armed_again_within_10_ticks():
    # A hard handler that raised once (on rp2: the C stack spent by REPL code ~20 calls deep as
    # the edge came) is disabled by the port for good: its trigger 0 (conform.py
    # pin.hard_irq.raises). The loop re-arms it: the air stop is the IRQ's again, at the edge.
    import board_pico as board
    b = Bench()
    b.running(2500)
    for pid in (board.BUBBLE["pin"], board.ESTOP["pin"], board.PUMP["tach"]):
        st = machine.sim_pin(pid)
        st.irq_trigger = 0           # what the port does after an uncaught exception
        st.irq_handler = None
    b.ticks(10)
    assert b.rig.loop.irq_rearmed == 3
    assert "TICK_ERROR" in b.rig.al.codes()     # a handler raised: a firmware fault, shown
    b.ticks(10)
    assert b.rig.loop.irq_rearmed == 3          # once each, not again
    n = b.rig.loop.n
    assert b.enabled()
    b.air(True)
    assert b.rig.loop.n == n and not b.enabled() and b.clamp_closed()   # before any tick


def _nothing():
    pass


def test_the_timer_entry_and_tick_frames_sit_on_the_c_stack():
    # Loop.tick() is entered before the heap is locked, so its own frame (and the timer's
    # _timed) must fit MicroPython's on-stack frame (11 words, py/objfun.c; an exception handler
    # level is 3): else every tick searches the heap again. The unix port's mem_total() counts
    # every allocation, freed or not: a heap frame shows as bytes.
    import micropython
    if not hasattr(micropython, "mem_total"):
        return                     # CPython: no frames on a heap to count
    b = Bench()
    lp = b.rig.loop
    lp._tick = _nothing
    lp.lock_heap = False
    from time import ticks_add, ticks_us
    lp.tick()
    t0 = micropython.mem_total()
    lp.tick()
    lp._start_us = ticks_add(ticks_us(), -20000)
    lp.cb(None)
    assert micropython.mem_total() - t0 == 0
