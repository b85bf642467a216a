# Scenario runner: boots the unchanged firmware (firmware/main.py) on the simulated rig, applies
# a scenario's events at their times, writes telemetry.csv (one row per control tick) and prints
# progress and a summary. MicroPython unix port by default; CPython works the same:
#   micropython -X heapsize=8M tools/sim/run.py examples/demo.json out/sim
# The host CLI (python -m tools.sim / make sim) validates first, runs this, then plots.
import sys
import json


def _here():
    f = __file__ if "__file__" in globals() else sys.argv[0]
    f = f.replace("\\", "/")
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


def setup_paths():
    # the one path helper (tools/sim/simpaths.py): the fake machine/time first
    if _here() not in sys.path:
        sys.path.insert(0, _here())
    import simpaths
    simpaths.setup()


setup_paths()

import os  # noqa: E402
import simpaths  # noqa: E402
import machine  # noqa: E402
from world import World  # noqa: E402
import scenario as SC  # noqa: E402

# Verbs that act on the world, not on the firmware: applied at their time even while the
# firmware is busy (inside an overrunning tick); the rest wait for the REPL, as at a board.
WORLD_VERBS = ("bubble", "deair", "sensor_fault", "sensor_ok", "volume_loss", "volume_gain",
               "clot", "occlusion", "estop", "estop_release", "gas_fault", "membrane_failure",
               "set_heater", "blood_temp", "set_heart")
SWEEP_START_MLPM = 1000  # the runner's operator starts the sweep once this much blood flows
BAND_PCT = 10           # summary: time with the true flow within +-10 % of the setpoint


def _wall_ms():
    # real time for the progress line (the `time` module here runs on the virtual clock)
    if sys.implementation.name == "micropython":
        import utime
        return utime.ticks_ms()
    import time
    return int(time.perf_counter() * 1000)


def _mkdirs(path):
    cur = ""
    for part in path.split("/"):
        cur = cur + part + "/" if cur or part else "/"
        if not part:
            continue
        try:
            os.mkdir(cur)
        except OSError:
            pass


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class _BoardFile:
    # The board module as deployed: the same data, with SETTINGS_PATH pointing into the
    # simulated flash so settings survive a reboot but never land in the working directory.
    pass


# A scenario's "reservoir" puts a level sensor on a spare input of the board (issue 17): the
# Pico's third ADC pin GP28 or GP21, the ESP32's ADC1 GPIO35 or GPIO14. Analog: 0.3 V = 0 mL ..
# 3.0 V = 3000 mL, a live zero (0 V = open wire); range -200..3500 mL (an empty reservoir still
# reads inside it).
LEVEL_PINS = {"pico": (28, 21), "esp32": (35, 14)}


def level_entry(board_name, res, mv):
    adc, pin = LEVEL_PINS[board_name]
    if res["sensor"] == "switch":
        return {"kind": "switch", "pin": pin, "active_level": 1, "sim_at_ml": res["switch_ml"]}
    if mv:
        return {"kind": "analog", "adc": adc, "cal": (300, 0, 2400, 3000), "rails": (100, 2600),
                "limits": (-200, 3500)}
    return {"kind": "analog", "adc": adc, "cal": (5958, 0, 59578, 3000), "rails": (993, 64542),
            "limits": (-200, 3500)}


def board_file(name, settings_path, reservoir=None):
    mod = __import__("board_" + name)
    b = _BoardFile()
    for k in dir(mod):
        if not k.startswith("__"):
            setattr(b, k, getattr(mod, k))
    b.SETTINGS_PATH = settings_path
    if reservoir is not None and reservoir["sensor"] != "none":
        b.LEVEL = level_entry(name, reservoir, getattr(b, "ADC_MV", False))
    return b


def _scratch_dir():
    # A flash folder of its own for a run without an out dir: a fixed /tmp path was shared by
    # every clone, user and concurrent run. Both runtimes have os.urandom (MicroPython's os has
    # no getpid and there is no tempfile module).
    base = os.getenv("TMPDIR") or "/tmp"
    while True:
        d = base + "/ecmo_sim_flash_" + "".join("%02x" % b for b in os.urandom(6))
        try:
            os.mkdir(d)
            return d
        except OSError:
            pass            # taken: draw again


