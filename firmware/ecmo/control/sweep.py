# Oxygenator gas loops: sweep flow (valve duty holding a flow setpoint) and, when the rig has an
# air/O2 blender valve, FiO2. Same rules as the pump's flow loop: integer PID with anti-windup,
# bumpless starts, a slewed setpoint, and an invalid reading holds the output instead of chasing it.
from micropython import const
from ecmo.control.pid import PID
from ecmo.control.pump_control import _slew
from ecmo.drivers.o2cell import AIR_DPCT, O2_DPCT

# The PID works in valve steps of 16 duty counts (0..4095): with gas flow in mL/min, an integral
# gain that closes the loop in ~0.5 s would push ki * e * dt past 2**30 in duty_u16 units.
_STEP_SHIFT = const(4)
_STEPS_MAX = const(4095)
# Gain bounds for the 10 Hz loop: ki * 10000 mL/min * 100 ms < 2**30, kp * 10000 < 2**30.
SWEEP_KP_MAX = const(2000)
SWEEP_KI_MAX = const(1000)
SWEEP_KD_MAX = const(200)


class SweepControl:
    # Gains: kp in steps per (L/min), ki in steps per (L/min * s), kd in steps per (L/min per s).
    # crack_u16: duty below which the valve does not open; a start from closed begins there so the
    # integrator does not spend seconds climbing through the dead band.
    def __init__(self, kp, ki, kd, crack_u16=0, ramp_mlpm_s=5000):
        self.pid = PID(kp, ki, kd, 0, _STEPS_MAX)
        self.crack = crack_u16 >> _STEP_SHIFT
        self.ramp_mlpm_s = ramp_mlpm_s
        self.target_mlpm = 0     # operator setpoint (one store from the REPL)
        self.sp_mlpm = 0         # the slewed setpoint the PID sees
        self.out_u16 = 0
        self.holding = False
        self._closed = True

    def update(self, flow_mlpm, flow_ok, dt_ms):
        target = self.target_mlpm
        if target <= 0:
            # sweep off: close at once, no ramp (nothing to protect by closing slowly)
            self.sp_mlpm = 0
            self.out_u16 = 0
            self._closed = True
            self.holding = False
            return 0
        if not flow_ok:
            self.holding = True      # valve hold at the last output; resumes from it
            return self.out_u16
        if self._closed:
            # bumpless start from closed: setpoint from the flow now, output from the cracking duty
            self._closed = False
            self.sp_mlpm = flow_mlpm if flow_mlpm > 0 else 0
            self.pid.reset(self.crack, flow_mlpm)
        elif self.holding:
            self.pid.reset(self.out_u16 >> _STEP_SHIFT, flow_mlpm)
        self.holding = False
        self.sp_mlpm = _slew(self.sp_mlpm, target, self.ramp_mlpm_s * dt_ms // 1000)
        self.out_u16 = self.pid.update(self.sp_mlpm, flow_mlpm, dt_ms) << _STEP_SHIFT
        return self.out_u16

    def restart(self, flow_mlpm):
        # after the gas supervisor released a cut: continue from the output held before it
        if not self._closed:
            self.pid.reset(self.out_u16 >> _STEP_SHIFT, flow_mlpm)


class FiO2Control:
    # Air/O2 blender valve: duty 0 = air only (20.9 %), full = O2 only. A feed-forward from the
    # mixing ratio sets the duty at once; a slow integral trims it against the O2 cell, slow
    # because a galvanic cell takes 10..15 s to settle (T90).
    def __init__(self, ki=300):
        self.pid = PID(0, ki, 0, 0, _STEPS_MAX)
        self.target_dpct = 1000
        self._ff_for = -1
        self.out_u16 = 0
        self.holding = False

    def update(self, fio2_dpct, fio2_ok, dt_ms):
        t = self.target_dpct
        if t != self._ff_for:
            self._ff_for = t
            ff = (t - AIR_DPCT) * _STEPS_MAX // (O2_DPCT - AIR_DPCT)
            self.pid.reset(ff, fio2_dpct)
        if not fio2_ok:
            self.holding = True
            return self.out_u16
        self.holding = False
        self.out_u16 = self.pid.update(t, fio2_dpct, dt_ms) << _STEP_SHIFT
        return self.out_u16
