# `ecmo autotune`: relay-feedback identification of the flow loop (Astrom & Hagglund 1984), a
# plant fitted to the recorded relay, and PID gains proposed only when their step response on
# that fitted plant settles within SETTLE_S with at most OVERSHOOT_PCT overshoot.
# The relay drives the pump speed to bias +- d around a flow setpoint; the flow oscillates with
# amplitude a and period Pu, and Ku = 4 d / (pi a) (describing function). Units are the
# firmware's gain units: d in RPM, a in L/min -> Ku in RPM per (L/min).
# Rules (Ti, Td in s; ki = kp / Ti in RPM/(L/min*s); kd = kp * Td in RPM/(L/min/s)):
#   Tyreus-Luyben PI (default, conservative): kp = Ku/3.2, Ti = 2.2 Pu
#   Ziegler-Nichols PI:                        kp = 0.45 Ku, Ti = Pu/1.2
#   Ziegler-Nichols PID:                       kp = 0.6 Ku, Ti = Pu/2, Td = Pu/8
# A rule's gains are a starting point, not a guarantee (on a plant with a long lag next to its
# delay the TL rule's integral is too slow to settle in time): they are checked, and adjusted
# along a fixed grid (nearest first) when they fail; nothing that fails the check is proposed.
# --loop p1 tunes the pressure servo instead (issue 17, rig.mode('pressure')): the relay runs on
# the drainage pressure P1 (negated: more speed, more suction), Ku in RPM per mmHg, the check on
# a 5 mmHg step with the servo's own PID units (x100 of RPM/mmHg, P1 in 0.1 mmHg) and bounds.
# --sim and --port run the same relay loop (20 telemetry rows/s in, rig.set_rpm() out) on the
# same firmware, so they identify the same plant (--sim: the simulated rig in process).
import json
import math
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in ("tools/sim/hw", "tools/sim", "firmware"):
    _p = os.path.join(ROOT, _p)
    if _p not in sys.path:
        sys.path.append(_p)

KP_MAX, KI_MAX, KD_MAX = 5000, 2000, 500     # the gains' hard bounds in firmware/ecmo/table.py
RULES = ("tl-pi", "zn-pi", "zn-pid")
SETTLE_S = 5.0          # a proposed step must stay within +-BAND of the new setpoint after this
BAND = 0.05             # of the step size
OVERSHOOT_PCT = 10.0    # and peak at most this far past it, in % of the step
STEP_LPM = 0.5          # the check's setpoint step (the fit is linear around the setpoint)
ROW_HZ = 20             # telemetry rows/s during the relay, on the rig and in --sim alike
# the loops it can tune: the column it reads (times sign: the relay wants a positive gain),
# firmware units per unit (the PID's pv), the PID's gain factor, the gain bounds, the check's
# step, the relay's hysteresis, the unit and the command the proposal names
LOOPS = {
    "flow": {"col": "flow_lpm", "sign": 1.0, "scale": 1000, "gx": 1,
             "bounds": (KP_MAX, KI_MAX, KD_MAX), "step": STEP_LPM, "eps": 0.05, "unit": "L/min",
             "cmd": "rig.gains", "profile": "VA"},
    "p1": {"col": "p1_mmhg", "sign": -1.0, "scale": 10, "gx": 100, "bounds": (50, 50, 5),
           "step": 5.0, "eps": 1.0, "unit": "mmHg", "cmd": "rig.servo_gains", "profile": "VV"},
}
LOOP = LOOPS["flow"]


def use_loop(name):
    global LOOP
    LOOP = LOOPS[name]
    return LOOP


# when a rule's gains fail the check: kp and ki scaled along this grid, nearest to the rule first
DETUNE = sorted(((fp, fi) for fp in (1.0, 0.7, 0.5, 0.35, 0.25, 1.4)
                 for fi in (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 1.5, 2.0, 3.0)),
                key=lambda f: (abs(math.log(f[0])) + abs(math.log(f[1])), f[0] > 1, f[1]))


