# `ecmo plot`: one PNG of a telemetry CSV (from `ecmo monitor --csv` or a simulator run's OUT
# folder). The drawing is tools/sim/plot.py's, so a board's run and a simulated one look alike.
import sys


def cmd_plot(a):
    from tools.sim import plot
    print(plot.plot(a.csv, a.output))
    return 0


def add_parser(sub):
    p = sub.add_parser("plot", help="PNG of a telemetry CSV")
    p.add_argument("csv", help="telemetry CSV, or a simulator run's OUT folder")
    p.add_argument("-o", "--output", help="PNG path (default: plot.png beside the CSV; missing "
                                          "folders are made)")
    p.set_defaults(fn=cmd_plot)


if __name__ == "__main__":
    from tools.sim import plot as _p
    print(_p.plot(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
