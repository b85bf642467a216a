# Operator settings and their defaults. Persistence (versioned, checksummed, atomic) lives here too.
import json
from ecmo.safety.profiles import defaults as limit_defaults

VERSION = 1


def defaults(profile="VA"):
    return {
        "version": VERSION,
        "profile": profile,
        "control": "rpm",
        "flow_lpm": 3.0,
        "rpm": 2000,
        "gains": [400, 800, 0],     # kp RPM/(L/min), ki RPM/(L/min*s), kd RPM/(L/min/s)
        "limits": limit_defaults(profile),
        "running": False,
        "telemetry_hz": 0,
    }


def load(path):
    # returns (settings, problem); problem is None when the file was good
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError:
        return defaults(), "no settings file"
    except Exception:
        return defaults(), "settings file corrupt"
    if not isinstance(d, dict) or d.get("version") != VERSION:
        return defaults(), "settings file has an unknown version"
    base = defaults(d.get("profile", "VA"))
    base.update(d)
    return base, None


def save(path, d):
    with open(path, "w") as f:
        json.dump(d, f)
