# Does the real port do what the unix port does? Each scenario runs twice from the same file,
# the same World and the same seed: on the simulated board (`make sim`: the MicroPython unix
# port with the fake `machine`) and on the emulated Pico (`make sim TARGET=rp2040`: the real rp2
# port in rp2040js). The safety outcomes are then set side by side (issue 14: "the same alarms,
# stop/clamp rows within a tick, flows within noise"):
#   python -m tools.emu.compare [SCENARIO ...] [--out DIR] [--jobs N] [--json OUT]
# (no scenario: every board-pico file in examples/). Prints one line a scenario and a table;
# exit 1 when any scenario differs beyond the tolerances below (a finding: see docs/emulator.md).
# Needs ECMO_RP2_FIRMWARE and ECMO_RP2_BOOTROM as `make emu` does.
import argparse
import bisect
import csv
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Tolerances, and why. The target's rows come 10 a second (a row costs the chip real time) and
# the host's every tick, so an alarm's first-shown time can differ by a row (0.1 s) plus the
# REPL's typing of the operator's verbs on the chip (they land some ms later than on the host).
ALARM_S = 0.25
# The clamp: the target's from its pin (exact), the host's from its per-tick rows. Two ticks,
# then, for a clamp closed by an event of the World; an operator verb typed at the REPL lands
# up to a row later.
CLAMP_S = 0.12
# True values of the plant, compared at the target's row times with the host's rows within
# SLACK_S of it (the closest of them in value): the two runs' ticks and rows fall at different
# phases, and a row just after a step event (a volume loss) beside one just before it is a
# timing offset, not a different outcome. What is left differs by the verbs' latency, most where
# the circuit changes fastest, so the 95th percentile is judged, and the extremes over the run.
SLACK_S = 0.05
FLOW_LPM = 0.3
PRESS_MMHG = 15.0
EXTREME_PCT = 10.0
AIR_UL = 2.0
# The start: the real port boots, imports its .mpy files and takes the operator's setup lines
# at its REPL, so its pump starts ~0.75 s after the host's, and its start ramp (to 4.5 L/min by
# ~6 s) runs that much later. True values are compared from COMPARE_FROM_S (the events of a few
# scenarios come at 2-5 s: their alarms are still compared, their first seconds of true values
# not), alarms the host showed and cleared before the target's first row are left out (the
# target had no row yet to show them), and the clamp is judged from its first opening on (both
# boot with it closed).
COMPARE_FROM_S = 6.0
_TRUE = ("true_flow_lpm", "true_p1_mmhg", "true_p2_mmhg", "true_p3_mmhg")


def _run(cmd, log):
    with open(log, "w") as f:
        return subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode


def _rows(path):
    with open(path) as f:
        r = list(csv.DictReader(f))
    return [x for x in r if x.get("t_s")]


def _num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _pct(xs, p):
    s = sorted(xs)
    if not s:
        return 0.0
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def _clamp_host(rows):
    # the first closing of the clamp after it first opened (from the per-tick rows)
    opened = False
    for r in rows:
        if r.get("clamp_closed") == "0":
            opened = True
        elif opened and r.get("clamp_closed") == "1":
            return float(r["t_s"])
    return None


def _clamp_edges(summary, board):
    # the same from the clamp pin's edges (the target's to the cycle, the host's to the ms)
    pin, level = board.CLAMP["pin"], board.CLAMP["closed_level"]
    opened = False
    for p, v, t, _cyc in summary.get("pin_edges") or ():
        if p != pin:
            continue
        if v != level:
            opened = True
        elif opened:
            return t / 1e6
    return None


