# Operator settings: defaults and bounds from the one settings table (ecmo/table.py, used by the
# REPL setters and by load alike), and persistence on flash: versioned, CRC-checked, written
# atomically.
#
# File format (version 3), one JSON object written by canon() so the text is the same on every
# runtime: {"crc32":"<8 hex>","format":"ecmo-settings","payload":{...},"version":3}
# crc32 covers canon(payload). Older files are migrated on load:
#   version 0: flat dict, no "version": gains as kp/ki/kd, limits beside the other fields
#   version 1: {"version":1, ...payload...} with "limits" and "gains", no checksum, maybe
#              no telemetry_hz
#   version 2: the checksummed format, debounce_ticks and low_flow_ticks (100 Hz ticks)
import json
import os
from binascii import crc32
from ecmo import table as T
from ecmo.safety import profiles

VERSION = 3
FORMAT = "ecmo-settings"

# the table's bounds, by name, for the modules that still use them
FLOW_MAX_LPM = T.ROWS["flow_lpm"][T.HI]
SWEEP_MAX_LPM = T.ROWS["sweep_lpm"][T.HI]
FIO2_MIN = T.ROWS["fio2"][T.LO]
TELEMETRY_MAX_HZ = T.ROWS["telemetry_hz"][T.HI]
CONTROL_MODES = T.ROWS["control"][T.LO]
GAINS = T.names("gains")
SERVO_GAINS = T.names("servo gains")     # the pressure servo's (issue 17)

_rename = os.rename         # a module name, so tests can inject a reset between write and rename
_ENOENT = 2


def defaults(profile="VA"):
    return {
        "version": VERSION,
        "profile": profile,
        "control": T.default("control", profile),
        "flow_lpm": T.default("flow_lpm", profile),
        "rpm": T.default("rpm", profile),
        "gains": [T.default(g) for g in GAINS],
        "p1_target_mmhg": T.default("p1_target_mmhg", profile),
        "servo_gains": [T.default(g) for g in SERVO_GAINS],
        "limits": profiles.defaults(profile),
        "telemetry_hz": T.default("telemetry_hz", profile),
        "sweep_lpm": T.default("sweep_lpm", profile),
        "fio2": T.default("fio2", profile),
        # transducer zeros and the flow probe's calibration on the rig (rig.zero,
        # rig.calibrate_flow): {"p1": [offset, "when"], ...} and [gain_e4, "when"] or []
        "zero": {},
        "flow_cal": [],
    }


# ---- zeros and flow calibration (issue #12) ----
ZEROABLE = ("p1", "p2", "p3", "flow")
ZERO_STORE_MAX = 1000        # hard bound on a stored offset (0.1 mmHg, mL/min); the rig checks
                             # each against its sensor's own, tighter limit (rig.ZERO_LIMITS)
FLOW_GAIN_MIN_E4 = 8000      # a flow probe's gain from a bucket test: 0.80 .. 1.25
FLOW_GAIN_MAX_E4 = 12500


def _when(v):
    if not isinstance(v, str) or len(v) > 32:
        raise ValueError("a calibration time must be a short string, got %r" % (v,))
    return v


def check_zero(v):
    if not isinstance(v, dict):
        raise ValueError("zero must be a dict, got %r" % (v,))
    out = {}
    for k in v:
        if k not in ZEROABLE:
            raise ValueError("zero: unknown sensor %r" % (k,))
        e = v[k]
        if not isinstance(e, (list, tuple)) or len(e) != 2:
            raise ValueError("zero %s must be [offset, when], got %r" % (k, e))
        out[k] = [int(number("zero " + k, e[0], -ZERO_STORE_MAX, ZERO_STORE_MAX, True)), _when(e[1])]
    return out


def check_flow_cal(v):
    if not isinstance(v, (list, tuple)) or len(v) not in (0, 2):
        raise ValueError("flow_cal must be [] or [gain_e4, when], got %r" % (v,))
    if not v:
        return []
    return [int(number("flow_cal gain_e4", v[0], FLOW_GAIN_MIN_E4, FLOW_GAIN_MAX_E4, True)),
            _when(v[1])]


