# Scenario files: load and validate the JSON contract of issue 4 (docs in examples/README.md).
# Every error names the field, e.g. "events[2].lpm: must be a number in [0, 8], got 'x'".
# Runs under CPython (the host CLI checks a file before it starts anything) and MicroPython.
import json

FLOW_MAX_LPM = 8.0      # the firmware's setpoint bound (ecmo/settings.py FLOW_MAX_LPM)
RPM_MAX = 5000          # both boards (boards/*.py RPM_MAX)
DURATION_MAX_S = 3600
BOARDS = ("pico", "esp32")
SENSORS = ("p1", "p2", "p3", "flow", "bubble", "tach", "level")
CONTROL_MODES = ("flow", "rpm", "pressure", "zero")   # ecmo/table.py "control"
GAS_FAULTS = ("supply_lost", "valve_stuck", "sensor", "o2_cell", "none")  # gas_model.FAULTS


JSON_DEPTH_MAX = 32     # a scenario is 3 levels deep; deeper is not a scenario (and recursion)

# Plant parameters a scenario may override, with the range a real circuit can have (plant.py
# DEFAULTS has the meaning and units). 0 where a zero is physical (no resistance term), else a
# positive floor: a zero compliance, resistance or time constant divides by zero in the model.
# None allowed: the model derives the value.
PLANT_BOUNDS = {
    "rpm_max": (100, 20000), "tau_s": (0.001, 60), "tau_coast_s": (0.001, 600),
    "pump_a": (0.1, 1000), "pump_b": (0.01, 1000), "pump_c": (0, 100), "pump_b_rev": (0.01, 1000),
    "drain_k1": (0, 1000), "drain_k2": (0, 1000), "oxy_r": (0.01, 1000),
    "ret_k1": (0, 1000), "ret_k2": (0, 1000), "inertance": (0.01, 1000),
    "closed_mult": (10, 1e9), "svr": (0.5, 200), "cv_ml_per_mmhg": (1, 2000),
    "collapsed_frac": (0.001, 1), "ca_ml_per_mmhg": (0.05, 100),
    "v0_venous_ml": (100, 10000), "v0_arterial_ml": (50, 5000),
    "cvp0_mmhg": (-10, 40), "map0_mmhg": (10, 200), "heart_lpm": (0, 15, None),
    "heart_preload_mmhg": (0.1, 40), "collapse_ml": (1, 5000), "collapse_floor_ml": (0.1, 1000),
    "tube_ml_per_m": (1, 1000), "drain_tube_m": (0.01, 20), "pump_prime_ml": (1, 2000),
    "oxy_prime_ml": (1, 2000), "det_to_clamp_m": (0, 20), "detector_ml": (1, 10000, None),
    "max_step_s": (0.00001, 0.01),
    "drain_cannula_ml": (0, 200), "oxy_trap_fraction": (0, 1), "choke_mmhg": (0, 1000),
    "choke_k": (0, 10),
    "reservoir_ml": (0, 5000, None), "reservoir_area_cm2": (10, 2000), "siphon_mmhg": (-20, 100),
    "reservoir_dry_ml": (1, 500),
    "fluid": None,      # a name or a viscosity: _fluid checks it
}

# A `repl` line runs in the firmware's namespace; these would stop the simulated board itself
# (the run ends early, or never) rather than be a command a rig could refuse.
REPL_ENDERS = ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException", "exit(",
               "quit(", "_exit", "sys.exit", "sim_", "Sim", "atexit")


class ScenarioError(ValueError):
    def __init__(self, field, msg):
        ValueError.__init__(self, "%s: %s" % (field, msg))
        self.field = field