def _remove_scratch(d):
    # the firmware writes only files there (settings.json, .tmp, .bad)
    for name in os.listdir(d):
        _remove(d + "/" + name)
    try:
        os.rmdir(d)
    except OSError:
        pass


def _fixed3(us):
    ms = us // 1000
    return "%d.%03d" % (ms // 1000, ms % 1000)


class Sim:
    def __init__(self, sc, out_dir=None, flash_dir=None, progress=True, keep_rows=False):
        # sc: a scenario dict (validated here) or a path to a JSON file
        self.sc = SC.load(sc) if isinstance(sc, str) else SC.validate(sc)
        sc = self.sc
        self.out_dir = out_dir
        self._scratch = None
        if flash_dir is None:
            if out_dir:
                flash_dir = out_dir + "/flash"
            else:
                flash_dir = self._scratch = _scratch_dir()     # removed at the end of run()
        _mkdirs(flash_dir)
        self.settings_path = flash_dir + "/settings.json"
        _remove(self.settings_path)     # a fresh board: nothing saved yet
        self.board = board_file(sc["board"], self.settings_path, sc.get("reservoir"))
        self.progress = progress
        self.keep_rows = keep_rows
        self.rows = []                  # field lists, when keep_rows: True (all) or column names
        self.errors = []                # (t_s, verb, message): refused commands, REPL errors
        self.boots = []                 # (t_s, cause)
        self.alarm_first = {}           # code -> t_s first shown
        self._alarm_order = []
        self.lo = {}
        self.hi = {}
        self.flow_mode_ticks = 0
        self.band_ticks = 0
        self.ticks = 0
        self.period_us = 1000000 // self.board.TICK_HZ
        self._csv = None
        main_path = simpaths.ROOT + "/firmware/main.py"
        with open(main_path) as f:
            self._main = compile(f.read(), main_path, "exec")
        machine.sim_reset(machine.PWRON_RESET)
        plant = sc["plant"]
        if sc.get("reservoir") is not None:
            plant = dict(plant or {})
            plant["reservoir_ml"] = float(sc["reservoir"]["ml"])
        self.world = World(self.board, sc["profile"], sc["seed"], plant, sc["noise"])
        # the scenario starts with the rig already running: no boot time before the first boot
        self._booting = None
        self._safe_done = False
        self._pins = (None, None)
        self.pin_edges = []
        self._boot("power-on")
        self._setup_done = False
        self._sweep_pending = self.rig.gas is not None and self.sc["sweep_lpm"] > 0
        self.columns = self.rig.telemetry_header().split(",") + list(self.world.true_columns())
        self._ix = {}
        for i, c in enumerate(self.columns):
            self._ix[c] = i
        if out_dir:
            _mkdirs(out_dir)
            self._csv = open(out_dir + "/telemetry.csv", "w")
            self._csv.write(",".join(self.columns) + "\n")

    # ---- the firmware ----
    def _boot(self, cause):
        # what the board does at reset: run main.py with `board` importable; its globals are
        # the REPL's namespace, so `rig` there is the operator's object
        sys.modules["board"] = self.board
        g = {"__name__": "__main__"}
        exec(self._main, g)
        g["world"] = self.world       # the simulated bench, for faults by hand (as tools/rigboot.py)
        self.ns = g
        self.rig = g["rig"]
        self._n = self.rig.loop.n
        self.boots.append((machine.sim_now_us() / 1e6, cause))

    def _reboot(self, cause, name):
        # The chip restarts; main.py starts only after the board's boot time (simchip.BOOT_US),
        # with every pin at its reset state meanwhile while the plant goes on; its first lines
        # set the outputs safe, and the rig runs LOAD_US later (the imports and the build)
        machine.sim_reboot(cause)
        self.world.rebind()
        boot_us = machine.SIM_BOOT_US[machine.sim_port_name()]
        self._booting = (machine.sim_now_us() + boot_us, name)
        self._safe_done = False
        self._say("t=%s reset (%s): booting, main.py in %d ms"
                  % (_fixed3(machine.sim_now_us()), name, boot_us // 1000))

    def _soft_reset(self):
        # Ctrl-D / machine.soft_reset(): the VM restarts on the running chip (timers, pin IRQs
        # and PWM stopped, pins and watchdog as they were); in the friendly REPL main.py runs again
        machine.sim_soft_reset()
        self._boot("soft reset")
        self._say("t=%s soft reset: main.py again" % _fixed3(machine.sim_now_us()))

    def _boot_done(self):
        t, name = self._booting
        if machine.sim_now_us() < t:
            return False
        load = machine.SIM_LOAD_US[machine.sim_port_name()]
        if load and not self._safe_done:
            # main.py's first lines: the outputs at their safe levels before the firmware loads
            sys.modules["board"] = self.board
            from ecmo import early
            early.safe_pins(self.board)
            self._safe_done = True
            self._booting = (t + load, name)
            return False
        self._booting = None
        self._boot(name)
        self._say("t=%s main.py runs (%s)" % (_fixed3(machine.sim_now_us()), name))
        return True

    def _operator_setup(self):
        # After the first tick (a board has run a while before anyone types): the operator
        # configures the rig at the REPL and saves, as the bench procedure asks, so a watchdog
        # reset resumes with these settings (docs/hazards.md).
        sc = self.sc
        rig = self.rig
        if rig.settings["profile"] != sc["profile"]:
            rig.profile(sc["profile"])
        rig.set_flow(sc["flow_lpm"])
        rig.set_rpm(sc["rpm"])
        if sc["control"] == "pressure":
            rig.set_p1(sc["p1_mmhg"])
        rig.mode(sc["control"])
        if sc["run"]:
            rig.run()
        rig.save()

    # ---- events ----
    def apply(self, e):
        v = e["do"]
        rig = self.rig
        w = self.world
        pl = w.plant
        t = machine.sim_now_us() / 1e6
        self._say("t=%s %s %s" % (_fixed3(machine.sim_now_us()), v, _args(e)))
        try:
            if v == "set_flow":
                rig.set_flow(e["lpm"])
                rig.save()
            elif v == "set_rpm":
                rig.set_rpm(e["rpm"])
                rig.save()
            elif v == "set_control":
                rig.mode(e["control"])
                rig.save()
            elif v == "set_p1":
                rig.set_p1(e["mmhg"])
                rig.save()
            elif v == "set_heart":
                # the simulated heart's own output at full preload (a weaning trial's recovery)
                pl.set_heart(e["lpm"], e.get("over_s", 0.0))
            elif v == "run":
                rig.run()
                rig.save()
            elif v == "standby":
                rig.standby()
                rig.save()
            elif v == "ack":
                rig.ack()
            elif v == "restart":
                rig.restart()
            elif v == "bubble":
                pl.bubble(e["volume_ul"], e.get("at_m", 0.0))
            elif v == "deair":
                pl.deair()
            elif v == "deaired":
                rig.deaired()       # the operator's confirmation (deair is the physical act)
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
            elif v == "repl":
                self._repl(e["line"])
            elif v == "reset":
                self._reboot(machine.WDT_RESET, "reset event: watchdog-style")
            elif v == "power_cycle":
                # power lost or a brownout: the chip restarts as from power-on, retained memory
                # is gone; the plant (pump coasting, patient) goes on
                self._reboot(machine.PWRON_RESET, "power cycle / brownout")
            elif v == "set_sweep":
                self._sweep_pending = False
                rig.set_sweep(e["lpm"])
                rig.save()
            elif v == "set_fio2":
                # the manual blender is turned (the gas the membrane gets) and the operator
                # tells the firmware the new setting
                w.gas.set_fio2(e["fio2"])
                rig.set_fio2(e["fio2"])
                rig.save()
            elif v == "gas_fault":
                w.gas.gas_fault(None if e["kind"] == "none" else e["kind"])
            elif v == "membrane_failure":
                w.gas.membrane_failure(e["fraction"])
            elif v == "set_heater":
                w.gas.set_heater(e["temp_c"])
            elif v == "blood_temp":
                # a bolus of cold (or warm) fluid: the blood is at this temperature now; the
                # model has no verb for it, so its state is set directly (both are the sim's)
                w.gas._t = float(e["temp_c"])
            else:
                raise ValueError("no handler for %r" % v)
        except machine.SimWatchdogReset:
            self._reboot(machine.WDT_RESET, "watchdog")
        except machine.SimHardReset:
            self._reboot(_hard_reset_cause(), "machine.reset()")
        except machine.SimSoftReset:
            self._soft_reset()
        except SystemExit as ex:
            # validation refuses such lines; should one get through, the run goes on
            self.errors.append((t, v, "SystemExit: %s" % (ex,)))
            self._say("t=%s %s refused: SystemExit" % (_fixed3(machine.sim_now_us()), v))
        except Exception as ex:
            # a refused command is an outcome to report, not a reason to stop the run
            self.errors.append((t, v, "%s: %s" % (type(ex).__name__, ex)))
            self._say("t=%s %s refused: %s" % (_fixed3(machine.sim_now_us()), v, ex))

    def _repl(self, line):
        # like typing at the REPL: an expression's value is printed, a statement is run
        try:
            code = compile(line, "<repl>", "eval")
        except SyntaxError:
            code = compile(line, "<repl>", "exec")
        r = eval(code, self.ns)
        if r is not None:
            print(repr(r))

    # ---- time ----
    def run(self):
        sc = self.sc
        end_us = int(sc["duration_s"] * 1000000 + 0.5)
        evs = sc["events"]
        self._wev = [e for e in evs if e["do"] in WORLD_VERBS]
        self._oev = [e for e in evs if e["do"] not in WORLD_VERBS]
        self._wi = 0
        oi = 0
        next_pct = 10
        w0 = _wall_ms()
        self.world.on_ms = self._world_events      # also called inside a long tick
        self.interrupted = False
        try:
            while True:
                now = machine.sim_now_us()
                self._world_events()
                if self._booting is None or self._boot_done():
                    while oi < len(self._oev) and _us(self._oev[oi]["t"]) <= now:
                        self.apply(self._oev[oi])
                        oi += 1
                if now >= end_us:
                    break
                try:
                    self.world.step_ms()
                except machine.SimWatchdogReset:
                    self._reboot(machine.WDT_RESET, "watchdog")
                except machine.SimHardReset:
                    self._reboot(_hard_reset_cause(), "machine.reset()")
                except machine.SimSoftReset:
                    self._soft_reset()
                if self._booting is None and self.rig.loop.n != self._n:
                    self._ticked()
                if self.progress and machine.sim_now_us() * 100 >= next_pct * end_us:
                    self._progress(next_pct, end_us, w0)
                    next_pct += 10
        except KeyboardInterrupt:
            # Ctrl-C: keep what was simulated so far (the CSV rows, a summary) and say so.
            # It may have landed inside a hard handler, with the heap still locked.
            machine.sim_release_heap()
            self.interrupted = True
            try:
                self._say("interrupted at t=%s: keeping the rows so far"
                          % _fixed3(machine.sim_now_us()))
            except MemoryError:    # the heap still locked: say it without allocating
                machine.sim_release_heap()
                self._say("interrupted: keeping the rows so far")
        finally:
            self.world.on_ms = None
            if self._csv is not None:
                self._csv.close()
                self._csv = None
            if self._scratch is not None:
                _remove_scratch(self._scratch)
                self._scratch = None
        self.wall_s = (_wall_ms() - w0) / 1000.0
        return self.summary()

    def _world_events(self):
        # world-side events due now, whatever the firmware is doing
        now = machine.sim_now_us()
        w = self.world
        c = w.clamp_closed()
        e = w.enabled()
        if c != self._pins[0] or e != self._pins[1]:
            # the clamp's and the enable's edges, as the emulated Pico's summary has them (its
            # harness to the cycle, here to the ms): tools/emu/compare.py sets them side by side
            b = self.board
            if c != self._pins[0]:
                lv = b.CLAMP["closed_level"]
                self.pin_edges.append([b.CLAMP["pin"], lv if c else 1 - lv, now, 0])
            if e != self._pins[1]:
                lv = b.PUMP.get("enable_level", 1)
                self.pin_edges.append([b.PUMP["enable"], lv if e else 1 - lv, now, 0])
            self._pins = (c, e)
        wev = self._wev
        while self._wi < len(wev) and _us(wev[self._wi]["t"]) <= now:
            e = wev[self._wi]
            self._wi += 1
            self.apply(e)

    def _ticked(self):
        self._n = self.rig.loop.n
        self._row()
        if not self._setup_done:
            self._setup_done = True
            self._operator_setup()
        elif self._sweep_pending and self.rig.flow.value >= SWEEP_START_MLPM:
            # on bypass: the perfusionist starts the sweep once blood flows (a sweep
            # over still blood is an alarm of its own, SWEEP_NO_BLOOD)
            self._sweep_pending = False
            self.rig.set_sweep(self.sc["sweep_lpm"])
            self.rig.save()
            self._say("t=%s set_sweep lpm=%r (blood flowing)"
                      % (_fixed3(machine.sim_now_us()), self.sc["sweep_lpm"]))

    def _row(self):
        now = machine.sim_now_us()
        fw = self.rig.telemetry_row()
        # t_s: the scenario's clock; the firmware's own restarts at every boot
        line = _fixed3(now) + fw[fw.find(","):] + "," + self.world.true_row()
        if self._csv is not None:
            self._csv.write(line + "\n")
        f = line.split(",")
        if self.keep_rows:
            k = self.keep_rows
            self.rows.append(f if k is True else tuple([f[self._ix[c]] for c in k]))
        self._track(f, now / 1e6)

    def _track(self, f, t):
        ix = self._ix
        self.ticks += 1
        for c in ("p1_mmhg", "p2_mmhg", "p3_mmhg", "true_p1_mmhg", "true_p2_mmhg",
                  "true_p3_mmhg"):
            s = f[ix[c]]
            if s:
                v = float(s)
                if c not in self.lo or v < self.lo[c]:
                    self.lo[c] = v
                if c not in self.hi or v > self.hi[c]:
                    self.hi[c] = v
        codes = f[ix["alarms"]]
        if codes:
            for code in codes.split("|"):
                if code not in self.alarm_first:
                    self.alarm_first[code] = t
                    self._alarm_order.append(code)
        sp = f[ix["flow_setpoint_lpm"]]
        if f[ix["control"]] == "flow" and f[ix["state"]] == "run" and sp:
            self.flow_mode_ticks += 1
            sp = float(sp)
            if abs(float(f[ix["true_flow_lpm"]]) - sp) <= sp * BAND_PCT / 100.0:
                self.band_ticks += 1

    # ---- reporting ----
    def _say(self, msg):
        if self.progress:
            print("[sim] " + msg)

    def _progress(self, pct, end_us, w0):
        r = self.rig
        pl = self.world.plant
        print("[sim] %3d%% t=%s/%s s  %s  flow %.2f L/min  %d rpm  P1 %.0f mmHg  alarms %s  "
              "(%.1f s wall)" % (pct, _fixed3(machine.sim_now_us()), _fixed3(end_us),
                                 r.status_line().split(" ")[0], pl.flow_lpm, pl.rpm, pl.p1_mmhg,
                                 "|".join(r.al.codes()) or "-", (_wall_ms() - w0) / 1000.0))

    def summary(self):
        pl = self.world.plant
        per = self.period_us / 1e6
        s = {
            "name": self.sc["name"],
            "duration_s": self.sc["duration_s"],
            "ticks": self.ticks,
            "alarms_first_s": [[c, self.alarm_first[c]] for c in self._alarm_order],
            "lowest": self.lo,
            "peak": self.hi,
            "flow_mode_s": self.flow_mode_ticks * per,
            "in_band_s": self.band_ticks * per,
            "air_first_at_detector_s": (None if self.world.air_first_us is None
                                        else self.world.air_first_us / 1e6),
            "air_to_patient_ul": pl.air_to_patient_ul,
            "air_trapped_ul": pl.air_trapped_ul,
            "boots": self.boots,
            "errors": self.errors,
            "wall_s": getattr(self, "wall_s", None),
            "interrupted": getattr(self, "interrupted", False),
            "late_ticks": self.rig.loop.late if self.rig is not None else None,
            "overruns": self.rig.loop.overruns if self.rig is not None else None,
            "sched_dropped": machine.sim_sched()[2],
            "pin_edges": self.pin_edges,
        }
        if self.out_dir:
            with open(self.out_dir + "/summary.json", "w") as f:
                f.write(json.dumps(s))
        return s


def _us(t_s):
    return int(t_s * 1000000 + 0.5)


def _hard_reset_cause():
    # machine.reset(): rp2 reboots through its watchdog (reads WDT_RESET), esp32 gives HARD_RESET
    return machine.HARD_RESET if machine.sim_port_name() == "esp32" else machine.WDT_RESET


def _args(e):
    return " ".join("%s=%r" % (k, e[k]) for k in e if k not in ("t", "do"))


def print_summary(s):
    print("[sim] summary: %s (%s s virtual, %d ticks, %.1f s wall)"
          % (s["name"], s["duration_s"], s["ticks"], s["wall_s"] or 0))
    if s["alarms_first_s"]:
        print("  alarms (first shown): " + ", ".join("%s %.2f s" % (c, t)
                                                     for c, t in s["alarms_first_s"]))
    else:
        print("  alarms: none")
    for c in ("p1_mmhg", "p2_mmhg", "p3_mmhg"):
        if c in s["lowest"]:
            print("  %s lowest %.1f peak %.1f (true %.1f .. %.1f)"
                  % (c[:2].upper(), s["lowest"][c], s["peak"][c], s["lowest"]["true_" + c],
                     s["peak"]["true_" + c]))
    if s["flow_mode_s"]:
        print("  flow mode: %.1f s, true flow within +-%d %% of the setpoint %.1f s (%.0f %%)"
              % (s["flow_mode_s"], BAND_PCT, s["in_band_s"],
                 100.0 * s["in_band_s"] / s["flow_mode_s"]))
    a = s["air_first_at_detector_s"]
    print("  air: %s; to the patient %.1f uL, trapped at the clamp %.1f uL"
          % ("first at the detector %.2f s" % a if a is not None else "none at the detector",
             s["air_to_patient_ul"], s["air_trapped_ul"]))
    if s.get("overruns"):
        print("  overruns: %d ticks longer than a period, %d started late, %d scheduled calls "
              "dropped" % (s["overruns"], s["late_ticks"], s["sched_dropped"]))
    if s.get("interrupted"):
        print("  interrupted (Ctrl-C): the rows so far are kept")
    if len(s["boots"]) > 1:
        print("  reboots: " + ", ".join("%.2f s %s" % (t, c) for t, c in s["boots"][1:]))
    for t, v, m in s["errors"]:
        print("  t=%.3f %s: %s" % (t, v, m))


def main(argv):
    if len(argv) < 3:
        print("usage: run.py SCENARIO.json OUT_DIR [--quiet]")
        return 2
    try:
        sim = Sim(argv[1], argv[2], progress="--quiet" not in argv)
    except SC.ScenarioError as e:
        print("scenario %s: %s" % (argv[1], e))
        return 2
    s = sim.run()
    print_summary(s)
    return 130 if s["interrupted"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
