# The one table of operator settings. The REPL setters, the settings file check (settings.py),
# the profile limits (safety/profiles.py), rig.help() and docs/settings.md all come from it
# (host_tests/test_settings_doc.py keeps the docs in step). Sources and reasons for the
# clinical values: docs/hazards.md; they are bench placeholders to set per circuit and patient.
#
# One row: name: (VA default, VV default, lowest, highest, safer, unit the operator types,
#                 scale, group); ORDER lists the names in the order help and docs show them
#   scale   firmware units per unit typed: flow is typed in L/min and held in mL/min (1000);
#           1: held as typed; 0: not a number (lowest holds the choices)
#   highest None: the board's RPM_MAX
#   safer   +1 higher is safer, -1 lower is safer, 0 neither. A limit set past its profile's
#           default on the unsafe side needs confirm=True (and so does a profile switch that
#           would do the same while the pump runs).
# Groups: "pump", "gains" (stored as one list "gains"), "servo gains" (one list
# "servo_gains"), "gas", "link", "limits" (pump
# interlocks), "gas limits" (oxygenator interlocks). Limits are integers in firmware units.
TABLE = {
    "profile": ("VA", "VV", ("VA", "VV"), None, 0, "", 0, "pump"),
    # rpm, flow, the P1 servo, and zero net flow (VA weaning only; issue 17)
    "control": ("rpm", "rpm", ("rpm", "flow", "pressure", "zero"), None, 0, "", 0, "pump"),
    # adult circuits stay below 7 L/min
    "flow_lpm": (3.0, 3.0, 0, 8.0, 0, "L/min", 1000, "pump"),
    "rpm": (2000, 2000, 0, None, 0, "RPM", 1, "pump"),
    # pressure-servo target for the drainage pressure P1, held in 0.1 mmHg; rig.set_p1() also
    # keeps it 10 mmHg above the profile's suction warning limit
    "p1_target_mmhg": (-50.0, -50.0, -290.0, 50.0, 0, "mmHg", 10, "pump"),
    # kp RPM/(L/min), ki RPM/(L/min*s), kd RPM/(L/min/s); the highest are control/pid.py's
    # overflow bounds. Tuned on the simulated rig (examples/step.json): 2 -> 4 L/min within
    # 5 % 2.3 s after the step (2 s of it is the setpoint ramp), overshoot < 2 %. The plant is
    # near-static (motor lag 0.3 s), so the integral does the work.
    "kp": (300, 300, 0, 5000, 0, "RPM/(L/min)", 1, "gains"),
    "ki": (1500, 1500, 0, 2000, 0, "RPM/(L/min*s)", 1, "gains"),
    "kd": (0, 0, 0, 500, 0, "RPM/(L/min/s)", 1, "gains"),
    # pressure-servo gains (stored as one list "servo_gains"): RPM per mmHg of P1 error, per
    # (mmHg*s), per (mmHg/s); the highest keep control/pid.py's products below 2**30 (x100
    # inside). Tuned on the simulated VV rig (tools/bench/quality.py --servo): a 20 mmHg step
    # of the target settles within 5 % in 3.0 s (10/20: 5.0 s; 20/50: 2.4 s, at the ki bound)
    "servo_kp": (20, 20, 0, 50, 0, "RPM/mmHg", 1, "servo gains"),
    "servo_ki": (40, 40, 0, 50, 0, "RPM/(mmHg*s)", 1, "servo gains"),
    "servo_kd": (0, 0, 0, 5, 0, "RPM/(mmHg/s)", 1, "servo gains"),
    # sweep gas: adult 0..10 L/min (docs/facts.md §7); FiO2 from room air (a blender cannot go lower) to pure O2,
    # 1.0 at ECMO start (ELSO), held in 0.1 %
    "sweep_lpm": (0.0, 0.0, 0, 10.0, 0, "L/min", 1000, "gas"),
    "fio2": (1.0, 1.0, 0.21, 1.0, 0, "fraction", 1000, "gas"),
    # 20 rows/s of ~100 bytes fits 115200 baud with room for the REPL
    "telemetry_hz": (0, 0, 0, 20, 0, "rows/s", 1, "link"),
    # ---- pump interlocks (safety/supervisor.py) ----
    # drainage suction: warning and critical (Terumo warns below -150 mmHg, docs/facts.md §5)
    "p1_warn_dmmhg": (-1000, -1000, -3000, -300, 1, "0.1 mmHg", 1, "limits"),
    "p1_crit_dmmhg": (-1500, -1500, -3000, -400, 1, "0.1 mmHg", 1, "limits"),
    # post-oxygenator over-pressure (kink, occlusion)
    "p3_warn_dmmhg": (3000, 3000, 1000, 5000, -1, "0.1 mmHg", 1, "limits"),
    "p3_crit_dmmhg": (4000, 4000, 1500, 5000, -1, "0.1 mmHg", 1, "limits"),
    # pre-oxygenator pressure (a clot: P3 falls behind it; connectors and the membrane housing
    # are at risk): warning 400 mmHg (P3's critical: P2 is above P3), critical 450 mmHg
    "p2_warn_dmmhg": (4000, 4000, 1500, 6000, -1, "0.1 mmHg", 1, "limits"),
    "p2_crit_dmmhg": (4500, 4500, 2000, 7000, -1, "0.1 mmHg", 1, "limits"),
    # oxygenator delta-P: absolute limit, and rise of membrane resistance within one minute
    "dp_max_dmmhg": (600, 600, 100, 3000, -1, "0.1 mmHg", 1, "limits"),
    "dp_rise_pct": (50, 50, 10, 300, -1, "%", 1, "limits"),
    # low and retrograde flow
    "flow_low_mlpm": (1500, 1000, 0, 6000, 1, "mL/min", 1, "limits"),
    "flow_retro_mlpm": (-100, -100, -2000, 0, 1, "mL/min", 1, "limits"),
    # VA: never command less than this while the return line is open (retrograde flow)
    "rpm_min": (1500, 0, 0, 3500, 1, "RPM", 1, "limits"),
    # how fast speed is backed off / given back on suction or over-pressure. Back-off 4000
    # RPM/s: on the simulated rig 800 mL lost at once at 4.5 L/min keeps P1 below -150 mmHg
    # for 0.32 s (0.48 s at 2000, too close to 0.5 s with a 0.3 s motor lag)
    "backoff_rpm_s": (4000, 4000, 200, 10000, 1, "RPM/s", 1, "limits"),
    "release_rpm_s": (300, 300, 50, 5000, -1, "RPM/s", 1, "limits"),
    # how long a condition must hold before it raises its alarm (ms; 20 ms = 2 ticks at 100 Hz)
    "debounce_ms": (20, 20, 10, 500, -1, "ms", 1, "limits"),
    "low_flow_ms": (2000, 2000, 10, 60000, -1, "ms", 1, "limits"),
    # venous reservoir (a board with a LEVEL sensor, H31): below low the speed comes down
    # slowly, below critical it backs off (HIGH); an adult hard-shell reservoir holds ~3 L
    "level_low_ml": (500, 500, 100, 3000, 1, "mL", 1, "limits"),
    "level_crit_ml": (200, 200, 50, 2000, 1, "mL", 1, "limits"),
    # ---- oxygenator interlocks (safety/gas.py) ----
    # blood flow below which sweep is cut to its purge (gas crosses into stagnant blood)
    "sweep_blood_min_mlpm": (500, 500, 200, 2000, 1, "mL/min", 1, "gas limits"),
    # sweep lost: below this share of its setpoint for this long (VV: the patient's oxygenation)
    "sweep_lost_pct": (50, 50, 10, 90, 1, "%", 1, "gas limits"),
    "sweep_lost_ms": (3000, 2000, 500, 30000, -1, "ms", 1, "gas limits"),
    # sweep high: above this share of its setpoint (+0.3 L/min): valve stuck open, hypocapnia
    "sweep_high_pct": (150, 150, 110, 300, -1, "%", 1, "gas limits"),
    # FiO2 further than this from its target, sustained past the O2 cell's lag
    "fio2_tol_dpct": (50, 50, 20, 200, -1, "0.1 %", 1, "gas limits"),
    # blood temperature; 30 degC floor allows therapeutic hypothermia after arrest
    "temp_low_cdegc": (3500, 3500, 3000, 3700, 1, "0.01 degC", 1, "gas limits"),
    "temp_high_cdegc": (3850, 3850, 3700, 4000, -1, "0.01 degC", 1, "gas limits"),
    # post-oxygenator saturation low: the membrane is failing or the sweep is wrong
    "sat_post_low_dpct": (950, 950, 700, 1000, 1, "0.1 %", 1, "gas limits"),
}

