# Operator settings: defaults, the bounds every field must keep (used by the REPL setters and by
# load alike), and persistence on flash: versioned, CRC-checked, written atomically.
#
# File format (version 2), one JSON object written by canon() so the text is the same on every
# runtime: {"crc32":"<8 hex>","format":"ecmo-settings","payload":{...},"version":2}
# crc32 covers canon(payload). Older files are migrated on load:
#   version 0: flat dict, no "version": gains as kp/ki/kd, limits beside the other fields
#   version 1: {"version":1, ...payload...} with "limits" and "gains", no checksum, maybe
#              no telemetry_hz
import json
import os
from binascii import crc32
from ecmo.control import pid as _pid
from ecmo.safety import profiles

VERSION = 2
FORMAT = "ecmo-settings"

FLOW_MAX_LPM = 8.0          # hard bound of the flow setpoint (adult circuits stay below 7 L/min)
SWEEP_MAX_LPM = 10.0        # adult sweep gas 0..10 L/min (docs/facts.md §7)
FIO2_MIN = 0.21             # room air; a blender cannot go lower
TELEMETRY_MAX_HZ = 20       # 20 rows/s of ~100 bytes fits 115200 baud with room for the REPL
CONTROL_MODES = ("rpm", "flow")

_rename = os.rename         # a module name, so tests can inject a reset between write and rename
_ENOENT = 2


def defaults(profile="VA"):
    return {
        "version": VERSION,
        "profile": profile,
        "control": "rpm",
        "flow_lpm": 3.0,
        "rpm": 2000,
        # kp RPM/(L/min), ki RPM/(L/min*s), kd RPM/(L/min/s). Tuned on the simulated rig
        # (examples/step.json): 2 -> 4 L/min within 5 % 2.3 s after the step (2 s of it is the
        # setpoint ramp), overshoot < 2 %. The plant is near-static (motor lag 0.3 s), so the
        # integral does the work; a larger kp slows the settling after a ramp.
        "gains": [300, 1500, 0],
        "limits": profiles.defaults(profile),
        "telemetry_hz": 0,
        "sweep_lpm": 0.0,           # oxygenator sweep gas setpoint, L/min (gas side)
        "fio2": 1.0,                # FiO2 of the sweep (fraction): 100 % O2 at ECMO start
    }


# ---- bounds: the one place; the REPL setters call these too ----
def number(name, v, lo, hi, integer=False):
    # a real number (not bool, not NaN/inf) inside [lo, hi]; integer=True also wants a whole value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < lo or v > hi \
            or (integer and v != int(v)):
        raise ValueError("%s must be %s in [%s, %s], got %r"
                         % (name, "a whole number" if integer else "a number", lo, hi, v))
    return v


def choice(name, v, options):
    if not isinstance(v, str) or v not in options:
        raise ValueError("%s must be one of %s, got %r" % (name, ", ".join(options), v))
    return v


def check_field(name, v, rpm_max):
    # one top-level field; returns the value to store (ints and floats normalised)
    if name == "profile":
        return choice("profile", v, profiles.PROFILES)
    if name == "control":
        return choice("control", v, CONTROL_MODES)
    if name == "flow_lpm":
        return float(number("flow_lpm", v, 0, FLOW_MAX_LPM))
    if name == "rpm":
        return int(number("rpm", v, 0, rpm_max))
    if name == "telemetry_hz":
        return int(number("telemetry_hz", v, 0, TELEMETRY_MAX_HZ, True))
    if name == "gains":
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise ValueError("gains must be [kp, ki, kd], got %r" % (v,))
        return [check_gain("kp", v[0]), check_gain("ki", v[1]), check_gain("kd", v[2])]
    if name == "limits":
        return check_limits(v, None)
    if name == "sweep_lpm":
        return float(number("sweep_lpm", v, 0, SWEEP_MAX_LPM))
    if name == "fio2":
        return float(number("fio2", v, FIO2_MIN, 1.0))
    raise ValueError("unknown setting %r" % (name,))


_GAIN_MAX = {"kp": _pid.KP_MAX, "ki": _pid.KI_MAX, "kd": _pid.KD_MAX}


def check_gain(name, v):
    return int(number(name, v, 0, _GAIN_MAX[name]))


def check_limits(lim, profile, confirm=True):
    # every known limit inside its hard bounds, and warn/crit in the right order. profile=None
    # (load) checks hard bounds only: a limit loosened with confirm=True was confirmed then.
    if not isinstance(lim, dict):
        raise ValueError("limits must be a dict, got %r" % (lim,))
    out = {}
    for k in profiles.LIMITS:
        if k not in lim:
            raise ValueError("limit %s missing" % k)
        out[k] = profiles.check(k, lim[k], profile or "VA", confirm if profile else True)
    for k in lim:
        if k not in profiles.LIMITS:
            raise ValueError("unknown limit %r" % (k,))
    if out["p1_crit_dmmhg"] > out["p1_warn_dmmhg"]:
        raise ValueError("p1_crit_dmmhg must be at or below p1_warn_dmmhg")
    if out["p3_crit_dmmhg"] < out["p3_warn_dmmhg"]:
        raise ValueError("p3_crit_dmmhg must be at or above p3_warn_dmmhg")
    if out["temp_low_cdegc"] >= out["temp_high_cdegc"]:
        raise ValueError("temp_low_cdegc must be below temp_high_cdegc")
    return out


