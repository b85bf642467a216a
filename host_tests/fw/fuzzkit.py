# Random actions on a running bench (sensor values, faults, air, e-stop, REPL commands) and the
# invariants that must hold after every tick. Shared by the seeded fuzz (both runtimes) and the
# hypothesis property test (CPython).
import machine
import board_pico as board
from ecmo.safety.supervisor import STOP

ACTIONS = ("p1", "p2", "p3", "flow", "raw", "i2c", "air", "estop", "repl", "ticks")
REPL = ("set_flow", "set_rpm", "mode", "gains", "limit", "profile", "clamp", "ack", "restart",
        "run", "standby")
JUNK = (float("nan"), float("inf"), -1e30, 1e30, None, "x", -5, 0, 3.5, 10 ** 12, True, (1,))


def apply(b, kind, a, c):
    # a: an int in 0..2**16, c: an index into JUNK or a small int; every kind uses them its own way
    rig = b.rig
    if kind == "p1":
        b.set(p1=(a % 1000) - 500)
    elif kind == "p2":
        b.set(p2=(a % 1000) - 300)
    elif kind == "p3":
        b.set(p3=(a % 1000) - 300)
    elif kind == "flow":
        b.set(flow=((a % 1200) - 200) / 100)
    elif kind == "raw":
        b.raw(("p1", "flow")[c % 2], JUNK[c % len(JUNK)] if a % 3 == 0 else a % 65536)
    elif kind == "i2c":
        machine.sim_i2c_fault(c % 2, 0x28, (None, "nack", "timeout")[a % 3])
    elif kind == "air":
        b.air(a % 2 == 1)
    elif kind == "estop":
        b.estop(a % 4 == 1)
    elif kind == "repl":
        name = REPL[a % len(REPL)]
        junk = JUNK[c % len(JUNK)]
        try:
            if name in ("ack", "restart", "run", "standby"):
                getattr(rig, name)()
            elif name == "limit":
                rig.limit(("p1_warn_dmmhg", "p3_crit_dmmhg", "rpm_min", "nope")[c % 4],
                          junk if a % 2 else (a % 6000) - 3000, a % 3 == 0)
            elif name == "gains":
                rig.gains(junk if a % 2 else a % 3000, a % 500, junk)
            elif name == "mode":
                rig.mode(("flow", "rpm", junk)[c % 3])
            elif name == "profile":
                rig.profile(("VA", "VV", junk)[c % 3])
            elif name == "clamp":
                rig.clamp((True, False, junk)[c % 3])
            else:
                getattr(rig, name)(junk if a % 2 else a % 6000)
        except ValueError:
            pass
    elif kind == "ticks":
        return 1 + a % 30
    return 1


def check(b):
    rig = b.rig
    assert rig.loop.errors == 0, repr(rig.loop.last_error)
    d = b.duty()
    assert 0 <= d <= 65535
    if rig.bubble.air or rig.sup.state == STOP:
        assert d == 0 and not b.enabled() and b.clamp_closed(), "pump or clamp open in a stop"
    if machine.sim_pin(board.BUBBLE["pin"]).level == 1:
        assert b.clamp_closed(), "clamp released with air present"


def run(b, steps):
    # steps: list of (kind index, a, c)
    for k, a, c in steps:
        n = apply(b, ACTIONS[k % len(ACTIONS)], a, c)
        for _ in range(n):
            b.ticks(1)
            check(b)
