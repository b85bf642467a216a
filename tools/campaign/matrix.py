# The declared campaign matrix: sensors x fault kinds x disturbances x fault timing x profiles x
# boards, plus a seeded random sample of larger combinations. Every case is a plain dict with a
# stable id; scenario(case) turns it into a scenario file that `make sim` runs as it stands.
#
# Sensors and fault kinds are read from the simulated world (tools/sim/world.py: SENSORS,
# fault_kinds(board, sensor)), so a kind added there is in the next campaign without an edit
# here. Disturbances are the scenario verbs (tools/sim/scenario.py VERBS) put in a clinical
# context: what happens, and what the operator then does. verbs_not_covered() names the verbs no
# disturbance uses, so a new one shows up in the report.
import os
import random
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DURATION_S = 24.0
T_DIST = 10.0           # the disturbance starts here; the pump has settled by then
FLOW_LPM = 4.0          # flow mode at 4 L/min: the flow loop and every interlock in play
TIMINGS = ("before", "during", "after")
PROFILES = ("VA", "VV")
BOARDS = ("pico", "esp32")
FAULT_BEFORE_S = 4.0    # "before": the fault is in place 4 s before the disturbance


def _sim_paths():
    for p in (os.path.join(ROOT, "tools", "sim", "hw"), os.path.join(ROOT, "boards"),
              os.path.join(ROOT, "tools", "sim"), os.path.join(ROOT, "firmware")):
        if p not in sys.path:
            sys.path.insert(0, p)


def sensor_faults(board):
    # (sensor, kind) the simulated rig supports on this board, in the world's order
    _sim_paths()
    import world
    b = __import__("board_" + board)
    out = []
    for s in world.SENSORS:
        for k in world.fault_kinds(b, s):
            out.append((s, k))
    return out


def _other(profile):
    return "VV" if profile == "VA" else "VA"


