# Campaign results a reviewer can read: a table per criterion and per hazard (runs, failures,
# worst case with its scenario file), a sensor x disturbance heat-map, every failing case as a
# scenario file `make sim` reproduces, and the summary page (docs/campaign.md).
import json
import os
import re

from tools.campaign import matrix
from tools.sim import criteria

EXTRA = (("run_error", "-", "", "the run itself failed (runner error or hung)"),)


def _crit_rows():
    return tuple(criteria.CRITERIA) + EXTRA


def file_name(case_id):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", case_id) + ".json"


def hazards(case):
    hs = set()
    for d in case.get("dists") or [case["dist"]]:
        h = matrix.DISTURBANCES[d][0]
        if h != "-":
            hs.add(h)
    for s, _, _ in case["faults"]:
        hs.add("H12" if s == "tach" else "H08")
    return sorted(hs) or ["-"]


def _value(res, k):
    v = res["verdict"]
    if v is None or k not in v:
        return None
    return v[k]["value"]


def _fmt(k, v):
    if v is None:
        return "-"
    if k == "sensor_silent" and v >= 1e9:
        return "never"
    unit = {"air_to_patient": " uL", "false_high": ""}.get(k, " s")
    return ("%.0f" % v if k == "false_high" else "%.2f" % v) + unit


def summarize(results):
    # per criterion and per hazard: runs, failures, worst case
    crit = {}
    for k, hz, unit, text in _crit_rows():
        crit[k] = {"hazard": hz, "text": text, "judged": 0, "fail": 0, "worst": None,
                   "worst_id": None}
    haz = {}
    for r in results:
        v = r["verdict"] or {}
        for k in crit:
            c = crit[k]
            if k == "run_error":
                c["judged"] += 1
                if r["error"]:
                    c["fail"] += 1
                    c["worst_id"] = c["worst_id"] or r["id"]
                continue
            if k not in v or not v[k]["judged"]:
                continue
            c["judged"] += 1
            val = v[k]["value"]
            if v[k]["fail"]:
                c["fail"] += 1
            # worst: the largest value, failures first
            key = (1 if v[k]["fail"] else 0, val)
            if c["worst"] is None or key > c["worst"]:
                c["worst"] = key
                c["worst_id"] = r["id"]
        for h in hazards(r["case"]):
            e = haz.setdefault(h, {"runs": 0, "fail": 0, "criteria": {}, "worst_id": None,
                                   "worst_n": 0})
            e["runs"] += 1
            if r["failed"]:
                e["fail"] += 1
                for k in r["failed"]:
                    e["criteria"][k] = e["criteria"].get(k, 0) + 1
                if len(r["failed"]) > e["worst_n"]:
                    e["worst_n"] = len(r["failed"])
                    e["worst_id"] = r["id"]
    return crit, haz


def heat(results, by_kind=False):
    # sensor (or sensor.kind) x disturbance: [runs, failures]
    cells = {}
    for r in results:
        c = r["case"]
        if c["kind"] != "matrix":
            continue
        s = c["sensor"] if by_kind or not c["faults"] else c["faults"][0][0]
        cell = cells.setdefault((s, c["dist"]), [0, 0])
        cell[0] += 1
        if r["failed"]:
            cell[1] += 1
    return cells


def heatmap(results, path, by_kind=False):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = heat(results, by_kind)
    if not cells:
        return None
    sensors = sorted(set(s for s, _ in cells), key=lambda s: (s != "none", s))
    dists = [d for d in matrix.DISTURBANCES if any((s, d) in cells for s in sensors)]
    grid = [[None] * len(dists) for _ in sensors]
    for i, s in enumerate(sensors):
        for j, d in enumerate(dists):
            if (s, d) in cells:
                n, f = cells[(s, d)]
                grid[i][j] = f / float(n)
    import numpy as np
    a = np.array([[np.nan if x is None else x for x in row] for row in grid])
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(dists), 1.2 + 0.3 * len(sensors)))
    im = ax.imshow(a, cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(dists)))
    ax.set_xticklabels(dists, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(sensors)))
    ax.set_yticklabels(sensors, fontsize=7)
    for i, s in enumerate(sensors):
        for j, d in enumerate(dists):
            if (s, d) in cells:
                n, f = cells[(s, d)]
                ax.text(j, i, "%d/%d" % (f, n), ha="center", va="center", fontsize=5,
                        color="white" if f > 0.6 * n else "black")
    ax.set_title("failing runs / runs: %s x disturbance" % ("sensor fault kind" if by_kind
                                                           else "faulty sensor"), fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03, label="share of runs failing")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_failures(results, folder):
    # every failing case as a scenario file: `make sim SCENARIO=<file>` reproduces it
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for r in results:
        if r["failed"]:
            p = os.path.join(folder, file_name(r["id"]))
            with open(p, "w") as f:
                json.dump(matrix.scenario(r["case"]), f, indent=1)
                f.write("\n")
            paths[r["id"]] = p
    return paths


def tables_md(results, link):
    # link(case id) -> the scenario file's path as the page shows it
    crit, haz = summarize(results)
    L = ["| criterion | hazard | runs judged | failures | worst | worst case |",
         "|---|---|---|---|---|---|"]
    for k, hz, unit, text in _crit_rows():
        c = crit[k]
        worst = "-"
        if c["worst"] is not None:
            worst = _fmt(k, c["worst"][1])
        case = "`%s`" % link(c["worst_id"]) if c["worst_id"] and c["fail"] else "-"
        L.append("| %s: %s | %s | %d | %d | %s | %s |"
                 % (k, text, hz, c["judged"], c["fail"], worst, case))
    L += ["", "| hazard | runs | failing runs | failures by criterion | worst case |",
          "|---|---|---|---|---|"]
    for h in sorted(haz):
        e = haz[h]
        by = ", ".join("%s %d" % (k, e["criteria"][k]) for k in sorted(e["criteria"])) or "-"
        case = "`%s`" % link(e["worst_id"]) if e["worst_id"] else "-"
        L.append("| %s | %d | %d | %s | %s |" % (h, e["runs"], e["fail"], by, case))
    return "\n".join(L)


def failures_md(results, link, owner=None, now=None):
    # one line per failing run; owner(result) -> where the failure belongs (issue, reason);
    # now(result) -> what a re-run on newer firmware gave
    L = ["| case | failed | detail | belongs to |" + (" now |" if now else ""),
         "|---|---|---|---|" + ("---|" if now else "")]
    for r in sorted(results, key=lambda r: r["id"]):
        if not r["failed"]:
            continue
        det = []
        for k in r["failed"]:
            if k == "run_error":
                det.append("run error: %s" % r["error"])
            else:
                det.append("%s: %s" % (k, r["verdict"][k]["detail"]))
        L.append("| `%s` | %s | %s | %s |" % (link(r["id"]), ", ".join(r["failed"]),
                                               "; ".join(det).replace("|", "/"),
                                               owner(r) if owner else "-")
                 + (" %s |" % now(r) if now else ""))
    return "\n".join(L)
