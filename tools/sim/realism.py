# The simulated rig held against published figures: one row per figure (quantity, operating
# point, value, tolerance, what kind of figure it is, its source), each checked against the
# plant or the oxygenator model at that operating point. `make realism` prints the table
# (published vs simulated); host_tests/test_realism.py asserts every row. docs/simulation.md
# explains the models. Host side (CPython).
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import plant  # noqa: E402
import gas_model  # noqa: E402

MEASURED = "measurement"
NORM = "clinical norm"
BOUND = "bound"
COMPUTED = "computed"
ESTIMATE = "estimate"


def _settled(profile="VA", rpm=3000, seconds=8.0, params=None):
    pl = plant.Plant(profile, params)
    duty = pl.rpm_to_duty(rpm)
    for _ in range(int(seconds / 0.002)):
        pl.step(0.002, duty, True, False)
    return pl


def _solve(f, target, lo, hi):
    # f increasing on [lo, hi]: the x with f(x) = target (bisection)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _oxygenator(qb, fio2, sweep, seconds=30.0, membrane=1.0):
    m = gas_model.GasModel(fio2=fio2)
    m.membrane = membrane
    for _ in range(int(seconds / 0.01)):
        m.oxygen_step(0.01, qb, sweep)
    m._qb = qb
    return m


def _within(x, want, rel):
    return abs(x - want) <= rel * abs(want)


# ---- the checks: each returns (simulated value as text, passes) ----
def _head(rpm, q, want):
    def check():
        h = plant.Plant("VA").pump_head_mmhg(rpm, q)
        return "%.0f mmHg (%+.0f %%)" % (h, 100.0 * (h / want - 1.0)), _within(h, want, 0.20)
    return check


def _drain_at_300():
    pl = plant.Plant("VA")
    q = _solve(lambda x: pl.line_drop_mmhg("venous", x), 300.0, 0.0, 20.0)
    return "%.1f L/min" % q, 7.5 <= q <= 7.5 * 1.5


def _return_at_200():
    pl = plant.Plant("VA")
    q = _solve(lambda x: pl.line_drop_mmhg("arterial", x), 200.0, 0.0, 20.0)
    return "%.1f L/min (%+.0f %%)" % (q, 100.0 * (q / 6.0 - 1.0)), _within(q, 6.0, 0.15)


def _oxy_dp(q):
    def check():
        pl = plant.Plant("VA")
        dp = pl._oxy_r * q
        bound = 23.9 * q - 28.4
        return "%.0f mmHg (< %.0f)" % (dp, bound), 0.0 < dp < bound
    return check


def _rated_flow():
    m = _oxygenator(7.0, 1.0, 7.0)
    return "%.1f %%" % m.sat_post_pct, m.sat_post_pct >= 95.0


def _air_sat():
    m = _oxygenator(4.0, 0.21, 4.0)
    p = m.po2_post_mmhg
    ok = m.sat_post_pct >= 95.0 and p <= 0.21 * gas_model.DRY_GAS_MMHG
    return "%.1f %% (PO2 %.0f mmHg)" % (m.sat_post_pct, p), ok


def _o2_po2():
    m = _oxygenator(4.0, 1.0, 4.0)
    p = m.po2_post_mmhg
    return "%.0f mmHg (%.1f %%)" % (p, m.sat_post_pct), 150.0 < p < gas_model.DRY_GAS_MMHG


def _co2_vs_sweep():
    out = []
    for sweep in (1.0, 2.0, 4.0, 8.0):
        m = _oxygenator(4.0, 1.0, sweep, seconds=2.0)
        out.append((sweep, m.vco2_mlpm))
    rising = all(b[1] > a[1] for a, b in zip(out, out[1:]))
    gains = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(out, out[1:])]
    flattening = all(g2 < g1 for g1, g2 in zip(gains, gains[1:]))
    bounded = all(v <= s * 1000.0 * 45.0 / gas_model.DRY_GAS_MMHG for s, v in out)
    text = ", ".join("%g: %.0f" % (s, v) for s, v in out) + " mL/min"
    return text, rising and flattening and bounded


