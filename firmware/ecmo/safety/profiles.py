# VA and VV limits: the "limits" and "gas limits" rows of the settings table (ecmo/table.py),
# per profile, with the hard bounds no setting may leave. Integers in firmware units (0.1 mmHg,
# mL/min, RPM, ms); sources and reasons are in docs/hazards.md.
from ecmo import table as T

PROFILES = T.ROWS["profile"][T.LO]
GAS_LIMITS = T.names("gas limits")      # the oxygenator's share (safety/gas.py)
PUMP_LIMITS = T.names("limits")         # the pump supervisor's share

# name: (VA default, VV default, hard min, hard max, safer direction, ...): the table's rows
LIMITS = {}
for _n in PUMP_LIMITS + GAS_LIMITS:
    LIMITS[_n] = T.ROWS[_n]


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
    if T.looser(name, v, default) and not confirm:
        raise ValueError("%s=%d is looser than the %s default %d; pass confirm=True"
                         % (name, v, profile, default))
    return v
