# Issue 11 by class (host_tests/fw/trustkit.py): every interlock sensor noisy, with its disturbance and at low flow, on true values, both runtimes.
from trustkit import check


def test_h26_noisy_each_interlock_sensor_with_its_disturbance_and_at_low_flow():
    for sensor, dist in (("p1", "drainage_occlusion"), ("p2", "clot"), ("p3", "return_occlusion"),
                         ("flow", "setpoint_step"), ("p1", "low_flow"), ("p2", "low_flow"),
                         ("p3", "low_flow"), ("flow", "low_flow")):
        check(sensor, "noise", dist)
