# Line clamp (solenoid or clamp driver input) on the return line, after the bubble detector.
from machine import Pin, PWM


class Clamp:
    def __init__(self, pin_id, closed_level=1):
        self._closed = closed_level
        self._opened = 1 - closed_level
        # boot with the clamp open: closing a line at power-up is itself a hazard (VA: no support)
        self._pin = Pin(pin_id, Pin.OUT, value=self._opened)
        self.closed = False

    def close(self):
        # called from the air/e-stop hard IRQ
        self._pin.value(self._closed)
        self.closed = True

    def open(self):
        self._pin.value(self._opened)
        self.closed = False


class ServoClamp:
    # Hobby-servo tube occluder: 50 Hz PWM, pulse width sets the jaw position.
    # duty_ns keeps the pulse exact whatever the port's PWM resolution is.
    def __init__(self, pin_id, open_us=1000, closed_us=2000):
        self._open_ns = open_us * 1000
        self._closed_ns = closed_us * 1000
        self._pwm = PWM(Pin(pin_id), freq=50, duty_ns=self._open_ns)
        self.closed = False

    def close(self):
        self._pwm.duty_ns(self._closed_ns)
        self.closed = True

    def open(self):
        self._pwm.duty_ns(self._open_ns)
        self.closed = False
