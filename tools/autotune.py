# Relay-feedback identification of the flow loop (Astrom & Hagglund 1984) and PID gains from it.
# The relay drives the pump speed to bias +- d around a flow setpoint; the flow then oscillates
# with amplitude a and period Pu, and the ultimate gain is Ku = 4 d / (pi a) (describing function).
# Units are the firmware's gain units directly: d in RPM, a in L/min -> Ku in RPM per (L/min).
# Rules (Ti, Td in s; ki = kp / Ti in RPM/(L/min*s); kd = kp * Td in RPM/(L/min/s)):
#   Tyreus-Luyben PI (default, conservative): kp = Ku/3.2, Ti = 2.2 Pu
#   Ziegler-Nichols PI:                        kp = 0.45 Ku, Ti = Pu/1.2
#   Ziegler-Nichols PID:                       kp = 0.6 Ku, Ti = Pu/2, Td = Pu/8
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in ("tools/sim/hw", "tools/sim", "firmware"):
    _p = os.path.join(ROOT, _p)
    if _p not in sys.path:
        sys.path.append(_p)

KP_MAX, KI_MAX, KD_MAX = 5000, 2000, 500     # firmware/ecmo/control/pid.py hard bounds
RULES = ("tl-pi", "zn-pi", "zn-pid")


class Relay:
    # the relay with hysteresis: output bias + d while flow < sp - eps, bias - d while > sp + eps
    def __init__(self, sp_lpm, bias_rpm, d_rpm, eps_lpm=0.05):
        self.sp, self.bias, self.d, self.eps = sp_lpm, bias_rpm, d_rpm, eps_lpm
        self.high = True
        self.t = []
        self.q = []
        self.switch_t = []

    def update(self, t_s, flow_lpm):
        self.t.append(t_s)
        self.q.append(flow_lpm)
        if self.high and flow_lpm > self.sp + self.eps:
            self.high = False
            self.switch_t.append(t_s)
        elif not self.high and flow_lpm < self.sp - self.eps:
            self.high = True
            self.switch_t.append(t_s)
        return self.bias + (self.d if self.high else -self.d)

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
    kp_i = min(KP_MAX, int(round(kp)))
    ki_i = min(KI_MAX, int(round(kp / ti)))
    kd_i = min(KD_MAX, int(round(kp * td)))
    return kp_i, ki_i, kd_i


def sim_relay(sp_lpm=3.5, d_rpm=300, eps_lpm=0.05, seconds=30.0, profile="VA", dt=0.01):
    # relay experiment on the simulated plant (tools/sim/plant.py), pump speed commanded directly
    from plant import Plant
    pl = Plant(profile)
    bias = _bias_for(pl, sp_lpm, dt)
    relay = Relay(sp_lpm, bias, d_rpm, eps_lpm)
    t = 0.0
    while t < seconds:
        rpm = relay.update(t, pl.flow_lpm)
        pl.step(dt, pl.rpm_to_duty(rpm), True, False)
        t += dt
    return relay


def _bias_for(pl, sp_lpm, dt):
    # the speed that holds sp in steady state, found on a copy of the plant by bisection
    from plant import Plant
    lo, hi = 0.0, pl.params["rpm_max"]
    for _ in range(14):
        mid = (lo + hi) / 2
        p2 = Plant(pl.profile)
        for _ in range(int(6.0 / dt)):
            p2.step(dt, p2.rpm_to_duty(mid), True, False)
        if p2.flow_lpm < sp_lpm:
            lo = mid
        else:
            hi = mid
    return int((lo + hi) / 2)


def sim_step(kp, ki, kd, sp0=2.0, sp1=4.0, seconds=10.0, profile="VA", dt_ms=10):
    # step response of the firmware's integer PID on the simulated plant: sp0 -> sp1 at t = 2 s
    from plant import Plant
    import hostshim
    hostshim.install()
    from ecmo.control.pid import PID
    pl = Plant(profile)
    pid = PID(kp, ki, kd, 0, int(pl.params["rpm_max"]))
    pid.reset(_bias_for(pl, sp0, dt_ms / 1000.0), int(sp0 * 1000))
    for _ in range(int(4.0 / (dt_ms / 1000.0))):        # settle at sp0 first
        u = pid.update(int(sp0 * 1000), int(pl.flow_lpm * 1000), dt_ms)
        pl.step(dt_ms / 1000.0, pl.rpm_to_duty(u), True, False)
    ts, qs, us, sps = [], [], [], []
    n = int(seconds / (dt_ms / 1000.0))
    for i in range(n):
        t = i * dt_ms / 1000.0
        sp = sp0 if t < 2.0 else sp1
        u = pid.update(int(sp * 1000), int(pl.flow_lpm * 1000), dt_ms)
        pl.step(dt_ms / 1000.0, pl.rpm_to_duty(u), True, False)
        ts.append(t)
        qs.append(pl.flow_lpm)
        us.append(u)
        sps.append(sp)
    return {"t": ts, "flow": qs, "rpm": us, "sp": sps}


def step_metrics(r, sp0=2.0, sp1=4.0, t_step=2.0, band=0.05):
    after = [(t, q) for t, q in zip(r["t"], r["flow"]) if t >= t_step]
    peak = max(q for _, q in after)
    overshoot = max(0.0, (peak - sp1) / (sp1 - sp0) * 100.0)
    tol = band * abs(sp1 - sp0)
    settle = None
    for i, (t, q) in enumerate(after):
        if all(abs(q2 - sp1) <= tol for _, q2 in after[i:]):
            settle = t - t_step
            break
    return {"overshoot_pct": overshoot, "settling_s": settle, "final_lpm": after[-1][1]}


def plot_step(r, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(2, 1, sharex=True, figsize=(8, 5))
    a1.plot(r["t"], r["sp"], "k--", label="setpoint")
    a1.plot(r["t"], r["flow"], label="flow")
    a1.set_ylabel("L/min")
    a1.legend()
    a1.set_title(title)
    a2.plot(r["t"], r["rpm"])
    a2.set_ylabel("RPM")
    a2.set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