def judge(host_s, target_s, host_rows, target_rows, board):
    # the differences of one scenario's two runs, and whether each is within its tolerance
    d = {"differ": []}
    ta = dict(target_s["alarms_first_s"])
    t0 = float(target_rows[0]["t_s"]) if target_rows else 0.0
    # the host's first showing of each alarm from the target's first row on (the target had no
    # row before it: an alarm the host showed and cleared by then is left out, and one shown
    # again later, POWER_ON after a power cycle, is compared where the target could see it)
    ha = {}
    for r in host_rows:
        t = float(r["t_s"])
        if t >= t0:
            for c in (r.get("alarms") or "").split("|"):
                if c and c not in ha:
                    ha[c] = t
    # ... and one the host showed only before that which the chip shows at its own start (it
    # boots ~0.75 s later: POWER_ON in its first second)
    d["alarms_before_target_rows"] = sorted(c for c, _t in host_s["alarms_first_s"]
                                            if c not in ha and (c not in ta or ta[c] < t0 + 1.0))
    for c in d["alarms_before_target_rows"]:
        ta.pop(c, None)
    d["alarms_host_only"] = sorted(set(ha) - set(ta))
    d["alarms_target_only"] = sorted(set(ta) - set(ha))
    if d["alarms_host_only"] or d["alarms_target_only"]:
        d["differ"].append("alarms")
    dt = {c: round(ta[c] - ha[c], 3) for c in ha if c in ta}
    d["alarm_dt_s"] = dt
    late = {c: v for c, v in dt.items() if abs(v) > ALARM_S}
    if late:
        d["differ"].append("alarm times " + ",".join(sorted(late)))
    # (the host's rows stop while its chip boots: its pin edges where it has them)
    ch = _clamp_edges(host_s, board) if "pin_edges" in host_s else _clamp_host(host_rows)
    ct = _clamp_edges(target_s, board)
    d["clamp_s"] = [ch, ct]
    if (ch is None) != (ct is None) or (ch is not None and abs(ct - ch) > CLAMP_S):
        d["differ"].append("clamp")
    d["boots"] = [len(host_s["boots"]), len(target_s["boots"])]
    if d["boots"][0] != d["boots"][1]:
        d["differ"].append("boots")
    air = [host_s["air_to_patient_ul"], target_s["air_to_patient_ul"]]
    d["air_to_patient_ul"] = air
    if abs(air[0] - air[1]) > max(AIR_UL, EXTREME_PCT / 100.0 * max(air)):
        d["differ"].append("air to patient")
    d["errors"] = [len(host_s["errors"]), len(target_s["errors"])]
    if d["errors"][1] > d["errors"][0]:
        d["differ"].append("REPL errors on the target")
    ht = [float(r["t_s"]) for r in host_rows]
    if not any(float(r["t_s"]) >= COMPARE_FROM_S for r in target_rows) or \
            not any(t >= COMPARE_FROM_S for t in ht):
        d["differ"].append("no rows to compare from %g s" % COMPARE_FROM_S)
    for c in _TRUE:
        diffs = []
        hv = [_num(r.get(c)) for r in host_rows]
        tv = []
        for r in target_rows:
            v = _num(r.get(c))
            t = float(r["t_s"])
            if v is None or t < COMPARE_FROM_S:
                continue
            tv.append(v)
            i = bisect.bisect_left(ht, t - SLACK_S)
            near = []
            while i < len(ht) and ht[i] <= t + SLACK_S:
                if hv[i] is not None:
                    near.append(abs(v - hv[i]))
                i += 1
            if near:
                diffs.append(min(near))
        hvv = [v for v, t in zip(hv, ht) if v is not None and t >= COMPARE_FROM_S]
        if not diffs or not hvv:
            continue
        tol = FLOW_LPM if c == "true_flow_lpm" else PRESS_MMHG
        p95 = _pct(diffs, 95)
        ext = [[round(min(hvv), 2), round(max(hvv), 2)], [round(min(tv), 2), round(max(tv), 2)]]
        d[c] = {"p50": round(_pct(diffs, 50), 3), "p95": round(p95, 3),
                "max": round(max(diffs), 3), "host_min_max": ext[0], "target_min_max": ext[1]}
        if p95 > tol:
            d["differ"].append(c + " p95")
        for k in (0, 1):
            a, b = ext[0][k], ext[1][k]
            if abs(a - b) > max(tol, EXTREME_PCT / 100.0 * max(abs(a), abs(b))):
                d["differ"].append(c + (" min" if k == 0 else " max"))
    return d


