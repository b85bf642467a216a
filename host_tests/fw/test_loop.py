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
    if not hasattr(gc, "mem_alloc"):
        return
    b = Bench()
    b.running(2500)
    pin = machine.sim_pin(13)
    pin.drive(0)
    pin.drive(1)
    # the fake pin's drive() itself may allocate: measure it alone, then with the handlers
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(100):
        pin.drive(0)
        pin.drive(1)
    with_handler = gc.mem_alloc() - a
    pin.irq_handler = None
    a = gc.mem_alloc()
    for _ in range(100):
        pin.drive(0)
        pin.drive(1)
    without = gc.mem_alloc() - a
    gc.enable()
    assert with_handler == without, (with_handler, without)
