# Buzzer and status LED patterns per alarm priority, in the spirit of IEC 60601-1-8:
# high = fast burst + fast flashing, medium = 3-pulse burst + slow flashing, low = 1 pulse + steady LED.
from micropython import const
from time import ticks_diff

NONE = const(0)
LOW = const(1)
MEDIUM = const(2)
HIGH = const(3)

TONE_HZ = const(880)         # IEC 60601-1-8: fundamental in 150..1000 Hz
_TONE_DUTY = const(32768)

# (cycle_ms, on, off, on, off, ...) from the start of the cycle; the rest of the cycle is silent.
_BUZZ = (
    (0,),
    (15000, 200, 150),
    (6000, 200, 150, 200, 150, 200),
    (3000, 120, 80, 120, 80, 120, 280, 120, 80, 120),
)
# (period_ms, on_ms): IEC high flashes at 1.4..2.8 Hz, medium at 0.4..0.8 Hz, low is steady.
_LED = ((1000, 0), (1000, 1000), (1600, 800), (500, 250))


class Annunciator:
    # buzzer: PWM at TONE_HZ, duty 0; led: an output, off
    def __init__(self, buzzer, led, led_level=1):
        self._pwm = buzzer
        self._led = led
        self._led_on = led_level
        self.priority = NONE
        self.audible = False
        self.sounding = False
        self._t0 = 0

    def show(self, priority, audible, now_ms):
        if priority != self.priority:
            self._t0 = now_ms    # restart the pattern so a new alarm starts with its burst
            self.priority = priority
        self.audible = audible

    def update(self, now_ms):
        p = self.priority
        led = _LED[p]
        dt = ticks_diff(now_ms, self._t0)
        on = dt % led[0] < led[1]
        self._led.value(self._led_on if on else 1 - self._led_on)
        buzz = False
        if p and self.audible:
            pat = _BUZZ[p]
            t = dt % pat[0]
            i = 1
            while i < len(pat):
                t -= pat[i]
                if t < 0:
                    buzz = (i & 1) == 1
                    break
                i += 1
        if buzz != self.sounding:
            self._pwm.duty_u16(_TONE_DUTY if buzz else 0)
            self.sounding = buzz
