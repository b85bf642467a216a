# drivers/status.py (mutation run, docs/mutation.md): each validity code has its own name (the
# REPL and the telemetry show them), an unknown code is "?", and what a new reading and a failed
# read report.
from ecmo.drivers import status as S
from ecmo.drivers.analog import AnalogSensor


def test_every_code_has_its_name():
    codes = (S.OK, S.OPEN, S.SHORT, S.RANGE, S.BUS, S.CRC, S.STALE, S.STUCK, S.DIAG, S.NAN,
             S.NOISY)
    names = ("ok", "open", "short", "range", "bus", "crc", "stale", "stuck", "diag", "nan",
             "noisy")
    assert [S.name(c) for c in codes] == list(names)
    assert S.OK == 0 and len(set(codes)) == len(codes)


def test_an_unknown_code_is_a_question_mark():
    assert S.name(-1) == "?" and S.name(len(S.NAMES)) == "?" and S.name(99) == "?"


class _Adc:
    def __init__(self):
        self.v = 30000
        self.exc = None

    def read_u16(self):
        if self.exc:
            raise self.exc
        return self.v


def test_a_new_reading_is_zero_and_a_failed_read_clears_the_saturation():
    adc = _Adc()
    a = AnalogSensor(adc, (1000, 0, 11000, 1000), (500, 60000), (-40, 1040))
    assert a.value == 0 and a.conv == 0 and a.sat == 0 and a.faults == 0 and a.status == S.OK
    adc.v = 59999
    assert a.read() == S.RANGE and a.status == S.RANGE and a.sat == 1
    adc.exc = OSError(5)
    assert a.read() == S.BUS and a.sat == 0 and a.faults == 2
