# drivers/thermistor.py to the count (mutation run, docs/mutation.md): the table's ends are in
# range and one count past them is not, the table spans t_min..t_max exactly, counts come from
# read_u16 unless the board asks for mV, `raw` is the last ADC reading, a good read after a
# fault is OK again, and a divider too coarse for the table is refused at start-up.
from math import exp
from ecmo.drivers.thermistor import Thermistor
from ecmo.drivers.status import OK, OPEN, SHORT, RANGE


class _Adc:
    # counts on read_u16, and a different (wrong) figure on read_uv: tells the two apart
    def __init__(self, v):
        self.v = v

    def read_u16(self):
        return self.v

    def read_uv(self):
        return 1000 * (self.v // 2)


def counts(t_c, ref=26400):
    # the board's divider (10 k NTC B 3435 K to ground, 10 k from the reference)
    r = 10000 * exp(3435 * (1 / (t_c + 273.15) - 1 / 298.15))
    return int(ref * r / (r + 10000) + 0.5)


def probe(v):
    a = _Adc(v)
    return a, Thermistor(a, 10000, 3435, 10000, 26400, (200, 26000))


def test_the_table_s_ends_read_exactly_and_one_count_past_them_is_range():
    for t_c, v in ((10, counts(10)), (50, counts(50))):
        a, t = probe(v)
        assert t.read() == OK and t.status == OK and t.value == t_c * 100, (t_c, t.value)
    for v in (counts(10) + 1, counts(50) - 1):
        a, t = probe(v)
        assert t.read() == RANGE and t.status == RANGE, v


def test_the_table_ends_at_t_max_not_beyond():
    # 51 and 60 degC are past the table (10..50) whatever its length arithmetic
    for t_c in (51, 60):
        a, t = probe(counts(t_c))
        assert t.read() == RANGE, t_c
    a, t = probe(counts(49))
    assert t.read() == OK and t.value == 4900


def test_whole_degrees_inside_read_to_the_hundredth():
    for t_c in range(11, 50):
        a, t = probe(counts(t_c))
        assert t.read() == OK and t.value == t_c * 100, (t_c, t.value)
    a, t = probe((counts(37) + counts(38)) // 2)
    assert t.read() == OK and 3745 <= t.value <= 3755, t.value


def test_counts_come_from_read_u16_unless_the_board_asks_for_mv():
    a, t = probe(counts(37))
    t.read()
    assert t.value == 3700
    # the same divider in mV (ESP32): read_uv is the reading
    a = _Adc(2 * counts(37, 3300))
    t = Thermistor(a, 10000, 3435, 10000, 3300, (200, 3250), True)
    assert t.read() == OK and t.value == 3700, t.value


def test_raw_is_the_last_adc_reading_and_minus_one_before_any():
    a, t = probe(counts(30))
    assert t.raw == -1
    t.read()
    assert t.raw == counts(30)
    a.v = 26100                       # an open probe: raw still reported
    t.read()
    assert t.raw == 26100


def test_a_good_read_after_a_fault_is_ok_again():
    a, t = probe(26100)
    assert t.read() == OPEN and t.status == OPEN
    a.v = 100
    assert t.read() == SHORT and t.status == SHORT
    a.v = counts(5)
    assert t.read() == RANGE and t.status == RANGE
    a.v = counts(36)
    assert t.read() == OK and t.status == OK and t.value == 3600
    assert t.faults == 3


def test_a_divider_too_coarse_for_the_table_is_refused():
    # 40 counts of reference: 26 counts at 10 and at 11 degC; the message names the first
    try:
        Thermistor(_Adc(0), 10000, 3435, 10000, 40, (1, 39))
        raise AssertionError("a table with equal steps accepted")
    except ValueError as e:
        assert "count per degC at 11 degC" in str(e), str(e)