def validate(d, rpm_max):
    # returns (clean settings, list of fields reset to their default); never raises
    prof = d.get("profile") if isinstance(d, dict) else None
    if prof not in profiles.PROFILES:
        prof = "VA"
    out = defaults(prof)
    bad = []
    if not isinstance(d, dict):
        return out, ["<all>"]
    for k in out:
        if k == "version":
            continue
        if k not in d:
            continue     # a field added since the file was written: its default, no alarm
        v = d[k]
        if k == "limits" and isinstance(v, dict):
            # a limit added by a later firmware takes its default: not an error in the file
            merged = profiles.defaults(prof)
            merged.update(v)
            v = merged
        try:
            out[k] = check_field(k, v, rpm_max)
        except ValueError:
            bad.append(k)
    # fields this module does not know (added by the gas side) are kept; their owner checks them
    for k in d:
        # older files kept "running": the run/standby intent now lives in retained memory
        # (drivers/retain.py), never on flash, so it is dropped
        if k not in out and k not in ("version", "running"):
            out[k] = d[k]
    return out, bad


# ---- canonical JSON and checksum ----
def _canon(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append("%d" % v)
    elif isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("cannot store %r" % v)
        out.append("%.4f" % v)     # 4 decimals: identical text on double (host) and float32 boards
    elif isinstance(v, str):
        out.append(json.dumps(v))
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _canon(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v)):
            if i:
                out.append(",")
            out.append(json.dumps(str(k)))
            out.append(":")
            _canon(v[k], out)
        out.append("}")
    else:
        raise ValueError("cannot store %r" % (v,))


def canon(v):
    out = []
    _canon(v, out)
    return "".join(out)


def checksum(payload):
    return "%08x" % (crc32(canon(payload).encode()) & 0xFFFFFFFF)


# ---- migrations: each takes the previous version's dict and returns the next one's ----
def _v0_to_v1(d):
    out = {}
    lim = {}
    for k in d:
        if k in profiles.LIMITS:
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


_MIGRATE = (_v0_to_v1, _v1_to_v2)


def _bad_path(path):
    i = path.rfind(".")
    j = path.rfind("/")
    return (path[:i] if i > j else path) + ".bad"


def _keep_aside(path):
    # keep the unreadable file for inspection; never let this fail the boot
    if path is None:
        return
    try:
        bad = _bad_path(path)
        try:
            os.remove(bad)
        except OSError:
            pass
        _rename(path, bad)
    except Exception:
        pass


def load(path, rpm_max=5000):
    # returns (settings, problem); problem is None when the file was good (or was migrated),
    # "no settings file" when there is none, else a short reason (the caller raises the alarm)
    try:
        with open(path, "rb") as f:      # bytes: erased flash (0xFF) must not fail the read
            text = f.read()
    except OSError as e:
        if e.args and e.args[0] != _ENOENT:
            # there but unreadable (I/O error): never replace it, boot with defaults and say so
            return defaults(), "settings file unreadable (%s)" % (e,)
        return _recover_tmp(path, rpm_max)
    return _decode(text, path, rpm_max)


def _recover_tmp(path, rpm_max):
    # A reset inside save()'s FAT fallback (old file removed, new one not yet renamed) leaves
    # only the .tmp, written and closed before the remove. Use it only if it decodes cleanly
    # with a good checksum; then put it in place.
    try:
        with open(path + ".tmp", "rb") as f:
            text = f.read()
    except OSError:
        return defaults(), "no settings file"
    d, problem = _decode(text, None, rpm_max)
    if problem:
        return defaults(), "settings lost: only a damaged %s.tmp left" % path
    try:
        _rename(path + ".tmp", path)
    except OSError:
        pass            # still usable this boot; the next save() writes the file again
    return d, None


def _decode(raw, path, rpm_max):
    # raw: the file's bytes; path: where they came from, kept aside as .bad if damaged
    # (None: leave it). Not UTF-8, not JSON, not an object: all the same "corrupt".
    try:
        d = json.loads(raw.decode())
        if not isinstance(d, dict):
            raise ValueError("not an object")
    except Exception:
        _keep_aside(path)
        return defaults(), "settings file corrupt (kept as %s)" % _bad_path(path or "")
    if d.get("format") == FORMAT:
        payload = d.get("payload")
        if not isinstance(payload, dict) or d.get("crc32") != checksum(payload):
            _keep_aside(path)
            return defaults(), "settings checksum wrong (kept as %s)" % _bad_path(path or "")
        d = payload
        v = d.get("version")
    else:
        v = d.get("version", 0)     # version 0 had no version field
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > VERSION:
        _keep_aside(path)
        return defaults(), "settings file has unknown version %r" % (v,)
    try:
        while v < VERSION:
            d = _MIGRATE[v](d)
            v += 1
    except Exception:
        _keep_aside(path)
        return defaults(), "settings migration failed"
    d, bad = validate(d, rpm_max)
    if bad:
        return d, "settings out of bounds, defaults used for: " + ", ".join(bad)
    return d, None


def save(path, d):
    # atomic: the new text goes to <path>.tmp, then one rename replaces the old file. A reset
    # before the rename leaves the old file whole (littlefs and POSIX rename are atomic).
    payload = dict(d)
    payload["version"] = VERSION
    text = canon({"format": FORMAT, "version": VERSION, "crc32": checksum(payload),
                  "payload": payload})
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    try:
        _rename(tmp, path)
    except OSError:
        # FAT (some ESP32 builds) will not rename over an existing file: remove it first.
        # A reset in between leaves only the complete .tmp, which load() puts in place.
        try:
            os.stat(path)
        except OSError:
            raise OSError("cannot rename %s to %s" % (tmp, path))
        os.remove(path)
        _rename(tmp, path)
