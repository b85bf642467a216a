# Pump control modes: RPM (the operator sets speed) and FLOW (PID sets speed to hold a flow).
# Switching between them is bumpless, setpoints move at a slew limit, and an invalid flow
# reading freezes the flow loop at its last output (RPM hold) instead of chasing garbage.
# Feed-forward (flow mode): the pump map turns speed and head into the flow the circuit is
# settling to (`ff.q_map`, ecmo/redundancy.py) before the flow sensor shows it; with the affinity
# law (a quadratic circuit: flow scales with speed) the speed for the setpoint is
# rpm * setpoint / q_map. Its changes are added to the PID's integrator at once, so a head
# change (occlusion, volume loss or return) or a setpoint step moves the pump straight to
# about the right speed and the PID trims the rest; at steady state the PID alone sets it.
# While the feed-forward is in use the PID sees the setpoint through the lag the flow follows a
# speed change with (a reference model): the feed-forward already moved the speed, so the PID
# does not also integrate the lag and overshoot.
from micropython import const
from ecmo.control.pid import PID

_FF_MIN_MLPM = const(500)      # below this the estimate is too uncertain to scale by
_FF_TAU_MS = const(50)         # smooths the map estimate's sensor noise
_REF_TAU_MS = const(280)       # the flow follows a speed step: motor 0.3 s, less the lead
_FF_STEP_MAX = const(20)       # at most 2000 RPM/s from the feed-forward: the motor lags 0.3 s

RPM = const(0)
FLOW = const(1)
MODE_NAMES = ("rpm", "flow")


def _slew(cur, target, step):
    if target > cur + step:
        return cur + step
    if target < cur - step:
        return cur - step
    return target


class PumpControl:
    def __init__(self, kp, ki, kd, rpm_max, flow_ramp_mlpm_s=1000, rpm_ramp_s=1000):
        self.pid = PID(kp, ki, kd, 0, rpm_max)
        self.rpm_max = rpm_max
        self.mode = RPM
        self.rpm_target = 0
        self.flow_target_mlpm = 0
        self.flow_sp_mlpm = 0          # the ramped setpoint the PID sees
        self.flow_ramp_mlpm_s = flow_ramp_mlpm_s
        self.rpm_ramp_s = rpm_ramp_s   # RPM per second in RPM mode
        self.out_rpm = 0               # what we asked for last
        self.holding = False
        self.ff = None                 # feed-forward source (q_map, q_map_ok, rpm); None = off
        self.ff_rpm = -1               # the feed-forward's speed now (-1: not in use)
        self._ff_f = -1                # filtered, RPM
        self._sp_ref = 0               # setpoint through the reference model, 1/16 mL/min

    def feed_forward(self, src):
        # the flow estimate to feed forward from (ecmo/redundancy.py); None turns it off
        self.ff = src
        self._ff_f = -1

    def set_mode(self, mode, flow_mlpm, applied_rpm):
        # Bumpless: RPM -> FLOW starts the PID from the speed now applied, with the ramped
        # setpoint starting at the flow now measured; FLOW -> RPM keeps the speed now applied.
        if mode == self.mode:
            return
        if mode == FLOW:
            self.flow_sp_mlpm = flow_mlpm
            self.pid.reset(applied_rpm, flow_mlpm)
            self._ff_f = -1
        else:
            self.rpm_target = applied_rpm
        self.out_rpm = applied_rpm
        self.mode = mode

    def restart(self, flow_mlpm):
        # after a stop: ramp up from zero speed and from the flow now measured
        self.out_rpm = 0
        self.flow_sp_mlpm = flow_mlpm if flow_mlpm > 0 else 0
        self.pid.reset(0, flow_mlpm)
        self._ff_f = -1

    def update(self, flow_mlpm, flow_ok, dt_ms):
        if self.mode == RPM:
            self.holding = False
            self.out_rpm = _slew(self.out_rpm, self.rpm_target, self.rpm_ramp_s * dt_ms // 1000)
            return self.out_rpm
        if not flow_ok:
            self.holding = True   # RPM hold at the last output; the PID resumes from it
            return self.out_rpm
        if self.holding:
            self.holding = False
            self.pid.reset(self.out_rpm, flow_mlpm)
            self._ff_f = -1
        self.flow_sp_mlpm = _slew(self.flow_sp_mlpm, self.flow_target_mlpm,
                                  self.flow_ramp_mlpm_s * dt_ms // 1000)
        if self._feed_forward(dt_ms):
            # in 1/16 mL/min, so the small steps of a setpoint ramp still lag
            d = self.flow_sp_mlpm * 16 - self._sp_ref
            if -32 < d < 32:
                self._sp_ref = self.flow_sp_mlpm * 16   # the last 2 mL/min at once: no offset
            else:
                self._sp_ref += d * dt_ms // (_REF_TAU_MS + dt_ms)
        else:
            self._sp_ref = self.flow_sp_mlpm * 16
        self.out_rpm = self.pid.update(self._sp_ref >> 4, flow_mlpm, dt_ms)
        return self.out_rpm

    def _feed_forward(self, dt_ms):
        f = self.ff
        if f is None or not f.q_map_ok or f.q_map < _FF_MIN_MLPM:
            self._ff_f = -1        # no estimate: the PID alone; restart smoothly when back
            self.ff_rpm = -1
            return False
        ff = f.rpm * self.flow_sp_mlpm // f.q_map
        if ff > self.rpm_max:
            ff = self.rpm_max
        if self._ff_f < 0:
            self._ff_f = ff        # first estimate: the reference, no step
            self.ff_rpm = ff
            return True
        old = self._ff_f
        new = old + (ff - old) * dt_ms // (_FF_TAU_MS + dt_ms)
        d = new - old
        if d > _FF_STEP_MAX:
            d = _FF_STEP_MAX
        elif d < -_FF_STEP_MAX:
            d = -_FF_STEP_MAX
        self._ff_f = old + d
        self.ff_rpm = self._ff_f
        self.pid.i_mrpm += d * 1000   # the PID's output moves by the change at once
        return True

    def track(self, applied_rpm):
        # the supervisor applied something else (limit, hold, stop): follow it without windup
        if applied_rpm != self.out_rpm:
            self.out_rpm = applied_rpm
            if self.mode == FLOW:
                self.pid.track(applied_rpm)