class Relay:
    # the relay with hysteresis: output bias + d while flow < sp - eps, bias - d while > sp + eps
    def __init__(self, sp_lpm, bias_rpm, d_rpm, eps_lpm=0.05):
        self.sp, self.bias, self.d, self.eps = sp_lpm, bias_rpm, d_rpm, eps_lpm
        self.high = True
        self.t, self.q, self.u = [], [], []
        self.switch_t = []

    def update(self, t_s, flow_lpm):
        if self.high and flow_lpm > self.sp + self.eps:
            self.high = False
            self.switch_t.append(t_s)
        elif not self.high and flow_lpm < self.sp - self.eps:
            self.high = True
            self.switch_t.append(t_s)
        out = self.bias + (self.d if self.high else -self.d)
        self.t.append(t_s)
        self.q.append(flow_lpm)
        self.u.append(out)
        return out

    def cycles(self):
        return max(0, (len(self.switch_t) - 1) // 2)

    def result(self, skip_cycles=2):
        # amplitude and period over the cycles after the first skip_cycles (the transient)
        sw = self.switch_t
        if len(sw) < 2 * (skip_cycles + 2) + 1:
            raise RuntimeError("relay did not oscillate long enough (%d switches)" % len(sw))
        start = sw[2 * skip_cycles]
        periods = [sw[i + 2] - sw[i] for i in range(2 * skip_cycles, len(sw) - 2, 2)]
        pu = sum(periods) / len(periods)
        qs = [q for t, q in zip(self.t, self.q) if t >= start]
        a = (max(qs) - min(qs)) / 2.0
        ku = 4.0 * self.d / (math.pi * a)
        return {"ku": ku, "pu_s": pu, "a_lpm": a, "d_rpm": self.d, "cycles": len(periods)}


def gains(ku, pu, rule="tl-pi"):
    if rule == "tl-pi":
        kp, ti, td = ku / 3.2, 2.2 * pu, 0.0
    elif rule == "zn-pi":
        kp, ti, td = 0.45 * ku, pu / 1.2, 0.0
    elif rule == "zn-pid":
        kp, ti, td = 0.6 * ku, pu / 2.0, pu / 8.0
    else:
        raise ValueError("rule must be one of %s" % ", ".join(RULES))
    return _bound(kp, kp / ti, kp * td)


def _bound(kp, ki, kd):
    bp, bi, bd = LOOP["bounds"]
    return (max(0, min(bp, int(round(kp)))), max(0, min(bi, int(round(ki)))),
            max(0, min(bd, int(round(kd)))))


# ---------------------------------------------------------------- the fitted plant
class FOPDT:
    # first order plus dead time, in deviation from the operating point:
    #   tau dq/dt = -q + k u(t - theta);  q in L/min, u in RPM, k in (L/min)/RPM
    def __init__(self, k, tau_s, theta_s, q0=0.0, u0=0.0):
        self.k, self.tau, self.theta, self.q0, self.u0 = k, tau_s, theta_s, q0, u0

    def describe(self):
        return "k=%.5f (%s)/RPM, tau=%.2f s, dead time=%.2f s" % (self.k, LOOP["unit"], self.tau,
                                                                 self.theta)

    def response(self, u_of_t, dt_s, n, q_start=None):
        # flow over n steps for the input u_of_t(i, q) -> RPM (closed loop when it reads q)
        lag = int(round(self.theta / dt_s))
        hist = [self.u0] * (lag + 1)
        q = self.q0 if q_start is None else q_start
        a = math.exp(-dt_s / self.tau) if self.tau > 0 else 0.0
        out = []
        for i in range(n):
            u = u_of_t(i, q)
            hist.append(u)
            ud = hist[-1 - lag]
            q = self.q0 + a * (q - self.q0) + (1 - a) * self.k * (ud - self.u0)
            out.append(q)
        return out


def fit(relay, res=None):
    # The plant the relay saw, as a FOPDT. Its static gain k comes from a least-squares fit of
    # q[i+1] = a q[i] + b u[i-d] + c (k = b/(1-a)), with the delay d kept below Pu/2 (a longer
    # one would only alias the periodic record). Its lag and dead time are then solved so the
    # model has exactly the identified Ku and Pu (the relay's hysteresis eps adds asin(eps/a) of
    # phase): tau w = sqrt((k Ku)^2 - 1), theta w = pi - asin(eps/a) - atan(tau w), w = 2 pi/Pu.
    res = res or relay.result()
    t, q, u = relay.t, relay.q, relay.u
    if len(t) < 20:
        raise RuntimeError("too few rows to fit a plant (%d)" % len(t))
    dt = (t[-1] - t[0]) / (len(t) - 1)
    best = None
    for d in range(0, max(1, int(res["pu_s"] / 2 / dt))):
        xs = [(q[i], u[i - d], 1.0) for i in range(d, len(t) - 1)]
        ys = [q[i + 1] for i in range(d, len(t) - 1)]
        sol = _lstsq(xs, ys)
        if sol is None:
            continue
        a, b, c = sol
        if not (0.0 < a < 1.0) or b <= 0:
            continue
        r2 = sum((y - (a * x[0] + b * x[1] + c)) ** 2 for x, y in zip(xs, ys))
        if best is None or r2 < best[0]:
            best = (r2, a, b, d)
    if best is None:
        raise RuntimeError("no first-order plant fits the relay record")
    _r2, a, b, d = best
    k = b / (1.0 - a)
    u0 = relay.bias
    q0 = sum(q) / len(q) - k * (sum(u) / len(u) - u0)
    w = 2 * math.pi / res["pu_s"]
    kk = k * res["ku"]
    if kk > 1.0:
        tau = math.sqrt(kk * kk - 1.0) / w
        phase = math.pi - math.asin(min(1.0, relay.eps / res["a_lpm"])) - math.atan(tau * w)
        theta = max(0.0, phase / w)
    else:   # the gain alone cannot reach Ku: keep the least-squares lag and delay
        tau, theta = -dt / math.log(a), d * dt + dt / 2.0
    return FOPDT(k, tau, theta, q0=q0, u0=u0)


def _lstsq(xs, ys):
    # 3x3 normal equations, solved by Cramer's rule (no numpy needed)
    m = [[sum(x[i] * x[j] for x in xs) for j in range(3)] for i in range(3)]
    v = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(3)]

    def det(a):
        return (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
                - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))
    dm = det(m)
    if abs(dm) < 1e-12:
        return None
    out = []
    for c in range(3):
        mc = [row[:] for row in m]
        for r in range(3):
            mc[r][c] = v[r]
        out.append(det(mc) / dm)
    return out


