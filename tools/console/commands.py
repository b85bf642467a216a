# What the page may ask of the rig, as the firmware's own commands. A request is
# {"action": name, "args": {...}}; this turns it into the one REPL expression that does it, from
# checked values only (numbers, booleans, names of a fixed shape), so no text from a browser is
# ever typed into the rig. The firmware validates the values themselves and its message is what
# the page shows when it refuses.
import math
import re

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class Refused(ValueError):
    # a request the console itself cannot turn into a command (bad shape), not the rig's word
    pass


def _num(args, key):
    v = args.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise Refused("%s must be a number, got %r" % (key, v))
    return repr(v)


def _bool(args, key, default=None):
    v = args.get(key, default)
    if not isinstance(v, bool):
        raise Refused("%s must be true or false, got %r" % (key, v))
    return repr(v)


def _choice(args, key, options):
    v = args.get(key)
    if v not in options:
        raise Refused("%s must be one of %s, got %r" % (key, ", ".join(options), v))
    return repr(v)


def _limit_name(args):
    v = args.get("name")
    if not isinstance(v, str) or not _NAME.match(v):
        raise Refused("limit name must be a lower-case identifier, got %r" % (v,))
    return repr(v)


# action -> function(args) -> expression. Every one is a `rig.` command from rig.help().
RIG = {
    "run": lambda a: "rig.run()",
    "standby": lambda a: "rig.standby()",
    "restart": lambda a: "rig.restart()",
    "ack": lambda a: "rig.ack()",
    "mode": lambda a: "rig.mode(%s)" % _choice(a, "name", ("flow", "rpm")),
    "profile": lambda a: "rig.profile(%s)" % _choice(a, "name", ("VA", "VV")),
    "set_flow": lambda a: "rig.set_flow(%s)" % _num(a, "lpm"),
    "set_rpm": lambda a: "rig.set_rpm(%s)" % _num(a, "rpm"),
    "set_sweep": lambda a: "rig.set_sweep(%s)" % _num(a, "lpm"),
    "set_fio2": lambda a: "rig.set_fio2(%s)" % _num(a, "fio2"),
    "clamp": lambda a: "rig.clamp(%s)" % _bool(a, "closed"),
    # the gas side's limits through gas_limit(), which also keeps low temperature below high
    "limit": lambda a: "(rig.gas_limit if %s in rig.gas_limits() else rig.limit)(%s, %s, "
                       "confirm=%s)" % (_limit_name(a), _limit_name(a), _num(a, "value"),
                                        _bool(a, "confirm", False)),
}

# The simulated bench's hands (only with --sim): `world` is the rig's simulated surroundings
# (tools/rigboot.py), the same verbs as a scenario's bubble, deair, estop, volume_loss, clot.
SIM = {
    "sim_bubble": lambda a: "world.plant.bubble(%s)" % _num(a, "volume_ul"),
    # a slug 1 cm before the detector: the firmware sees it within a few ms of a running pump
    "sim_bubble_detector": lambda a: "world.plant.bubble(%s, world.plant.detector_ml / "
                                     "world.plant.params['tube_ml_per_m'] - 0.01)"
                                     % _num(a, "volume_ul"),
    "sim_deair": lambda a: "world.plant.deair()",
    "sim_estop": lambda a: "world.set_estop(%s)" % _bool(a, "pressed"),
    "sim_volume_loss": lambda a: "world.plant.volume_loss(%s)" % _num(a, "ml"),
    "sim_clot": lambda a: "world.plant.clot(%s)" % _num(a, "factor"),
}


def expression(action, args, sim=False):
    table = dict(RIG, **SIM) if sim else RIG
    if not isinstance(action, str) or action not in table:
        raise Refused("unknown action %r" % (action,))
    if not isinstance(args, dict):
        raise Refused("args must be an object")
    return table[action](args)


def needs_confirm(message):
    # the firmware's refusal of a looser limit names the way out: "...; pass confirm=True"
    return isinstance(message, str) and "confirm=True" in message
