# control/pump_control.py to the RPM (mutation run, docs/mutation.md): the RPM slew both ways,
# bumpless switches, restart, the hold on an invalid flow, tracking (anti-windup inside
# PumpControl), and when the feed-forward is used at all.
from ecmo.control.pump_control import PumpControl, RPM, FLOW, MODE_NAMES


def test_rpm_mode_slews_at_its_ramp_and_lands_on_the_target():
    c = PumpControl(0, 0, 0, 5000, rpm_ramp_s=1000)
    assert c.mode == RPM and MODE_NAMES[RPM] == "rpm" and MODE_NAMES[FLOW] == "flow"
    c.rpm_target = 35
    assert [c.update(0, True, 10) for _ in range(5)] == [10, 20, 30, 35, 35]
    c.rpm_target = 0
    assert [c.update(0, True, 10) for _ in range(5)] == [25, 15, 5, 0, 0]
    c.rpm_target = 10                   # exactly one step away
    assert c.update(0, True, 10) == 10
    c.rpm_target = 0
    assert c.update(0, True, 10) == 0
    assert not c.holding


def test_default_ramps_are_1000_per_second():
    c = PumpControl(0, 0, 0, 5000)
    assert c.flow_ramp_mlpm_s == 1000 and c.rpm_ramp_s == 1000
    c.rpm_target = 3000
    assert c.update(0, True, 20) == 20


def test_switch_to_flow_starts_from_the_applied_speed_and_the_flow_now():
    c = PumpControl(0, 0, 0, 5000)
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 2000, 1800)
    assert c.mode == FLOW and c.out_rpm == 1800 and c.flow_sp_mlpm == 2000
    assert c.pid.out == 1800
    assert c.update(2000, True, 10) == 1800        # no gains: the PID holds its start output
    assert c.flow_sp_mlpm == 2010
    c.set_mode(FLOW, 9999, 100)                    # already there: nothing changes
    assert c.out_rpm == 1800 and c.flow_sp_mlpm == 2010


def test_switch_back_to_rpm_keeps_the_applied_speed():
    c = PumpControl(0, 0, 0, 5000)
    c.set_mode(FLOW, 2000, 1800)
    c.rpm_target = 4000
    c.set_mode(RPM, 2000, 1700)
    assert c.mode == RPM and c.rpm_target == 1700 and c.out_rpm == 1700
    assert c.update(0, True, 10) == 1700


def test_restart_ramps_from_zero_speed_and_a_non_negative_flow():
    c = PumpControl(0, 0, 0, 5000)
    c.set_mode(FLOW, 2000, 1800)
    c.restart(-300)
    assert c.out_rpm == 0 and c.flow_sp_mlpm == 0 and c.pid.out == 0
    c.restart(1200)
    assert c.flow_sp_mlpm == 1200
    c.restart(0)
    assert c.flow_sp_mlpm == 0


def test_invalid_flow_holds_the_last_output_and_resumes_from_it():
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    c.update(3000, True, 10)
    assert c.out_rpm == 2000
    assert c.update(9000, False, 10) == 2000 and c.holding
    assert c.update(0, False, 10) == 2000 and c.holding
    # back: the PID restarts from the held speed with P on top (1000 RPM/(L/min) * 0.5 L/min)
    assert c.update(2500, True, 10) == 2000 + 500 and not c.holding


def test_rpm_mode_clears_a_hold():
    c = PumpControl(0, 0, 0, 5000)
    c.set_mode(FLOW, 3000, 2000)
    c.update(0, False, 10)
    assert c.holding
    c.set_mode(RPM, 3000, 2000)
    c.update(0, True, 10)
    assert not c.holding


def test_track_follows_the_supervisor_without_windup_in_flow_mode():
    c = PumpControl(0, 1000, 0, 5000, flow_ramp_mlpm_s=100000)
    c.flow_target_mlpm = 4000
    c.set_mode(FLOW, 3000, 2000)
    for _ in range(50):
        c.update(3000, True, 10)
        c.track(2000)                   # the supervisor holds the speed at 2000
    assert c.out_rpm == 2000 and c.pid.out == 2000
    # released: the integral was not wound up behind the limit
    assert c.update(3000, True, 10) == 2000 + 10
    c.track(c.out_rpm)                  # the same speed: nothing to do
    assert c.pid.out == 2010


