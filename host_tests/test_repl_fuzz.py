# Hypothesis fuzz of the REPL setters (CPython, in process): any argument either is accepted
# within bounds or raises ValueError naming the parameter, with nothing changed; the loop keeps
# ticking without errors throughout.
import math

from hypothesis import given, settings, strategies as st, HealthCheck

import machine
import rigkit
from ecmo import settings as S
from ecmo.safety import profiles

anything = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-10 ** 40, max_value=10 ** 40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8), st.binary(max_size=4),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.complex_numbers(), st.sampled_from(sorted(profiles.LIMITS) + ["VA", "VV", "flow", "rpm"]),
)
SETTERS = ("set_flow", "set_rpm", "gains", "limit", "mode", "profile", "clamp", "telemetry")


def _snap(r):
    c = r.control
    return (S.canon(r.settings), c.flow_target_mlpm, c.rpm_target, c.mode, r.sup.profile,
            c.pid.kp, c.pid.ki, c.pid.kd, r.sup.clamp_request, r.tlm.hz,
            tuple(getattr(r.sup, k) for k in profiles.PUMP_LIMITS),
            tuple(getattr(r.gas.safety, k) for k in profiles.GAS_LIMITS))


def _fresh():
    machine.sim_reset()
    b = rigkit.Bench()
    b.set(flow=3.0)
    b.running(2500, settle=20)
    return b


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(calls=st.lists(st.tuples(st.sampled_from(SETTERS), st.lists(anything, min_size=1, max_size=3),
                                st.one_of(st.none(), anything)), min_size=1, max_size=8))
def test_fuzzed_setters_never_break_the_rig(calls):
    b = _fresh()
    r = b.rig
    for name, args, confirm in calls:
        before = _snap(r)
        kw = {} if confirm is None or name != "limit" else {"confirm": confirm}
        try:
            getattr(r, name)(*args, **kw)
        except ValueError as e:
            assert str(e)
            assert _snap(r) == before, (name, args)
        except TypeError:
            # wrong number of arguments: Python refuses the call before the method runs
            assert _snap(r) == before, (name, args)
        else:
            # accepted: every stored setting is still inside its bounds
            d, bad = S.validate(r.settings, b.rig.board.RPM_MAX)
            assert not bad, (name, args, bad)
            assert 0 <= r.control.flow_target_mlpm <= 8000
            assert 0 <= r.control.rpm_target <= 5000
        b.ticks(2)
    assert r.loop.errors == 0, r.loop.last_error
    assert not math.isnan(r.settings["flow_lpm"])
