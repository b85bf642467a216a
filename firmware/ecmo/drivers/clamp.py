# Line clamp (solenoid or clamp driver input) on the return line, after the bubble detector.


class Clamp:
    # pin: an output already at the open level (the wiring makes it so): closing a line at
    # power-up is itself a hazard (VA with the pump not yet running is handled by the rig)
    def __init__(self, pin, closed_level=1):
        self._closed = closed_level
        self._opened = 1 - closed_level
        self._pin = pin
        self.closed = False

    def close(self):
        # called from the air/e-stop hard IRQ
        self._pin.value(self._closed)
        self.closed = True

    def open(self):
        self._pin.value(self._opened)
        self.closed = False


SERVO_HZ = 50


class ServoClamp:
    # Hobby-servo tube occluder: 50 Hz PWM, pulse width sets the jaw position.
    # duty_ns keeps the pulse exact whatever the port's PWM resolution is. pwm: at 50 Hz,
    # already at the open pulse (SERVO_HZ, open_ns()).
    def __init__(self, pwm, open_us=1000, closed_us=2000):
        self._open_ns = open_us * 1000
        self._closed_ns = closed_us * 1000
        self._pwm = pwm
        self.closed = False

    def close(self):
        self._pwm.duty_ns(self._closed_ns)
        self.closed = True

    def open(self):
        self._pwm.duty_ns(self._open_ns)
        self.closed = False
