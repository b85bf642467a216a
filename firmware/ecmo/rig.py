# The REPL's face: one object, `rig`, that builds the rig from the board file and the saved
# settings, runs the loop on a machine.Timer, and offers validated setters to the operator.
# Every setter checks its input first and changes nothing on error; changes that the tick
# reads together are applied with interrupts off, so the tick never sees half an update.
import machine
from machine import Pin, ADC, I2C, Timer, WDT
from time import ticks_ms
from ecmo import VERSION, settings as S
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.pressure import HoneywellABP
from ecmo.drivers.flow import PulseFlow
from ecmo.drivers.bubble import DigitalBubble, AnalogBubble
from ecmo.drivers.pump import Pump
from ecmo.drivers.clamp import Clamp
from ecmo.drivers.estop import EStop
from ecmo.drivers.annunciator import Annunciator
from ecmo.drivers import retain as R
from ecmo.drivers.status import name as status_name
from ecmo.control.pump_control import PumpControl, RPM, FLOW, MODE_NAMES
from ecmo.control import pid as P
from ecmo.safety import alarms as A
from ecmo.safety.alarms import Alarms
from ecmo.safety.supervisor import Supervisor, Trip, STATE_NAMES, RUN, STOP, STANDBY
from ecmo.safety import profiles
from ecmo.loop import Loop
from ecmo.pumpmap import PumpMap
from ecmo.redundancy import Redundancy
from ecmo.telemetry import Telemetry

_FLOW_MAX_LPM = S.FLOW_MAX_LPM


class _Critical:
    # `with self._crit:` keeps the tick out while the REPL changes a group of fields. The tick is
    # a scheduled callback, which can run between any two bytecodes even with IRQs masked, so a
    # flag the tick honours is what excludes it; the tick skips (and counts) a period that falls
    # inside. Hard IRQs (air, e-stop) are not held off: they only touch the trip, never settings.
    def __init__(self, loop):
        self._loop = loop
        self._depth = 0

    def __enter__(self):
        self._depth += 1
        self._loop.busy = True

    def __exit__(self, *a):
        try:
            self._depth -= 1
        finally:
            if self._depth <= 0:
                self._depth = 0
                self._loop.busy = False
        return False


_number = S.number     # the bounds checks live in settings.py, shared with load()