# ---------------------------------------------------------------- the check
def step_on(model, g, sp_lpm, step_lpm=None, seconds=None, dt_ms=10):
    # the firmware's integer PID (ecmo/control/pid.py) at the tick rate on the fitted plant:
    # steady at sp, then sp + step at t = 0 (no setpoint ramp: stricter than flow mode)
    import hostshim
    hostshim.install()
    from ecmo.control.pid import PID
    seconds = seconds or 3 * SETTLE_S
    if step_lpm is None:
        step_lpm = LOOP["step"]
    sc, gx = LOOP["scale"], LOOP["gx"]
    dt = dt_ms / 1000.0
    u_ss = model.u0 + (sp_lpm - model.q0) / model.k
    pid = PID(g[0] * gx, g[1] * gx, g[2] * gx, 0, KP_MAX * 2)
    pid.reset(int(round(u_ss)), int(sp_lpm * sc))
    sp1 = sp_lpm + step_lpm
    us = []

    def ctl(i, q):
        u = pid.update(int(round(sp1 * sc)), int(round(q * sc)), dt_ms)
        us.append(u)
        return u
    # the plant starts in steady state at sp (its delay line holds u_ss)
    qs = _run_from_steady(model, ctl, dt, int(seconds / dt), u_ss, sp_lpm,
                          int(round(model.theta / dt)))
    ts = [(i + 1) * dt for i in range(len(qs))]
    return {"t": ts, "flow": qs, "rpm": us, "sp": [sp1] * len(ts), "sp0": sp_lpm, "sp1": sp1}


