# Issue 11 by class (host_tests/fw/trustkit.py), the faults an independent attack found after
# the examples passed, on true values, both runtimes:
# - P2 frozen in the first seconds, before the pump map's P2 estimate is anchored, then a severe
#   clot: P2 was then seen only through P3 (its lower bound), the flow loop drove the pump to
#   5000 rpm against the clot and the true P2 sat above 600 mmHg for 11 s with no alarm but
#   SENSOR_P2. Now the speed holds (a held speed bounds P2 by the shut-off head).
# - a noisy P3 that clears: a resistance sample taken between the noise's start and its flag
#   (0.1 s) became the clot check's baseline and raised a false CLOT for a minute after.
# - two sensors frozen at once, P1 with P2 or with flow, then a drainage occlusion: the P1
#   estimate needs both, so the held speed kept the true P1 near -200 mmHg for 13 s.
from trustkit import check


def test_h24_p2_frozen_before_its_estimate_is_anchored_then_a_clot():
    for t in (1.5, 3.5, 4.5):
        check("p2", "stuck", "clot", seconds=16, fault_t=t)


def test_h26_noisy_p3_that_clears_raises_no_clot_after():
    # RPM mode, the circuit steady: the false CLOT came 1.3 s after the noise cleared
    check("p3", "noise", "none", seconds=22, fault_t=8.0, ok_t=16.0, rpm=2500)


def test_h26_noisy_p2_that_clears_raises_no_clot_after():
    check("p2", "noise", "none", seconds=22, fault_t=8.0, ok_t=16.0, rpm=2500)


def test_h24_two_sensors_frozen_with_a_drainage_occlusion():
    # P1 with P2, or P1 with flow: the pump-map estimate of P1 needs both, so suction went
    # unwatched and the held speed kept the true P1 at -200 mmHg for 13 s; the membrane (R2)
    # now stands in for the second sensor
    check("p1", "stuck", "drainage_occlusion", also="p2")
    check("p1", "stuck", "drainage_occlusion", also="flow")


def test_h24_p2_with_p3_or_flow_frozen_with_a_clot_or_a_return_occlusion():
    check("p2", "stuck", "clot", also="flow")
    check("p2", "stuck", "return_occlusion", also="p3")
    check("p3", "stuck", "return_occlusion", also="flow")
