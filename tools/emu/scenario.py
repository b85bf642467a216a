# A scenario on the emulated Pico: `make sim SCENARIO=... TARGET=rp2040` (python -m
# tools.emu.scenario SCENARIO OUT). The same scenario file and the same World as the unix-port
# runner (tools/sim/run.py), but the firmware is the real MicroPython rp2 port in rp2040js,
# deployed as `deploy` does it, and everything the operator does goes through its USB REPL:
#  - operator verbs (set_flow, run, ack, restart, repl, ...) are typed as `rig.*` lines;
#  - world verbs (bubble, faults, e-stop, occlusion, ...) act on the World as in the unix runner;
#  - `reset` is a watchdog timeout of the chip, `power_cycle` a power cycle;
#  - telemetry.csv holds the firmware's own telemetry rows (ROW_HZ a second: a row costs the
#    chip real time), each with the scenario time it arrived and the World's true values then.
# A deployed board is cached by the hash of the built files (build/emu/), so repeated runs
# start from the same freshly deployed flash.
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from tools.emu.rig import EmuRig  # noqa: E402
from tools.emu.link import EmuError  # noqa: E402

ROW_HZ = 10
BOOT_MS = 8000           # a boot that shows no prompt by then is a failure
BAND_PCT = 10            # as tools/sim/run.py
SWEEP_START_LPM = 1.0