# ---- bounds: the table's, the REPL setters call these too ----
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
    if name == "gains":
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise ValueError("gains must be [kp, ki, kd], got %r" % (v,))
        return [check_gain(GAINS[i], v[i]) for i in range(3)]
    if name == "servo_gains":
        if not isinstance(v, (list, tuple)) or len(v) != 3:
            raise ValueError("servo_gains must be [kp, ki, kd], got %r" % (v,))
        return [check_gain(SERVO_GAINS[i], v[i]) for i in range(3)]
    if name == "limits":
        return check_limits(v, None)
    if name == "zero":
        return check_zero(v)
    if name == "flow_cal":
        return check_flow_cal(v)
    r = T.ROWS.get(name)
    if r is None or r[T.GROUP] not in ("pump", "gas", "link"):
        raise ValueError("unknown setting %r" % (name,))
    return T.check(name, v, rpm_max, name == "telemetry_hz")


def check_gain(name, v):
    return T.check(name, v)


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
    if out["p2_crit_dmmhg"] < out["p2_warn_dmmhg"]:
        raise ValueError("p2_crit_dmmhg must be at or above p2_warn_dmmhg")
    if out["p2_crit_dmmhg"] < out["p2_warn_dmmhg"]:
        raise ValueError("p2_crit_dmmhg must be at or above p2_warn_dmmhg")
    if out["level_crit_ml"] >= out["level_low_ml"]:
        raise ValueError("level_crit_ml must be below level_low_ml")
    if out["temp_low_cdegc"] >= out["temp_high_cdegc"]:
        raise ValueError("temp_low_cdegc must be below temp_high_cdegc")
    return out


def validate(d, rpm_max):
    # returns (clean settings, list of fields reset to their default); never raises
    prof = "VV" if isinstance(d, dict) and d.get("profile") == "VV" else "VA"
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
        if v < VERSION:
            from ecmo.migrate import MIGRATE    # only for an old file: not kept in RAM otherwise
            while v < VERSION:
                d = MIGRATE[v](d)
                v += 1
    except Exception:
        _keep_aside(path)
        return defaults(), "settings migration failed"
    d, bad = validate(d, rpm_max)
    if bad:
        return d, "settings out of bounds, defaults used for: " + ", ".join(bad)
    return d, None


def save_fields(path, cur, names, rpm_max=5000):
    # write these fields of `cur` to flash and leave the file's others as they were saved (a
    # zero is kept at once; live changes not saved yet stay unsaved). No good file: all of cur.
    d, problem = load(path, rpm_max)
    if problem:
        d = cur
    else:
        for k in names:
            d[k] = cur[k]
    save(path, d)


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


# ---- the stop latch on flash (issue #12): an air or e-stop stop survives a power cycle ----
# One small file beside the settings, written from a scheduled callback once the pump is
# stopped (a flash write then costs nothing) and removed only by a proper restart().
def latch_path(path):
    # settings.json -> settings.stop (beside it, so a test or simulated flash keeps its own)
    i = path.rfind(".")
    j = path.rfind("/")
    return (path[:i] if i > j else path) + ".stop"


def write_latch(path, air, estop):
    with open(latch_path(path), "w") as f:
        f.write(("air " if air else "") + ("estop" if estop else ""))


def read_latch(path):
    # (air, estop) recorded; a file that is there but unreadable counts as an air stop: the
    # safest reading (ack, de-air and restart release it)
    try:
        with open(latch_path(path), "rb") as f:
            t = f.read()
    except OSError as e:
        if e.args and e.args[0] == _ENOENT:
            return False, False
        return True, False
    air = b"air" in t
    estop = b"estop" in t
    if not air and not estop:
        return True, False
    return air, estop


def clear_latch(path):
    try:
        os.remove(latch_path(path))
    except OSError:
        pass
