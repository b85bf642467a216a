# `make sim` / `python -m tools.sim` / `python -m tools.cli sim`: the host side of a simulator
# run. Validates the scenario here (a malformed file: the field named on stderr, exit code 2),
# runs tools/sim/run.py under the MicroPython unix port (or CPython) as a subprocess with its
# progress streamed, then draws OUT/plot.png.
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SCENARIO = os.path.join(ROOT, "examples", "demo.json")
DEFAULT_OUT = os.path.join(ROOT, "out", "sim")
MP_HEAP = "16M"


def _paths():
    # scenario.py checks sensor fault kinds against the board files and the world's list
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import simpaths
    simpaths.setup()


def micropython_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


def runner_cmd(runtime, scenario, out, quiet=False):
    run_py = os.path.join(HERE, "run.py")
    if runtime == "cpython":
        cmd = [sys.executable, run_py, scenario, out]
    else:
        exe = micropython_exe()
        if exe is None:
            raise SystemExit("`micropython` not found: run `make venv` (or --runtime cpython)")
        cmd = [exe, "-X", "heapsize=" + MP_HEAP, run_py, scenario, out]
    return cmd + (["--quiet"] if quiet else [])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.sim",
                                 description="run a scenario on the simulated rig")
    ap.add_argument("scenario_pos", nargs="?", metavar="SCENARIO", help="scenario JSON")
    ap.add_argument("--scenario", help="scenario JSON (default examples/demo.json)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output dir (default out/sim)")
    ap.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    ap.add_argument("--target", choices=("host", "rp2040"), default="host",
                    help="rp2040: the real MicroPython rp2 port on an emulated Pico (tools/emu)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)
    scen = os.path.abspath(a.scenario or a.scenario_pos or DEFAULT_SCENARIO)
    out = os.path.abspath(a.out)
    _paths()
    import scenario as SC
    try:
        sc = SC.load(scen)
    except SC.ScenarioError as e:
        print("scenario %s: %s" % (scen, e), file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    print("[sim] %s: %s (%s, %s, %s s) -> %s" % (os.path.relpath(scen, ROOT), sc["name"],
                                                 sc["board"], sc["profile"], sc["duration_s"],
                                                 out), flush=True)
    env = dict(os.environ, MICROPYPATH=".frozen")     # no ~/.micropython/lib surprises
    if a.target == "rp2040":
        cmd = [sys.executable, "-m", "tools.emu.scenario", scen, out] + (["--quiet"] if a.quiet else [])
    else:
        cmd = runner_cmd(a.runtime, scen, out, a.quiet)
    p = subprocess.Popen(cmd, cwd=ROOT, env=env)
    interrupted = False
    while True:
        try:
            rc = p.wait()
            break
        except KeyboardInterrupt:
            # Ctrl-C reaches the runner too (same terminal): it closes its CSV and summary
            # and exits 130; wait for that, then plot what there is
            interrupted = True
    if rc == 130 or interrupted:
        print("[sim] interrupted: plotting the rows so far", file=sys.stderr)
    elif rc:
        print("[sim] runner failed (exit %d)" % rc, file=sys.stderr)
        return rc
    with open(os.path.join(out, "events.json"), "w") as f:
        json.dump(sc["events"], f)          # for the plot's event marks
    if not a.no_plot:
        from tools.sim import plot
        try:
            print("[sim] plot: %s" % plot.plot(out, title=None))
        except KeyboardInterrupt:
            print("[sim] interrupted while plotting", file=sys.stderr)
            return 130
    return 130 if interrupted or rc == 130 else 0


if __name__ == "__main__":
    sys.exit(main())
