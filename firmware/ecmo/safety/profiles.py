# VA and VV default limits, and the hard bounds no setting may leave.
# Integers in firmware units (0.1 mmHg, mL/min, RPM, ticks). Clinical defaults are bench
# placeholders to set per circuit and patient; sources and reasons are in docs/hazards.md.
#
# name: (VA default, VV default, hard min, hard max, "safer" direction: -1 lower is safer,
#        +1 higher is safer, 0 neither) -- loosening past the default needs confirmation.
LIMITS = {
    # drainage suction: Terumo warns below -150 mmHg (docs/facts.md §5)
    "p1_warn_dmmhg": (-1000, -1000, -3000, -300, 1),
    "p1_crit_dmmhg": (-1500, -1500, -3000, -400, 1),
    # post-oxygenator over-pressure (kink, occlusion)
    "p3_warn_dmmhg": (3000, 3000, 1000, 5000, -1),
    "p3_crit_dmmhg": (4000, 4000, 1500, 5000, -1),
    # oxygenator delta-P: absolute limit and rise of membrane resistance over one minute
    "dp_max_dmmhg": (600, 600, 100, 3000, -1),
    "dp_rise_pct": (50, 50, 10, 300, -1),
    # low and retrograde flow
    "flow_low_mlpm": (1500, 1000, 0, 6000, 1),
    "flow_retro_mlpm": (-100, -100, -2000, 0, 1),
    # VA: never command less than this while the return line is open (retrograde flow)
    "rpm_min": (1500, 0, 0, 3500, 1),
    # how fast the supervisor backs off / gives back speed on suction or over-pressure.
    # Back-off 4000 RPM/s: on the simulated rig 800 mL lost at once at 4.5 L/min keeps P1 below
    # -150 mmHg for 0.32 s (0.48 s at 2000, too close to issue 4's 0.5 s with a 0.3 s motor lag)
    "backoff_rpm_s": (4000, 4000, 200, 10000, 1),
    "release_rpm_s": (300, 300, 50, 5000, -1),
    # debounce: consecutive ticks a condition must hold before it raises its alarm
    "debounce_ticks": (2, 2, 1, 50, -1),
    "low_flow_ticks": (200, 200, 1, 6000, -1),
    # ---- oxygenator (safety/gas.py) ----
    # blood flow below which sweep is cut to its purge (gas crosses into stagnant blood)
    "sweep_blood_min_mlpm": (500, 500, 200, 2000, 1),
    # sweep lost: below this share of its setpoint for this long (VV: the patient's oxygenation)
    "sweep_lost_pct": (50, 50, 10, 90, 1),
    "sweep_lost_ms": (3000, 2000, 500, 30000, -1),
    # sweep high: above this share of its setpoint (+0.3 L/min): valve stuck open, hypocapnia
    "sweep_high_pct": (150, 150, 110, 300, -1),
    # FiO2 further than this from its target (0.1 %), sustained past the O2 cell's lag
    "fio2_tol_dpct": (50, 50, 20, 200, -1),
    # blood temperature (0.01 degC); 30 degC floor allows therapeutic hypothermia after arrest
    "temp_low_cdegc": (3500, 3500, 3000, 3700, 1),
    "temp_high_cdegc": (3850, 3850, 3700, 4000, -1),
    # post-oxygenator saturation low (0.1 %): the membrane is failing or the sweep is wrong
    "sat_post_low_dpct": (950, 950, 700, 1000, 1),
}

# the oxygenator's share of the table (safety/gas.py)
GAS_LIMITS = ("sweep_blood_min_mlpm", "sweep_lost_pct", "sweep_lost_ms", "sweep_high_pct",
              "fio2_tol_dpct", "temp_low_cdegc", "temp_high_cdegc", "sat_post_low_dpct")

PROFILES = ("VA", "VV")


def defaults(profile):
    col = 0 if profile == "VA" else 1
    d = {}
    for k in LIMITS:
        d[k] = LIMITS[k][col]
    return d


def check(name, value, profile, confirm=False):
    # REPL side: validate one limit; returns the int to store or raises ValueError
    if name not in LIMITS:
        raise ValueError("unknown limit %r; known: %s" % (name, ", ".join(sorted(LIMITS))))
    spec = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError("%s must be a number in [%d, %d]" % (name, spec[2], spec[3]))
    if value < spec[2] or value > spec[3]:
        raise ValueError("%s must be in [%d, %d], got %r" % (name, spec[2], spec[3], value))
    v = int(value)
    default = spec[0] if profile == "VA" else spec[1]
    looser = (v < default) if spec[4] == 1 else (v > default) if spec[4] == -1 else False
    if looser and not confirm:
        raise ValueError("%s=%d is looser than the %s default %d; pass confirm=True"
                         % (name, v, profile, default))
    return v