# name -> (hazard it exercises, span s (when the disturbance is over), events(profile) with t
# relative to its start). The operator's reaction is part of it: after an air stop he de-airs,
# acknowledges and restarts, as the bench procedure says.
DISTURBANCES = {
    "none": ("-", 0.0, lambda p: []),
    "volume_loss": ("H03", 6.0, lambda p: [
        (0.0, {"do": "volume_loss", "ml": 800}), (6.0, {"do": "volume_gain", "ml": 800})]),
    "occlusion_venous": ("H03", 5.0, lambda p: [
        (0.0, {"do": "occlusion", "line": "venous", "fraction": 0.8}),
        (5.0, {"do": "occlusion", "line": "venous", "fraction": 0.0})]),
    "occlusion_arterial": ("H04", 5.0, lambda p: [
        (0.0, {"do": "occlusion", "line": "arterial", "fraction": 0.8}),
        (5.0, {"do": "occlusion", "line": "arterial", "fraction": 0.0})]),
    "clot": ("H05", 0.0, lambda p: [(0.0, {"do": "clot", "factor": 4.0})]),
    "setpoint_up": ("H04", 0.0, lambda p: [(0.0, {"do": "set_flow", "lpm": 6.0})]),
    "setpoint_down": ("H06", 0.0, lambda p: [(0.0, {"do": "set_flow", "lpm": 2.0})]),
    "air": ("H01", 3.0, lambda p: [
        (0.0, {"do": "bubble", "volume_ul": 50, "at_m": 4.5}), (2.0, {"do": "deair"}),
        (2.2, {"do": "deaired"}), (2.5, {"do": "ack"}), (3.0, {"do": "restart"})]),
    "estop": ("H02", 3.0, lambda p: [
        (0.0, {"do": "estop"}), (2.0, {"do": "estop_release"}), (2.5, {"do": "ack"}),
        (3.0, {"do": "restart"})]),
    "power_cycle": ("H21", 3.0, lambda p: [
        (0.0, {"do": "power_cycle"}), (3.0, {"do": "ack"}), (3.0, {"do": "run"})]),
    "reset": ("H11", 3.0, lambda p: [
        (0.0, {"do": "reset"}), (3.0, {"do": "ack"})] +
        ([(3.0, {"do": "run"})] if p == "VV" else [])),
    "profile_switch": ("-", 4.0, lambda p: [
        (0.0, {"do": "repl", "line": "rig.profile('%s')" % _other(p)}),
        (4.0, {"do": "repl", "line": "rig.profile('%s')" % p})]),
    "mode_switch": ("-", 4.0, lambda p: [
        (0.0, {"do": "set_control", "control": "rpm"}),
        (4.0, {"do": "set_control", "control": "flow"})]),
    # REPL commands at the wrong time
    "repl_restart_in_air": ("H01", 6.0, lambda p: [
        # ack + restart as soon as the detector reads clear, before anyone de-airs
        (0.0, {"do": "bubble", "volume_ul": 50, "at_m": 4.5}),
        # (#12: refused until the de-air is confirmed); then the procedure: de-air, confirm
        (1.2, {"do": "repl", "line": "rig.ack()"}), (1.3, {"do": "repl", "line": "rig.restart()"}),
        (5.0, {"do": "deair"}), (5.2, {"do": "deaired"}), (5.5, {"do": "ack"}),
        (6.0, {"do": "restart"})]),
    "air_then_power_cycle": ("H01", 6.0, lambda p: [
        # an air stop, then a brownout; the operator tries to start the pump after power-on
        # (refused: the stop was kept on flash, H21), then de-airs, confirms, acknowledges and
        # restarts; the restart returns to standby after a power cycle, so run() with it
        (0.0, {"do": "bubble", "volume_ul": 50, "at_m": 4.5}), (1.5, {"do": "power_cycle"}),
        (3.0, {"do": "ack"}), (3.0, {"do": "run"}), (5.0, {"do": "deair"}),
        (5.2, {"do": "deaired"}), (5.5, {"do": "ack"}), (6.0, {"do": "restart"}),
        (6.0, {"do": "run"})]),
    "profile_switch_low_speed": ("H07", 5.0, lambda p: [
        # the other profile's limits while running, then the speed turned down
        (0.0, {"do": "repl", "line": "rig.profile('%s')" % _other(p)}),
        (0.5, {"do": "set_control", "control": "rpm"}), (0.6, {"do": "set_rpm", "rpm": 800}),
        (5.0, {"do": "repl", "line": "rig.profile('%s')" % p}),
        (5.0, {"do": "set_control", "control": "flow"})]),
    "repl_clamp_running": ("H04", 4.0, lambda p: [
        (0.0, {"do": "repl", "line": "rig.clamp(True)"}),
        (4.0, {"do": "repl", "line": "rig.clamp(False)"})]),
    "repl_reboot_running": ("H11", 3.0, lambda p: [
        (0.0, {"do": "repl", "line": "rig.reboot()"}), (3.0, {"do": "run"})]),
    "repl_save_load_running": ("H13", 1.0, lambda p: [
        (0.0, {"do": "repl", "line": "rig.save()"}), (0.5, {"do": "repl", "line": "rig.load()"}),
        (1.0, {"do": "repl", "line": "rig.limit('p1_crit_dmmhg', -1200)"})]),
}

# verbs that are not disturbances of their own (setup, or the operator's reaction inside one)
NOT_DISTURBANCES = ("set_rpm", "run", "standby", "ack", "restart", "deair", "deaired", "volume_gain",
                    "estop_release", "sensor_fault", "sensor_ok")


def verbs_not_covered():
    # scenario verbs (pump side) no disturbance uses: new ones from main show up here
    _sim_paths()
    import scenario
    used = set(NOT_DISTURBANCES)
    for name in DISTURBANCES:
        for _, e in DISTURBANCES[name][2]("VA"):
            used.add(e["do"])
    return sorted(v for v in scenario.VERBS if v not in used)


def fault_time(dist, timing):
    span = DISTURBANCES[dist][1]
    if timing == "before":
        return T_DIST - FAULT_BEFORE_S
    if timing == "during":
        return T_DIST + 0.5
    return T_DIST + span + 1.0


def case_seed(case_id, seed):
    # stable across runs, machines and Python versions (not hash())
    return (zlib.crc32(case_id.encode()) ^ (seed * 2654435761)) % 2147483647


