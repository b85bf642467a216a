# The integer PID's arithmetic, to the RPM: each path (P, I with its remainder, D with its filter,
# the error and derivative clamps, both windup limits, tracking, priming) has one exact case.
# Written against the mutation run (docs/mutation.md): loose bounds let wrong arithmetic pass.
from ecmo.control.pid import PID


def primed(kp, ki, kd, out=2000, pv=3000, lo=0, hi=5000):
    pid = PID(kp, ki, kd, lo, hi)
    pid.reset(out, pv)
    return pid


def test_proportional_term_is_kp_per_litre_per_minute():
    pid = primed(1000, 0, 0)
    assert pid.update(3500, 3000, 10) == 2000 + 500     # 0.5 L/min * 1000 RPM/(L/min)
    assert pid.update(2500, 3000, 10) == 2000 - 500


def test_error_is_clamped_to_ten_litres_per_minute_both_ways():
    pid = primed(100, 0, 0, out=2500, pv=0, hi=10000)
    assert pid.update(20000, 0, 10) == 2500 + 1000      # 10 L/min, not 20
    pid = primed(100, 0, 0, out=2500, pv=20000, hi=10000)
    assert pid.update(0, 20000, 10) == 2500 - 1000


def test_integral_steps_by_ki_times_error_times_dt():
    pid = primed(0, 1000, 0)
    for _ in range(100):
        u = pid.update(3100, 3000, 10)     # 0.1 L/min for 1 s at 1000 RPM/(L/min*s)
    assert u == 2000 + 100


def test_slow_errors_still_integrate_through_the_remainder():
    # ki*e*dt is in micro-RPM: 3 * 33 * 10 = 990 a step, below one milli-RPM each time
    pid = primed(0, 3, 0, out=1000, pv=0)
    for _ in range(2000):
        u = pid.update(33, 0, 10)
    assert u == 1000 + 1980000 // 1000000


def test_negative_integral_steps_and_remainder():
    pid = primed(0, 3, 0, out=1000, pv=33)
    for _ in range(2000):
        u = pid.update(0, 33, 10)
    assert u == (1000000000 - 1980000) // 1000000


def test_derivative_acts_on_the_measurement_through_its_filter():
    pid = primed(0, 0, 100)
    # pv +100 mL/min in 10 ms: raw D = -100*100/10 = -1000 RPM, filtered by 10/(50+10)
    assert pid.update(3000, 3100, 10) == 2000 + (-1000 * 10) // 60
    # pv steady: the filtered D decays towards 0
    u2 = pid.update(3000, 3100, 10)
    d1 = (-1000 * 10) // 60
    assert u2 == 2000 + d1 + (0 - d1) * 10 // 60


def test_derivative_jump_is_clamped():
    a = primed(0, 0, 10, pv=0)
    b = primed(0, 0, 10, pv=0)
    ua = a.update(0, 10000, 10)
    ub = b.update(0, 30000, 10)           # a jump beyond 10 L/min counts as 10 L/min
    assert ua == ub == 2000 + (-(10 * 10000 // 10) * 10) // 60
    c = primed(0, 0, 10, pv=30000)
    assert c.update(0, 0, 10) == 2000 + ((10 * 10000 // 10) * 10) // 60


def test_lower_windup_limit_lets_the_output_recover_at_once():
    pid = primed(300, 1500, 0, out=2000, pv=5000)
    for _ in range(1000):
        u = pid.update(0, 5000, 10)       # far too much flow: output pinned at its minimum
    assert u == 0
    u = pid.update(5000, 0, 10)           # the error reverses
    assert u >= 300 * 5000 // 1000        # at least P at once: no integral left to unwind


def test_upper_windup_limit_lets_the_output_recover_at_once():
    pid = primed(300, 1500, 0, out=2000, pv=0)
    for _ in range(1000):
        u = pid.update(5000, 0, 10)
    assert u == 5000
    u = pid.update(0, 5000, 10)
    assert u <= 5000 - 300 * 5000 // 1000


def test_output_limits_are_exact():
    assert primed(5000, 0, 0, out=4000).update(4000, 3000, 10) == 5000
    assert primed(5000, 0, 0, out=1000).update(2000, 3000, 10) == 0
    assert primed(1000, 0, 0, out=1000, lo=800).update(2000, 3000, 10) == 800


def test_track_makes_p_plus_i_plus_d_equal_the_applied_output():
    pid = primed(1000, 0, 0)
    assert pid.update(3500, 3000, 10) == 2500
    pid.track(1800)
    assert pid.out == 1800
    assert pid.update(3500, 3000, 10) == 1800      # same error: continues from what was applied
    pid.track(1800)                                # same as the output: nothing to do
    assert pid.update(3500, 3000, 10) == 1800


def test_first_update_primes_from_the_measurement_without_a_kick():
    pid = PID(0, 0, 100, 0, 5000)
    assert pid.update(3000, 3000, 10) == 0         # no derivative from a made-up previous pv
    pid = PID(1000, 0, 0, 0, 5000)
    assert pid.update(3500, 3000, 10) == 500


def test_reset_clamps_the_start_output_and_clears_the_state():
    pid = primed(0, 1, 100, out=9000, pv=0)
    assert pid.out == 5000
    pid = primed(0, 0, 0, out=-5, pv=0)
    assert pid.out == 0
    pid = primed(0, 1, 100)
    for _ in range(7):
        pid.update(3001, 3050, 10)
    pid.reset(1000, 3000)
    assert pid.update(3000, 3000, 10) == 1000      # no leftover D, remainder or integral


def test_set_gains_takes_effect_on_the_next_update():
    pid = primed(0, 0, 0)
    pid.set_gains(1000, 0, 0)
    assert pid.update(3500, 3000, 10) == 2500
    pid.set_gains(0, 1000, 0)
    assert pid.update(3100, 3000, 1000) == 2000 + 100   # P gone, I = 1000 * 0.1 * 1 s
    pid.set_gains(0, 0, 100)
    assert pid.update(3000, 2900, 10) == 2100 + (-(100 * -100 // 10) * 10) // 60
