# drivers/clamp.py and drivers/level.py (mutation run, docs/mutation.md): a new clamp is open,
# close() and open() set the pin or the servo's pulse and say so; a new level switch is not low.
from ecmo.drivers.clamp import Clamp, ServoClamp
from ecmo.drivers.level import LevelSwitch


class _Pin:
    def __init__(self, v=0):
        self.v = v
        self.writes = []

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v
        self.writes.append(v)


class _PWM:
    def __init__(self):
        self.ns = []

    def duty_ns(self, ns):
        self.ns.append(ns)


def test_a_new_clamp_is_open_and_close_open_drive_the_pin():
    pin = _Pin(0)
    c = Clamp(pin)
    assert c.closed is False and pin.writes == []
    c.close()
    assert c.closed is True and pin.writes == [1]
    c.open()
    assert c.closed is False and pin.writes == [1, 0]
    low = _Pin(1)
    d = Clamp(low, closed_level=0)
    assert d.closed is False
    d.close()
    d.open()
    assert low.writes == [0, 1]


def test_a_servo_clamp_is_open_and_moves_its_jaw_by_the_pulse_in_ns():
    pwm = _PWM()
    c = ServoClamp(pwm)
    assert c.closed is False and pwm.ns == []
    c.close()
    assert c.closed is True and pwm.ns == [2000000]
    c.open()
    assert c.closed is False and pwm.ns == [2000000, 1000000]
    d = ServoClamp(pwm, open_us=900, closed_us=2100)
    d.close()
    d.open()
    assert pwm.ns[-2:] == [2100000, 900000]


def test_a_new_level_switch_is_not_low_until_read():
    pin = _Pin(1)
    s = LevelSwitch(pin, active_level=1)
    assert s.low is False
    s.read()
    assert s.low is True
    pin.v = 0
    s.read()
    assert s.low is False
