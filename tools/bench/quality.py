# Control quality on the simulated rig (CPython): the firmware's Rig on the fake machine, wired
# to tools/sim/plant.py, on fixed scenarios; the same scenarios with simple-pid as the baseline.
# Controllers compared (all at 100 Hz on the same plant, same sensors and drivers):
#   ours        the firmware as it is: PumpControl (integer PID, setpoint ramp, tracking
#               anti-windup) behind the Supervisor (suction/over-pressure back-off, VA floor)
#   simple-pid  simple_pid.PID in place of PumpControl, behind the same Supervisor: same gains
#               (kp RPM/(L/min), ki RPM/(L/min*s), kd RPM/(L/min/s), fed L/min and dt in s),
#               derivative on measurement, output clamped to 0..rpm_max, no tracking
#   bare        simple-pid driving the pump directly: no supervisor at all
# The plant harness here is small on purpose: one 1 ms plant step, then 1 ms of virtual time.
import random
import sys

if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 1)[0] if "/" in __file__ else ".")
    import fwbench
    fwbench.setup_paths()

import machine  # noqa: E402  (the fake one, from the paths above)
import board_pico as board
import devices
from plant import Plant
from ecmo.rig import Rig

SETTINGS = "/tmp/_ecmo_bench_quality_settings.json"
DT_TICK_S = 0.01
SETTLE_S = 20.0


class SimplePidControl:
    # PumpControl's interface for the Loop, with simple-pid inside. It gets the same setpoint
    # trajectory as ours (the firmware's ramp, ramp_mlpm_s), so a step compares the two PIDs,
    # not a ramp against a jump.
    def __init__(self, gains, rpm_max, target_mlpm, start_rpm, ramp_mlpm_s):
        from simple_pid import PID
        kp, ki, kd = gains
        self.pid = PID(kp, ki, kd, setpoint=target_mlpm / 1000.0, sample_time=None,
                       output_limits=(0, rpm_max), differential_on_measurement=True)
        self.pid.set_auto_mode(False)
        self.pid.set_auto_mode(True, last_output=start_rpm)   # bumpless start, as its docs say
        self.out = start_rpm
        self.target = target_mlpm
        self.sp = float(target_mlpm)
        self.ramp = ramp_mlpm_s

    def set_target(self, mlpm):
        self.target = mlpm

    def update(self, flow_mlpm, flow_ok, dt_ms):
        step = self.ramp * dt_ms / 1000.0
        self.sp += max(-step, min(step, self.target - self.sp))
        self.pid.setpoint = self.sp / 1000.0
        if flow_ok:
            self.out = int(self.pid(flow_mlpm / 1000.0, dt=dt_ms / 1000.0))
        return self.out

    def track(self, applied_rpm):
        pass


class NoSupervisor:
    # the bare baseline: the controller's request goes straight to the pump, line open
    def __init__(self, sup):
        self.flow = sup.flow
        self.pump = sup.pump
        self.clamp = sup.clamp
        self.state = 1
        self.tripped = False
        self.rpm_applied = 0

    def update(self, now_ms, req_rpm, dt_ms):
        self.pump.drive(req_rpm, True)
        self.clamp.open()
        self.rpm_applied = req_rpm
        return req_rpm

    def trip(self):
        self.pump.stop()


def _u16(spec, value):
    ra, va, rb, vb = spec["cal"]
    return ra + (value - va) * (rb - ra) // (vb - va)