def test_track_in_rpm_mode_moves_the_slew_start():
    c = PumpControl(0, 0, 0, 5000)
    c.rpm_target = 3000
    c.update(0, True, 10)
    c.track(0)
    assert c.out_rpm == 0
    assert c.update(0, True, 10) == 10


class _FF:
    def __init__(self, q, ok=True, rpm=2000):
        self.q_map = q
        self.q_map_ok = ok
        self.rpm = rpm


def test_feed_forward_only_with_a_trusted_estimate_of_at_least_half_a_litre():
    c = PumpControl(0, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    c.update(3000, True, 10)
    assert c.ff_rpm == -1                     # none configured
    for src, used in ((_FF(3000, False), False), (_FF(499), False), (_FF(500), True)):
        c.feed_forward(src)
        c.update(3000, True, 10)
        assert (c.ff_rpm >= 0) == used, (src.q_map, src.q_map_ok)
    c.feed_forward(_FF(3000))
    c.update(3000, True, 10)
    assert c.ff_rpm == 2000                   # 2000 RPM * 3000 / 3000, first estimate: no step
    c.feed_forward(_FF(1000, rpm=4000))
    c.update(3000, True, 10)
    assert c.ff_rpm == 5000                   # 12000 capped at the pump's maximum
    c.feed_forward(None)
    c.update(3000, True, 10)
    assert c.ff_rpm == -1


def test_a_new_controller_is_stopped_with_nothing_asked():
    c = PumpControl(0, 0, 0, 5000)
    assert c.rpm_target == 0 and c.flow_target_mlpm == 0 and c.flow_sp_mlpm == 0
    assert c.out_rpm == 0 and c.holding is False and c.ff is None and c.ff_rpm == -1
    assert c.update(0, True, 10) == 0


def test_restart_keeps_a_small_positive_flow():
    c = PumpControl(0, 0, 0, 5000)
    c.restart(1)
    assert c.flow_sp_mlpm == 1


def ff_world(q=3000, rpm=2000):
    # no gains: the output is the integrator alone, so it moves only by the feed-forward
    c = PumpControl(0, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    src = _FF(q, True, rpm)
    c.feed_forward(src)                 # from the start: the reference model's first use
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    return c, src


def test_feed_forward_change_moves_the_output_through_its_filter_at_once():
    c, src = ff_world()
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == 2000   # first estimate: no step
    src.rpm = 2030                      # the estimate says 30 RPM more are needed
    assert c.update(3000, True, 10) == 2005 and c.ff_rpm == 2005   # 30 * 10 // 60
    assert c.update(3000, True, 10) == 2009 and c.ff_rpm == 2009   # 25 * 10 // 60
    src.rpm = 1970
    assert c.update(3000, True, 10) == 2009 - 7                    # (1970 - 2009) * 10 // 60


def test_feed_forward_steps_are_capped_both_ways():
    c, src = ff_world()
    c.update(3000, True, 10)
    src.rpm = 4000
    outs = [c.update(3000, True, 10) for _ in range(3)]
    assert outs == [2020, 2040, 2060] and c.ff_rpm == 2060
    src.rpm = 0
    outs = [c.update(3000, True, 10) for _ in range(2)]
    assert outs == [2040, 2020]


def test_feed_forward_restarts_from_its_estimate_after_a_hold_or_a_switch():
    c, src = ff_world()
    c.update(3000, True, 10)
    src.rpm = 2600
    c.update(0, False, 10)              # hold: the filter starts again from the estimate
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == 2600
    c.set_mode(RPM, 3000, 2000)
    src.rpm = 2900
    c.set_mode(FLOW, 3000, 2000)
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == 2900
    c.restart(3000)
    src.rpm = 2100
    assert c.update(3000, True, 10) == 0 and c.ff_rpm == 2100


# --- pressure servo (P1) and zero-flow mode (issue 17) ---------------------------------------
from ecmo.control.pump_control import PRESSURE, ZERO, ZERO_TARGET_MLPM, SERVO_GAIN_X  # noqa: E402


class _P1:
    def __init__(self, value=-400, status=0):
        self.value = value
        self.status = status


class _Src:
    def __init__(self, p1=-400):
        self.p1 = _P1(p1)
        self.suspect = 0
        self.q_est = False


def servo_world(kp=10, p1=-400, applied=2000):
    c = PumpControl(0, 0, 0, 5000)
    src = _Src(p1)
    c.sources(src)
    c.set_servo_gains(kp, 0, 0)
    c.set_mode(PRESSURE, 3000, applied, p1)
    return c, src


def test_servo_gains_are_the_operators_times_100():
    c = PumpControl(0, 0, 0, 5000)
    c.set_servo_gains(3, 4, 5)
    assert SERVO_GAIN_X == 100
    assert (c.servo.kp, c.servo.ki, c.servo.kd) == (300, 400, 500)


def test_pressure_mode_starts_from_the_applied_speed_and_the_p1_now():
    c, src = servo_world()
    assert c.mode == PRESSURE and c.rpm_target == 2000 and c.out_rpm == 2000
    assert c.p1_sp_dmmhg == -400 and c.p1_target_dmmhg == -500
    # the target moves 20 mmHg/s (2 a 10 ms tick) toward -50.0 mmHg; 1 RPM per 0.1 mmHg of error
    assert [c.update(0, True, 10) for _ in range(3)] == [2002, 2004, 2006]
    assert c.p1_sp_dmmhg == -406


def test_pressure_servo_reaches_its_target_and_stops_there():
    c, src = servo_world(p1=-496)
    outs = [c.update(0, True, 10) for _ in range(4)]
    assert c.p1_sp_dmmhg == -500 and outs == [2002, 2004, 2004, 2004]
    src.p1.value = -510                   # more suction than asked: the speed comes down
    assert c.update(0, True, 10) == 2000 - 10


def test_pressure_servo_holds_without_a_trusted_p1_and_resumes_from_the_speed_held():
    for spoil in ("none", "status", "suspect"):
        c, src = servo_world()
        c.update(0, True, 10)
        if spoil == "none":
            c.sources(None)
        elif spoil == "status":
            src.p1.status = 3
        else:
            src.suspect = 1
        src.p1.value = -100               # whatever it reads is not followed
        assert c.update(0, True, 10) == 2002 and c.holding, spoil
        assert c.update(0, True, 10) == 2002 and c.holding, spoil
        c.sources(src)
        src.p1.status = 0
        src.suspect = 0
        src.p1.value = -300
        # back: from the speed held, the target from the P1 now (one ramp step on)
        assert c.update(0, True, 10) == 2002 + 2 and not c.holding, spoil
        assert c.p1_sp_dmmhg == -302, spoil


def test_pressure_servo_ignores_the_other_suspects():
    c, src = servo_world()
    src.suspect = 2                       # the flow sensor suspected, not P1
    assert c.update(0, True, 10) == 2002 and not c.holding


def test_track_in_pressure_mode_reseeds_the_servo():
    c, src = servo_world()
    c.update(0, True, 10)
    c.track(1500)
    assert c.out_rpm == 1500 and c.servo.out == 1500
    # the integral takes the 1500 less the P it had (2); the next P is 4
    assert c.update(0, True, 10) == 1500 - 2 + 4


def test_restart_takes_the_servo_from_zero_speed_and_the_p1_now():
    c, src = servo_world()
    c.update(0, True, 10)
    src.p1.value = -250
    c.restart(0)
    assert c.out_rpm == 0 and c.p1_sp_dmmhg == -250 and c.servo.out == 0
    assert c.update(0, True, 10) == 2
    d = PumpControl(0, 0, 0, 5000)
    d.restart(0)                          # no sources yet: from P1 0
    assert d.p1_sp_dmmhg == 0


def zero_world(flow=1000, applied=2000, frm=FLOW):
    c = PumpControl(0, 0, 0, 5000)
    c.sources(_Src())
    if frm != RPM:
        c.set_mode(frm, flow, applied)
    c.set_mode(ZERO, flow, applied)
    return c


def test_zero_mode_starts_from_the_speed_and_flow_now_and_remembers_where_it_came_from():
    c = zero_world()
    assert c.mode == ZERO and c.prev_mode == FLOW and c.rpm_target == 2000
    assert c.zero_sp_mlpm == 1000 and c.zero.out == 2000
    c.set_mode(ZERO, 500, 100)            # already there: nothing changes
    assert c.prev_mode == FLOW and c.zero_sp_mlpm == 1000
    assert zero_world(frm=RPM).prev_mode == RPM


def test_zero_mode_target_ramps_to_50_ml_per_min_at_half_a_litre_a_second():
    c = zero_world(flow=100)
    sps = []
    for _ in range(12):
        c.update(100, True, 10)
        sps.append(c.zero_sp_mlpm)
    assert ZERO_TARGET_MLPM == 50
    assert sps == [95, 90, 85, 80, 75, 70, 65, 60, 55, 50, 50, 50]


def test_zero_mode_dead_band_is_strictly_inside_30_ml_per_min():
    # the target stays put (flow at it): an error inside the band moves nothing, 30 does
    for flow, moves in ((50 + 29, False), (50 - 29, False), (50 + 30, True), (50 - 30, True)):
        c = zero_world(flow=50)
        c.update(50, True, 10)
        out = c.update(flow, True, 10)
        assert (out != 2000) == moves, flow
    c = zero_world(flow=50)
    c.update(50, True, 10)
    assert c.update(80, True, 10) < 2000 < zero_world(flow=50).update(20, True, 10)


def test_zero_mode_gains_move_the_speed_against_the_flow():
    # 100 mL/min above the target: P = 300 RPM/(L/min) * -0.1 = -30, I = -0.8 RPM a tick
    c = zero_world(flow=50)
    c.update(50, True, 10)
    assert c.update(150, True, 10) == 2000 - 30 - 1
    assert c.update(150, True, 10) == 2000 - 30 - 2


def test_zero_mode_holds_on_an_untrusted_flow_or_the_estimate_and_resumes_from_it():
    for spoil in ("invalid", "estimate"):
        c = zero_world(flow=50)
        c.update(50, True, 10)
        ok = spoil != "invalid"
        c.src.q_est = spoil == "estimate"
        assert c.update(900, ok, 10) == 2000 and c.holding, spoil
        c.src.q_est = False
        # back: from the speed held and the flow now, the target ramping on from it
        assert c.update(400, True, 10) == 2000 and not c.holding, spoil
        assert c.zero_sp_mlpm == 395, spoil


def test_zero_mode_holds_with_no_sources_only_on_an_invalid_flow():
    c = PumpControl(0, 0, 0, 5000)
    c.set_mode(ZERO, 50, 2000)
    c.update(50, True, 10)
    assert not c.holding
    assert c.update(50, False, 10) == 2000 and c.holding


def test_track_in_zero_mode_reseeds_its_pid_and_restart_its_target():
    c = zero_world(flow=50)
    c.update(50, True, 10)
    c.track(1200)
    assert c.out_rpm == 1200 and c.zero.out == 1200
    assert c.update(50, True, 10) == 1200
    c.restart(700)
    assert c.out_rpm == 0 and c.zero.out == 0 and c.zero_sp_mlpm == 700


def test_switch_to_flow_with_the_feed_forward_in_use_is_bumpless():
    # the reference model starts from the flow now: it once started from its stale value (0 on
    # a new controller), so the PID saw a setpoint far below the flow and dropped the speed
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.feed_forward(_FF(3000, True, 2000))
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    assert [c.update(3000, True, 10) for _ in range(3)] == [2000, 2000, 2000]
    # and again after a spell in RPM mode at another flow
    c.set_mode(RPM, 3000, 2000)
    c.set_mode(FLOW, 2500, 2000)
    c.flow_target_mlpm = 2500
    assert c.update(2500, True, 10) == 2000


def test_restart_with_the_feed_forward_starts_the_reference_from_the_flow_now():
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.feed_forward(_FF(3000, True, 2000))
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    for _ in range(300):                   # long enough at 3 L/min for any start to settle
        c.update(3000, True, 10)
    c.restart(600)                         # after a stop: from 0 RPM and the flow now
    c.flow_target_mlpm = 600
    assert c.update(600, True, 10) == 0


def test_the_reference_model_lags_a_setpoint_step_by_280_ms():
    # P only (1 RPM per mL/min): the output shows the setpoint the PID sees, the reference
    # model's 1/16 mL/min steps d * 10 // (280 + 10), floored to mL/min
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    src = _FF(3000, True, 2000)
    c.feed_forward(src)
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    c.update(3000, True, 10)
    src.rpm = 2000 * 3000 // 4000          # the estimate follows: the feed-forward stays put
    src.q_map = 3000
    c.flow_target_mlpm = 4000
    outs = [c.update(3000, True, 10) - c.pid.i_mrpm // 1000 for _ in range(8)]
    assert outs == [34, 67, 99, 130, 160, 189, 217, 244]


def test_ramps_of_the_servo_and_zero_targets_per_second():
    c, src = servo_world(p1=-100)
    c.update(0, True, 1000)
    assert c.p1_sp_dmmhg == -100 - 200     # 20 mmHg in one second
    z = zero_world(flow=1000)
    z.update(1000, True, 1000)
    assert z.zero_sp_mlpm == 1000 - 500    # 0.5 L/min in one second


def test_zero_mode_integral_gain_to_the_rpm():
    # 1 L/min above the target for one second: P -300, I -800 RPM
    z = zero_world(flow=50)
    z.update(50, True, 10)
    assert z.update(1050, True, 1000) == 2000 - 300 - 800


def test_zero_mode_resumes_from_the_speed_held_with_its_p_in_it():
    z = zero_world(flow=50)
    z.update(50, True, 10)
    held = z.update(150, True, 10)         # P -30 in this speed
    assert held == 2000 - 30 - 1
    assert z.update(150, False, 10) == held and z.holding
    assert z.update(50, True, 10) == held  # at the target now: no error, stays at the speed held


def test_a_new_controller_has_its_servo_and_zero_targets_at_zero_and_comes_from_rpm():
    c = PumpControl(0, 0, 0, 5000)
    assert c.p1_sp_dmmhg == 0 and c.zero_sp_mlpm == 0 and c.prev_mode == RPM


def test_feed_forward_restarts_from_its_estimate_after_the_estimate_was_lost():
    c, src = ff_world()
    c.update(3000, True, 10)
    assert c.ff_rpm == 2000
    src.q_map_ok = False                # the estimate not usable for a tick: PID alone
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == -1
    src.q_map_ok = True
    src.rpm = 2600                      # back, with another speed: its first estimate, no step
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == 2600


def test_flow_hold_resumes_from_the_speed_held_with_its_p_in_it():
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.flow_target_mlpm = 3000
    c.set_mode(FLOW, 3000, 2000)
    assert c.update(2800, True, 10) == 2200          # P +200 in this speed
    assert c.update(0, False, 10) == 2200 and c.holding
    assert c.update(3000, True, 10) == 2200          # on target now: stays at the speed held


def test_restart_with_the_feed_forward_aims_at_the_flow_it_restarted_from():
    c = PumpControl(1000, 0, 0, 5000, flow_ramp_mlpm_s=100000)
    c.feed_forward(_FF(3000, True, 2000))
    c.set_mode(FLOW, 3000, 2000)
    c.restart(600)
    c.flow_target_mlpm = 600
    assert c.update(0, True, 10) == 600              # P on 600 - 0, from 0 RPM


def test_the_reference_model_lands_exactly_on_the_setpoint():
    c, src = ff_world()
    c.pid.kp = 1000
    c.update(3000, True, 10)
    c.flow_target_mlpm = 4000
    src.rpm = 1500                                    # the feed-forward stays at 2000
    for _ in range(300):
        out = c.update(3000, True, 10)
    assert out - c.pid.i_mrpm // 1000 == 1000        # P on the whole 1 L/min step


def test_a_feed_forward_estimate_of_0_rpm_is_an_estimate():
    # the filter goes on from 0 RPM (its first estimate), in steps of at most 20 RPM
    c, src = ff_world(rpm=0)
    assert c.update(3000, True, 10) == 2000 and c.ff_rpm == 0
    src.rpm = 2000
    assert c.update(3000, True, 10) == 2020 and c.ff_rpm == 20
