# control/pid.py: what the mutation run (docs/mutation.md) found unpinned beside
# test_pid_exact.py: priming on the first update with no output clamp to hide a kick, tracking
# before any update, and that the integrator's clamp alone keeps the output in its limits.
from ecmo.control.pid import PID


def test_first_update_primes_from_the_measurement_even_with_room_below_zero():
    # mutants: the priming reset dropped / _primed starting True: D from a made-up pv of 0
    pid = PID(0, 0, 100, -5000, 5000)
    assert pid.update(3000, 3000, 10) == 0
    assert pid.d_rpm == 0
    assert pid.update(3000, 3000, 10) == 0


def test_track_before_the_first_update_is_where_it_starts():
    pid = PID(1000, 0, 0, 0, 5000)
    assert pid.out == 0
    pid.track(1200)
    assert pid.out == 1200
    assert pid.update(3000, 3000, 10) == 1200      # primed from the tracked output
    assert pid.update(3500, 3000, 10) == 1700


def test_output_never_leaves_its_limits_whatever_the_terms():
    for kp, ki, kd in ((5000, 0, 0), (0, 2000, 0), (0, 0, 500), (5000, 2000, 500)):
        pid = PID(kp, ki, kd, 300, 4000)
        pid.reset(2000, 3000)
        seen = []
        for k in range(300):
            pv = (0, 9000, 3000, 20000, -5000)[k // 60]
            seen.append(pid.update(3000 + (k % 7) * 500, pv, 10))
        assert min(seen) >= 300 and max(seen) <= 4000, (kp, ki, kd)
        assert min(seen) == 300 or max(seen) == 4000, (kp, ki, kd)


def test_reset_at_exactly_a_limit_keeps_it():
    pid = PID(0, 0, 0, 300, 4000)
    pid.reset(300, 0)
    assert pid.out == 300 and pid.update(0, 0, 10) == 300
    pid.reset(4000, 0)
    assert pid.out == 4000 and pid.update(0, 0, 10) == 4000


def test_track_counts_the_derivative_term_it_takes_over():
    # mutant: track's `applied - p - d` with the D term's sign turned: the output jumped after
    # a track taken while D was not zero
    pid = PID(0, 0, 100, -5000, 5000)
    pid.reset(1000, 3000)
    assert pid.update(3000, 3100, 10) == 1000 - 167     # D: -(100 * 100 // 10) * 10 // 60
    pid.track(900)
    # P + I + D = 900 now; the next output moves only by the D filter's decay toward 0
    assert pid.update(3000, 3100, 10) == 900 + (167 * 10 // 60)