class Rig:
    def __init__(self, board, settings_path=None):
        self.board = board
        self.path = settings_path or getattr(board, "SETTINGS_PATH", "settings.json")
        self.settings, problem = S.load(self.path, board.RPM_MAX)
        self.boot_cause = machine.reset_cause()
        self.retain = R.Retained(getattr(board, "RETAIN", None))
        self._run_intent = False
        self._i2c = {}
        self._ident = None          # pump-map identification sweep (rig.identify)
        self.al = Alarms()
        self._build(board)
        self._apply_settings(self.settings)
        self.tlm = Telemetry(self, getattr(board, "TELEMETRY_TIMER_ID", -1))
        self.timer = None
        self.wdt = None
        now = ticks_ms()
        if problem and problem != "no settings file":
            self.al.set(A.SETTINGS, True, now)
        self.settings_problem = problem
        self._dirty = False
        self._resume(now)
        if self.sup.profile == "VA" and self.sup.state != RUN:
            self.clamp_out.close()   # VA with the pump stopped: an open return line flows backwards

    # ---- construction ----
    def _bus(self, n):
        if n not in self._i2c:
            c = self.board.I2C[n]
            # a short timeout: a dead bus must cost the tick a couple of ms, not the port's 50 ms
            self._i2c[n] = I2C(n, scl=Pin(c["scl"]), sda=Pin(c["sda"]), freq=c["freq"],
                               timeout=c.get("timeout_us", 2000))
        return self._i2c[n]

    def _adc(self, pin):
        adc = ADC(Pin(pin))
        att = getattr(self.board, "ADC_ATTEN", None)
        if att is not None:
            adc.atten(att)
        return adc

    def _sensor(self, spec):
        k = spec["kind"]
        if k == "analog":
            return AnalogSensor(self._adc(spec["adc"]), spec["cal"], spec["rails"], spec["limits"],
                                spec.get("stuck_ticks", 0), getattr(self.board, "ADC_MV", False),
                                spec.get("jitter", 0))
        if k == "abp":
            return HoneywellABP(self._bus(spec["bus"]), spec["addr"], spec["pmin_dmmhg"],
                                spec["pmax_dmmhg"], spec.get("frozen_ticks", 50),
                                spec.get("jitter", 40))
        if k == "pulse":
            return PulseFlow(spec["pin"], spec.get("pulses_per_l", 450),
                             tick_ms=1000 // self.board.TICK_HZ)
        raise ValueError("unknown sensor kind %r" % k)

    def _build(self, b):
        period_ms = 1000 // b.TICK_HZ
        pc = b.PUMP
        self.pump = Pump(pc["pwm"], pc["enable"], pc["tach"], pc["freq_hz"], b.RPM_MAX,
                         pc["pulses_per_rev"], pc.get("enable_level", 1))
        self.clamp_out = Clamp(b.CLAMP["pin"], b.CLAMP.get("closed_level", 1))
        s = b.SENSORS
        self.p1 = self._sensor(s["p1"])
        self.p2 = self._sensor(s["p2"])
        self.p3 = self._sensor(s["p3"])
        self.flow = self._sensor(s["flow"])
        self.control = PumpControl(400, 800, 0, b.RPM_MAX)
        # the trip exists before the IRQ inputs so their handlers stop the pump at once
        trip = Trip(self.pump, self.clamp_out, self.retain)
        bc = b.BUBBLE
        if bc["kind"] == "digital":
            self.bubble = DigitalBubble(bc["pin"], bc.get("active_level", 1), trip.air_cb)
        else:
            self.bubble = AnalogBubble(self._sensor(bc["sensor"]), bc["threshold"],
                                       bc.get("air_above", True), trip.air_cb)
        self.estop = EStop(b.ESTOP["pin"], b.ESTOP.get("active_level", 1), trip.estop_cb)
        self.sup = Supervisor(trip, self.bubble, self.estop, self.p1, self.p2, self.p3,
                              self.flow, self.al, "VA", b.RPM_MAX)
        self.ann = Annunciator(b.BUZZER, b.LED)
        sensors = (self.p1, self.p2, self.p3, self.flow, self.bubble, self.estop)
        # the oxygenator side is optional per board: its own loop runs from the pump tick
        self.gas = None
        aux = ()
        if hasattr(b, "GAS"):
            from ecmo.gas import Gas
            self.gas = Gas(self, b.GAS)
            aux = (self.gas,)
        # the pump map (board file: a datasheet fit; settings: identified on the rig) and the
        # cross-checks built on it; the flow loop's feed-forward uses the same estimate
        pm = getattr(b, "PUMP_MAP", None) or {"a": 28.0, "b": 2.6, "c": 0.6, "err_pct": 10}
        self.pump_map_board = pm
        self.red = Redundancy(self.p1, self.p2, self.p3, self.flow, self.pump,
                              PumpMap(pm["a"], pm["b"], pm.get("c", 0.0), pm.get("err_pct", 10)))
        self.control.feed_forward(self.red)
        self.loop = Loop(sensors, self.pump, self.control, self.sup, self.al, self.ann, period_ms,
                         aux=aux, red=self.red)
        self._crit = _Critical(self.loop)

    def _apply_settings(self, d):
        # d was validated (load) or built by a setter; apply as one change
        with self._crit:
            self.sup.set_profile(d["profile"], d["limits"])
            g = d["gains"]
            self.control.pid.set_gains(g[0], g[1], g[2])
            self.control.flow_target_mlpm = int(d["flow_lpm"] * 1000 + 0.5)   # float32: 4.1 -> 4100
            self.control.rpm_target = int(d["rpm"])
            m = FLOW if d["control"] == "flow" else RPM
            self.control.set_mode(m, self.flow.value, self.sup.rpm_applied)
            self._apply_map(d.get("pump_map"))

    def _apply_map(self, pm):
        # the identified map from the settings, else the board's datasheet fit; a stored map
        # that does not pass the bounds is not used (SETTINGS alarm, the board's map instead)
        src = pm if pm is not None else self.pump_map_board
        try:
            self.red.set_map(PumpMap(src["a"], src["b"], src.get("c", 0.0), src.get("err_pct", 10)))
        except (ValueError, KeyError, TypeError):
            b = self.pump_map_board
            self.red.set_map(PumpMap(b["a"], b["b"], b.get("c", 0.0), b.get("err_pct", 10)))
            self.al.set(A.SETTINGS, True, self.loop.now_ms)

    def _resume(self, now):
        # After a reset nobody asked for (watchdog, crash; not power-on, not deploy/halt/reboot):
        # a latched HIGH alarm; the rig comes back as it was running (profile, mode, setpoints
        # from retained memory, not the last save), and if the operator had the pump running,
        # the profile's policy (docs/hazards.md): VA restarts at once (a stopped pump in VA
        # means retrograde flow and no support); VV stays in standby (the operator checks first).
        # A latched air or e-stop stop survives any reset but a power cycle, planned or not.
        kept = self.retain.get()
        flags = kept[0] if kept is not None else 0
        self.unexpected_reset = self.boot_cause != machine.PWRON_RESET and not flags & R.ASKED
        if self.boot_cause == machine.PWRON_RESET:
            # Both chips report a brownout as power-on, and retained memory is gone: a supply
            # dip while pumping looks exactly like switching the rig on. So every power-on
            # boot tells the operator the pump is in standby until he acknowledges or runs it.
            self.al.set(A.POWER_ON, True, now)
        stopped = flags & (R.STOP_AIR | R.STOP_ESTOP)
        if stopped:
            # the first tick shows it again; only ack + clear + restart() release it
            self.bubble.latched = flags & R.STOP_AIR != 0
            self.estop.latched = flags & R.STOP_ESTOP != 0
            self.sup.trip()
        resume = False
        if self.unexpected_reset:
            self.al.set(A.WDT_RESET, True, now)
            self.al.set(A.WDT_RESET, False, now)   # latched: shown until acknowledged
            if kept is not None:
                self._restore_live(kept, now)
                resume = flags & R.RUN != 0 and not stopped and self.sup.profile == "VA"
        if resume:
            self.sup.start(now)
        self._run_intent = resume
        self._keep()

    def _restore_live(self, kept, now):
        flags, setpoint, sweep = kept
        c = self.control
        flow = flags & R.FLOW != 0
        # a word that passed its magic but holds impossible setpoints is not trusted
        if setpoint > (int(S.FLOW_MAX_LPM * 1000) if flow else self.board.RPM_MAX) or \
                (sweep is not None and sweep > int(S.SWEEP_MAX_LPM * 1000)):
            self.al.set(A.SETTINGS, True, now)
            return
        prof = "VA" if flags & R.VA else "VV"
        if prof != self.sup.profile:
            # switched live and never saved: that profile's default limits
            self.sup.set_profile(prof)
            self.settings["profile"] = prof
            self.settings["limits"] = profiles.defaults(prof)
        if flags & R.DIRTY:
            self.al.set(A.SETTINGS, True, now)   # live changes were not saved: say so
            self._dirty = True
        self.sup.clamp_request = flags & R.CLAMP != 0
        if flow:
            c.flow_target_mlpm = setpoint
            c.set_mode(FLOW, self.flow.value, 0)
            self.settings["control"] = "flow"
            self.settings["flow_lpm"] = setpoint / 1000
        else:
            c.rpm_target = setpoint
            c.set_mode(RPM, self.flow.value, 0)
            self.settings["control"] = "rpm"
            self.settings["rpm"] = setpoint
        if sweep is not None and self.gas is not None:
            self.gas.control.target_mlpm = sweep
            self.settings["sweep_lpm"] = sweep / 1000

    def _keep(self, asked=False):
        # the live intent into retained memory (REPL side). Interrupts are off so an air or
        # e-stop IRQ cannot record its latch between our read of the latches and the store.
        c = self.control
        sup = self.sup
        flags = (R.RUN if self._run_intent else 0) | (R.ASKED if asked else 0) | \
            (R.VA if sup.profile == "VA" else 0) | (R.FLOW if c.mode == FLOW else 0) | \
            (R.DIRTY if self._dirty else 0) | (R.CLAMP if sup.clamp_request else 0)
        sweep = self.gas.control.target_mlpm if self.gas is not None else None
        sp = c.flow_target_mlpm if c.mode == FLOW else c.rpm_target
        st = machine.disable_irq()
        try:
            # a latch holds until restart() clears it, whatever the state says this instant
            latches = (R.STOP_AIR if self.bubble.latched else 0) | \
                (R.STOP_ESTOP if self.estop.latched else 0)
            self.retain.put(flags | latches, sp, sweep)
        finally:
            machine.enable_irq(st)

    def _touch(self):
        # a live change the flash does not have yet
        self._dirty = True
        self._keep()

    def start(self):
        # start the periodic tick and the watchdog; the REPL stays free
        b = self.board
        self.timer = Timer(b.TIMER_ID)
        self.timer.init(mode=Timer.PERIODIC, freq=b.TICK_HZ, callback=self.loop.cb)
        if getattr(b, "WDT_TIMEOUT_MS", 0):
            self.wdt = WDT(timeout=b.WDT_TIMEOUT_MS)
            self.loop.wdt = self.wdt
        self.tlm.set_rate(self.settings["telemetry_hz"])

    def halt(self):
        # stop the loop timer (bench use only): the pump is stopped first
        if self.timer is not None:
            self.timer.deinit()
        self.tlm.set_rate(0)
        self._run_intent = False
        self._keep(asked=True)        # the watchdog will reset the board: that one is asked for
        self.sup.trip()
        if self.gas is not None:
            self.gas.cut()     # no sweep into blood that no longer moves

    # ---- operator commands ----
    def help(self):
        print("""ecmo-rig %s -- commands (rig.<name>):
  status()                 one line: state, profile, mode, setpoint, flow, RPM, P1/P2/P3, dP, alarms
  run() / standby()        start the pump / operator stop (VA closes the return line)
  mode('flow'|'rpm')       control mode; switching is bumpless
  set_flow(lpm)            flow setpoint in L/min (flow mode)
  set_rpm(rpm)             speed setpoint (rpm mode)
  gains(kp, ki, kd)        flow PID gains: RPM/(L/min), RPM/(L/min*s), RPM/(L/min/s)
  limit(name, value, confirm=False)  set a safety limit (rig.limits() lists them)
  profile('VA'|'VV')       switch profile: limits go to that profile's defaults
  clamp(closed)            operator clamp of the return line
  ack()                    acknowledge alarms: audio paused, alarms stay visible
  restart()                release a latched air / e-stop stop once clear and acknowledged
  reboot()                 planned reset: standby, no alarm and no resume after it
  alarms() / log(n)        alarms shown now / last n alarm events
  blind()                  interlocks that cannot see because a sensor is invalid
  telemetry(hz)            CSV rows on this link ('TLM ...', header '#TLM ...'), 0 = off, max %d
  telemetry_header() / telemetry_row()   the header and one row as strings
  save() / load()          settings to / from flash (load: a bad file changes nothing)""" % (
            VERSION, S.TELEMETRY_MAX_HZ))

    def status(self):
        # printed, not returned: the REPL would echo a returned line a second time
        print(self.status_line())

    def status_line(self):
        c = self.control
        flow_sp = c.flow_target_mlpm / 1000 if c.mode == FLOW else None
        sp = ("%.2f L/min" % flow_sp) if flow_sp is not None else ("%d rpm" % c.rpm_target)
        def p(s):
            return ("%.0f" % (s.value / 10)) if not s.status else status_name(s.status).upper()
        dp = "%.0f" % ((self.p2.value - self.p3.value) / 10) if not (self.p2.status or self.p3.status) else "?"
        al = ",".join(self.al.codes()) or "-"
        return ("%s %s %s sp=%s flow=%s rpm=%d P1=%s P2=%s P3=%s dP=%s alarms=%s" % (
            STATE_NAMES[self.sup.state], self.sup.profile, MODE_NAMES[c.mode], sp,
            ("%.2f" % (self.flow.value / 1000)) if not self.flow.status else status_name(self.flow.status).upper(),
            self.pump.rpm, p(self.p1), p(self.p2), p(self.p3), dp, al))

    def run(self):
        with self._crit:
            self.sup.start(self.loop.now_ms)
            self.control.restart(self.flow.value)
            self.al.set(A.POWER_ON, False, self.loop.now_ms)
        self._run_intent = True       # an unexpected reset resumes (VA) from here on
        self._keep()

    def standby(self):
        with self._crit:
            self.sup.standby()
        self._run_intent = False
        self._keep()

    def expect_reset(self):
        # the next reset is deliberate (deploy, a planned reboot): no alarm, no resume after it
        with self._crit:
            self.sup.standby()
        self._run_intent = False
        self._keep(asked=True)

    def reboot(self):
        self.expect_reset()
        machine.reset()

    def mode(self, name):
        S.choice("mode", name, S.CONTROL_MODES)
        with self._crit:
            self.control.set_mode(FLOW if name == "flow" else RPM, self.flow.value, self.sup.rpm_applied)
        self.settings["control"] = name
        self._touch()

    def set_flow(self, lpm):
        lpm = float(_number("flow_lpm", lpm, 0, S.FLOW_MAX_LPM))
        self.control.flow_target_mlpm = int(lpm * 1000 + 0.5)   # one store: atomic for the tick
        self.settings["flow_lpm"] = lpm
        self._touch()

    def set_rpm(self, rpm):
        rpm = int(_number("rpm", rpm, 0, self.board.RPM_MAX))
        self.control.rpm_target = rpm
        self.settings["rpm"] = rpm
        self._touch()

    def gains(self, kp=None, ki=None, kd=None):
        g = list(self.settings["gains"])
        if kp is None and ki is None and kd is None:
            return tuple(g)
        if kp is not None:
            g[0] = S.check_gain("kp", kp)
        if ki is not None:
            g[1] = S.check_gain("ki", ki)
        if kd is not None:
            g[2] = S.check_gain("kd", kd)
        with self._crit:
            self.control.pid.set_gains(g[0], g[1], g[2])
        self.settings["gains"] = g
        self._touch()
        return tuple(g)

    def limits(self):
        return dict(self.settings["limits"])

    def limit(self, name, value, confirm=False):
        prof = self.settings["profile"]
        if not isinstance(name, str):
            raise ValueError("limit name must be a string; known: %s" % ", ".join(sorted(profiles.LIMITS)))
        if not isinstance(confirm, bool):
            raise ValueError("confirm must be True or False, got %r" % (confirm,))
        v = profiles.check(name, value, prof, confirm)
        new = dict(self.settings["limits"])
        new[name] = v
        new = S.check_limits(new, None)    # hard bounds and warn/crit order
        with self._crit:
            setattr(self.sup, name, v)
        self.settings["limits"] = new
        self._touch()
        return v

    def profile(self, name):
        S.choice("profile", name, profiles.PROFILES)
        lim = profiles.defaults(name)
        with self._crit:
            self.sup.set_profile(name, lim)
        self.settings["profile"] = name
        self.settings["limits"] = lim
        self._touch()

    def clamp(self, closed):
        if not isinstance(closed, bool):
            raise ValueError("clamp takes True (closed) or False (open)")
        self.sup.clamp_request = closed
        self._keep()

    def ack(self):
        with self._crit:
            self.al.set(A.POWER_ON, False, self.loop.now_ms)
            self.al.ack(self.loop.now_ms)
            self.sup.acked()

    def restart(self):
        with self._crit:
            self.sup.restart(self.loop.now_ms)
            self.control.restart(self.flow.value)
        self._run_intent = True
        self._keep()                  # the latched stop is released: a reset must not bring it back

    def alarms(self):
        return self.al.codes()

    def log(self, n=20):
        return self.al.log(n)

    def blind(self):
        return self.sup.blind()

    def telemetry(self, hz=None):
        # rows per second on the serial link; 0 = off. Saved with the settings.
        if hz is None:
            return self.tlm.hz
        hz = int(_number("telemetry_hz", hz, 0, S.TELEMETRY_MAX_HZ, True))
        self.tlm.set_rate(hz)
        self.settings["telemetry_hz"] = hz
        return hz

    def telemetry_header(self):
        return self.tlm.header()

    def telemetry_row(self):
        return self.tlm.row()

    def save(self):
        S.save(self.path, self.settings)
        self._dirty = False
        self._keep()
        return self.path

    def load(self):
        # a missing, corrupt or out-of-bounds file changes nothing here (boot is where defaults
        # and the SETTINGS alarm apply)
        d, problem = S.load(self.path, self.board.RPM_MAX)
        if problem:
            raise ValueError("settings not loaded: " + problem)
        self._apply_settings(d)
        self.settings = d
        if d["telemetry_hz"] != self.tlm.hz:
            self.tlm.set_rate(d["telemetry_hz"])
        self._dirty = False
        self._keep()

    # ---- pump map: datasheet fit or identified on the rig (ecmo/identify.py, docs/pumpmap.md) ----
    def pump_map(self, a=None, b=None, c=None, err_pct=None):
        # the map in use as a dict; with arguments, set it (a fit done elsewhere) and keep it
        m = self.red.map
        if a is None and b is None and c is None and err_pct is None:
            return {"a": m.a, "b": m.b, "c": m.c, "err_pct": m.err_pct}
        new = PumpMap(m.a if a is None else a, m.b if b is None else b, m.c if c is None else c,
                      m.err_pct if err_pct is None else err_pct)
        with self._crit:
            self.red.set_map(new)
        self.settings["pump_map"] = {"a": new.a, "b": new.b, "c": new.c, "err_pct": new.err_pct}
        self._touch()
        return self.pump_map()

    def identify(self, speeds=None):
        # one step of the guided identification: set a partial clamp on the return line, then
        # call this; the pump sweeps `speeds` in RPM mode (~4 s per step) and comes back to
        # the mode and setpoint it had. Repeat at 2-3 clamp positions, then identify_fit().
        if self._ident is None:
            from ecmo.identify import Sweep
            self._ident = Sweep(self)
            self.loop.aux = self.loop.aux + (self._ident,)
        self._ident.start(speeds, self.loop.now_ms)
        return self._ident.status()

    def identify_status(self):
        return self._ident.status() if self._ident is not None else "no identification started"

    def identify_fit(self, keep=True):
        # fit the map to the sweep's points; keep=True puts it in use and in the settings
        # (rig.save() writes it to flash). Returns the map with its fit error in % of head.
        if self._ident is None or self._ident.active:
            raise ValueError("no finished sweep: rig.identify() first, then wait for it")
        from ecmo.identify import fit
        a, b, c, err = fit(self._ident.points())
        out = {"a": a, "b": b, "c": c, "err_pct": err, "points": self._ident.n}
        if keep:
            self.pump_map(a, b, c, max(1, int(err + 0.999)))
            self._ident.n = 0           # the next identification starts afresh
            self._ident.positions = 0
        return out

    # ---- oxygenator ----
    # Sweep and FiO2 targets, gas limits and O2-cell calibration (firmware/ecmo/gas.py).
    def _gas_side(self):
        if self.gas is None:
            raise ValueError("this board has no oxygenator side (no GAS in its board file)")
        return self.gas

    def set_sweep(self, lpm):
        # sweep gas setpoint in L/min; 0 closes the valve
        g = self._gas_side()
        lpm = float(_number("sweep_lpm", lpm, 0, S.SWEEP_MAX_LPM))
        g.control.target_mlpm = int(lpm * 1000 + 0.5)   # one store: atomic for the tick
        self.settings["sweep_lpm"] = float(lpm)
        self._touch()

    def set_fio2(self, fio2):
        # FiO2 target as a fraction (0.21..1.0) or a percent (21..100): the blender's setpoint,
        # or on a monitor-only rig what the manual blender is set to (the FiO2 alarm checks it)
        g = self._gas_side()
        if not isinstance(fio2, bool) and isinstance(fio2, (int, float)) and fio2 > 1:
            fio2 = _number("fio2", fio2, 21, 100) / 100
        fio2 = float(_number("fio2", fio2, S.FIO2_MIN, 1.0))
        with self._crit:
            g.set_fio2_dpct(int(fio2 * 1000 + 0.5))
        self.settings["fio2"] = float(fio2)
        self._touch()

    def sweep_gains(self, kp=None, ki=None, kd=None):
        # sweep PID gains: valve steps (16 duty) per L/min, per (L/min*s), per (L/min/s)
        from ecmo.control import sweep as SW
        g = self._gas_side()
        pid = g.control.pid
        new = [pid.kp, pid.ki, pid.kd]
        for i, (name, v, hi) in enumerate((("kp", kp, SW.SWEEP_KP_MAX), ("ki", ki, SW.SWEEP_KI_MAX),
                                           ("kd", kd, SW.SWEEP_KD_MAX))):
            if v is not None:
                new[i] = int(_number(name, v, 0, hi))
        with self._crit:
            pid.set_gains(new[0], new[1], new[2])
        return tuple(new)

    def gas_limits(self):
        lim = self.settings["limits"]
        return dict((k, lim.get(k, getattr(self.sup, k))) for k in profiles.GAS_LIMITS)

    def gas_limit(self, name, value, confirm=False):
        # one of gas_limits(), with the same rules as limit(); low temperature stays below high
        if name not in profiles.GAS_LIMITS:
            raise ValueError("gas limit must be one of %s, got %r" % (", ".join(profiles.GAS_LIMITS), name))
        lo = value if name == "temp_low_cdegc" else getattr(self.sup, "temp_low_cdegc")
        hi = value if name == "temp_high_cdegc" else getattr(self.sup, "temp_high_cdegc")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo >= hi:
            raise ValueError("temp_low_cdegc must be below temp_high_cdegc (%s >= %s)" % (lo, hi))
        return self.limit(name, value, confirm)

    def calibrate_air(self):
        # O2 cell in room air (20.9 %): returns how far the old calibration was off, in 0.1 %
        g = self._gas_side()
        with self._crit:
            return g.o2.calibrate(209)

    def calibrate_o2(self):
        # O2 cell in 100 % O2
        g = self._gas_side()
        with self._crit:
            return g.o2.calibrate(1000)

    def gas_status(self):
        print(self._gas_side().status_line())