def _run_from_steady(m, ctl, dt, n, u_ss, q_ss, lag):
    hist = [u_ss] * (lag + 1)
    q = q_ss
    a = math.exp(-dt / m.tau) if m.tau > 0 else 0.0
    out = []
    for i in range(n):
        hist.append(ctl(i, q))
        ud = hist[-1 - lag]
        q = m.q0 + a * (q - m.q0) + (1 - a) * m.k * (ud - m.u0)
        out.append(q)
    return out


def step_metrics(r, band=BAND):
    sp0, sp1 = r["sp0"], r["sp1"]
    size = abs(sp1 - sp0)
    sign = 1.0 if sp1 >= sp0 else -1.0
    peak = max(sign * (q - sp1) for q in r["flow"])
    overshoot = max(0.0, peak / size * 100.0)
    tol = band * size
    settle = None
    for i in range(len(r["flow"])):
        if all(abs(q - sp1) <= tol for q in r["flow"][i:]):
            settle = r["t"][i] if i else 0.0
            break
    # "settled" only if it got there well before the end of the record
    if settle is not None and settle > r["t"][-1] - SETTLE_S:
        settle = None
    return {"overshoot_pct": overshoot, "settling_s": settle}


def passes(m):
    return (m["settling_s"] is not None and m["settling_s"] <= SETTLE_S
            and m["overshoot_pct"] <= OVERSHOOT_PCT)


def propose(model, ku, pu, rule, sp_lpm):
    # (gains, metrics, how) for the first gains that pass the check, or (None, metrics, why)
    base = gains(ku, pu, rule)
    tried = []
    for fp, fi in DETUNE:
        g = _bound(base[0] * fp, base[1] * fi, base[2] * fp)
        if g[0] == 0:
            continue
        m = step_metrics(step_on(model, g, sp_lpm))
        tried.append((g, m))
        if passes(m):
            how = rule if (fp, fi) == (1.0, 1.0) else \
                "%s adjusted (kp x%.2f, ki x%.2f)" % (rule, fp, fi)
            return g, m, how
    # nothing passed: report the rule's own result
    return None, tried[0][1] if tried else None, "no gains on the adjustment grid passed"


def fmt_metrics(m):
    return "overshoot %.1f %%, settles (+-%d %%) in %s" % (
        m["overshoot_pct"], int(BAND * 100),
        "%.2f s" % m["settling_s"] if m["settling_s"] is not None else "never")


# ---------------------------------------------------------------- the relay, on a rig or in --sim
def relay_loop(link, relay, seconds, cycles=8):
    # link: rows() -> new telemetry rows (dicts); set_rpm(u). Shared by --port and --sim.
    out = relay.bias
    t_end = time.monotonic() + seconds
    t0 = None
    while time.monotonic() < t_end or link.virtual:
        for row in link.rows():
            state = row.get("state")
            if state != "run":
                raise SystemExit("the rig is not running (state %s): rig.set_rpm(BIAS); rig.run() "
                                 "first, then autotune again" % state)
            col = LOOP["col"]
            if not row.get(col):
                continue            # an invalid reading: no decision on it
            t = float(row["t_s"])
            t0 = t if t0 is None else t0
            u = relay.update(t, LOOP["sign"] * float(row[col]))
            if u != out:
                out = u
                link.set_rpm(u)
            if link.virtual and t - t0 >= seconds:
                return relay
        if relay.cycles() >= cycles:
            break
    return relay


class PortLink:
    virtual = False

    def __init__(self, port, bias):
        from tools import ports
        from tools.monitor import TelemetryReader
        self.ports = ports
        self.s = ports.open_port(port, 115200, timeout=0.05)
        self.rd = TelemetryReader()
        self.bias = bias
        self.s.write(b"\x03\r\nrig.mode('rpm')\r\nrig.set_rpm(%d)\r\nrig.telemetry(%d)\r\n"
                     % (bias, ROW_HZ))

    def rows(self):
        rows, _ = self.rd.feed(self.ports.read_some(self.s))
        return rows

    def set_rpm(self, u):
        self.s.write(b"rig.set_rpm(%d)\r\n" % u)

    def close(self):
        try:
            self.s.write(b"rig.set_rpm(%d)\r\nrig.telemetry(0)\r\n" % self.bias)
        finally:
            self.s.close()


