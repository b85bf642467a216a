# VA and VV default limits, and the hard bounds no setting may leave.
# Integers in firmware units (0.1 mmHg, mL/min, RPM, ticks). Clinical defaults are bench
# placeholders to set per circuit and patient; sources and reasons are in docs/hazards.md.
#
# name: (VA default, VV default, hard min, hard max, "safer" direction: -1 lower is safer,
#        +1 higher is safer, 0 neither) -- loosening past the default needs confirmation.
LIMITS = {
    # drainage suction: Terumo warns below -150 mmHg (RIG_FACTS 5)
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
    # how fast the supervisor backs off / gives back speed on suction or over-pressure
    "backoff_rpm_s": (2000, 2000, 200, 10000, 1),
    "release_rpm_s": (300, 300, 50, 5000, -1),
    # debounce: consecutive ticks a condition must hold before it raises its alarm
    "debounce_ticks": (2, 2, 1, 50, -1),
    "low_flow_ticks": (200, 200, 1, 6000, -1),
}

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
