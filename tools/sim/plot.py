# plot.png from a telemetry CSV (a simulator run's, or one `ecmo monitor` recorded): flow and
# setpoint, RPM, P1/P2/P3 with the profile's P1/P3 limits, the gas side and saturation/temperature
# when the board has them, events as dotted lines, alarms as bands coloured by priority and
# labelled by code. Host side (CPython + matplotlib, Agg backend). docs/reading-a-plot.md.
# Alarm priorities and default limits are read from the firmware's own tables (parsed, not
# imported: those modules need MicroPython's `const` and ticks), so a plot never disagrees
# with what the firmware does.
import ast
import csv
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAFETY = os.path.join(ROOT, "firmware", "ecmo", "safety")
PRIORITY_COLOR = {3: "#d62728", 2: "#ff9f1c", 1: "#17becf"}    # HIGH red, MEDIUM orange, LOW cyan
OTHER_COLOR = "#7f7f7f"         # a code the firmware's table does not name


def _assignments(path):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    return {n.targets[0].id: n.value for n in tree.body
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}


def alarm_priorities(path=os.path.join(SAFETY, "alarms.py")):
    # code name -> 1 (LOW), 2 (MEDIUM), 3 (HIGH), from alarms.py NAMES and PRIORITY
    a = _assignments(path)
    level = {k: v.args[0].value for k, v in a.items()
             if isinstance(v, ast.Call) and getattr(v.func, "id", "") == "const"
             and k in ("LOW", "MEDIUM", "HIGH")}
    names = ast.literal_eval(a["NAMES"])
    prio = [level[e.id] for e in a["PRIORITY"].args[0].elts]     # bytes((HIGH, HIGH, ...))
    return dict(zip(names, prio))


def default_limits(profile, path=os.path.join(SAFETY, "profiles.py")):
    # limit name -> the profile's default, in firmware units (profiles.py LIMITS: VA, VV, ...)
    col = 1 if profile == "VV" else 0
    return {k: v[col] for k, v in ast.literal_eval(_assignments(path)["LIMITS"]).items()}


def _col(rows, name):
    out = []
    for r in rows:
        v = r.get(name, "")
        try:
            out.append(float(v) if v != "" else float("nan"))
        except ValueError:
            out.append(float("nan"))
    return out


def alarm_bands(t, rows):
    # code -> [(t_start, t_end)], from the alarms column (codes joined with |)
    bands = {}
    open_at = {}
    for i, r in enumerate(rows):
        now = set(c for c in r.get("alarms", "").split("|") if c)
        for c in now:
            if c not in open_at:
                open_at[c] = t[i]
        for c in list(open_at):
            if c not in now:
                bands.setdefault(c, []).append((open_at.pop(c), t[i]))
    end = t[-1] if t else 0.0
    for c, t0 in open_at.items():
        bands.setdefault(c, []).append((t0, end))
    return bands


REQUIRED = ("t_s", "flow_lpm", "rpm")     # a CSV without these is not telemetry


def read(csv_path):
    # (rows, meta): telemetry rows as dicts, and the "# key: value" lines `ecmo monitor` writes
    # before the header. A file that is not telemetry is a SystemExit naming what is missing.
    meta, lines = {}, []
    try:
        with open(csv_path, newline="") as f:
            for ln in f:
                if ln.startswith("#") and not lines:
                    k, _, v = ln[1:].partition(":")
                    if v:
                        meta[k.strip()] = v.strip()
                elif ln.strip():
                    lines.append(ln)
    except UnicodeDecodeError:
        raise SystemExit("%s is not a telemetry CSV (not text): give the CSV from `ecmo monitor "
                         "--csv` or a run's OUT folder" % csv_path)
    rows = list(csv.DictReader(lines))
    cols = list(rows[0]) if rows else (lines[0].strip().split(",") if lines else [])
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise SystemExit("%s is not a telemetry CSV: no %s column%s (it has: %s). Record one with "
                         "`ecmo monitor --csv FILE` or `make sim`"
                         % (csv_path, ", ".join(missing), "s" if len(missing) > 1 else "",
                            ", ".join(cols[:8]) or "nothing"))
    if not rows:
        raise SystemExit("%s has no telemetry rows: nothing to plot (did the recording start? "
                         "`ecmo monitor` needs the rig's telemetry on)" % csv_path)
    t = _col(rows, "t_s")
    bad = sum(1 for v in t if v != v)
    if bad:
        raise SystemExit("%s: %d of %d rows have no number in t_s: not a telemetry CSV, or a "
                         "damaged one" % (csv_path, bad, len(rows)))
    return rows, meta