class SimLink:
    # the simulated rig in this process (tools/sim/run.py): the same firmware and world as
    # `ecmo rig`, stepped as fast as it computes; a row every 1/ROW_HZ s of virtual time
    virtual = True

    def __init__(self, bias, profile="VA", seed=1):
        import hostshim
        hostshim.install()          # the fake machine from its real path, before run.py's
        import machine
        import run as simrun
        self.machine = machine
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):     # the firmware's boot banner
            self.sim = simrun.Sim({"name": "autotune", "duration_s": 1, "control": "rpm",
                                   "rpm": bias, "run": True, "profile": profile, "seed": seed},
                                  progress=False)
            self._every_us = 1000000 // ROW_HZ
            self._next = 0
            self.settle(3.0)

    def _step(self):
        s = self.sim
        s.world.step_ms()
        if s.rig.loop.n != s._n:
            s._n = s.rig.loop.n
            if not s._setup_done:
                s._setup_done = True
                s._operator_setup()

    def settle(self, seconds):
        end = self.machine.sim_now_us() + int(seconds * 1e6)
        while self.machine.sim_now_us() < end:
            self._step()
        self._next = self.machine.sim_now_us()

    def rows(self):
        while self.machine.sim_now_us() < self._next:
            self._step()
        self._next += self._every_us
        r = self.sim.rig
        return [dict(zip(r.telemetry_header().split(","), r.telemetry_row().split(",")))]

    def set_rpm(self, u):
        self.sim.rig.set_rpm(u)

    def close(self):
        pass


def sim_bias(sp_lpm, profile="VA"):
    # the speed that holds sp in steady state on the simulated plant (bisection on a copy); sp
    # in the loop's signed units (P1 loop: -P1)
    from plant import Plant
    lo, hi = 0.0, Plant(profile).params["rpm_max"]
    for _ in range(14):
        mid = (lo + hi) / 2
        p2 = Plant(profile)
        for _ in range(600):
            p2.step(0.01, p2.rpm_to_duty(mid), True, False)
        y = p2.flow_lpm if LOOP["col"] == "flow_lpm" else -p2.p1_mmhg
        if y < sp_lpm:
            lo = mid
        else:
            hi = mid
    return int((lo + hi) / 2)


