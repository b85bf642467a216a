# `console --sim --scenario FILE`: a scenario (examples/README.md) played on the live simulated
# rig in real time, so a person can follow it on the page: the operator's verbs go through the
# firmware's commands as a person at the page would send them, the bench's verbs through the
# simulated world (`world` in the rig's REPL). Each one is marked on the trends. Verbs that
# would restart the simulated board or run free REPL text are not played (said so, once each).
import asyncio
import json

from tools.sim import scenario as S

SWEEP_START_LPM = 1.0     # tools/sim/run.py SWEEP_START_MLPM


def _a(e, k, default=None):
    return json.dumps(e.get(k, default))    # numbers and strings, already checked by scenario


def expressions(e):
    # one scenario event -> the REPL expressions that do it (empty: not played here)
    v = e["do"]
    simple = {"run": "rig.run()", "standby": "rig.standby()", "ack": "rig.ack()",
              "restart": "rig.restart()", "deair": "world.plant.deair()",
              "deaired": "rig.deaired()",
              "estop": "world.set_estop(True)", "estop_release": "world.set_estop(False)"}
    if v in simple:
        return [simple[v]]
    table = {
        "set_flow": "rig.set_flow(%s)" % _a(e, "lpm"),
        "set_rpm": "rig.set_rpm(%s)" % _a(e, "rpm"),
        "set_control": "rig.mode(%s)" % _a(e, "control"),
        "set_p1": "rig.set_p1(%s)" % _a(e, "mmhg"),
        "set_heart": "world.plant.set_heart(%s, %s)" % (_a(e, "lpm"), _a(e, "over_s", 0.0)),
        "bubble": "world.plant.bubble(%s, %s)" % (_a(e, "volume_ul"), _a(e, "at_m", 0.0)),
        "sensor_fault": "world.sensor_fault(%s, %s)" % (_a(e, "sensor"), _a(e, "kind")),
        "sensor_ok": "world.sensor_fault(%s, None)" % _a(e, "sensor"),
        "volume_loss": "world.plant.volume_loss(%s, %s)" % (_a(e, "ml"), _a(e, "over_s", 0.0)),
        "volume_gain": "world.plant.volume_gain(%s, %s)" % (_a(e, "ml"), _a(e, "over_s", 0.0)),
        "clot": "world.plant.clot(%s)" % _a(e, "factor"),
        "occlusion": "world.plant.occlusion(%s, %s)" % (_a(e, "line"), _a(e, "fraction")),
        "set_sweep": "rig.set_sweep(%s)" % _a(e, "lpm"),
        "gas_fault": "world.gas.gas_fault(%s)" % ("None" if e.get("kind") == "none"
                                                  else _a(e, "kind")),
        "membrane_failure": "world.gas.membrane_failure(%s)" % _a(e, "fraction"),
        "set_heater": "world.gas.set_heater(%s)" % _a(e, "temp_c"),
    }
    if v == "set_fio2":
        # the manual blender is turned, and the operator tells the firmware
        return ["world.gas.set_fio2(%s)" % _a(e, "fio2"), "rig.set_fio2(%s)" % _a(e, "fio2")]
    return [table[v]] if v in table else []


def load(path):
    try:
        return S.load(path)
    except S.ScenarioError as e:
        raise SystemExit("console: scenario %s: %s" % (path, e))


def setup(sc, profile_now):
    # as the scenario runner's operator does before t = 0 (a profile switch resets the limits
    # to that profile's defaults, so only when it differs)
    ex = [] if profile_now == sc["profile"] else ["rig.profile(%s)" % json.dumps(sc["profile"])]
    ex += ["rig.mode(%s)" % json.dumps(sc["control"]), "rig.set_flow(%s)" % json.dumps(sc["flow_lpm"]),
           "rig.set_rpm(%s)" % json.dumps(sc["rpm"])]
    return ex + (["rig.run()"] if sc["run"] else [])


async def play(hub, sc, out):
    lk = hub.link
    while lk.last_row is None:                # the rig is up and talking
        await asyncio.sleep(0.1)
    _ok, profile = await lk.call("rig.settings['profile']")
    for ex in setup(sc, profile):
        ok, v = await lk.call(ex)
        if not ok:
            hub.note("scenario setup %s refused: %s" % (ex, v))
    hub.note("scenario %r starts" % sc["name"])
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    skipped = set()
    sweep = None
    if "sweep_setpoint_lpm" in lk.last_row and sc["sweep_lpm"] > 0:
        sweep = asyncio.create_task(_start_sweep(hub, sc["sweep_lpm"]))
    try:
        await _events(hub, sc, out, t0, skipped, sweep)
    finally:
        if sweep is not None:
            sweep.cancel()
    await asyncio.sleep(max(0.0, t0 + sc["duration_s"] - loop.time()))
    hub.note("scenario %r ends (the rig runs on)" % sc["name"])


async def _start_sweep(hub, lpm):
    # as the scenario runner's perfusionist: the sweep goes on once blood flows (a sweep over
    # still blood is an alarm of its own, SWEEP_NO_BLOOD)
    lk = hub.link
    while True:
        r = lk.last_row or {}
        try:
            if float(r.get("flow_lpm") or 0) >= SWEEP_START_LPM:
                break
        except ValueError:
            pass
        await asyncio.sleep(0.1)
    ok, v = await lk.call("rig.set_sweep(%s)" % json.dumps(lpm))
    hub.note("set_sweep(lpm=%s) (blood flowing)%s" % (json.dumps(lpm), "" if ok else " refused: %s" % v))


async def _events(hub, sc, out, t0, skipped, sweep):
    lk = hub.link
    loop = asyncio.get_running_loop()
    for e in sc["events"]:
        if e["do"] == "set_sweep" and sweep is not None:
            sweep.cancel()          # the scenario sets the sweep itself
        delay = t0 + e["t"] - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        exs = expressions(e)
        if not exs:
            if e["do"] not in skipped:
                skipped.add(e["do"])
                out.write("console: scenario verb %r is not played on the live rig\n" % e["do"])
                out.flush()
            continue
        args = ", ".join("%s=%s" % (k, json.dumps(e[k])) for k in sorted(e) if k not in ("t", "do"))
        for ex in exs:
            ok, v = await lk.call(ex)
            hub.note("t=%g %s(%s)%s" % (e["t"], e["do"], args, "" if ok else " refused: %s" % v))