ORDER = (
    "profile",
    "control",
    "flow_lpm",
    "rpm",
    "p1_target_mmhg",
    "kp",
    "ki",
    "kd",
    "servo_kp",
    "servo_ki",
    "servo_kd",
    "sweep_lpm",
    "fio2",
    "telemetry_hz",
    "p1_warn_dmmhg",
    "p1_crit_dmmhg",
    "p3_warn_dmmhg",
    "p3_crit_dmmhg",
    "p2_warn_dmmhg",
    "p2_crit_dmmhg",
    "dp_max_dmmhg",
    "dp_rise_pct",
    "flow_low_mlpm",
    "flow_retro_mlpm",
    "rpm_min",
    "backoff_rpm_s",
    "release_rpm_s",
    "debounce_ms",
    "low_flow_ms",
    "level_low_ml",
    "level_crit_ml",
    "sweep_blood_min_mlpm",
    "sweep_lost_pct",
    "sweep_lost_ms",
    "sweep_high_pct",
    "fio2_tol_dpct",
    "temp_low_cdegc",
    "temp_high_cdegc",
    "sat_post_low_dpct",
)

# columns
VA = 0
VV = 1
LO = 2
HI = 3
SAFER = 4
UNIT = 5
SCALE = 6
GROUP = 7

ROWS = TABLE


