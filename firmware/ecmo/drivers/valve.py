# Proportional gas valve (sweep, or an air/O2 blender) driven by PWM through a low-side switch.
# Normally closed: duty 0 is closed, so a reset or a dead output stops the gas, never opens it.


class PropValve:
    # pwm: at duty 0 (closed), about 1..5 kHz so the plunger sees the mean current (the wiring
    # sets it); the valve's own cracking duty is handled by the control loop, not here.
    def __init__(self, pwm, duty_max_u16=65535):
        self._max = duty_max_u16
        self._pwm = pwm
        self.duty_u16 = 0

    def set(self, duty_u16):
        if duty_u16 < 0:
            duty_u16 = 0
        elif duty_u16 > self._max:
            duty_u16 = self._max
        if duty_u16 != self.duty_u16:
            self._pwm.duty_u16(duty_u16)
            self.duty_u16 = duty_u16

    def close(self):
        self._pwm.duty_u16(0)
        self.duty_u16 = 0
