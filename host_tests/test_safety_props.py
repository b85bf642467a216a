# Property test (hypothesis, CPython): arbitrary action sequences keep the safety invariants.
import machine
from hypothesis import given, settings, strategies as st, HealthCheck
from rigkit import Bench
import fuzzkit

step = st.tuples(st.integers(0, 255), st.integers(0, 65535), st.integers(0, 255))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=60), st.sampled_from(["VA", "VV"]))
def test_any_sequence_keeps_safety_invariants(steps, profile):
    machine.sim_reset()
    b = Bench(profile=profile)
    b.running(2500, settle=20)
    fuzzkit.run(b, steps)
