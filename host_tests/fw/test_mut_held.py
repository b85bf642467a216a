# safety/held.py: the shared debounce counter and the ms-to-ticks rounding, to the count
# (mutation run, docs/mutation.md: boundaries, the saturation cap, the reset on a gap).
from ecmo.safety.held import counters, held, ms_to_ticks


def test_held_fires_on_exactly_the_nth_tick_and_a_gap_starts_again():
    c = counters(3)
    assert list(c) == [0, 0, 0]
    got = [held(c, 1, True, 4) for _ in range(5)]
    assert got == [False, False, False, True, True]
    assert c[1] == 5 and c[0] == 0 and c[2] == 0
    assert held(c, 1, False, 4) is False and c[1] == 0
    assert [held(c, 1, True, 4) for _ in range(4)] == [False, False, False, True]


def test_held_with_one_tick_fires_at_once():
    c = counters(1)
    assert held(c, 0, True, 1) is True


def test_held_counter_stops_at_its_cap_without_wrapping():
    c = counters(2)
    c[0] = 0xFFFE
    assert held(c, 0, True, 0xFFFF) is True
    assert c[0] == 0xFFFF
    assert held(c, 0, True, 0xFFFF) is True      # still held: the count does not wrap to 0
    assert c[0] == 0xFFFF


def test_ms_to_ticks_rounds_up_and_is_at_least_one():
    assert ms_to_ticks(100, 10) == 10
    assert ms_to_ticks(101, 10) == 11
    assert ms_to_ticks(109, 10) == 11
    assert ms_to_ticks(1, 10) == 1
    assert ms_to_ticks(0, 10) == 1
    assert ms_to_ticks(-50, 10) == 1
    assert ms_to_ticks(2000, 20) == 100
