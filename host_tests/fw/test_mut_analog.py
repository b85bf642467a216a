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
