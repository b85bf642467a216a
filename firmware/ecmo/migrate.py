# Settings file migrations (ecmo/settings.py): each takes the previous version's dict and
# returns the next one's. Imported only when an older file is read.
from ecmo.safety import profiles

_TICK_LIMITS = {"debounce_ticks": "debounce_ms", "low_flow_ticks": "low_flow_ms"}
_OLD_TICK_MS = 10     # every file up to version 2 was written by a 100 Hz tick


def _v0_to_v1(d):
    out = {}
    lim = {}
    for k in d:
        if k in profiles.LIMITS or k in _TICK_LIMITS:
            lim[k] = d[k]
        elif k not in ("kp", "ki", "kd"):
            out[k] = d[k]
    out["gains"] = [d.get("kp", 400), d.get("ki", 800), d.get("kd", 0)]
    base = profiles.defaults(d.get("profile", "VA") if d.get("profile") in profiles.PROFILES else "VA")
    base.update(lim)
    out["limits"] = base
    out["version"] = 1
    return out


def _v1_to_v2(d):
    out = dict(d)
    out["version"] = 2
    if "telemetry_hz" not in out:     # early version 1 files had no telemetry rate
        out["telemetry_hz"] = 0
    return out


def _v2_to_v3(d):
    # limits in ticks became limits in ms (a 100 Hz tick: 2 ticks = 20 ms)
    out = dict(d)
    out["version"] = 3
    lim = out.get("limits")
    if isinstance(lim, dict):
        lim = dict(lim)
        for old in _TICK_LIMITS:
            if old in lim:
                v = lim.pop(old)
                ok = isinstance(v, (int, float)) and not isinstance(v, bool)
                lim[_TICK_LIMITS[old]] = v * _OLD_TICK_MS if ok else v
        out["limits"] = lim
    return out


MIGRATE = (_v0_to_v1, _v1_to_v2, _v2_to_v3)
