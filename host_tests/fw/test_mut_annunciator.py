# drivers/annunciator.py to the ms (mutation run, docs/mutation.md): a new annunciator is dark
# and silent, a new priority restarts its pattern, the burst's and the flash's edges, the tone.
import rigkit
from ecmo.drivers import annunciator as N


class _Led:
    def __init__(self):
        self.v = None

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class _Buzz:
    def __init__(self):
        self.duty = []

    def duty_u16(self, d):
        self.duty.append(d)


def ann():
    led, bz = _Led(), _Buzz()
    return N.Annunciator(bz, led), led, bz


def test_a_new_annunciator_is_dark_and_silent():
    a, led, bz = ann()
    assert a.priority == N.NONE == 0
    for t in (0, 1, 500, 1000):
        a.update(t)
        assert led.v == 0 and bz.duty == [] and not a.sounding, t
    a.show(0, True, 2000)                 # no alarm: still nothing
    a.update(2000)
    assert led.v == 0 and bz.duty == []


def test_a_new_priority_starts_its_pattern_with_the_burst():
    a, led, bz = ann()
    a.show(N.HIGH, True, 1234)
    a.update(1234)
    assert a.sounding and bz.duty == [32768] and led.v == 1
    a.update(1234 + 119)
    assert a.sounding                     # the first pulse: 120 ms
    a.update(1234 + 120)
    assert not a.sounding and bz.duty == [32768, 0]
    a.update(1234 + 200)
    assert a.sounding                     # the second pulse after an 80 ms gap


def test_the_high_flash_is_on_for_exactly_250_of_500_ms():
    a, led, bz = ann()
    a.show(N.HIGH, False, 0)
    for t, on in ((0, 1), (249, 1), (250, 0), (499, 0), (500, 1)):
        a.update(t)
        assert led.v == on, t
    assert bz.duty == []                  # not audible: the LED only


def test_the_buzzer_sounds_at_880_hz_half_duty_on_the_rig():
    b = rigkit.Bench()
    assert b.rig.ann._pwm.freq() == 880
