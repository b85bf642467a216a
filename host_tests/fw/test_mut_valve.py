# drivers/valve.py: the proportional gas valve, to the count (mutation run, docs/mutation.md):
# normally closed from construction, the duty clamped to 0..max, a PWM write only on a change,
# and close() writing 0 whatever it last wrote.
from ecmo.drivers.valve import PropValve


class _PWM:
    # records every duty written (the valve's output stage)
    def __init__(self):
        self.writes = []

    def duty_u16(self, v=None):
        if v is None:
            return self.writes[-1] if self.writes else 0
        self.writes.append(v)


def test_a_new_valve_is_closed_and_writes_nothing_until_set():
    pwm = _PWM()
    v = PropValve(pwm)
    assert v.duty_u16 == 0 and pwm.writes == []
    v.set(0)                       # already closed: no write
    assert pwm.writes == []


def test_set_clamps_to_zero_and_to_the_maximum():
    pwm = _PWM()
    v = PropValve(pwm, duty_max_u16=40000)
    v.set(-5)
    assert v.duty_u16 == 0 and pwm.writes == []
    v.set(40001)
    assert v.duty_u16 == 40000 and pwm.writes == [40000]
    v.set(40000)
    assert pwm.writes == [40000]
    v.set(39999)
    assert v.duty_u16 == 39999 and pwm.writes == [40000, 39999]
    v.set(1)
    v.set(-1)
    assert v.duty_u16 == 0 and pwm.writes == [40000, 39999, 1, 0]


def test_default_maximum_is_full_duty():
    pwm = _PWM()
    v = PropValve(pwm)
    v.set(70000)
    assert v.duty_u16 == 65535 and pwm.writes == [65535]


def test_a_write_only_when_the_duty_changes():
    pwm = _PWM()
    v = PropValve(pwm)
    for d in (1000, 1000, 1000, 2000, 2000, 1000):
        v.set(d)
    assert pwm.writes == [1000, 2000, 1000]


def test_close_writes_zero_even_when_already_closed_and_set_opens_again():
    pwm = _PWM()
    v = PropValve(pwm)
    v.close()
    assert pwm.writes == [0] and v.duty_u16 == 0
    v.set(3000)
    v.close()
    assert pwm.writes == [0, 3000, 0] and v.duty_u16 == 0
    v.set(3000)                    # close() forgot the 3000: set writes it again
    assert pwm.writes == [0, 3000, 0, 3000]
