# plot.png from a simulator run's telemetry.csv: flow and setpoint, RPM, P1/P2/P3 on one time
# axis, alarms as shaded bands labelled by code. Host side (CPython + matplotlib, Agg backend).
import csv
import json
import os

PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#1f77b4", "#2ca02c", "#7f7f7f")


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


def plot(csv_path, output=None, title=None):
    # csv_path: a telemetry CSV or a run's OUT dir (its telemetry.csv); output: the PNG, by
    # default plot.png beside the CSV. Columns a CSV lacks (true_*, from a board) are left out.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if os.path.isdir(csv_path):
        csv_path = os.path.join(csv_path, "telemetry.csv")
    out_dir = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if title is None:
        try:
            with open(os.path.join(out_dir, "summary.json")) as f:
                title = json.load(f)["name"]
        except (OSError, ValueError, KeyError):
            title = os.path.basename(os.path.abspath(out_dir))
    t = _col(rows, "t_s")
    bands = alarm_bands(t, rows)
    codes = sorted(bands, key=lambda c: bands[c][0][0])
    color = dict((c, PALETTE[i % len(PALETTE)]) for i, c in enumerate(codes))

    fig, ax = plt.subplots(4, 1, sharex=True, figsize=(12, 9.5),
                           gridspec_kw={"height_ratios": [3, 2, 3, max(1.2, 0.35 * len(codes))]})
    a = ax[0]
    a.plot(t, _col(rows, "flow_lpm"), color="#1f77b4", lw=1.0, label="flow (measured)")
    a.plot(t, _col(rows, "true_flow_lpm"), color="#1f77b4", lw=0.8, ls=":", label="flow (true)")
    a.plot(t, _col(rows, "flow_setpoint_lpm"), color="k", lw=1.2, ls="--", label="setpoint")
    a.set_ylabel("blood flow [L/min]")
    a.legend(loc="upper left", fontsize=8, ncol=3)
    a = ax[1]
    a.plot(t, _col(rows, "rpm"), color="#2ca02c", lw=1.0, label="RPM (tach)")
    a.plot(t, [d * 5000.0 / 65535.0 for d in _col(rows, "duty")], color="#2ca02c", lw=0.8,
           ls="--", label="RPM commanded (duty)")
    a.set_ylabel("pump speed [RPM]")
    a.legend(loc="upper left", fontsize=8, ncol=2)
    a = ax[2]
    for name, c in (("p1", "#9467bd"), ("p2", "#d62728"), ("p3", "#ff7f0e")):
        a.plot(t, _col(rows, name + "_mmhg"), color=c, lw=1.0, label=name.upper())
        a.plot(t, _col(rows, "true_" + name + "_mmhg"), color=c, lw=0.7, ls=":")
    a.axhline(-150, color="#9467bd", lw=0.6, ls="-.")
    a.set_ylabel("pressure [mmHg]")
    a.legend(loc="upper left", fontsize=8, ncol=3, title="measured (solid), true (dotted)",
             title_fontsize=7)
    # alarms: shaded in every panel, and one labelled lane per code at the bottom
    lane = ax[3]
    for i, c in enumerate(codes):
        for t0, t1 in bands[c]:
            for a in ax[:3]:
                a.axvspan(t0, max(t1, t0 + 0.01), color=color[c], alpha=0.10, lw=0)
            lane.broken_barh([(t0, max(t1 - t0, 0.01))], (i - 0.4, 0.8), color=color[c])
    lane.set_yticks(range(len(codes)))
    lane.set_yticklabels(codes, fontsize=8)
    lane.set_ylim(-0.6, max(len(codes), 1) - 0.4)
    lane.invert_yaxis()
    lane.set_ylabel("alarms")
    if not codes:
        lane.text(0.5, 0.5, "no alarms", transform=lane.transAxes, ha="center", va="center")
    lane.set_xlabel("time [s]")
    for a in ax:
        a.grid(True, alpha=0.3)
    if t:
        ax[0].set_xlim(0, t[-1])
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    path = output or os.path.join(out_dir, "plot.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    import sys
    print(plot(sys.argv[1]))
