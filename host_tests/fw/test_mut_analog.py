# drivers/analog.py: one analog channel to the count (mutation run, docs/mutation.md): both
# rails inclusive, both range ends inclusive, the calibration line, the mV path, what a bad
# converter gives, and that a rail or a saturation restarts the plausibility history.
from ecmo.drivers import status as S
from ecmo.drivers.analog import AnalogSensor


class _Adc:
    def __init__(self, v=30000):
        self.v = v
        self.uv = 0
        self.exc = None

    def read_u16(self):
        if self.exc is not None:
            raise self.exc
        return self.v

    def read_uv(self):
        if self.exc is not None:
            raise self.exc
        return self.uv


def chan(adc, stuck=0, jitter=0, use_mv=False):
    # raw 1000 -> 0, raw 11000 -> 1000: 10 raw counts a unit; rails 500 / 60000; range -40..1040
    return AnalogSensor(adc, (1000, 0, 11000, 1000), (500, 60000), (-40, 1040), stuck,
                        use_mv, jitter)


def test_calibration_line_to_the_count():
    adc = _Adc()
    a = chan(adc)
    for raw, v in ((1000, 0), (11000, 1000), (6005, 500), (1009, 0), (1010, 1), (999, -1)):
        adc.v = raw
        assert a.read() == S.OK and a.value == v and a.raw == raw and a.sat == 0, raw
    b = AnalogSensor(adc, (2000, 100, 1000, 300), (500, 60000), (-10000, 10000))
    adc.v = 1500
    b.read()
    assert b.value == 200                 # a falling line: (raw - 2000) * 200 // -1000


def test_rails_are_inclusive():
    adc = _Adc(500)
    a = chan(adc)
    assert a.read() == S.OPEN and a.status == S.OPEN and a.raw == 500
    adc.v = 501
    assert a.read() == S.RANGE and a.sat == -1        # -49 units: below the range
    adc.v = 60000
    assert a.read() == S.SHORT
    adc.v = 59999
    assert a.read() == S.RANGE and a.sat == 1 and a.value == 1040
    assert a.faults == 4


def test_range_ends_are_inclusive_and_give_the_end():
    adc = _Adc(600)                       # -40 units exactly
    a = chan(adc)
    assert a.read() == S.RANGE and a.sat == -1 and a.value == -40
    adc.v = 610
    assert a.read() == S.OK and a.value == -39 and a.sat == 0
    adc.v = 11400                         # 1040 exactly
    assert a.read() == S.RANGE and a.sat == 1 and a.value == 1040
    adc.v = 11390
    assert a.read() == S.OK and a.value == 1039 and a.status == S.OK and a.sat == 0


def test_a_bad_converter_gives_a_code_never_an_exception():
    adc = _Adc()
    a = chan(adc)
    adc.v = 6000
    a.read()
    adc.exc = OSError(5)
    assert a.read() == S.BUS
    adc.exc = ValueError("junk")
    assert a.read() == S.NAN
    adc.exc = None
    adc.v = None
    assert a.read() == S.BUS
    adc.v = 1.5
    assert a.read() == S.NAN
    assert a.value == 500 and a.faults == 4      # the last good value is kept
    adc.v = 6000
    assert a.read() == S.OK and a.status == S.OK


def test_millivolt_path_reads_microvolts():
    adc = _Adc()
    a = chan(adc, use_mv=True)
    adc.uv = 6005999                      # 6005 mV
    adc.v = 59999                         # read_u16 must not be used
    assert a.read() == S.OK and a.raw == 6005 and a.value == 500


def test_equal_calibration_raws_are_refused():
    try:
        AnalogSensor(_Adc(), (1000, 0, 1000, 5), (0, 65535), (0, 10))
    except ValueError:
        pass
    else:
        assert False, "equal raws accepted"
    a = chan(_Adc())
    a.set_cal((2000, 0, 3000, 100))
    a._adc.v = 2500
    a.read()
    assert a.value == 50


def test_stuck_counts_and_a_rail_restarts_the_count():
    adc = _Adc(6000)
    a = chan(adc, stuck=3)
    assert [a.read() for _ in range(5)] == [S.OK, S.OK, S.OK, S.STUCK, S.STUCK]
    adc.v = 100
    assert a.read() == S.OPEN
    adc.v = 6000
    assert [a.read() for _ in range(4)] == [S.OK, S.OK, S.OK, S.STUCK]
    adc.v = 59999
    a.read()                              # saturated high: restarts it too
    adc.v = 6000
    assert [a.read() for _ in range(3)] == [S.OK, S.OK, S.OK]
    adc.v = 600
    a.read()                              # saturated low: restarts it too
    adc.v = 6000
    assert [a.read() for _ in range(3)] == [S.OK, S.OK, S.OK]
    adc.v = 65535
    a.read()                              # shorted: restarts it too
    adc.v = 6000
    assert [a.read() for _ in range(4)] == [S.OK, S.OK, S.OK, S.STUCK]


def test_jitter_zero_is_off_and_a_jitter_finds_noise():
    adc = _Adc()
    quiet = chan(adc)
    noisy = chan(adc, jitter=5)
    seen_q, seen_n = set(), set()
    for k in range(40):
        adc.v = 6000 + (200 if k % 2 else -200) + k % 3
        seen_q.add(quiet.read())
        seen_n.add(noisy.read())
    assert seen_q == {S.OK} and S.NOISY in seen_n