class PlantRig:
    def __init__(self, controller, target_mlpm, profile="VA", noise_mlpm=0, seed=1):
        machine.sim_reset()
        try:
            import os
            os.remove(SETTINGS)
        except OSError:
            pass
        self.plant = Plant(profile)
        sp = board.SENSORS["p2"]
        self.abp2 = devices.HoneywellABP(sp["pmin_dmmhg"] / 10.0, sp["pmax_dmmhg"] / 10.0)
        self.abp3 = devices.HoneywellABP(sp["pmin_dmmhg"] / 10.0, sp["pmax_dmmhg"] / 10.0)
        machine.sim_i2c_attach(0, 0x28, self.abp2)
        machine.sim_i2c_attach(1, 0x28, self.abp3)
        machine.sim_pin(board.ESTOP["pin"]).drive(0)
        machine.sim_pin(board.BUBBLE["pin"]).drive(0)
        self.tach = machine.sim_pin(board.PUMP["tach"])
        self.tach.drive(1)
        self.pwm = machine.sim_pwm(board.PUMP["pwm"])
        self.en = machine.sim_pin(board.PUMP["enable"])
        self.clamp = machine.sim_pin(board.CLAMP["pin"])
        self.p1_adc = machine.sim_adc(board.SENSORS["p1"]["adc"])
        self.flow_adc = machine.sim_adc(board.SENSORS["flow"]["adc"])
        self.noise = noise_mlpm
        self.freeze_flow = False        # the flow sensor keeps its last counts (frozen part)
        self.rnd = random.Random(seed)
        self._pulses = 0
        self._ms = 0
        self._sense()
        rig = Rig(board, SETTINGS)
        if profile != "VA":
            rig.profile(profile)
        rig.mode("flow")
        rig.control.flow_target_mlpm = target_mlpm
        self.rig = rig
        self.ctl = None
        if controller != "ours":
            self.ctl = SimplePidControl(tuple(rig.settings["gains"]), board.RPM_MAX,
                                        target_mlpm, 0, rig.control.flow_ramp_mlpm_s)
            rig.loop.control = self.ctl
            if controller == "bare":
                rig.loop.sup = NoSupervisor(rig.sup)
        # a board has ticked before anyone types run(): a flow-mode run() before the first
        # tick has no trusted flow reading yet and is refused (H08)
        for _ in range(10):
            rig.loop.tick()
        rig.run()
        rig.start()

    def set_target(self, mlpm):
        self.rig.control.flow_target_mlpm = mlpm
        if self.ctl is not None:
            self.ctl.set_target(mlpm)

    def _sense(self):
        pl = self.plant
        s = board.SENSORS
        d = (self._ms // 10) & 1           # 1 LSB of ADC noise: a real ADC is never frozen
        self.p1_adc.u16 = _u16(s["p1"], int(pl.p1_mmhg * 10)) + d
        self.abp2.pressure_mmhg = pl.p2_mmhg + 0.12 * d     # and one count on the ABPs
        self.abp3.pressure_mmhg = pl.p3_mmhg + 0.12 * d
        if self.freeze_flow:
            return
        q = int(pl.flow_lpm * 1000)
        if self.noise:
            q += int(self.rnd.gauss(0.0, self.noise))
        self.flow_adc.u16 = _u16(s["flow"], q) + d

    def run(self, seconds, record=None):
        # 1 ms steps; record gets (t_s, flow_lpm, p1_mmhg) once per tick
        n = int(round(seconds * 1000))
        level = board.CLAMP["closed_level"]
        on = board.PUMP["enable_level"]
        for i in range(n):
            pl = self.plant
            rev0 = pl.revolutions
            pl.step(0.001, self.pwm.duty_u16, self.en.level == on, self.clamp.level == level)
            self._ms += 1
            self._sense()
            # tach edges at the microsecond the rotor passes (as tools/sim/world.py does): on
            # a 1 ms grid the tach would read 3000 rpm as 2727 or 3333
            ppr = board.PUMP["pulses_per_rev"]
            k = int(pl.revolutions * ppr)
            drev = pl.revolutions - rev0
            done = 0
            while self._pulses < k:
                self._pulses += 1
                at = int((self._pulses / ppr - rev0) / drev * 1000) if drev > 0 else 0
                at = 1000 if at > 1000 else at
                if at > done:
                    machine.sim_advance_us(at - done)
                    done = at
                self.tach.drive(0)
                self.tach.drive(1)
            machine.sim_advance_us(1000 - done)
            if record is not None and i % 10 == 9:
                record.append((pl.time_s, pl.flow_lpm, pl.p1_mmhg, pl.p3_mmhg))


# ---- scenarios: (name, kind, start target mL/min, event, seconds after the event) ----
def _step_to(mlpm):
    return lambda pr: pr.set_target(mlpm)


SCENARIOS = (
    ("step_up", "step", 3000, _step_to(4000), 15.0, 0),
    ("step_down", "step", 4000, _step_to(3000), 15.0, 0),
    ("volume_loss", "disturbance", 4500, lambda pr: pr.plant.volume_loss(800.0, 5.0), 30.0, 0),
    # lose 800 mL, give it back 10 s later: how each controller comes back out of the limit
    ("volume_loss_return", "disturbance", 4500,
     ((0.0, lambda pr: pr.plant.volume_loss(800.0, 2.0)), (10.0, lambda pr: pr.plant.volume_gain(800.0, 2.0))),
     30.0, 0),
    ("occlusion", "disturbance", 4000, lambda pr: pr.plant.occlusion("arterial", 0.5), 15.0, 0),
    ("noise", "disturbance", 4000, None, 20.0, 150),
)


def metrics(rec, t0, start_lpm, target_lpm, kind):
    # IAE of the true flow against the operator's target after the event (L/min * s),
    # overshoot past the target in % of the step, 5 % settling time (of the step, or of the
    # target for disturbances; the window length if never settled), the lowest P1, highest P3
    iae = 0.0
    band = 0.05 * (abs(target_lpm - start_lpm) if kind == "step" else target_lpm)
    up = target_lpm >= start_lpm
    peak = 0.0
    settle = 0.0
    min_p1 = 1e9
    max_p3 = -1e9
    for t, q, p1, p3 in rec:
        if p3 > max_p3:
            max_p3 = p3
        iae += abs(target_lpm - q) * DT_TICK_S
        over = (q - target_lpm) if up else (target_lpm - q)
        if over > peak:
            peak = over
        if abs(q - target_lpm) > band:
            settle = t - t0 + DT_TICK_S
        if p1 < min_p1:
            min_p1 = p1
    out = {"iae": iae, "settle_s": settle, "min_p1_mmhg": min_p1, "max_p3_mmhg": max_p3}
    if kind == "step":
        out["overshoot_pct"] = 100.0 * peak / abs(target_lpm - start_lpm)
    return out


def run_scenario(sc, controller, quick=False):
    name, kind, start, event, seconds, noise = sc
    if quick:
        seconds = 1.0
    pr = PlantRig(controller, start, noise_mlpm=noise)
    pr.run(2.0 if quick else SETTLE_S)
    target = start
    rec = []
    t0 = pr.plant.time_s
    _play(pr, event, seconds, rec)
    if event is not None and not isinstance(event, tuple):
        target = pr.rig.control.flow_target_mlpm
    m = metrics(rec, t0, start / 1000.0, target / 1000.0, kind)
    m["window_s"] = seconds
    return m


def _play(pr, event, seconds, rec):
    # a scenario's event on a rig for `seconds`: one action at t0, or timed ones
    # ((seconds after t0, action), ...)
    if isinstance(event, tuple):
        done = 0.0
        for at, fn in event:
            if at > done:
                pr.run(at - done, rec)
                done = at
            fn(pr)
        pr.run(seconds - done, rec)
    else:
        if event is not None:
            event(pr)
        pr.run(seconds, rec)


def run_all(quick=False):
    # {scenario: {controller: metrics}}; "bound" for the disturbances the limits shape
    out = {}
    scs = SCENARIOS[:1] if quick else SCENARIOS
    for sc in scs:
        out[sc[0]] = {"kind": sc[1]}
        for c in ("ours", "simple-pid", "bare"):
            out[sc[0]][c] = run_scenario(sc, c, quick)
        if sc[1] == "disturbance" and sc[5] == 0:
            out[sc[0]]["bound"] = bound(sc, quick)
    return out


# ---- the best any controller can do behind the supervisor's critical limits ----
# An oracle that knows the plant and sets its speed at once (no motor lag, no sensor): every
# 10 ms, the highest speed that neither passes the target flow nor takes the static P1 below
# p1_crit, P3 above p3_crit or P2 above p2_crit (the profile's defaults; past them the supervisor
# backs the speed off). Its IAE is a lower bound for every controller that stays inside the
# critical limits; one that goes past them is backed off below this. Uses the plant's internals.
def _statics(pl, rpm):
    pl._rpm = rpm
    pl._fresh = False
    return pl.p1_mmhg, pl.p2_mmhg, pl.p3_mmhg, pl._qstar


def _oracle_rpm(pl, target_lpm, lim):
    save = pl._rpm
    lo, hi = 0.0, float(board.RPM_MAX)
    for _ in range(24):
        mid = (lo + hi) / 2
        p1, p2, p3, q = _statics(pl, mid)
        if q <= target_lpm and p1 >= lim[0] and p2 <= lim[1] and p3 <= lim[2]:
            lo = mid
        else:
            hi = mid
    pl._rpm = save
    pl._fresh = False
    return lo


class _OracleRig:
    def __init__(self, target_mlpm):
        from ecmo.safety.profiles import defaults
        d = defaults("VA")
        self.lim = (d["p1_crit_dmmhg"] / 10.0, d["p2_crit_dmmhg"] / 10.0, d["p3_crit_dmmhg"] / 10.0)
        self.plant = Plant("VA")
        self.plant.params["tau_s"] = 1e-4       # the motor follows at once
        self.target = target_mlpm / 1000.0

    def set_target(self, mlpm):
        self.target = mlpm / 1000.0

    def run(self, seconds, record=None):
        pl = self.plant
        for _ in range(int(round(seconds / DT_TICK_S))):
            r = _oracle_rpm(pl, self.target, self.lim)
            pl._rpm = r
            pl.step(DT_TICK_S, pl.rpm_to_duty(r), True, False)
            if record is not None:
                record.append((pl.time_s, pl.flow_lpm, pl.p1_mmhg, pl.p3_mmhg))


def bound(sc, quick=False):
    name, kind, start, event, seconds, noise = sc
    if quick:
        seconds = 1.0
    pr = _OracleRig(start)
    pr.run(2.0 if quick else SETTLE_S)
    rec = []
    t0 = pr.plant.time_s
    _play(pr, event, seconds, rec)
    m = metrics(rec, t0, start / 1000.0, pr.target, kind)
    m["window_s"] = seconds
    return m


# ---- flow estimate from the pump map (ecmo/redundancy.py) on this rig ----
# circuits (speed, arterial occlusion) that span 1..6 L/min of true flow
EST_POINTS = ((2000, 0.65), (2500, 0.5), (3000, 0.3), (3000, 0.0), (3500, 0.0), (4000, 0.0),
              (4500, 0.0))


def _set_map(rig, scale):
    m = rig.pump_map_board
    rig.red.map.set(m["a"] * scale, m["b"] * scale, m["c"] * scale, m["err_pct"])


def estimate_accuracy(scale=1.0, quick=False):
    # The firmware's flow estimate against the plant's true flow, RPM mode, VA.
    # raw: the map alone (no anchor) at every point, after 4 s of settling;
    # anchored: trusted at 3000 rpm / open line (3.7 L/min) for 10 s, then the flow sensor
    # freezes (STUCK, the estimate stands in) and the circuit moves to each other point.
    pts = EST_POINTS[:2] if quick else EST_POINTS
    pr = PlantRig("ours", 3000)
    rig = pr.rig
    rig.mode("rpm")
    _set_map(rig, scale)
    raw = []
    for rpm, occ in pts:
        rig.set_rpm(rpm)
        pr.plant.occlusion("arterial", occ)
        pr.run(1.0 if quick else 4.0)
        q = pr.plant.flow_lpm * 1000.0
        m = rig.red.map
        est = m.flow_mlpm(rig.pump.rpm, rig.p2.value - rig.p1.value)
        raw.append((rpm, occ, round(q), est))
    # anchored
    pr = PlantRig("ours", 3000)
    rig = pr.rig
    rig.mode("rpm")
    _set_map(rig, scale)
    rig.set_rpm(3000)
    pr.run(2.0 if quick else 12.0)
    pr.freeze_flow = True
    anch = []
    for rpm, occ in pts:
        rig.set_rpm(rpm)
        pr.plant.occlusion("arterial", occ)
        pr.run(1.0 if quick else 4.0)
        q = pr.plant.flow_lpm * 1000.0
        anch.append((rpm, occ, round(q), rig.red.q_map, rig.red.q_est))
    def worst(rows, i):
        return max(abs(r[i] - r[2]) for r in rows)
    def worst_pct(rows, i):
        return max(100.0 * abs(r[i] - r[2]) / r[2] for r in rows)
    return {"scale": scale, "raw": raw, "anchored": anch,
            "raw_max_err_mlpm": worst(raw, 3), "raw_max_err_pct": round(worst_pct(raw, 3), 1),
            "anchored_max_err_mlpm": worst(anch, 3),
            "anchored_max_err_pct": round(worst_pct(anch, 3), 1)}


# ---- pressure servo (issue 17) beside flow mode, on the drainage pressure P1 ----
# VV, both modes from the same operating point (flow mode at SERVO_START_MLPM, P1 there p1_0):
#   p1_step       the servo's target steps p1_0 -> p1_0 - SERVO_STEP_MMHG; flow mode's
#                 setpoint steps to the flow at which the servo settled (the same new P1)
#   volume_loss   300 mL lost over 5 s; each mode holds what it holds (the servo P1, flow mode
#                 the flow): judged on P1 against p1_0
# Figures on the plant's true P1: IAE (mmHg*s), 5 % settling time (of the step; of 2 mmHg for
# the disturbance), the largest deviation (mmHg).
SERVO_START_MLPM = 3000
SERVO_STEP_MMHG = 20.0


def _p1_metrics(rec, t0, target, band):
    iae = 0.0
    settle = 0.0
    dev = 0.0
    for t, q, p1, p3 in rec:
        e = abs(p1 - target)
        iae += e * DT_TICK_S
        if e > dev:
            dev = e
        if e > band:
            settle = t - t0 + DT_TICK_S
    return {"iae": iae, "settle_s": settle, "max_dev_mmhg": dev}


def _servo_rig(quick):
    pr = PlantRig("ours", SERVO_START_MLPM, profile="VV")
    pr.run(2.0 if quick else SETTLE_S)
    return pr


def servo_bench(quick=False):
    win = 2.0 if quick else 20.0
    out = {}
    # the operating point, in flow mode
    pr = _servo_rig(quick)
    p1_0 = pr.plant.p1_mmhg
    target = round(p1_0 - SERVO_STEP_MMHG)
    # servo: enter pressure mode at p1_0, then the step
    pr.rig.set_p1(round(p1_0))
    pr.rig.mode("pressure")
    pr.run(2.0 if quick else 5.0)
    rec = []
    t0 = pr.plant.time_s
    pr.rig.set_p1(target)
    pr.run(win, rec)
    q_new = pr.plant.flow_lpm
    band = 0.05 * SERVO_STEP_MMHG
    out["p1_step"] = {"pressure": _p1_metrics(rec, t0, target, band)}
    # flow mode: the setpoint step that gives the same new P1
    pr = _servo_rig(quick)
    rec = []
    t0 = pr.plant.time_s
    pr.set_target(int(round(q_new * 1000)))
    pr.run(win, rec)
    out["p1_step"]["flow"] = _p1_metrics(rec, t0, target, band)
    # volume loss, each mode from the operating point
    for mode in ("pressure", "flow"):
        pr = _servo_rig(quick)
        p1_0 = pr.plant.p1_mmhg
        if mode == "pressure":
            pr.rig.set_p1(round(p1_0))
            pr.rig.mode("pressure")
            pr.run(2.0 if quick else 5.0)
        rec = []
        t0 = pr.plant.time_s
        pr.plant.volume_loss(300.0, 5.0)
        pr.run(win + 10.0 if not quick else win, rec)
        out.setdefault("p1_volume_loss", {})[mode] = _p1_metrics(rec, t0, round(p1_0), 2.0)
    out["window_s"] = win
    out["step_mmhg"] = SERVO_STEP_MMHG
    return out


if __name__ == "__main__" and "--servo" in sys.argv:
    import json
    print("@@bench " + json.dumps(servo_bench("--quick" in sys.argv)))
elif __name__ == "__main__":
    # python3 tools/bench/quality.py [--quick]: one "@@bench" JSON line with every result,
    # then one with the flow estimate's accuracy (right map, and a map 20 % off in head)
    import json
    quick = "--quick" in sys.argv
    print("@@bench " + json.dumps(run_all(quick)))
    print("@@bench " + json.dumps({"estimate": [estimate_accuracy(1.0, quick),
                                                estimate_accuracy(1.2, quick)]}))