def _num(lo, hi, integer=False):
    def check(field, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise ScenarioError(field, "must be a number in [%s, %s], got %r" % (lo, hi, v))
        if integer and v != int(v):
            raise ScenarioError(field, "must be a whole number, got %r" % (v,))
        if v < lo or v > hi:
            raise ScenarioError(field, "must be in [%s, %s], got %r" % (lo, hi, v))
        return int(v) if integer else v
    return check


def _choice(*options):
    def check(field, v):
        if not isinstance(v, str) or v not in options:
            raise ScenarioError(field, "must be one of %s, got %r" % (", ".join(options), v))
        return v
    return check


def _str(field, v):
    if not isinstance(v, str) or not v:
        raise ScenarioError(field, "must be a non-empty string, got %r" % (v,))
    return v


def _bool(field, v):
    if not isinstance(v, bool):
        raise ScenarioError(field, "must be true or false, got %r" % (v,))
    return v


def _fluid(field, v):
    # the circuit's fluid: a name (tools/sim/plant.py FLUIDS) or a viscosity in mPa*s
    if isinstance(v, str):
        return _choice("blood", "water", "glycerol40")(field, v)
    return _num(0.3, 100)(field, v)


def _dict(field, v):
    if not isinstance(v, dict):
        raise ScenarioError(field, "must be an object, got %r" % (v,))
    return v


# verb -> ((required args), (optional args)); each arg is (name, check). Sensor fault kinds
# depend on the board (analog or I2C part) and are checked in validate().
VERBS = {
    "set_flow": ((("lpm", _num(0, FLOW_MAX_LPM)),), ()),
    "set_rpm": ((("rpm", _num(0, RPM_MAX)),), ()),
    "set_control": ((("control", _choice(*CONTROL_MODES)),), ()),
    # issue 17: the P1 servo's target; the simulated heart's own output (weaning)
    "set_p1": ((("mmhg", _num(-290, 50)),), ()),
    "set_heart": ((("lpm", _num(0, 15)),), (("over_s", _num(0, 600)),)),
    "run": ((), ()),
    "standby": ((), ()),
    "bubble": ((("volume_ul", _num(0.001, 1.0e6)),), (("at_m", _num(0, 20)),)),
    "deair": ((), ()),
    "deaired": ((), ()),
    "sensor_fault": ((("sensor", _choice(*SENSORS)), ("kind", _str)), ()),
    "sensor_ok": ((("sensor", _choice(*SENSORS)),), ()),
    "volume_loss": ((("ml", _num(0, 3000)),), (("over_s", _num(0, 600)),)),
    "volume_gain": ((("ml", _num(0, 3000)),), (("over_s", _num(0, 600)),)),
    "clot": ((("factor", _num(0.1, 1000)),), ()),
    "occlusion": ((("line", _choice("venous", "arterial")), ("fraction", _num(0, 1))), ()),
    "estop": ((), ()),
    "estop_release": ((), ()),
    "ack": ((), ()),
    "restart": ((), ()),
    "repl": ((("line", _str),), ()),
    "reset": ((), ()),
    "power_cycle": ((), ()),
}
# The oxygenator side (tools/sim/gas_model.py) adds its verbs here when it is present.
GAS_VERBS = {
    "set_sweep": ((("lpm", _num(0, 10)),), ()),
    "set_fio2": ((("fio2", _num(0.21, 1.0)),), ()),
    "gas_fault": ((("kind", _choice(*GAS_FAULTS)),), ()),
    "membrane_failure": ((("fraction", _num(0, 1)),), ()),
    "set_heater": ((("temp_c", _num(0, 45)),), ()),
    "blood_temp": ((("temp_c", _num(20, 45)),), ()),
}

TOP = {
    # name: (required, check, default)
    "name": (True, _str, None),
    "description": (False, _str, ""),
    "profile": (False, _choice("VA", "VV"), "VA"),
    "board": (False, _choice(*BOARDS), "pico"),
    "duration_s": (True, _num(0.01, DURATION_MAX_S), None),
    "control": (False, _choice(*CONTROL_MODES), "rpm"),
    "p1_mmhg": (False, _num(-290, 50), -50),   # the P1 servo's target set at the start
    "flow_lpm": (False, _num(0, FLOW_MAX_LPM), 3.0),
    "rpm": (False, _num(0, RPM_MAX), 2000),
    "seed": (False, _num(0, 2 ** 31 - 1, True), 1),
    "run": (False, _bool, True),        # start the pump at t = 0 (false: stay in standby)
    "noise": (False, _bool, True),      # sensor noise and calibration offsets
    "plant": (False, _dict, None),      # plant parameter overrides (tools/sim/plant.py DEFAULTS)
    "fluid": (False, _fluid, None),     # blood (default), water, glycerol40 or mPa*s
    "sweep_lpm": (False, _num(0, 10), 3.0),   # gas side only: sweep set at the start
    # a venous reservoir in the circuit and its level sensor on the board (issue 17)
    "reservoir": (False, None, None),
    "events": (False, None, None),
    # commands the rig must refuse, each {"t": s, "do": verb, "says": part of the message}:
    # an example that shows a refusal fails its test if the command is accepted (issue 12)
    "expect_refused": (False, None, []),
}


def _expect_refused(v, duration_s):
    if not isinstance(v, list):
        raise ScenarioError("expect_refused", "must be a list of {\"t\": s, \"do\": verb, \"says\": text}")
    out = []
    for i, e in enumerate(v):
        f = "expect_refused[%d]" % i
        _dict(f, e)
        for k in e:
            if k not in ("t", "do", "says"):
                raise ScenarioError(f + "." + k, "unknown field; known: do, says, t")
        for k in ("t", "do", "says"):
            if k not in e:
                raise ScenarioError(f + "." + k, "missing")
        out.append({"t": _num(0, duration_s)(f + ".t", e["t"]),
                    "do": _choice(*VERBS)(f + ".do", e["do"]),
                    "says": _str(f + ".says", e["says"])})
    return out


def _reservoir(v):
    # {"ml": volume at the start, "sensor": "analog" | "switch" | "none", "switch_ml": where
    # the switch sits}: the plant gets a reservoir, the board a LEVEL entry (tools/sim/run.py)
    _dict("reservoir", v)
    out = {"ml": None, "sensor": "analog", "switch_ml": 500}
    for k in v:
        if k not in out:
            raise ScenarioError("reservoir." + k, "unknown field; known: ml, sensor, switch_ml")
    if "ml" not in v:
        raise ScenarioError("reservoir.ml", "missing")
    out["ml"] = _num(0, 5000)("reservoir.ml", v["ml"])
    if "sensor" in v:
        out["sensor"] = _choice("analog", "switch", "none")("reservoir.sensor", v["sensor"])
    if "switch_ml" in v:
        out["switch_ml"] = _num(50, 3000)("reservoir.switch_ml", v["switch_ml"])
    return out


def _board_module(name):
    return __import__("board_" + name)


def _fault_kinds(board_name, sensor):
    try:
        import world
        return world.fault_kinds(_board_module(board_name), sensor)
    except ImportError:     # validating without the firmware-side paths: accept any string
        return None


def gas_available():
    try:
        import gas_model  # noqa: F401
        return True
    except ImportError:
        return False


def validate(d, gas=None):
    # returns a new dict with defaults filled in and events sorted by time (stable).
    # gas=None: accept the oxygenator verbs when tools/sim/gas_model.py is there.
    if gas is None:
        gas = gas_available()
        if gas and isinstance(d, dict) and isinstance(d.get("board"), str) and d["board"] in BOARDS:
            try:
                gas = hasattr(_board_module(d["board"]), "GAS")
            except ImportError:
                pass
    if not isinstance(d, dict):
        raise ScenarioError("<top>", "a scenario is a JSON object")
    for k in d:
        if k not in TOP:
            raise ScenarioError(k, "unknown field; known: %s" % ", ".join(sorted(TOP)))
    out = {}
    for k in TOP:
        req, check, default = TOP[k]
        if k not in d:
            if req:
                raise ScenarioError(k, "missing")
            out[k] = default
        elif check is not None:
            out[k] = check(k, d[k])
    if out["plant"]:
        try:
            from plant import DEFAULTS
        except ImportError:
            DEFAULTS = None
        for p in out["plant"]:
            if DEFAULTS is not None and p not in DEFAULTS or p not in PLANT_BOUNDS:
                raise ScenarioError("plant." + p, "unknown plant parameter")
            v = out["plant"][p]
            if p == "fluid":
                _fluid("plant.fluid", v)
                continue
            b = PLANT_BOUNDS[p]
            if v is None and len(b) < 3:
                raise ScenarioError("plant." + p, "must be a number in [%s, %s], got null"
                                    % (b[0], b[1]))
            if v is not None:
                _num(b[0], b[1])("plant." + p, v)
    if "reservoir" in d:
        out["reservoir"] = _reservoir(d["reservoir"])
    if out["fluid"] is not None:
        out["plant"] = dict(out["plant"] or {})
        out["plant"]["fluid"] = out["fluid"]
    verbs = dict(VERBS)
    if gas:
        verbs.update(GAS_VERBS)
    out["expect_refused"] = _expect_refused(d.get("expect_refused", []), out["duration_s"])
    evs = d.get("events", [])
    if not isinstance(evs, list):
        raise ScenarioError("events", "must be a list of {\"t\": s, \"do\": verb, ...}")
    out["events"] = [_event(i, e, out, verbs) for i, e in enumerate(evs)]
    order = list(range(len(out["events"])))
    order.sort(key=lambda i: (out["events"][i]["t"], i))
    out["events"] = [out["events"][i] for i in order]
    return out


def _event(i, e, top, verbs):
    f = "events[%d]" % i
    if not isinstance(e, dict):
        raise ScenarioError(f, "must be an object like {\"t\": 5.0, \"do\": \"ack\"}")
    if "t" not in e:
        raise ScenarioError(f + ".t", "missing")
    t = _num(0, top["duration_s"])(f + ".t", e["t"])
    if "do" not in e:
        raise ScenarioError(f + ".do", "missing")
    verb = e["do"]
    if not isinstance(verb, str) or verb not in verbs:
        raise ScenarioError(f + ".do", "unknown verb %r; known: %s"
                            % (verb, ", ".join(sorted(verbs))))
    req, opt = verbs[verb]
    out = {"t": t, "do": verb}
    names = []
    for name, check in req:
        names.append(name)
        if name not in e:
            raise ScenarioError(f + "." + name, "missing (%s needs it)" % verb)
        out[name] = check(f + "." + name, e[name])
    for name, check in opt:
        names.append(name)
        if name in e:
            out[name] = check(f + "." + name, e[name])
    for k in e:
        if k not in ("t", "do") and k not in names:
            raise ScenarioError(f + "." + k, "unknown argument for %s (takes: %s)"
                                % (verb, ", ".join(names) or "nothing"))
    if verb == "repl":
        _repl_line(f + ".line", out["line"])
    if verb == "sensor_fault" and out["sensor"] == "level":
        r = top.get("reservoir")
        kinds = () if r is None or r["sensor"] == "none" else \
            (("open",) if r["sensor"] == "switch" else None)
        if kinds is None:
            kinds = _fault_kinds(top["board"], "p1")     # an analog part, as P1 on the pico
        if out["kind"] not in kinds:
            raise ScenarioError(f + ".kind", "the level sensor takes one of %s, got %r"
                                % (", ".join(kinds) or "nothing (no reservoir level sensor)",
                                   out["kind"]))
    elif verb == "sensor_fault":
        kinds = _fault_kinds(top["board"], out["sensor"])
        if kinds is not None and out["kind"] not in kinds:
            raise ScenarioError(f + ".kind", "%s on %s takes one of %s, got %r"
                                % (out["sensor"], top["board"], ", ".join(kinds), out["kind"]))
    return out


def _repl_line(field, line):
    for bad in REPL_ENDERS:
        if bad in line:
            raise ScenarioError(field, "%r would stop the simulated board itself, not be a "
                                "command to it (%s)" % (line, bad))
    if "\n" in line or "\r" in line:
        raise ScenarioError(field, "one line of REPL input, got a line break")
    try:
        compile(line, "<repl>", "exec")
    except SyntaxError as e:
        raise ScenarioError(field, "not a valid Python line: %s" % (e,))


def _depth_ok(text):
    # brackets outside strings, before json.loads recurses into them
    depth = 0
    in_str = False
    esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > JSON_DEPTH_MAX:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _text_ok(field, v):
    # every string must be encodable text: a lone surrogate ("\ud800") is not
    if isinstance(v, str):
        for ch in v:
            if 0xD800 <= ord(ch) <= 0xDFFF:
                raise ScenarioError(field, "contains a lone surrogate (\\u%04x), not text"
                                    % ord(ch))
    elif isinstance(v, dict):
        for k in v:
            _text_ok(field + "." + str(k) if field != "<top>" else str(k), k)
            _text_ok(field + "." + str(k) if field != "<top>" else str(k), v[k])
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _text_ok("%s[%d]" % (field, i), x)


def loads(text, gas=None):
    if not _depth_ok(text):
        raise ScenarioError("<json>", "nested deeper than %d levels" % JSON_DEPTH_MAX)
    try:
        d = json.loads(text)
    except ValueError as e:
        raise ScenarioError("<json>", "not valid JSON: %s" % (e,))
    except RuntimeError as e:      # recursion, should the depth check miss a case
        raise ScenarioError("<json>", "not a scenario: %s" % (e,))
    _text_ok("<top>", d)
    return validate(d, gas)


def load(path, gas=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ScenarioError("<file>", "cannot read %s: %s" % (path, e))
    try:
        text = data.decode("utf-8")
    except (UnicodeError, ValueError):
        raise ScenarioError("<file>", "%s is not UTF-8 text" % (path,))
    return loads(text, gas)