def test_zero_offset_and_gain_apply_to_the_value_not_the_conversion():
    adc = _Adc(6005)
    a = chan(adc)
    a.offset = 100
    assert a.read() == S.OK and a.conv == 500 and a.value == 400
    a.gain_e4 = 15000
    a.read()
    assert a.conv == 500 and a.value == 600      # (500 - 100) * 1.5
    a.gain_e4 = 9999
    a.read()
    assert a.value == 399                          # floor of 399.96
    a.offset = 0
    a.gain_e4 = 10000
    a.read()
    assert a.value == 500


# --- the floating-input detector (an open ESP32 pin wandering over the range) -----------------
# A read is a wild step when it moves more than a quarter of the rail span (rails 500/60000 mV:
# 14875) from the last one; each adds 256 to a score that loses 1/16 of itself every read; the
# input is floating from a score of 1000 and stays so down to 128.

def _mv_chan(stuck=0, u16cal=None, use_mv=True):
    adc = _Adc()
    a = AnalogSensor(adc, (1000, 0, 11000, 1000), (500, 60000), (-40, 6000), stuck, use_mv, 0,
                     u16cal)
    return adc, a


def _feed(seq, lo=10000, hi=40000):
    # one first read, then per item a wild step (1: to the other level) or a calm read (0);
    # returns the channel's `floating` after each item
    adc, a = _mv_chan()
    cur = lo
    adc.uv = cur * 1000
    a.read()
    out = []
    for wild in seq:
        if wild:
            cur = hi if cur == lo else lo
        adc.uv = cur * 1000
        a.read()
        out.append(1 if a.floating else 0)
    return out, a


def test_calibrated_is_whether_read_uv_answers():
    from ecmo.drivers.analog import calibrated
    adc = _Adc()
    assert calibrated(adc) is True
    adc.exc = OSError(22)
    assert calibrated(adc) is False


def test_five_wild_steps_in_a_row_make_a_floating_input_and_its_reads_noisy():
    out, a = _feed((1, 1, 1, 1, 1))
    assert out == [0, 0, 0, 0, 1]                 # scores 256 496 721 932 1130
    assert a.status == S.NOISY and a.read() == S.NOISY


def test_the_floating_threshold_to_the_count():
    # the score reaches 1000 exactly on the last read of this pattern: floating at 1000, not above
    out, _ = _feed((1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1))
    assert out == [0] * 13 + [1]
    # 999 at most here (a step worth 257 would make it): not floating
    out, _ = _feed((1, 1, 0, 1, 0, 0, 0, 1, 1))
    assert out == [0] * 9


def test_a_floating_input_clears_below_128_only():
    # six wild steps (floating from the 5th), then calm reads: the score falls 1316 ... 136, 128
    # (still floating: at 128), 120 (clear), so floating ends on the 38th calm read
    out, a = _feed((1,) * 6 + (0,) * 39)
    assert out[:4] == [0, 0, 0, 0] and out[4:43] == [1] * 39 and out[43:] == [0, 0]
    assert a.status == S.OK


def test_a_step_of_exactly_a_quarter_span_is_not_wild():
    out, _ = _feed((1,) * 12, lo=10000, hi=10000 + 14875)
    assert out == [0] * 12
    out, _ = _feed((1,) * 12, lo=10000, hi=10000 + 14876)
    assert out[-1] == 1
    # a quarter of the span, not of the sum of the rails (15125): 15000 is wild
    out, _ = _feed((1,) * 6, lo=10000, hi=25000)
    assert out == [0, 0, 0, 0, 1, 1]


def test_a_step_from_a_reading_of_0_mv_counts():
    # a floating pin sits on the rails too: a step from 0 mV is as wild as any
    adc, a = _mv_chan()
    adc.uv = 0
    a.read()
    seen = []
    for k in range(5):
        adc.uv = 30000 * 1000 if k % 2 == 0 else 0
        a.read()
        seen.append(a.floating)
    assert seen == [False, False, False, False, True]


def test_only_mv_or_u16cal_channels_look_for_a_floating_input():
    # an rp2 channel (read_u16 counts, the pump side's parts): steps of any size are not wild
    adc = _Adc()
    a = chan(adc)
    for k in range(20):
        adc.v = 2000 if k % 2 else 50000
        a.read()
        assert not a.floating
    # an ESP32 channel through the board's own ADC calibration (no use_mv): they are
    adc, b = _mv_chan(u16cal=(0, 0, 65535, 65535), use_mv=False)
    for k in range(6):
        adc.v = 10000 if k % 2 else 40000
        b.read()
    assert b.floating and b.status == S.NOISY


def test_a_floating_spell_restarts_the_frozen_count():
    # frozen after 3 identical reads: two before the floating spell do not count after it
    adc, a = _mv_chan(stuck=3)
    adc.uv = 10000 * 1000
    a.read()
    a.read()                              # the same raw twice: one repeat
    for k in range(5):                    # five wild steps: floating
        adc.uv = (40000 if k % 2 == 0 else 10000) * 1000
        a.read()
    assert a.floating
    adc.uv = 10000 * 1000                 # calm at the first raw until the spell is over
    for _ in range(60):
        if a.read() != S.NOISY:
            break
    got = [a.status] + [a.read() for _ in range(3)]
    assert got == [S.OK, S.OK, S.OK, S.STUCK], got