def _has(rows, name):
    return any(r.get(name) not in (None, "") for r in rows)


def events_of(out_dir, rows, t):
    # [(t, label)]: the scenario's events (tools/sim/host.py leaves them in OUT/events.json),
    # else the onsets of alarms in the recording (the alarm log as the CSV shows it)
    try:
        with open(os.path.join(out_dir, "events.json")) as f:
            evs = json.load(f)
    except (OSError, ValueError):
        evs = None
    if evs:
        out = []
        for e in evs:
            extra = " ".join("%s=%s" % (k, e[k]) for k in e if k not in ("t", "do"))
            out.append((float(e["t"]), (e["do"] + " " + extra).strip()))
        return out, "scenario events"
    seen, out = set(), []
    for i, r in enumerate(rows):
        now = set(c for c in r.get("alarms", "").split("|") if c)
        for c in sorted(now - seen):
            out.append((t[i], c))
        seen = now
    return out, "alarm onsets"


def _title(csv_path, out_dir, meta):
    try:
        with open(os.path.join(out_dir, "summary.json")) as f:
            return json.load(f)["name"]
    except (OSError, ValueError, KeyError):
        pass
    name = os.path.splitext(os.path.basename(csv_path))[0]
    bits = [meta[k] for k in ("board", "firmware", "start_utc") if k in meta]
    return name + (" (%s)" % ", ".join(bits) if bits else "")