def names(*groups):
    return tuple(n for n in ORDER if TABLE[n][GROUP] in groups)


def default(name, profile="VA"):
    r = ROWS[name]
    return r[VV] if profile == "VV" else r[VA]


def _bounds(r, rpm_max):
    hi = r[HI] if r[HI] is not None else rpm_max
    return r[LO], hi


def check(name, v, rpm_max=5000, whole=False):
    # a value as typed, inside its row's bounds; returns what to store (float or int, or the
    # choice). whole=True also wants a whole number. Changes nothing, raises ValueError.
    r = ROWS.get(name)
    if r is None:
        raise ValueError("unknown setting %r" % (name,))
    if r[SCALE] == 0:
        if not isinstance(v, str) or v not in r[LO]:
            raise ValueError("%s must be one of %s, got %r" % (name, ", ".join(r[LO]), v))
        return v
    lo, hi = _bounds(r, rpm_max)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < lo or v > hi \
            or (whole and v != int(v)):
        raise ValueError("%s must be %s in [%s, %s] %s, got %r"
                         % (name, "a whole number" if whole else "a number", lo, hi, r[UNIT], v))
    if isinstance(r[VA], float):
        return float(v)
    return int(v)


def to_units(name, v):
    # a stored value in firmware units, rounded: a float32 board holds 4.1 as 4.0999999
    s = ROWS[name][SCALE]
    if s == 1:
        return int(v)
    return int(v * s + 0.5) if v >= 0 else -int(-v * s + 0.5)


def looser(name, v, ref):
    # how much v loosens the limit compared with ref (0: not looser)
    d = ROWS[name][SAFER]
    if d == 1 and v < ref:
        return ref - v
    if d == -1 and v > ref:
        return v - ref
    return 0
