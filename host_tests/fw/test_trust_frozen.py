# Issue 11 by class (host_tests/fw/trustkit.py): every interlock sensor frozen with the disturbance that makes it dangerous, on true values, both runtimes.
from trustkit import check


def test_h24_frozen_each_interlock_sensor_with_its_dangerous_disturbance():
    for sensor, dist in (("p1", "drainage_occlusion"), ("p1", "volume_loss"), ("p2", "clot"),
                         ("p3", "return_occlusion"), ("flow", "setpoint_step"),
                         ("flow", "volume_loss")):
        check(sensor, "stuck", dist)