def _case(board, profile, dist, faults, timing, seed, kind="matrix"):
    fid = "+".join("%s.%s" % (s, k) for s, k, _ in faults) or "nofault"
    cid = "%s-%s-%s-%s-%s" % (board, profile, fid, dist, timing)
    return {"id": cid, "kind": kind, "board": board, "profile": profile, "dist": dist,
            "timing": timing, "faults": [list(f) for f in faults],
            "sensor": "+".join("%s.%s" % (s, k) for s, k, _ in faults) or "none",
            "seed": case_seed(cid, seed)}


def matrix(boards=BOARDS, profiles=PROFILES, timings=TIMINGS, dists=None, seed=1):
    # the full cross product, in a fixed order
    dists = list(DISTURBANCES) if dists is None else list(dists)
    out = []
    for b in boards:
        sf = sensor_faults(b)
        for p in profiles:
            for d in dists:
                out.append(_case(b, p, d, [], "-", seed))
                for s, k in sf:
                    for tm in timings:
                        if d == "none" and tm != "during":
                            continue    # no disturbance: one timing is all there is
                        out.append(_case(b, p, d, [(s, k, fault_time(d, tm))], tm, seed))
    return out


# ---- the declared campaign (the "full" tier): what a 2-core machine completes in about an hour
# The whole cross product above (matrix(): 9536 runs, some 2 s of CPU each, 6-10 s wall on a
# loaded machine) is five hours of one core. The declared campaign keeps every disturbance and every fault kind and cuts the
# axes where runs are equivalent or a rotation covers them (docs/campaign.md says the same):
#  A. no fault: every disturbance x both profiles (the board alternates);
#  B. every (sensor, fault kind) of the world once without a disturbance (does each one raise
#     its sensor alarm?), board and profile in rotation;
#  C. a representative kind of each class x every disturbance, with (timing, profile, board)
#     in rotation over the 12 combinations: each kind meets every timing, profile and board,
#     each disturbance meets them too. Left out of C are the kinds that reach the firmware the
#     same way as their representative: open / short / nan (an analog input out of range: the
#     sensor is marked invalid) as "open"; i2c / nack / timeout / stale / diag (an I2C part
#     that does not answer or flags its status) as "i2c"; saturated_low as "saturated" (the
#     other rail, the same "reading pinned at a rail" check); bubble short as open (both a
#     faulted detector, restart refused).
#     P2 and P3 are the same part on the same kind of bus: "slow" is run on P2 only, "offset"
#     and "saturated" on P3 only (the part's reaction is the same; what a wrong P3 hides, the
#     over-pressure interlock, is the more dangerous); noise is run on flow only (P2 noise: B).
REPRESENTATIVES = (
    ("p1", "open"), ("p1", "stuck"), ("p1", "saturated"), ("p1", "offset"),
    ("p2", "i2c"), ("p2", "stuck"), ("p2", "slow"),
    ("p3", "i2c"), ("p3", "stuck"), ("p3", "saturated"), ("p3", "offset"),
    ("flow", "open"), ("flow", "stuck"), ("flow", "noise"), ("flow", "saturated"),
    ("flow", "offset"),
    ("bubble", "open"), ("bubble", "stuck"),
    ("tach", "open"), ("tach", "stuck"),
)
DECLARED_SAMPLE = 10     # plus this many random larger combinations (sample())


def _combos(timings, profiles, boards):
    return [(t, p, b) for b in boards for p in profiles for t in timings]