def _fixed3(us):
    ms = int(us) // 1000
    return "%d.%03d" % (ms // 1000, ms % 1000)


def _build_hash(board):
    # the firmware as deploy would build it: hash of the sources it compiles and copies
    h = hashlib.sha256()
    for d in ("firmware", "boards", "tools/cli.py", "tools/deploy.py"):
        top = os.path.join(ROOT, d)
        walk = sorted(os.walk(top)) if os.path.isdir(top) else [(os.path.dirname(top), [],
                                                                  [os.path.basename(top)])]
        for base, _dirs, files in walk:
            for fn in sorted(files):
                if fn.endswith(".py"):
                    p = os.path.join(base, fn)
                    h.update(os.path.relpath(p, ROOT).encode())
                    with open(p, "rb") as f:
                        h.update(f.read())
    h.update(board.encode())
    for v in ("ECMO_RP2_FIRMWARE",):
        with open(os.environ[v], "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def deploy(rig, log=print):
    # `python -m tools.cli deploy` against the chip's pty, the chip running as fast as it can
    proc = []

    def start(path):
        log("[emu] deploying to the emulated Pico on %s" % path)
        # a build folder of its own: two deploys at once (tests, bench) must not share build/pico
        proc.append(subprocess.Popen([sys.executable, "-m", "tools.cli", "deploy", "--port", path,
                                      "--board", "pico", "--build", build], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    build = os.path.join(ROOT, "build", "emu", "deploy-%d" % os.getpid())
    try:
        rig.serve_pty(start, done=lambda: proc[0].poll() is not None, realtime=False)
    finally:
        if proc and proc[0].poll() is None:
            proc[0].kill()
            proc[0].wait()
    out = proc[0].stdout.read()
    shutil.rmtree(build, ignore_errors=True)
    if proc[0].returncode:
        raise EmuError("deploy failed:\n" + out)
    return out


def booted_copy(board="pico", prefix="ecmo_emu_"):
    # a fresh copy of the deployed flash, booted from power-on to the REPL prompt with the rig
    # running: what the probes (tools/emu/sections.py, stackdepth.py) start from
    import tempfile
    d = tempfile.mkdtemp(prefix=prefix)
    flash = os.path.join(d, "flash.bin")
    shutil.copy(deployed_flash(board, lambda m: print(m, file=sys.stderr)), flash)
    rig = EmuRig(board, flash_file=flash)
    rig.tmpdir = d           # the caller removes it when done
    try:
        rig.run_for(1500)
        rig.send(b"\r")
        rig.wait_for(b">>> ", BOOT_MS)
    except BaseException:
        rig.close()
        shutil.rmtree(d, ignore_errors=True)
        raise
    return rig


def deployed_flash(board="pico", log=print):
    # path of a flash image holding a freshly deployed firmware (made once per build)
    cache = os.path.join(ROOT, "build", "emu")
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, "flash-%s-%s.bin" % (board, _build_hash(board)))
    if os.path.exists(path):
        return path
    tmp = path + ".%d.tmp" % os.getpid()      # two runs building at once must not share it
    t0 = time.monotonic()
    rig = EmuRig(board, flash_file=tmp)    # with noise: a noise-free world reads as stuck sensors
    try:
        rig.run_for(1500)
        deploy(rig, log)
        rig.run_for(3000)      # the reset at the end of deploy, and the rig's first boot
        rig.send(b"\r")
        rig.wait_for(b">>> ", BOOT_MS)
        # what the board shows after its first deploy (a planned reset: no WDT_RESET)
        first = {"alarms": rig.exec("print(rig.al.codes())").strip(),
                 "boot_cause": rig.exec("print(rig.boot_cause)").strip()}
    except BaseException:
        rig.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    rig.close()
    with open(path + ".json", "w") as f:
        json.dump(first, f)
    os.replace(tmp, path)
    log("[emu] deployed in %.1f s wall; flash image %s" % (time.monotonic() - t0,
                                                           os.path.relpath(path, ROOT)))
    return path


class TargetSim:
    def __init__(self, sc, out_dir=None, progress=True, flash=None):
        for p in (os.path.join(ROOT, "tools", "sim"), os.path.join(ROOT, "boards")):
            if p not in sys.path:
                sys.path.insert(0, p)
        import scenario as SC
        self.sc = SC.load(sc) if isinstance(sc, str) else SC.validate(sc)
        sc = self.sc
        if sc["board"] != "pico":
            raise EmuError("TARGET=rp2040 runs board pico scenarios only (this one is %s)"
                           % sc["board"])
        if sc.get("reservoir") is not None:
            # the host runner adds the level sensor to the board file it boots; the chip runs
            # the board file deploy copies, which has none: the run would be another circuit
            raise EmuError("TARGET=rp2040 does not run scenarios with a reservoir yet (the "
                           "deployed board file has no level sensor)")
        self.out_dir = out_dir
        self.progress = progress
        self.flash = flash or deployed_flash("pico", self._say)
        # a private copy: the run's settings saves must not change the cached board
        self._flash_copy = (out_dir or "/tmp") + "/.emu-flash-%d.bin" % os.getpid()
        with open(self.flash, "rb") as f, open(self._flash_copy, "wb") as g:
            g.write(f.read())
        self.rig = EmuRig("pico", sc["profile"], sc["seed"], sc["plant"], sc["noise"],
                          flash_file=self._flash_copy)
        self.rig.keep_edges = True
        self.rig.chip.on_reset = self._on_reset
        self.world = self.rig.world
        self.rows = []
        self.errors = []
        self.boots = [(0.0, "power-on")]
        self.alarm_first = {}
        self._alarm_order = []
        self.lo = {}
        self.hi = {}
        self.flow_mode_s = 0.0
        self.in_band_s = 0.0
        self._tlm = bytearray()
        self._header = None
        self._csv = None
        self._need_setup = True
        self._sweep_pending = hasattr(self.rig.board, "GAS") and sc["sweep_lpm"] > 0
        self._last_row_t = None
        self._todo = []         # REPL lines the telemetry asked for (start the sweep)
        self.stats = None
        self.rig.listeners.append(self._serial)

    # ---- serial: telemetry rows out of the REPL stream ----
    def _serial(self, data):
        self._tlm += data
        while True:
            i = self._tlm.find(b"\n")
            if i < 0:
                break
            line = bytes(self._tlm[:i]).decode("utf-8", "replace").strip("\r")
            del self._tlm[:i + 1]
            j = line.find("TLM ")
            if j < 0:
                continue
            if j > 0 and line[j - 1] == "#":
                self._header = line[j + 4:].split(",")
                self._open_csv()
            elif self._header is not None:
                self._row(line[j + 4:])

    def _open_csv(self):
        if self._csv is None and self.out_dir:
            self.columns = self._header + list(self.world.true_columns())
            self._csv = open(os.path.join(self.out_dir, "telemetry.csv"), "w")
            self._csv.write(",".join(self.columns) + "\n")

    def _row(self, text):
        f = text.split(",")
        if len(f) != len(self._header):
            return          # a row cut by a reset
        now = self.rig.now_us()
        f[0] = _fixed3(now)
        line = ",".join(f) + "," + self.world.true_row()
        if self._csv is not None:
            self._csv.write(line + "\n")
        full = line.split(",")
        self.rows.append(full)
        self._track(dict(zip(self._header + list(self.world.true_columns()), full)), now / 1e6)

    def _track(self, r, t):
        dt = 0.0 if self._last_row_t is None else t - self._last_row_t
        self._last_row_t = t
        for c in ("p1_mmhg", "p2_mmhg", "p3_mmhg", "true_p1_mmhg", "true_p2_mmhg",
                  "true_p3_mmhg"):
            s = r.get(c)
            if s:
                v = float(s)
                self.lo[c] = min(self.lo.get(c, v), v)
                self.hi[c] = max(self.hi.get(c, v), v)
        for code in (r.get("alarms") or "").split("|"):
            if code and code not in self.alarm_first:
                self.alarm_first[code] = t
                self._alarm_order.append(code)
        sp = r.get("flow_setpoint_lpm")
        if r.get("control") == "flow" and r.get("state") == "run" and sp:
            self.flow_mode_s += dt
            if abs(float(r["true_flow_lpm"]) - float(sp)) <= float(sp) * BAND_PCT / 100.0:
                self.in_band_s += dt
        if (self._sweep_pending and r.get("flow_lpm") and
                float(r["flow_lpm"]) >= SWEEP_START_LPM):
            self._sweep_pending = False
            self._todo.append("rig.set_sweep(%r); rig.save()" % self.sc["sweep_lpm"])

    def _on_reset(self, r):
        self.boots.append((r["t_us"] / 1e6, "watchdog" if r["reason"] else "power-on"))
        self._say("t=%s chip reset (%s)" % (_fixed3(r["t_us"]), self.boots[-1][1]))
        self._need_setup = True
        self._tlm.clear()

    # ---- the REPL ----
    def _exec(self, line, verb="repl"):
        try:
            out = self.rig.exec(line, ms=10000)
        except TimeoutError as e:
            self.errors.append((self.rig.now_us() / 1e6, verb, "no prompt: %s" % e))
            return None
        if "Traceback (most recent call last)" in out:
            msg = out.strip().split("\n")[-1]
            self.errors.append((self.rig.now_us() / 1e6, verb, msg.strip()))
            self._say("t=%s %s refused: %s" % (_fixed3(self.rig.now_us()), verb, msg.strip()))
        return out

    def _boot_wait(self):
        # a (re)booted board: wait for the REPL, then telemetry on (the rate is not saved)
        self.rig.rx.clear()
        self.rig.send(b"\r")
        self.rig.wait_for(b">>> ", BOOT_MS)
        self._exec("rig.telemetry(%d)" % ROW_HZ, "telemetry")

    def _operator_setup(self):
        sc = self.sc
        lines = []
        if sc["profile"] != "VA":
            lines.append("rig.profile(%r)" % sc["profile"])
        # the host runner's order (tools/sim/run.py _operator_setup): targets, then the mode
        lines.append("rig.set_flow(%r)" % sc["flow_lpm"])
        lines.append("rig.set_rpm(%r)" % sc["rpm"])
        if sc["control"] == "pressure":
            lines.append("rig.set_p1(%r)" % sc["p1_mmhg"])
        lines.append("rig.mode(%r)" % sc["control"])
        if sc["run"]:
            lines.append("rig.run()")
        lines.append("rig.save()")
        self._exec("; ".join(lines), "setup")

    REPL_VERBS = {
        "set_flow": lambda e: "rig.set_flow(%r); rig.save()" % e["lpm"],
        "set_rpm": lambda e: "rig.set_rpm(%r); rig.save()" % e["rpm"],
        "set_control": lambda e: "rig.mode(%r); rig.save()" % e["control"],
        "run": lambda e: "rig.run(); rig.save()",
        "standby": lambda e: "rig.standby(); rig.save()",
        "ack": lambda e: "rig.ack()",
        "restart": lambda e: "rig.restart()",
        "repl": lambda e: e["line"],
        "set_sweep": lambda e: "rig.set_sweep(%r); rig.save()" % e["lpm"],
        "set_p1": lambda e: "rig.set_p1(%r); rig.save()" % e["mmhg"],
        "deaired": lambda e: "rig.deaired()",   # the operator's confirmation (deair: the act)
    }

    def apply(self, e):
        v = e["do"]
        w = self.world
        pl = w.plant
        self._say("t=%s %s %s" % (_fixed3(self.rig.now_us()), v,
                                   " ".join("%s=%r" % (k, e[k]) for k in e if k not in ("t", "do"))))
        try:
            if v in self.REPL_VERBS:
                if v == "set_sweep":
                    self._sweep_pending = False
                self._exec(self.REPL_VERBS[v](e), v)
            elif v == "set_fio2":
                w.gas.set_fio2(e["fio2"])
                self._exec("rig.set_fio2(%r); rig.save()" % e["fio2"], v)
            elif v == "bubble":
                pl.bubble(e["volume_ul"], e.get("at_m", 0.0))
            elif v == "deair":
                pl.deair()
            elif v == "set_heart":
                pl.set_heart(e["lpm"], e.get("over_s", 0.0))
            elif v == "sensor_fault":
                w.sensor_fault(e["sensor"], e["kind"])
            elif v == "sensor_ok":
                w.sensor_fault(e["sensor"], None)
            elif v == "volume_loss":
                pl.volume_loss(e["ml"], e.get("over_s", 0.0))
            elif v == "volume_gain":
                pl.volume_gain(e["ml"], e.get("over_s", 0.0))
            elif v == "clot":
                pl.clot(e["factor"])
            elif v == "occlusion":
                pl.occlusion(e["line"], e["fraction"])
            elif v == "estop":
                w.set_estop(True)
            elif v == "estop_release":
                w.set_estop(False)
            elif v == "reset":
                self.rig.chip.reset("wdt")
            elif v == "power_cycle":
                self.rig.chip.reset("power")
            elif v == "gas_fault":
                w.gas.gas_fault(None if e["kind"] == "none" else e["kind"])
            elif v == "membrane_failure":
                w.gas.membrane_failure(e["fraction"])
            elif v == "set_heater":
                w.gas.set_heater(e["temp_c"])
            elif v == "blood_temp":
                w.gas._t = float(e["temp_c"])
            else:
                raise ValueError("no handler for %r" % v)
        except (ValueError, KeyError, AttributeError) as ex:
            self.errors.append((self.rig.now_us() / 1e6, v, "%s: %s" % (type(ex).__name__, ex)))

    def run(self):
        sc = self.sc
        end_us = int(sc["duration_s"] * 1e6 + 0.5)
        evs = sc["events"]
        ei = 0
        w0 = time.monotonic()
        next_pct = 10
        try:
            while True:
                now = self.rig.now_us()
                if self._need_setup:
                    first = len(self.boots) == 1
                    self._need_setup = False
                    self._boot_wait()
                    if first:
                        self._operator_setup()
                    continue
                while ei < len(evs) and int(evs[ei]["t"] * 1e6 + 0.5) <= now:
                    self.apply(evs[ei])
                    ei += 1
                while self._todo:
                    self._exec(self._todo.pop(0), "set_sweep")
                if now >= end_us:
                    break
                self.rig.step_ms()
                if self.progress and now * 100 >= next_pct * end_us:
                    self._say("%3d%% t=%s s (%.1f s wall)" % (next_pct, _fixed3(now),
                                                             time.monotonic() - w0))
                    next_pct += 10
            self.stats = self._exec("print(rig.loop.n, rig.loop.overruns, rig.loop.late, "
                                    "rig.loop.errors, rig.loop.max_tick_us, repr(rig.loop.last_error))",
                                    "stats")
        finally:
            self.rig.close()
            if self._csv is not None:
                self._csv.close()
            if os.path.exists(self._flash_copy):
                os.remove(self._flash_copy)
        self.wall_s = time.monotonic() - w0
        return self.summary()

    def _say(self, msg):
        if self.progress:
            print("[emu] " + msg, flush=True)

    def summary(self):
        pl = self.world.plant
        s = {
            "name": self.sc["name"],
            "target": "rp2040 (emulated, MicroPython rp2 port)",
            "duration_s": self.sc["duration_s"],
            "ticks": len(self.rows),
            "rows_per_s": ROW_HZ,
            "alarms_first_s": [[c, self.alarm_first[c]] for c in self._alarm_order],
            "lowest": self.lo,
            "peak": self.hi,
            "flow_mode_s": self.flow_mode_s,
            "in_band_s": self.in_band_s,
            "air_first_at_detector_s": (None if self.world.air_first_us is None
                                        else self.world.air_first_us / 1e6),
            "air_to_patient_ul": pl.air_to_patient_ul,
            "air_trapped_ul": pl.air_trapped_ul,
            "boots": self.boots,
            "errors": self.errors,
            "loop": (self.stats or "").strip(),
            "pin_edges": self.rig.edges,
            "wall_s": getattr(self, "wall_s", None),
        }
        if self.out_dir:
            with open(os.path.join(self.out_dir, "summary.json"), "w") as f:
                json.dump(s, f)
        return s


def print_summary(s):
    print("[emu] summary: %s on the emulated Pico (%s s, %d telemetry rows, %.1f s wall)"
          % (s["name"], s["duration_s"], s["ticks"], s["wall_s"] or 0))
    print("  alarms (first shown): " + (", ".join("%s %.2f s" % (c, t)
                                                   for c, t in s["alarms_first_s"]) or "none"))
    a = s["air_first_at_detector_s"]
    print("  air: %s; to the patient %.1f uL, trapped at the clamp %.1f uL"
          % ("first at the detector %.2f s" % a if a is not None else "none at the detector",
             s["air_to_patient_ul"], s["air_trapped_ul"]))
    if s["flow_mode_s"]:
        print("  flow mode: %.1f s, true flow within +-%d %% of the setpoint %.1f s"
              % (s["flow_mode_s"], BAND_PCT, s["in_band_s"]))
    print("  loop (ticks overruns late errors max_tick_us last_error): %s" % s["loop"])
    if len(s["boots"]) > 1:
        print("  reboots: " + ", ".join("%.2f s %s" % (t, c) for t, c in s["boots"][1:]))
    for t, v, m in s["errors"]:
        print("  t=%.3f %s: %s" % (t, v, m))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m tools.emu.scenario SCENARIO.json OUT_DIR [--quiet]")
        return 2
    os.makedirs(argv[1], exist_ok=True)
    try:
        sim = TargetSim(argv[0], argv[1], progress="--quiet" not in argv)
        s = sim.run()
    except (EmuError, ValueError) as e:     # ScenarioError is a ValueError
        print("[emu] %s" % e, file=sys.stderr)
        return 1
    print_summary(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
