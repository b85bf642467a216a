# One PNG of a telemetry CSV (from `monitor --csv` or the simulator): flow and setpoint, pump
# speed, pressures, and alarm/state marks. Columns that a file lacks are left out.
import csv
import sys


def _col(rows, name):
    out = []
    for r in rows:
        v = r.get(name, "")
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def plot(csv_path, png_path=None, title=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit("%s has no rows" % csv_path)
    png_path = png_path or csv_path.rsplit(".", 1)[0] + ".png"
    t = _col(rows, "t_s")
    fig, ax = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    for name, style in (("flow_setpoint_lpm", "k--"), ("flow_lpm", "-"), ("true_flow_lpm", ":")):
        if name in rows[0]:
            ax[0].plot(t, _col(rows, name), style, label=name)
    ax[0].set_ylabel("L/min")
    ax[0].legend(loc="upper right", fontsize=8)
    ax[1].plot(t, _col(rows, "rpm"), label="rpm")
    ax[1].set_ylabel("RPM")
    for name in ("p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg"):
        if name in rows[0]:
            ax[2].plot(t, _col(rows, name), label=name)
    ax[2].set_ylabel("mmHg")
    ax[2].set_xlabel("t (s)")
    ax[2].legend(loc="upper right", fontsize=8)
    # alarms: shade the spans where any alarm was shown
    if "alarms" in rows[0]:
        on = [bool(r.get("alarms")) for r in rows]
        for i in range(len(rows) - 1):
            if on[i]:
                for a in ax:
                    a.axvspan(t[i], t[i + 1], color="red", alpha=0.08, lw=0)
    fig.suptitle(title or csv_path)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


if __name__ == "__main__":
    print(plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
