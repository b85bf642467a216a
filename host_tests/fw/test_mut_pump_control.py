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
