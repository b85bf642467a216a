# The gas loops' behaviour to the count: sweep off, hold, bumpless start at the cracking duty,
# the slewed setpoint, resume after a hold or a cut, and the FiO2 feed-forward from the mix.
from ecmo.control.sweep import SweepControl, FiO2Control


def test_sweep_off_closes_the_valve_at_once_and_forgets_a_hold():
    c = SweepControl(200, 0, 0)
    c.target_mlpm = 4000
    for _ in range(20):
        c.update(1000, True, 100)
    assert c.out_u16 > 0
    c.update(1000, False, 100)
    assert c.holding
    c.target_mlpm = 0
    assert c.update(1000, True, 100) == 0
    assert c.out_u16 == 0 and c.sp_mlpm == 0 and not c.holding


def test_start_from_closed_begins_at_the_cracking_duty_and_the_flow_now():
    c = SweepControl(0, 0, 0, crack_u16=8000, ramp_mlpm_s=5000)
    c.target_mlpm = 4000
    assert c.update(300, True, 100) == (8000 >> 4) << 4
    assert c.sp_mlpm == 300 + 500            # from the measured flow, 5 L/min/s * 0.1 s


def test_setpoint_slews_at_its_ramp_to_the_target_and_no_further():
    c = SweepControl(0, 0, 0, ramp_mlpm_s=2000)
    c.target_mlpm = 1000
    sps = []
    for _ in range(8):
        c.update(0, True, 100)
        sps.append(c.sp_mlpm)
    assert sps == [200, 400, 600, 800, 1000, 1000, 1000, 1000]
    c.target_mlpm = 500
    c.update(0, True, 100)
    assert c.sp_mlpm == 800


def test_invalid_flow_holds_the_output_and_resumes_from_it():
    c = SweepControl(100, 0, 0)
    c.target_mlpm = 2000
    for _ in range(10):
        out = c.update(1000, True, 100)
    held = c.update(50000, False, 100)        # a garbage reading while invalid: not chased
    assert held == out and c.holding
    assert c.update(50000, False, 100) == out
    # resumes with the integrator at the held output, P on top (100 steps/(L/min) * 1 L/min)
    back = c.update(1000, True, 100)
    assert not c.holding and back == held + ((100 * 1000 // 1000) << 4)


def test_proportional_output_in_valve_steps():
    c = SweepControl(1000, 0, 0, ramp_mlpm_s=100000)
    c.target_mlpm = 2000
    # sp jumps to the target (fast ramp); P = 1000 steps/(L/min) * 1 L/min, in duty_u16 * 16
    assert c.update(1000, True, 100) == (1000 * 1000 // 1000) << 4


def test_restart_after_a_cut_continues_from_the_output_held():
    c = SweepControl(0, 0, 0, crack_u16=16000)
    c.target_mlpm = 3000
    c.update(1000, True, 100)
    c.out_u16 = 32000                 # what the valve had when the supervisor cut it
    c.restart(1000)
    assert c.update(1000, True, 100) == 32000
    d = SweepControl(0, 0, 0, crack_u16=16000)
    d.target_mlpm = 3000
    d.restart(1000)                   # never opened: restart is a no-op, start from the crack
    assert d.update(1000, True, 100) == 16000


def test_fio2_feed_forward_sets_the_mix_at_once():
    c = FiO2Control(ki=0)
    c.target_dpct = 1000
    assert c.update(1000, True, 1000) == 4095 << 4                 # pure O2: valve fully open
    c.target_dpct = 600
    assert c.update(600, True, 1000) == ((600 - 209) * 4095 // 791) << 4
    c.target_dpct = 209
    assert c.update(209, True, 1000) == 0                          # air only


def test_fio2_invalid_cell_holds_the_valve():
    c = FiO2Control(ki=300)
    c.target_dpct = 600
    out = c.update(600, True, 1000)
    assert c.update(0, False, 1000) == out and c.holding
    c.update(600, True, 1000)
    assert not c.holding


def test_fio2_trims_slowly_against_the_cell():
    c = FiO2Control(ki=300)
    c.target_dpct = 600
    first = c.update(550, True, 1000)        # the cell reads low: the integral opens a little
    second = c.update(550, True, 1000)
    assert second > first
    assert second - first == ((300 * 50 * 1000) // 1000 // 1000) << 4
