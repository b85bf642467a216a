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
PRESSURE = const(2)            # servo on the drainage pressure P1 (issue 17)
ZERO = const(3)                # VA weaning: the speed of zero net flow (issue 17)
MODE_NAMES = ("rpm", "flow", "pressure", "zero")

# Pressure servo: a PID of its own on P1 (0.1 mmHg). More speed means more suction (a lower
# P1), so the PID sees the negated pressures: e = P1 - target. The operator's gains are in
# RPM/mmHg, RPM/(mmHg*s), RPM/(mmHg/s); the PID's own units are per 100 mmHg (P1 in 0.1 mmHg
# over the PID's /1000): x100 (control/pid.py's overflow bounds hold to servo gains of 50/50/5).
SERVO_GAIN_X = const(100)
_P1_RAMP_DMMHG_S = const(200)  # the servo's target moves at 20 mmHg/s: no suction step
# Zero-flow mode: the flow PID's form with gentle gains of its own, on a target a little above
# zero (the retrograde limit is -100 mL/min, debounced over two ticks: a target of +50 keeps the
# flow sensor's noise and a heart's change away from it) and a dead band, inside which the
# integrator rests (no hunting around zero where the pump curve is flat).
ZERO_TARGET_MLPM = const(50)
_ZERO_BAND_MLPM = const(30)
_ZERO_KP = const(300)          # RPM/(L/min)
_ZERO_KI = const(800)          # RPM/(L/min*s): ~0.1 L/min of error moves the speed 80 RPM/s
_ZERO_RAMP_MLPM_S = const(500) # the target comes from the flow at entry down to zero at 0.5
                               # L/min/s: a search, not a step (no proportional kick either)


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
        self.ff_rpm = -1               # the feed-forward's speed now (-1: not in use); its
                                       # filtered speed _ff_f is set by feed_forward()
        # _sp_ref: the setpoint through the reference model, 1/16 mL/min (set_mode(FLOW) and
        # restart() start it from the flow; only flow mode reads it)
        # issue 17: pressure servo and zero-flow mode, each with a PID of its own
        self.servo = PID(0, 0, 0, 0, rpm_max)
        self.p1_target_dmmhg = -500
        self.p1_sp_dmmhg = 0           # the ramped target the servo sees
        self.src = None                # the interlock readings (ecmo/redundancy.py): P1, flow
        self.zero = PID(_ZERO_KP, _ZERO_KI, 0, 0, rpm_max)
        self.zero_sp_mlpm = 0          # its ramped target
        self.prev_mode = RPM           # the mode before zero-flow mode: where leaving returns

    def feed_forward(self, src):
        # the flow estimate to feed forward from (ecmo/redundancy.py); None turns it off
        self.ff = src
        self._ff_f = -1

    def sources(self, src):
        # where the servo and zero-flow modes read P1 and flow (ecmo/redundancy.py: p1_g, q_g
        # and whether each is the sensor itself)
        self.src = src

    def set_servo_gains(self, kp, ki, kd):
        # operator units (RPM/mmHg, RPM/(mmHg*s), RPM/(mmHg/s)) into the PID's
        self.servo.set_gains(kp * SERVO_GAIN_X, ki * SERVO_GAIN_X, kd * SERVO_GAIN_X)

    def set_mode(self, mode, flow_mlpm, applied_rpm, p1_dmmhg=0):
        # Bumpless: every PID starts from the speed now applied (its integrator preloaded with
        # it), its ramped setpoint from the value now measured; RPM mode keeps the speed now
        # applied. The pressure and zero-flow modes leave the speed they start from as the RPM
        # setpoint (where leaving them to RPM mode starts; safety/resume.py keeps every mode).
        if mode == self.mode:
            return
        if mode == FLOW:
            self.flow_sp_mlpm = flow_mlpm
            self._sp_ref = flow_mlpm * 16      # the reference model from the flow now, too
            self.pid.reset(applied_rpm, flow_mlpm)
            self._ff_f = -1
        elif mode == PRESSURE:
            self.p1_sp_dmmhg = p1_dmmhg
            self.servo.reset(applied_rpm, -p1_dmmhg)
            self.rpm_target = applied_rpm
        elif mode == ZERO:
            self.zero.reset(applied_rpm, flow_mlpm)
            self.zero_sp_mlpm = flow_mlpm
            self.rpm_target = applied_rpm
        else:
            self.rpm_target = applied_rpm
        if mode == ZERO:
            self.prev_mode = self.mode
        self.out_rpm = applied_rpm
        self.holding = False
        self.mode = mode

    def restart(self, flow_mlpm):
        # after a stop: ramp up from zero speed and from the flow now measured
        self.out_rpm = 0
        self.flow_sp_mlpm = flow_mlpm if flow_mlpm > 0 else 0
        self._sp_ref = self.flow_sp_mlpm * 16
        self.pid.reset(0, flow_mlpm)
        self._ff_f = -1
        src = self.src
        p1 = src.p1.value if src is not None else 0
        self.p1_sp_dmmhg = p1
        self.servo.reset(0, -p1)
        self.zero.reset(0, flow_mlpm)
        self.zero_sp_mlpm = flow_mlpm

    def update(self, flow_mlpm, flow_ok, dt_ms):
        m = self.mode
        if m == RPM:
            # (no hold in RPM mode: set_mode() cleared `holding` on the way in, nothing sets it)
            self.out_rpm = _slew(self.out_rpm, self.rpm_target, self.rpm_ramp_s * dt_ms // 1000)
            return self.out_rpm
        if m == PRESSURE:
            return self._servo(dt_ms)
        if m == ZERO:
            return self._zero(flow_mlpm, flow_ok, dt_ms)
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

    def _servo(self, dt_ms):
        # P1 itself only: a saturated P1 is a bound and the pump-map estimate leans on the very
        # speed this loop sets, so without a trusted P1 the servo holds its last output (as flow
        # mode does on an invalid flow) and the supervisor's suction interlock goes on, on its
        # substitute. Trusted again: the servo resumes from the speed held.
        src = self.src
        if src is None or src.p1.status != 0 or src.suspect & 1:
            self.holding = True
            return self.out_rpm
        p1 = src.p1.value
        if self.holding:
            self.holding = False
            self.servo.reset(self.out_rpm, -p1)
            self.p1_sp_dmmhg = p1
        self.p1_sp_dmmhg = _slew(self.p1_sp_dmmhg, self.p1_target_dmmhg,
                                 _P1_RAMP_DMMHG_S * dt_ms // 1000)
        self.out_rpm = self.servo.update(-self.p1_sp_dmmhg, -p1, dt_ms)
        return self.out_rpm

    def _zero(self, flow_mlpm, flow_ok, dt_ms):
        # the flow sensor itself only: the pump-map estimate is weakest near zero flow
        src = self.src
        if not flow_ok or (src is not None and src.q_est):
            self.holding = True
            return self.out_rpm
        if self.holding:
            self.holding = False
            self.zero.reset(self.out_rpm, flow_mlpm)
            self.zero_sp_mlpm = flow_mlpm
        sp = self.zero_sp_mlpm = _slew(self.zero_sp_mlpm, ZERO_TARGET_MLPM,
                                       _ZERO_RAMP_MLPM_S * dt_ms // 1000)
        pv = flow_mlpm
        d = flow_mlpm - sp
        if -_ZERO_BAND_MLPM < d < _ZERO_BAND_MLPM:
            pv = sp                    # inside the dead band: no error, the integrator rests
        self.out_rpm = self.zero.update(sp, pv, dt_ms)
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
            m = self.mode
            if m == FLOW:
                self.pid.track(applied_rpm)
            elif m == PRESSURE:
                self.servo.track(applied_rpm)
            elif m == ZERO:
                self.zero.track(applied_rpm)
