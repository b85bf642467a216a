# drivers/plausible.py: frozen and noisy readings to the tick (mutation run, docs/mutation.md):
# the frozen count and its cap, the flip rule at exactly the jitter, the leaky score, the
# hysteresis between on and off, and what reset() forgets.
from ecmo.drivers.status import OK, STUCK, NOISY
from ecmo.drivers.plausible import Plausible, FROZEN_TICKS


def test_frozen_after_exactly_frozen_ticks_repeats():
    p = Plausible(100, 5)
    got = [p.check(1234, 50) for _ in range(7)]
    assert got == [OK, OK, OK, OK, OK, STUCK, STUCK]
    assert p.check(1235, 50) == OK and p.same == 0


def test_frozen_default_and_off():
    p = Plausible(100)
    assert p.frozen_ticks == FROZEN_TICKS == 50
    off = Plausible(100, 0)
    assert all(off.check(7, 7) == OK for _ in range(200))


def test_frozen_count_stops_at_its_cap():
    p = Plausible(100, 0)
    p.check(9, 9)
    p.same = 0x3FFF
    p.check(9, 9)
    assert p.same == 0x3FFF


def test_flips_beyond_jitter_score_and_turn_noisy_on_the_seventh_read():
    p = Plausible(10, 0)
    scores, st = [], []
    for k in range(7):
        st.append(p.check(1000 + k, 11 if k % 2 else 0))   # +11, -11, +11, ...
        scores.append(p.score)
    assert scores == [0, 0, 256, 496, 721, 932, 1130]
    assert st == [OK] * 6 + [NOISY] and p.noisy


def test_noisy_clears_only_below_the_off_level():
    p = Plausible(10, 0)
    for k in range(7):
        p.check(1000 + k, 11 if k % 2 else 0)
    assert p.noisy
    k, seen = 7, []
    while p.noisy:
        assert k < 200                   # (a mutant that never clears must not hang the run)
        s_before = p.score
        st = p.check(2000 + k, 0)        # steady now
        seen.append((s_before, p.score, st))
        k += 1
    last = seen[-1]
    assert last[1] < 256 <= last[0] and last[2] == OK
    assert all(s[2] == NOISY for s in seen[:-1])
    assert all(s[1] >= 256 for s in seen[:-1])      # held down to the off level, not the on level
    assert any(s[1] < 1024 for s in seen[:-1])


def test_steps_of_exactly_the_jitter_are_not_flips():
    p = Plausible(10, 0)
    for k in range(40):
        assert p.check(1000 + k, 10 if k % 2 else 0) == OK
    assert p.score == 0


def test_a_fast_ramp_one_way_is_not_noise():
    p = Plausible(10, 0)
    for k in range(40):
        assert p.check(1000 + k, 50 * k) == OK
    assert p.score == 0
    q = Plausible(10, 0)
    for k in range(40):
        assert q.check(3000 + k, -50 * k) == OK
    assert q.score == 0


def test_reset_forgets_the_score_and_the_last_step():
    p = Plausible(10, 0)
    for k in range(7):
        p.check(1000 + k, 11 if k % 2 else 0)
    assert p.noisy
    p.reset()
    assert p.score == 0 and not p.noisy and p.same == 0
    # the first read after reset is not a flip, whatever the step from before the reset
    assert p.check(5000, -40) == OK and p.score == 0
    assert p.check(5000, -40) == OK and p.same == 1


def test_a_flip_needs_both_steps_strictly_beyond_the_jitter():
    # each one of the four comparisons at its boundary: exactly j on one side is not a flip
    for vals in ((-11, -1), (-10, 1), (11, 1), (10, -1)):
        p = Plausible(10, 0)
        p.check(1, 0)
        for k, v in enumerate(vals):
            p.check(2 + k, v)
        assert p.score == 0, vals
    p = Plausible(10, 0)
    p.check(1, 0)
    for k, v in enumerate((-11, 0)):
        p.check(2 + k, v)
    assert p.score > 0


def test_a_fresh_check_has_no_history():
    p = Plausible(10, 0)
    assert p.same == 0 and p.score == 0 and p.noisy is False
    assert p.check(5, -500) == OK and p.score == 0     # the first read is never a flip


def test_noisy_from_a_score_of_exactly_1024():
    # flips and pauses that bring the leaky score to 1024 exactly on the last read
    p = Plausible(10, 0)
    got = [p.check(100 + k, v) for k, v in enumerate((0, 11, 0, 0, 0, 11, 0, 11, 11, 0, 11, 0))]
    assert p.score == 1024
    assert got == [OK] * 11 + [NOISY] and p.noisy


def test_reset_forgets_the_last_step_up_too():
    # the last step before reset was up beyond the jitter; the first after it is down: no flip
    p = Plausible(10, 0)
    for k in range(6):
        p.check(1000 + k, 11 if k % 2 else 0)     # ends on a step of +11
    p.reset()
    assert p.check(2000, -40) == OK and p.score == 0


def test_reset_forgets_the_frozen_count_whatever_the_next_raw():
    p = Plausible(10, 3)
    got = [p.check(-1, 5) for _ in range(3)]       # a fresh one's last raw is -1 too
    assert got == [OK, OK, STUCK] and p.same == 3
    p.reset()
    assert p.check(-1, 5) == OK and p.same == 1    # as after a fresh start