def one(path, out, log=print):
    sys.path.insert(0, os.path.join(ROOT, "tools", "sim"))
    sys.path.insert(0, os.path.join(ROOT, "boards"))
    import scenario as SC
    sc = SC.load(path)
    name = os.path.splitext(os.path.basename(path))[0]
    base = os.path.join(out, name)
    h, t = os.path.join(base, "host"), os.path.join(base, "rp2040")
    for p in (h, t):
        os.makedirs(p, exist_ok=True)
    rc_h = _run([sys.executable, "-m", "tools.sim", path, "--out", h, "--no-plot", "--quiet"],
                os.path.join(base, "host.log"))
    rc_t = _run([sys.executable, "-m", "tools.emu.scenario", path, t, "--quiet"],
                os.path.join(base, "rp2040.log"))
    res = {"scenario": os.path.relpath(path, ROOT), "name": sc["name"]}
    with open(os.path.join(base, "rp2040.log")) as f:
        why = [ln for ln in f if "does not run scenarios" in ln or "runs board pico" in ln]
    if rc_t and why:
        res["not_run"] = why[0].strip()          # the target runner cannot run it: said, not a finding
        res["differ"] = []
        return res
    if rc_h or rc_t:
        res["differ"] = ["run failed (host rc %d, target rc %d; logs in %s)" % (rc_h, rc_t, base)]
        return res
    with open(os.path.join(h, "summary.json")) as f:
        hs = json.load(f)
    with open(os.path.join(t, "summary.json")) as f:
        ts = json.load(f)
    board = __import__("board_" + sc["board"])
    res.update(judge(hs, ts, _rows(os.path.join(h, "telemetry.csv")),
                     _rows(os.path.join(t, "telemetry.csv")), board))
    res["wall_s"] = ts.get("wall_s")
    return res


def _line(r):
    if r.get("not_run"):
        return "%-40s not run on the target: %s" % (os.path.basename(r["scenario"]), r["not_run"])
    ok = "same" if not r["differ"] else "DIFFERS: " + "; ".join(r["differ"])
    f = r.get("true_flow_lpm") or {}
    p = [r.get(c, {}).get("p95") for c in _TRUE[1:]]
    return "%-40s %s  (alarm dt max %s s, clamp %s, flow p95 %s L/min, P1/P2/P3 p95 %s mmHg)" % (
        os.path.basename(r["scenario"]), ok,
        max([abs(v) for v in r.get("alarm_dt_s", {}).values()] or [0]),
        r.get("clamp_s"), f.get("p95"), p)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.emu.compare",
                                 description="each scenario on the unix port and on the "
                                             "emulated Pico: outcomes side by side")
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "compare"))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", help="write the results to this file")
    a = ap.parse_args(argv)
    for v in ("ECMO_RP2_FIRMWARE", "ECMO_RP2_BOOTROM"):
        if not os.path.isfile(os.environ.get(v, "")):
            print("compare: %s is not set to a file (README, 'Emulated Pico')" % v,
                  file=sys.stderr)
            return 2
    paths = [os.path.abspath(p) for p in a.scenarios]
    if not paths:
        for p in sorted(glob.glob(os.path.join(ROOT, "examples", "*.json"))):
            with open(p) as f:
                if json.load(f).get("board", "pico") == "pico":
                    paths.append(p)
    # the deployed flash is built once, before the runs share it (tools/emu/scenario.py caches)
    from tools.emu.scenario import deployed_flash
    deployed_flash("pico", lambda m: None)
    results = []
    with ThreadPoolExecutor(max(1, a.jobs)) as ex:
        for r in ex.map(lambda p: one(p, a.out), paths):
            print(_line(r), flush=True)
            results.append(r)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    n = sum(1 for r in results if r["differ"])
    skipped = sum(1 for r in results if r.get("not_run"))
    print("compare: %d scenarios, %d the same within the tolerances, %d differ, %d not run on "
          "the target" % (len(results), len(results) - n - skipped, n, skipped))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