def plot_step(r, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
    a1.plot(r["t"], r["sp"], "k--", label="setpoint")
    a1.plot(r["t"], r["flow"], label="flow (fitted plant)")
    tol = BAND * abs(r["sp1"] - r["sp0"])
    a1.axhspan(r["sp1"] - tol, r["sp1"] + tol, color="g", alpha=0.1, label="settling band")
    a1.axvline(SETTLE_S, color="g", ls=":", lw=0.8)
    a1.set_ylabel("L/min")
    a1.legend(fontsize=8)
    a1.set_title(title, fontsize=9)
    a2.plot(r["t"], r["rpm"])
    a2.set_ylabel("RPM")
    a2.set_xlabel("s after the step")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cmd_autotune(a):
    L = use_loop(a.loop)
    if a.setpoint is None:
        a.setpoint = 3.5 if a.loop == "flow" else -50.0
    if a.eps is None:
        a.eps = L["eps"]
    sp = L["sign"] * a.setpoint          # the relay's setpoint, in its signed units
    unit = L["unit"]
    if a.sim:
        bias = a.bias if a.bias is not None else sim_bias(sp, L["profile"])
        print("relay on the simulated rig (%s): sp %.2f %s, bias %d RPM +-%d, %.0f s"
              % (L["profile"], a.setpoint, unit, bias, a.d, a.seconds))
        link = SimLink(bias, L["profile"])
    else:
        if a.bias is None:
            raise SystemExit("--port needs --bias RPM (the speed that gives about the setpoint in "
                             "RPM mode: read it from rig.status())")
        bias = a.bias
        print("relay on %s: sp %.2f %s, bias %d RPM +-%d, up to %.0f s"
              % (a.port, a.setpoint, unit, bias, a.d, a.seconds))
        link = PortLink(a.port, bias)
    relay = Relay(sp, bias, a.d, a.eps)
    try:
        relay_loop(link, relay, a.seconds)
    finally:
        link.close()
    try:
        res = relay.result()
        model = fit(relay, res)
    except RuntimeError as e:
        raise SystemExit("autotune: %s: try a larger -d, a --bias nearer the setpoint, or more "
                         "--seconds" % e)
    print("oscillation: a = %.3f %s, Pu = %.2f s over %d cycles, bias %d RPM"
          % (res["a_lpm"], unit, res["pu_s"], res["cycles"], bias))
    print("Ku = 4d/(pi a) = %.1f RPM per %s" % (res["ku"], unit))
    print("fitted plant: %s" % model.describe())
    print("check: a %+.1f %s setpoint step must settle within +-%d %% in %.0f s with at most "
          "%.0f %% overshoot (firmware PID on the fitted plant)"
          % (L["step"], unit, int(BAND * 100), SETTLE_S, OVERSHOOT_PCT))
    for rule in RULES:
        g = gains(res["ku"], res["pu_s"], rule)
        m = step_metrics(step_on(model, g, sp))
        print("  %-7s kp=%-5d ki=%-5d kd=%-4d  %s  %s" % (rule, g[0], g[1], g[2], fmt_metrics(m),
                                                         "ok" if passes(m) else "FAILS"))
    g, m, how = propose(model, res["ku"], res["pu_s"], a.rule, sp)
    if g is None:
        print("no proposal: %s; the %s gains give %s. Try a larger -d (a clearer oscillation), "
              "check the flow reading is steady in RPM mode, or tune by hand starting low"
              % (how, a.rule, fmt_metrics(m) if m else "nothing"))
        if a.json:
            print(json.dumps({"ku": res["ku"], "pu_s": res["pu_s"], "gains": None,
                              "rule": a.rule, "model": vars(model)}))
        return 1
    print("proposed (%s): %s(%d, %d, %d)   # %s" % (how, L["cmd"], g[0], g[1], g[2],
                                                   fmt_metrics(m)))
    if a.output:
        plot_step(step_on(model, g, sp), a.output,
                  "%s: %s%s, fitted plant %s" % (how, L["cmd"], g, model.describe()))
        print("step response -> %s" % a.output)
    if a.json:
        print(json.dumps({"ku": res["ku"], "pu_s": res["pu_s"], "gains": g, "rule": a.rule,
                          "how": how, "settling_s": m["settling_s"],
                          "overshoot_pct": m["overshoot_pct"], "model": vars(model)}))
    return 0


def add_parser(sub):
    p = sub.add_parser("autotune", help="relay tuning of the flow loop; proposes only gains that "
                                        "settle on the identified plant")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", help="relay on the rig (running, RPM mode) over this port")
    g.add_argument("--sim", action="store_true", help="relay on the simulated rig, in process")
    p.add_argument("--loop", choices=sorted(LOOPS), default="flow",
                   help="flow (the flow PID, rig.gains) or p1 (the pressure servo, "
                        "rig.servo_gains; --sim runs it on the VV rig)")
    p.add_argument("--setpoint", type=float, default=None,
                   help="flow to oscillate around, L/min (default 3.5); --loop p1: P1, mmHg "
                        "(default -50)")
    p.add_argument("--bias", type=int, help="RPM that gives about the setpoint (--port: needed; "
                                            "--sim: found on the simulated plant)")
    p.add_argument("-d", type=int, default=300, help="relay amplitude, RPM (default 300)")
    p.add_argument("--eps", type=float, default=None,
                   help="relay hysteresis, L/min (default 0.05); --loop p1: mmHg (default 1)")
    p.add_argument("--seconds", type=float, default=30.0, help="longest relay experiment")
    p.add_argument("--rule", choices=RULES, default="tl-pi",
                   help="tuning rule to start from (default Tyreus-Luyben PI)")
    p.add_argument("-o", "--output", help="PNG of the proposed gains' step response")
    p.add_argument("--json", action="store_true", help="also print the result as JSON")
    p.set_defaults(fn=cmd_autotune)