def plot(csv_path, output=None, title=None, events=None):
    # csv_path: a telemetry CSV or a run's OUT dir (its telemetry.csv); output: the PNG, by
    # default plot.png beside the CSV (missing folders are made). Columns a CSV lacks (true_*,
    # the gas side) are left out; events: [(t, label)], by default read by events_of().
    if os.path.isdir(csv_path):
        csv_path = os.path.join(csv_path, "telemetry.csv")
    out_dir = os.path.dirname(os.path.abspath(csv_path))
    rows, meta = read(csv_path)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    gas = "sweep_lpm" in rows[0]
    oxy = _has(rows, "sat_post_pct") or _has(rows, "temp_c")
    title = title or _title(csv_path, out_dir, meta)
    t = _col(rows, "t_s")
    if events is None:
        events, ev_kind = events_of(out_dir, rows, t)
    else:
        ev_kind = "events"
    bands = alarm_bands(t, rows)
    codes = sorted(bands, key=lambda c: bands[c][0][0])
    prio = alarm_priorities()
    color = dict((c, PRIORITY_COLOR.get(prio.get(c), OTHER_COLOR)) for c in codes)
    profile = rows[0].get("profile") or "VA"
    lim = default_limits(profile)
    true_flow = _has(rows, "true_flow_lpm")
    true_p = any(_has(rows, "true_%s_mmhg" % n) for n in ("p1", "p2", "p3"))

    ratios = [3, 2, 3] + ([2.5] if gas else []) + ([2] if oxy else []) \
        + [max(1.2, 0.35 * len(codes))]
    fig, ax = plt.subplots(len(ratios), 1, sharex=True,
                           figsize=(12, 9.5 + (2.5 if gas else 0) + (2 if oxy else 0)),
                           gridspec_kw={"height_ratios": ratios})
    panels = ax[:-1]
    a = ax[0]
    a.plot(t, _col(rows, "flow_lpm"), color="#1f77b4", lw=1.0,
           label="flow (measured)" if true_flow else "flow")
    if true_flow:
        a.plot(t, _col(rows, "true_flow_lpm"), color="#1f77b4", lw=0.8, ls=":", label="flow (true)")
    a.plot(t, _col(rows, "flow_setpoint_lpm"), color="k", lw=1.2, ls="--", label="setpoint")
    a.set_ylabel("blood flow [L/min]")
    a.legend(loc="upper left", fontsize=8, ncol=3)
    a = ax[1]
    a.plot(t, _col(rows, "rpm"), color="#2ca02c", lw=1.0, label="RPM (tach)")
    if "duty" in rows[0]:
        a.plot(t, [d * 5000.0 / 65535.0 for d in _col(rows, "duty")], color="#2ca02c", lw=0.8,
               ls="--", label="RPM commanded (duty)")
    a.set_ylabel("pump speed [RPM]")
    a.legend(loc="upper left", fontsize=8, ncol=2)
    a = ax[2]
    for name, c in (("p1", "#9467bd"), ("p2", "#d62728"), ("p3", "#ff7f0e")):
        a.plot(t, _col(rows, name + "_mmhg"), color=c, lw=1.0, label=name.upper())
        if _has(rows, "true_" + name + "_mmhg"):
            a.plot(t, _col(rows, "true_" + name + "_mmhg"), color=c, lw=0.7, ls=":")
    # the profile's default limits (the firmware's table; a rig.limit() change is not in the CSV)
    for key, c, ls in (("p1_warn_dmmhg", "#9467bd", "--"), ("p1_crit_dmmhg", "#9467bd", "-."),
                       ("p3_warn_dmmhg", "#ff7f0e", "--"), ("p3_crit_dmmhg", "#ff7f0e", "-.")):
        y = lim[key] / 10.0
        a.axhline(y, color=c, lw=0.7, ls=ls)
        a.annotate("%s %s %.0f" % (key[:2].upper(), key[3:7], y), (1.0, y),
                   xycoords=("axes fraction", "data"), xytext=(-4, 2),
                   textcoords="offset points", ha="right", fontsize=7, color=c)
    a.set_ylabel("pressure [mmHg]")
    a.legend(loc="upper left", fontsize=8, ncol=3,
             title=("measured (solid), true (dotted); " if true_p else "measured; ")
             + "%s default limits" % profile, title_fontsize=7)
    i = 3
    if gas:
        a = ax[i]
        i += 1
        a.plot(t, _col(rows, "sweep_setpoint_lpm"), color="k", lw=1.0, ls="--",
               label="sweep setpoint")
        a.plot(t, _col(rows, "sweep_lpm"), color="#1f77b4", lw=1.0, label="sweep")
        a.set_ylabel("sweep [L/min]")
        a.legend(loc="upper left", fontsize=8, ncol=2)
        b = a.twinx()
        b.plot(t, _col(rows, "fio2"), color="#2ca02c", lw=1.0, label="FiO2")
        b.set_ylabel("FiO2 [fraction]")
        b.set_ylim(0, 1.05)
        b.legend(loc="upper right", fontsize=8)
    if oxy:
        # saturation and temperature each on their own scale (they share no unit)
        a = ax[i]
        a.plot(t, _col(rows, "sat_post_pct"), color="#d62728", lw=1.0, label="sat post [%]")
        a.set_ylabel("sat post [%]")
        a.legend(loc="upper left", fontsize=8)
        b = a.twinx()
        b.plot(t, _col(rows, "temp_c"), color="#8c564b", lw=1.0, label="blood temp [degC]")
        b.set_ylabel("temp [degC]")
        b.margins(y=0.3)
        b.legend(loc="upper right", fontsize=8)
    # events: a dotted line through every panel, labelled at the top
    for te, label in events:
        for a in panels:
            a.axvline(te, color="k", lw=0.8, ls=":", alpha=0.7)
        ax[0].annotate(label, (te, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                       textcoords="offset points", rotation=90, va="top", fontsize=7)
    # alarms: shaded in every panel, and one labelled lane per code at the bottom
    lane = ax[-1]
    for i, c in enumerate(codes):
        for t0, t1 in bands[c]:
            for a in panels:
                a.axvspan(t0, max(t1, t0 + 0.01), color=color[c], alpha=0.10, lw=0)
            lane.broken_barh([(t0, max(t1 - t0, 0.01))], (i - 0.4, 0.8), color=color[c])
    lane.set_yticks(range(len(codes)))
    lane.set_yticklabels(codes, fontsize=8)
    lane.set_ylim(-0.6, max(len(codes), 1) - 0.4)
    lane.invert_yaxis()
    for lbl, c in zip(lane.get_yticklabels(), codes):
        lbl.set_color(color[c])
    lane.set_ylabel("alarms\n(red HIGH, orange\nMEDIUM, cyan LOW)", fontsize=8)
    if not codes:
        lane.text(0.5, 0.5, "no alarms", transform=lane.transAxes, ha="center", va="center")
    lane.set_xlabel("time [s]" + ("; dotted lines: %s" % ev_kind if events else ""))
    for a in ax:
        a.grid(True, alpha=0.3)
    if t:
        ax[0].set_xlim(min(t), max(t))
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    path = output or os.path.join(out_dir, "plot.png")
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    import sys
    print(plot(sys.argv[1]))