def declared(seed=1, boards=BOARDS, profiles=PROFILES, timings=TIMINGS, sample_n=DECLARED_SAMPLE):
    out = []
    dists = list(DISTURBANCES)
    bp = [(b, p) for p in profiles for b in boards]
    for j, d in enumerate(dists):                                   # A
        for i, p in enumerate(profiles):
            out.append(_case(boards[(i + j) % len(boards)], p, d, [], "-", seed))
    kinds = {}
    for b in boards:
        for sk in sensor_faults(b):
            kinds.setdefault(sk, []).append(b)
    for i, (s, k) in enumerate(sorted(kinds, key=lambda x: (SENSOR_ORDER(x[0]), x[1]))):   # B
        b, p = bp[i % len(bp)]
        if b not in kinds[(s, k)]:
            b = kinds[(s, k)][0]
        out.append(_case(b, p, "none", [(s, k, fault_time("none", "during"))], "during", seed))
    combos = _combos(timings, profiles, boards)
    reps = [sk for sk in REPRESENTATIVES if sk in kinds]
    for i, (s, k) in enumerate(reps):                               # C
        for j, d in enumerate(dists):
            if d == "none":
                continue
            tm, p, b = combos[(i + j) % len(combos)]
            if b not in kinds[(s, k)]:
                b = kinds[(s, k)][0]
            out.append(_case(b, p, d, [(s, k, fault_time(d, tm))], tm, seed))
    return out + sample(sample_n, seed, boards, profiles)


def SENSOR_ORDER(s):
    _sim_paths()
    import world
    return world.SENSORS.index(s)


def sample(n, seed=1, boards=BOARDS, profiles=PROFILES):
    # larger combinations: 2-3 faults at random times and 2 disturbances, seeded
    rng = random.Random(seed * 7919 + 17)
    dists = [d for d in DISTURBANCES if d != "none"]
    out = []
    for i in range(n):
        b = rng.choice(boards)
        p = rng.choice(profiles)
        sf = sensor_faults(b)
        nf = rng.randint(2, 3)
        picks = rng.sample(sf, nf)
        # one fault per sensor at a time (a second on the same sensor replaces the first)
        seen = set()
        faults = []
        for s, k in picks:
            if s not in seen:
                seen.add(s)
                faults.append((s, k, round(rng.uniform(3.0, 15.0), 2)))
        faults.sort(key=lambda f: f[2])
        ds = rng.sample(dists, 2)
        c = _case(b, p, "+".join(ds), faults, "random", seed, kind="sample")
        c["id"] = "sample%04d-%s" % (i, c["id"])
        c["dists"] = ds
        c["dist_times"] = [T_DIST - 3.0 + round(rng.uniform(0, 3.0), 2), T_DIST + 3.0]
        c["seed"] = case_seed(c["id"], seed)
        out.append(c)
    return out


def scenario(case):
    # the scenario file for a case: a plain `make sim` input
    events = []
    dists = case.get("dists") or [case["dist"]]
    times = case.get("dist_times") or [T_DIST]
    for d, t0 in zip(dists, times):
        for dt, e in DISTURBANCES[d][2](case["profile"]):
            ev = {"t": round(t0 + dt, 3)}
            ev.update(e)
            events.append(ev)
    for s, k, t in case["faults"]:
        events.append({"t": round(t, 3), "do": "sensor_fault", "sensor": s, "kind": k})
    events.sort(key=lambda e: e["t"])
    return {"name": "campaign " + case["id"],
            "description": "Fault campaign case (tools/campaign): disturbance %s, sensor fault %s"
                           " (%s), %s on %s." % (case["dist"], case["sensor"], case["timing"],
                                                 case["profile"], case["board"]),
            "profile": case["profile"], "board": case["board"], "duration_s": DURATION_S,
            "control": "flow", "flow_lpm": FLOW_LPM, "seed": case["seed"], "events": events}


QUICK = (
    # the quick tier: one case per criterion it should exercise, fixed (make test)
    ("pico", "VA", "volume_loss", [], "-"),
    ("pico", "VA", "air", [], "-"),
    ("pico", "VV", "estop", [], "-"),
    ("esp32", "VA", "occlusion_arterial", [], "-"),
    ("pico", "VA", "none", [("p1", "open")], "during"),
    ("pico", "VV", "volume_loss", [("flow", "stuck")], "before"),
    ("esp32", "VA", "air", [("bubble", "stuck")], "before"),
    ("pico", "VA", "setpoint_down", [("tach", "open")], "after"),
    ("pico", "VV", "reset", [("p3", "nack")], "during"),
    ("esp32", "VV", "power_cycle", [], "-"),
)


def quick(seed=1):
    out = []
    for b, p, d, fs, tm in QUICK:
        faults = [(s, k, fault_time(d, tm)) for s, k in fs]
        out.append(_case(b, p, d, faults, tm, seed))
    return out
