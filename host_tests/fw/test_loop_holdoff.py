# rp2's Timer(-1) is a soft (scheduled) callback: when the REPL holds the scheduler off (an
# `mpremote exec` compiling, a long print), the missed periods run back to back afterwards,
# about 3.6 ms apart on the emulated Pico. Each must not claim that a full period passed.
import machine
from rigkit import Bench


def _spy_dt(control):
    seen = []
    orig = control.update

    def update(flow_mlpm, flow_ok, dt_ms):
        seen.append(dt_ms)
        return orig(flow_mlpm, flow_ok, dt_ms)
    control.update = update
    return seen


def test_held_off_timer_runs_one_tick_with_the_real_dt():
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    seen = _spy_dt(b.rig.control)
    n0 = loop.n
    late0 = loop.late
    # the scheduler is held 36 ms past the last tick; then the queued calls run: the first
    # ticks (3.6 ms), the other three follow it at once
    machine.sim_spend_us(36000)
    loop.cb(None)
    machine.sim_spend_us(3600)
    for _ in range(3):
        loop.cb(None)
        machine.sim_spend_us(30)
    assert loop.n - n0 == 1, "queued timer calls each ran a tick"
    assert seen == [20], seen         # 46 ms really passed; the PID's bound caps dt at 2 periods
    assert loop.coalesced == 3
    assert loop.late - late0 == 1


def test_queued_calls_behind_long_ticks_get_the_time_that_passed():
    # with ticks of 7 ms the queued calls are more than half a period apart: each ticks, and
    # each is told the 7 ms that passed, not 10
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    seen = _spy_dt(b.rig.control)
    machine.sim_spend_us(36000)
    for _ in range(3):
        loop.cb(None)
        machine.sim_spend_us(7000)
    assert seen == [20, 7, 7], seen


def test_on_time_timer_ticks_keep_the_period():
    b = Bench()
    b.running(2500)
    seen = _spy_dt(b.rig.control)
    b.ticks(20)
    assert seen == [10] * 20, seen
    assert b.rig.loop.coalesced == 0