def _air_transit():
    pl = _settled("VA", 3150)
    pl.bubble(50)
    t = 0.0
    duty = pl.rpm_to_duty(3150)
    while t < 20.0 and not pl.air_at_detector:
        pl.step(0.001, duty, True, False)
        t += 0.001
    want = pl.detector_ml / (pl.flow_lpm * plant.MLPS_PER_LPM)
    return ("%.2f s at %.2f L/min (V/Q %.2f s, %.0f mL)" % (t, pl.flow_lpm, want, pl.detector_ml),
            abs(t - want) <= 0.02 * want)


def _suction():
    pl = _settled("VA", 3500)
    pl.volume_loss(800)
    for _ in range(1500):
        pl.step(0.002, pl.rpm_to_duty(3500), True, False)
    p1, q1 = pl.p1_mmhg, pl.flow_lpm
    for _ in range(1500):
        pl.step(0.002, pl.rpm_to_duty(4500), True, False)
    p2, q2 = pl.p1_mmhg, pl.flow_lpm
    ok = p1 < -150.0 and p2 < p1 - 50.0 and q2 < q1 * 1.10
    return "P1 %.0f -> %.0f mmHg, flow %.2f -> %.2f L/min" % (p1, p2, q1, q2), ok


def _cooling():
    m = gas_model.GasModel()
    m.set_heater(None)
    t = 0
    rate = None
    while m.temp_c > 35.0 and t < 24 * 3600:
        m.heat_step(10.0, 4.0, 3.0)
        t += 10
        if t == 3600:
            rate = 37.0 - m.temp_c
    hours = t / 3600.0
    return "%.2f degC in the first hour, 35.0 degC after %.1f h" % (rate, hours), \
        0.2 <= rate <= 1.5 and 1.0 <= hours <= 12.0


def _stagnant():
    m = _oxygenator(4.0, 1.0, 3.0, seconds=20.0)
    s0 = m.sat_post_pct
    for _ in range(6000):           # 60 s, pump stopped, sweep cut
        m.oxygen_step(0.01, 0.0, 0.0)
    d = m.sat_post_pct - s0
    return "%+.2f %% in 60 s (%.1f %%)" % (d, m.sat_post_pct), abs(d) < 0.5


def _fluid_ratio():
    b = plant.Plant("VA")
    w = plant.Plant("VA", {"fluid": "water"})
    r = b._oxy_r / w._oxy_r
    return "x%.1f" % r, 3.0 <= r <= 4.0


