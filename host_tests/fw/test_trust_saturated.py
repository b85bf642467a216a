# Issue 11 by class (host_tests/fw/trustkit.py): every interlock sensor saturated the way that hides the danger, on true values, both runtimes.
from trustkit import check


def test_h25_saturated_the_dangerous_way_each_interlock_sensor():
    # the reading stuck at the end of its range that hides the danger: P1 high (suction
    # unseen), P2 and P3 low (pressure unseen), flow low (the loop pushes) and high
    for sensor, kind, dist in (("p1", "saturated", "drainage_occlusion"),
                               ("p2", "saturated_low", "clot"),
                               ("p3", "saturated_low", "return_occlusion"),
                               ("flow", "saturated_low", "setpoint_step"),
                               ("flow", "saturated", "volume_loss")):
        check(sensor, kind, dist)
