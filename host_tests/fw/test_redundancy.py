# Analytical redundancy (ecmo/redundancy.py) on the firmware bench: readings set consistent with
# the pump map, then one sensor made wrong while it still answers "ok"; the relations between
# them must name it (by majority), and the substitutes must stand in for it.
from rigkit import Bench
from ecmo import redundancy as R

RPM = 3000
Q_LPM = 3.7


def consistent(b, dq=0.0, dp1=0.0, dp2=0.0, dp3=0.0):
    # P1, P2, P3 and flow the way the board's map says the pump makes them at the speed now
    # (flow scaling with speed: a fixed circuit)
    m = b.rig.red.map
    rpm = b.rig.pump.rpm
    q = Q_LPM * rpm / RPM
    p1 = -41.0
    head = m.head_dmmhg(rpm, int(q * 1000)) / 10.0
    p2 = p1 + head
    b.set(p1=p1 + dp1, p2=p2 + dp2, p3=p2 - 18.0 * q / Q_LPM + dp3, flow=q + dq)


def run(b, n, **wrong):
    for _ in range(n):
        consistent(b, **wrong)
        b.ticks(1)


def warm_bench():
    b = Bench()
    consistent(b)
    b.rig.set_rpm(RPM)
    b.rig.run()
    run(b, 1000)                    # 3 s ramp, then 7 s: the anchors learn, the checks start
    assert b.rig.red.suspect == 0, b.rig.red.suspects()
    return b


def test_consistent_readings_name_nobody_and_the_estimates_agree():
    b = warm_bench()
    red = b.rig.red
    assert abs(red.q_map - 3700) < 150, red.q_map
    assert red.q_map_ok and red.p1_est_ok
    assert abs(red.p1_est - (-410)) < 30, red.p1_est
    run(b, 300)
    assert red.suspect == 0


def test_flow_reading_wrong_breaks_both_relations_the_same_way():
    b = warm_bench()
    run(b, 45, dq=1.5)              # the flow sensor reads 1.5 L/min high, status ok
    assert b.rig.red.suspect == 0   # 0.5 s before anyone is named: transients pass
    run(b, 20, dq=1.5)
    assert b.rig.red.suspects() == ["flow"], b.rig.red.suspects()
    red = b.rig.red
    assert red.q_est and red.q_g_ok and abs(red.q_g - 3700) < 200   # the map stands in
    run(b, 5)
    assert red.suspect == 0


def test_p1_wrong_breaks_the_pump_relation_only():
    b = warm_bench()
    run(b, 70, dp1=-60.0)
    red = b.rig.red
    assert red.suspects() == ["p1"], red.suspects()
    assert red.p1_g_ok and abs(red.p1_g - (-410)) < 40, red.p1_g   # the estimate stands in


def test_p2_wrong_breaks_both_relations_in_opposite_ways():
    b = warm_bench()
    run(b, 70, dp2=40.0)
    assert b.rig.red.suspects() == ["p2"], b.rig.red.suspects()


def test_p3_above_p2_at_forward_flow_names_p3_and_p2_bounds_it():
    b = warm_bench()
    run(b, 70, dp3=60.0)            # P3 reads 42 mmHg above P2
    red = b.rig.red
    assert "p3" in red.suspects(), red.suspects()
    assert red.p3_g_ok and red.p3_g == b.rig.p2.value


def test_a_membrane_change_alone_names_nobody():
    # P2 - P3 up (a clot) breaks only the membrane relation: that is CLOT's business
    b = warm_bench()
    run(b, 200, dp3=-40.0)
    assert b.rig.red.suspect == 0, b.rig.red.suspects()


def test_fallback_is_the_speed_of_a_second_before_the_fault():
    b = warm_bench()
    b.rig.set_rpm(3500)
    run(b, 60)                      # 0.5 s ramp (1000 rpm/s), then 0.1 s at the new speed
    run(b, 70, dq=2.0)
    red = b.rig.red
    assert red.suspect == R.FLOW
    assert red.fallback_rpm >= 0
    assert red.fallback_rpm <= 3100, red.fallback_rpm    # from before the speed change


def test_p2_named_wrong_is_stood_in_for_by_the_map_estimate_from_p1_flow_and_speed():
    # behind a clot P3 falls, so P3 (a lower bound of P2) cannot guard the pre-oxygenator
    # limits; P1 + H(rpm, Q) can
    b = warm_bench()
    m = b.rig.red.map
    true_p2 = -410 + m.head_dmmhg(b.rig.pump.rpm, 3700)
    run(b, 70, dp2=40.0)
    red = b.rig.red
    assert red.suspects() == ["p2"], red.suspects()
    assert red.p2_est_ok and abs(red.p2_est - true_p2) < 40, (red.p2_est, true_p2)
    assert red.p2_g_ok and abs(red.p2_g - true_p2) < 40, red.p2_g
    assert "pre-oxygenator pressure (on the pump-map estimate of P2)" in b.rig.sup.blind()


def test_running_sums_stay_small_ints_on_a_board():
    # a board's small ints end at 2^30 - 1 (the unix port's at 2^62: no host run sees a long
    # int): the largest stored sum plus one tick's addition (the 40000 offset and a reading of
    # at most +-20000: head in 0.1 mmHg, flow in mL/min) must stay below it, or each wrap makes
    # a long int in the tick (the emulated Pico's smoke test runs that tick with the heap locked)
    from ecmo import redundancy
    assert redundancy.SUM_WRAP + 40000 + 20000 < 2 ** 30
    assert redundancy.SUM_WRAP & (redundancy.SUM_WRAP + 1) == 0     # a mask: 2^k - 1