# (id, quantity, operating point, published value, tolerance, kind, source, check)
ROWS = [
    ("pump-3000", "pump head", "RotaFlow 3000 rpm, 4.2 L/min", "250 mmHg", "+-20 %", MEASURED,
     "Blood trauma testing of CentriMag and RotaFlow centrifugal flow devices: a pilot study "
     "(perfusion.com/?p=37384; bovine blood, Hct 25 %, 25 degC)", _head(3000, 4.2, 250.0)),
    ("pump-3425", "pump head", "CentriMag 3425 rpm, 4.2 L/min", "250 mmHg", "+-20 %", MEASURED,
     "same pilot study", _head(3425, 4.2, 250.0)),
    ("pump-4000", "pump head", "CentriMag 4000 rpm, 5.0 L/min", "352 mmHg", "+-20 %", MEASURED,
     "Zhang et al., Artif Organs 2006;30(3):168 (PubMed 16480391)", _head(4000, 5.0, 352.0)),
    ("drain-24fr", "drainage cannula + line", "24 Fr, 300 mmHg suction", "> 7.5 L/min",
     "7.5..11 L/min", MEASURED,
     "J Extra Corpor Technol 1989;21(Suppl):67, 40 % Hct bovine blood, Bio-Pump BP-80",
     _drain_at_300),
    ("return-17fr", "return cannula + line", "17 Fr, 200 mmHg drop", "6.0 L/min", "+-15 %",
     MEASURED, "J Extra Corpor Technol 1989;21(Suppl):67", _return_at_200),
    ("oxy-dp-4", "oxygenator pressure drop", "4 L/min", "< 67 mmHg", "bound", BOUND,
     "hollow-fibre CPB units, dP = 23.9 Q - 28.4 (Capiox SX25; Fried et al., Perfusion "
     "1998;13(2):119); PMP ECMO membranes are lower, no published PMP line found", _oxy_dp(4.0)),
    ("oxy-dp-6", "oxygenator pressure drop", "6 L/min", "< 115 mmHg", "bound", BOUND,
     "same", _oxy_dp(6.0)),
    ("o2-rated", "post-oxygenator saturation", "7 L/min test blood, FiO2 1.0, V/Q 1",
     ">= 95 %", "bound", NORM,
     "rated flow = flow of standard venous blood (Hb 12, SvO2 65 %) leaving at 95 % "
     "(definition, e.g. PMC5578883); adult PMP lungs rated to 7 L/min (Maquet HLS 7.0)",
     _rated_flow),
    ("o2-air", "post-oxygenator saturation", "4 L/min, air (FiO2 0.21) at 4 L/min",
     ">= 95 %, PO2 <= 150 mmHg", "bound", COMPUTED,
     "gas PO2 0.21 x 713 mmHg caps the blood; Severinghaus, J Appl Physiol 1979;46(3):599; "
     "SAT_LOW at 95 % (firmware limit)", _air_sat),
    ("o2-fio2-1", "post-oxygenator PO2", "4 L/min, FiO2 1.0 at 4 L/min", "> 150 mmHg",
     "150..713", NORM,
     "ELSO: post-oxygenator PO2 about 150 mmHg in VA is reached by blending FiO2 down "
     "(PMC9316319), so pure O2 must exceed it", _o2_po2),
    ("co2-sweep", "CO2 removal vs sweep", "4 L/min, PCO2 45, sweep 1/2/4/8 L/min",
     "rises, flattens, <= sweep x 45/713", "shape + bound", MEASURED,
     "mock-circuit CO2 removal against sweep (Membranes 2021;11(6):398); exhaust PCO2 cannot "
     "exceed the blood's", _co2_vs_sweep),
    ("air-transit", "air transit cannula tip -> detector", "~4 L/min", "V/Q", "+-2 %", COMPUTED,
     "3/8 in tubing 71.3 mL/m (from its bore) + cannula 20 mL + pump 30 mL + oxygenator "
     "250 mL (chosen)", _air_transit),
    ("suction", "suction onset", "800 mL lost at 3500 rpm, then 4500 rpm",
     "P1 < -150 mmHg, flow plateaus", "qualitative", NORM,
     "Terumo Capiox FX25 IFU: not below -150 mmHg; Kurusz et al., Perfusion 1999;14:379: "
     "flow plateaus at stronger suction", _suction),
    ("cooling", "blood temperature, heater off", "adult, 4 L/min, room 22 degC",
     "hours to 35 degC", "0.2..1.5 degC/h", ESTIMATE,
     "heat balance: 70 kg x 3.47 kJ/(kg K) (Burton, J Nutr 1935), circuit loss estimated; "
     "mild hypothermia within 24 h in 69 % of VA-ECMO patients (J Card Surg 2022;37(4):825)",
     _cooling),
    ("stagnant", "saturation of stagnant blood", "pump stopped 60 s, sweep cut",
     "no change", "< 0.5 %", MEASURED,
     "blood-gas samples: SaO2 unchanged after 30 min at 22 degC (Knowles et al., Respir Care "
     "2006;51(7):732); sO2 stable 15 min at 25 degC (Arbiol-Roca et al., Ann Lab Med 2020)",
     _stagnant),
    ("fluid-water", "oxygenator dP, blood / water", "same flow", "3..4x", "3..4x", COMPUTED,
     "viscosity blood 3.5 mPa*s vs water 1.0 mPa*s (20 degC); laminar flow in the fibre bundle",
     _fluid_ratio),
]


def results():
    out = []
    for row in ROWS:
        sim, ok = row[7]()
        out.append(row[:7] + (sim, ok))
    return out


def main():
    rows = results()
    print("%-12s %-34s %-38s %-24s %-40s %-4s %s" % ("id", "quantity", "operating point",
                                                     "published", "simulated", "ok", "kind"))
    bad = 0
    for rid, qty, point, pub, tol, kind, src, sim, ok in rows:
        print("%-12s %-34s %-38s %-24s %-40s %-4s %s" % (rid, qty, point, pub, sim,
                                                         "yes" if ok else "NO", kind))
        print("%12s   tolerance %s; %s" % ("", tol, src))
        bad += 0 if ok else 1
    print("%d of %d rows within tolerance" % (len(rows) - bad, len(rows)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
