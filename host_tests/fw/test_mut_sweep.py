# control/sweep.py to the count (mutation run, docs/mutation.md): a fresh controller, the
# smallest sweep asked for, sweep off and back on (a new bumpless start), the start from a flow
# of 1 mL/min, the full-open duty, the REPL's gain bounds, and the FiO2 loop's fresh state.
import rigkit
from ecmo.control.sweep import SweepControl, FiO2Control


def test_a_fresh_sweep_controller_is_closed_and_stays_closed_with_no_target():
    c = SweepControl(200, 100, 0, crack_u16=8000)
    assert c.target_mlpm == 0 and c.sp_mlpm == 0 and c.out_u16 == 0 and c.holding is False
    assert c.update(3000, True, 100) == 0
    assert c.sp_mlpm == 0 and c.out_u16 == 0 and c.holding is False


def test_a_fresh_sweep_controller_holds_closed_on_an_invalid_reading():
    c = SweepControl(200, 100, 0)
    c.target_mlpm = 2000
    assert c.update(0, False, 100) == 0 and c.holding


def test_one_ml_per_min_is_a_sweep():
    c = SweepControl(0, 0, 0, crack_u16=8000)
    c.target_mlpm = 1
    assert c.update(0, True, 100) == 8000 and c.sp_mlpm == 1


def test_sweep_off_and_on_again_starts_from_the_crack_and_the_flow_now():
    c = SweepControl(0, 1000, 0, crack_u16=8000, ramp_mlpm_s=5000)
    c.target_mlpm = 4000
    for _ in range(30):
        c.update(500, True, 100)          # the integral opens the valve well past the crack
    assert c.out_u16 > 8000
    c.target_mlpm = 0
    assert c.update(500, True, 100) == 0
    c.target_mlpm = 4000
    fresh = SweepControl(0, 1000, 0, crack_u16=8000, ramp_mlpm_s=5000)
    fresh.target_mlpm = 4000
    first = fresh.update(2000, True, 100)
    assert first < 9000                          # from the crack, one integral step on
    assert c.update(2000, True, 100) == first    # a new start: as a fresh one, no memory
    assert c.sp_mlpm == 2000 + 500               # from the flow now, one ramp step on


def test_a_start_from_a_flow_of_1_ml_per_min_begins_there():
    c = SweepControl(0, 0, 0, ramp_mlpm_s=5000)
    c.target_mlpm = 4000
    c.update(1, True, 100)
    assert c.sp_mlpm == 1 + 500
    d = SweepControl(0, 0, 0, ramp_mlpm_s=5000)
    d.target_mlpm = 4000
    d.update(-300, True, 100)                    # a reverse reading starts the ramp from 0
    assert d.sp_mlpm == 500


def test_full_open_is_the_largest_16_bit_step():
    c = SweepControl(2000, 0, 0, ramp_mlpm_s=100000)
    c.target_mlpm = 10000
    assert c.update(0, True, 100) == 4095 << 4 == 65520


def test_a_hold_then_a_restart_resumes_from_the_held_output():
    c = SweepControl(0, 0, 0, crack_u16=16000)
    c.target_mlpm = 3000
    c.update(1000, True, 100)
    c.out_u16 = 24000
    assert c.update(1000, False, 100) == 24000 and c.holding
    c.restart(1000)
    assert c.update(1000, True, 100) == 24000 and not c.holding


def test_the_repl_takes_sweep_gains_up_to_their_bounds_and_refuses_beyond():
    b = rigkit.Bench()
    r = b.rig
    assert r.sweep_gains(kp=2000, ki=1000, kd=200) == (2000, 1000, 200)
    for kw in ({"kp": 2001}, {"ki": 1001}, {"kd": 201}):
        try:
            r.sweep_gains(**kw)
        except ValueError:
            pass
        else:
            assert False, kw
    assert r.sweep_gains() == (2000, 1000, 200)


def test_a_fresh_fio2_controller_with_an_invalid_cell_holds_closed():
    c = FiO2Control()
    assert c.out_u16 == 0 and c.holding is False and c.target_dpct == 1000
    assert c.update(0, False, 1000) == 0 and c.holding


def test_fio2_feed_forward_is_set_once_per_target():
    # the same target again does not reset the integral: it keeps trimming
    c = FiO2Control(ki=300)
    c.target_dpct = 600
    outs = [c.update(500, True, 1000) for _ in range(3)]
    assert outs[0] < outs[1] < outs[2]
    c.target_dpct = 601                          # a new target: the feed-forward again
    ff = ((601 - 209) * 4095 // 791)
    assert c.update(601, True, 1000) == ff << 4
