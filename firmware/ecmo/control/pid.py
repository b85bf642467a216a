# Integer PID for the pump: flow error in mL/min in, RPM out. No floats, no allocation per update.
# Gains: kp in RPM per (L/min), ki in RPM per (L/min * s), kd in RPM per (L/min per s).
# Derivative acts on the measurement (no kick on setpoint changes) through a first-order filter.
# Anti-windup: the integrator is clamped so P + I + D stays inside the output limits, and
# `track()` re-seeds it when something downstream (the safety supervisor) applied another output.
from micropython import const

_ERR_MAX = const(10000)   # clamp |error| to 10 L/min (adult range 0..7): keeps products < 2**30
# The gains' hard bounds (kp <= 5000, ki <= 2000, kd <= 500: ki * e * dt < 2**30 at dt <= 20 ms)
# are the settings table's (ecmo/table.py), which every way of setting a gain goes through.


class PID:
    def __init__(self, kp, ki, kd, out_min, out_max, d_tau_ms=50):
        self.kp = kp
        self.ki = ki
        self.kd = kd
        self.out_min = out_min
        self.out_max = out_max
        self.d_tau_ms = d_tau_ms
        # i_mrpm: integrator in milli-RPM; _i_rem: the remainder below one milli-RPM, so slow
        # errors still integrate; d_rpm, p_rpm: the last D and P terms; _pv_last: for D
        self.reset(0, 0)         # sets every state variable, and out to 0 clamped to the limits
        self._primed = False     # the first update starts from its own measurement

    def set_gains(self, kp, ki, kd):
        self.kp = kp
        self.ki = ki
        self.kd = kd

    def reset(self, out, pv):
        # bumpless start: the next update continues from `out` with no derivative kick
        if out < self.out_min:
            out = self.out_min
        elif out > self.out_max:
            out = self.out_max
        self.i_mrpm = out * 1000
        self._i_rem = 0
        self.d_rpm = 0
        self.p_rpm = 0
        self._pv_last = pv
        self._primed = True
        self.out = out

    def track(self, applied):
        # the actuator got `applied` instead of our output: move the integrator so P + I + D
        # equals it, so releasing the limit later does not dump a wound-up integral.
        if applied != self.out:
            self.i_mrpm = (applied - self.p_rpm - self.d_rpm) * 1000
            self.out = applied

    def update(self, sp, pv, dt_ms):
        if not self._primed:
            self.reset(self.out, pv)
        e = sp - pv
        if e > _ERR_MAX:
            e = _ERR_MAX
        elif e < -_ERR_MAX:
            e = -_ERR_MAX
        p = self.kp * e // 1000
        # derivative on measurement, RPM = kd * d(pv)/dt with pv in mL/min and dt in ms
        dpv = pv - self._pv_last
        self._pv_last = pv
        if dpv > _ERR_MAX:
            dpv = _ERR_MAX
        elif dpv < -_ERR_MAX:
            dpv = -_ERR_MAX
        d_raw = -(self.kd * dpv // dt_ms)
        self.d_rpm += (d_raw - self.d_rpm) * dt_ms // (self.d_tau_ms + dt_ms)
        # integral: ki * e * dt, in milli-RPM with the remainder carried
        acc = self.ki * e * dt_ms + self._i_rem
        step = acc // 1000
        self._i_rem = acc - step * 1000
        i = self.i_mrpm + step
        lo = (self.out_min - p - self.d_rpm) * 1000
        hi = (self.out_max - p - self.d_rpm) * 1000
        if i > hi:
            i = hi
        if i < lo:
            i = lo
        self.i_mrpm = i
        # inside [out_min, out_max] by the integrator's clamp: lo <= i <= hi, both whole RPM
        u = p + i // 1000 + self.d_rpm
        self.p_rpm = p
        self.out = u
        return u
