# The REPL's face: one object, `rig`, made from the parts the wiring builds (ecmo/wiring.py)
# and the saved settings; it runs the loop on a machine.Timer and offers validated setters to
# the operator. Every setter checks its input against the settings table (ecmo/table.py) first
# and changes nothing on error; changes that the tick reads together are applied with the tick
# held off, so it never sees half an update. What happens after a reset: safety/resume.py.
import machine
import micropython
from time import ticks_ms, ticks_diff, sleep_ms, localtime
from ecmo import VERSION, settings as S, table as T
from ecmo.wiring import Wiring, pump_map
from ecmo.pumpmap import PumpMap
from ecmo.drivers import retain as R
from ecmo.drivers.status import name as status_name
from ecmo.drivers.analog import AnalogSensor
from ecmo.control.pump_control import RPM, FLOW, PRESSURE, ZERO, MODE_NAMES
from ecmo.safety import alarms as A
from ecmo.safety import resume
from ecmo.safety.supervisor import STATE_NAMES, RUN, STOP
from ecmo.safety import profiles
from ecmo.telemetry import Telemetry, fixed, rounded


def boot_profile(retain, settings):
    # the profile the outputs are made for: the live one a reset kept, else the saved one
    kept = retain.get()
    if kept is not None:
        return "VA" if kept[0] & R.VA else "VV"
    return settings["profile"]


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


class _Collect:
    # the mean measured flow over a timed collection (a bucket test, rig.collect): summed in
    # the tick in integers (60 000 ticks of 10 L/min stay below 2**30), no allocation
    def __init__(self, flow):
        self.flow = flow
        self.on = False
        self.sum = 0
        self.n = 0
        self.bad = 0
        self.t0 = ticks_ms()

    def tick(self, now_ms, n):
        if self.on:
            f = self.flow
            if f.status:
                self.bad += 1
            elif self.n < 60000:
                self.sum += f.value
                self.n += 1


_number = S.number
_ASK = object()         # mode() without an argument: which mode (mode(None) is an error)
# The lowest integral gain that brings the flow to its setpoint in reasonable time. On the
# simulated rig (kp 300, a 2 -> 4 L/min step, true flow; tools/bench/ki_floor.py): ki 1500 (the
# default) settles within 5 % in 2.1 s, ki 100 in 16 s; ki 30 is still 9 % off 30 s after the
# step, ki 0 21 % off.
_KI_USEFUL = 100
# Zero limits (docs/facts.md §1, §2, docs/checklist.md): the largest offset each part shows
# open to air / at no flow. P1, a disposable bridge transducer (+-25 mmHg zero offset class)
# behind its amplifier: 30 mmHg. The ABP's limit is its 1.5 % FSS total error band
# (Rig.zero_limit). The clamp-on flow probe: 250 mL/min (2 % of the -2..10 L/min span).
_ZERO_P_ANALOG_DMMHG = 300
_ZERO_FLOW_MLPM = 250


class Rig:
    def __init__(self, board, settings_path=None):
        self.board = board
        self.path = settings_path or getattr(board, "SETTINGS_PATH", "settings.json")
        self.settings, problem = S.load(self.path, board.RPM_MAX)
        self.boot_cause = machine.reset_cause()
        self.retain = R.Retained(getattr(board, "RETAIN", None))
        self._run_intent = False
        self._ident = None          # pump-map identification sweep (rig.identify)
        self._collect = None        # a timed collection for the flow calibration (rig.collect)
        self.wiring = Wiring(board)
        p = self.parts = self.wiring.build(self.retain, boot_profile(self.retain, self.settings))
        self.pump = p.pump
        self.clamp_out = p.clamp_out
        self.p1 = p.p1
        self.p2 = p.p2
        self.p3 = p.p3
        self.flow = p.flow
        self.control = p.control
        self.bubble = p.bubble
        self.estop = p.estop
        self.al = p.al
        self.sup = p.sup
        self.ann = p.ann
        self.gas = p.gas
        self.red = p.red
        self.pump_map_board = p.pump_map_board
        self.loop = p.loop
        self._crit = _Critical(self.loop)
        self._apply_settings(self.settings)
        self.tlm = Telemetry(self.sup, self.control, self.al, self.gas, self.loop,
                             self.wiring.telemetry_timer)
        self.timer = None
        self.wdt = None
        now = ticks_ms()
        if problem and problem != "no settings file":
            self.al.set(A.SETTINGS, True, now)
        self.settings_problem = problem
        self._record_cb = self._record_latch      # bound once: the tick schedules it
        self.sup.on_latch = self._latch_seen
        boot = resume.after_reset(p, self.retain, self.boot_cause, self.settings, board.RPM_MAX,
                                  now, S.read_latch(self.path))
        self.unexpected_reset = boot.unexpected
        self.reset_kind = boot.cause     # power-on, soft, planned, watchdog or crash
        self._dirty = boot.dirty
        self._run_intent = boot.run_intent
        self._keep()
        if self.sup.profile == "VA" and self.sup.state != RUN:
            self.clamp_out.close()   # VA with the pump stopped: an open return line flows backwards

    def _apply_settings(self, d):
        # d was validated (load) or built by a setter; apply as one change
        with self._crit:
            self._apply_limits(d["profile"], d["limits"])
            g = d["gains"]
            self.control.pid.set_gains(g[0], g[1], g[2])
            self.control.flow_target_mlpm = T.to_units("flow_lpm", d["flow_lpm"])
            self.control.rpm_target = int(d["rpm"])
            sg = d["servo_gains"]
            self.control.set_servo_gains(sg[0], sg[1], sg[2])
            self.control.p1_target_dmmhg = T.to_units("p1_target_mmhg", d["p1_target_mmhg"])
            m = MODE_NAMES.index(d["control"])
            if m == ZERO and d["profile"] != "VA":
                m = RPM          # zero-flow mode is VA only (a file edited by hand)
            self.control.set_mode(m, self.flow.value, self.sup.rpm_applied, self.p1.value)
            if self.gas is not None:
                # the saved sweep setpoint comes back; the cut holds it while blood is still
                self.gas.control.target_mlpm = T.to_units("sweep_lpm", d["sweep_lpm"])
                self.gas.set_fio2_dpct(T.to_units("fio2", d["fio2"]))
            self._apply_map(d.get("pump_map"))
            self._apply_cal(d)

    def _apply_map(self, pm):
        # the identified map from the settings, else the board's datasheet fit; a stored map
        # that does not pass the bounds is not used (SETTINGS alarm, the board's map instead)
        try:
            self.red.set_map(pump_map(pm if pm is not None else self.pump_map_board))
        except (ValueError, KeyError, TypeError):
            self.red.set_map(pump_map(self.pump_map_board))
            self.al.set(A.SETTINGS, True, self.loop.now_ms)

    def _apply_limits(self, prof, lim):
        # both supervisors, pump and gas, take their share of the limits
        self.sup.set_profile(prof, lim)
        if self.gas is not None:
            self.gas.safety.set_limits(prof, lim)

    def _latch_seen(self):
        # from the tick: the flash write runs from the scheduler, outside the tick
        try:
            micropython.schedule(self._record_cb, 0)
        except RuntimeError:          # queue full: the next tick tries again
            self.sup._latch_seen = False   # (the supervisor's flag, kept for this retry)

    def _record_latch(self, _arg):
        try:
            S.write_latch(self.path, self.bubble.latched, self.estop.latched)
        except Exception as e:        # a full or failing flash must not take the loop down
            self.loop.last_error = e
            # but the operator must know a power cycle would now lose the stop (H21)
            self.al.set(A.SETTINGS, True, self.loop.now_ms)

    def _keep(self, asked=False):
        resume.keep(self.parts, self.retain, self._run_intent, self._dirty, asked)

    def _touch(self):
        # a live change the flash does not have yet
        self._dirty = True
        self._keep()

    def start(self):
        # start the periodic tick and the watchdog; the REPL stays free
        b = self.board
        self.timer = self.wiring.tick_timer()
        self.timer.init(mode=machine.Timer.PERIODIC, freq=b.TICK_HZ, callback=self.loop.cb)
        self.wdt = self.wiring.watchdog()
        if self.wdt is not None:
            self.loop.wdt = self.wdt
        self.tlm.set_rate(self._tlm_hz(self.settings))

    def _tlm_hz(self, d):
        # a file's rate within what this board's link takes (a Pico file on an ESP32): kept
        # at the cap, so the next save() writes what runs
        cap = self._tlm_cap()
        if d["telemetry_hz"] > cap:
            d["telemetry_hz"] = cap
        return d["telemetry_hz"]

    def _tlm_cap(self):
        # rows/s this board's serial link takes (boards/board_esp32.py says why it has one)
        return getattr(self.board, "TELEMETRY_MAX_HZ", S.TELEMETRY_MAX_HZ)

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
        # the text lives in ecmo/help.py, imported only when asked for (a board's heap is small)
        from ecmo.help import commands
        print(commands(VERSION, self._tlm_cap()))   # this board's cap, not the table's

    def status(self):
        # printed, not returned: the REPL would echo a returned line a second time
        print(self.status_line())

    def status_line(self):
        # integers formatted as text: the same line on a board, the unix port and CPython
        c = self.control
        if c.mode == FLOW:
            sp = fixed(rounded(c.flow_target_mlpm, 10), 2) + " L/min"
        elif c.mode == PRESSURE:
            sp = "P1 %s mmHg" % rounded(c.p1_target_dmmhg, 10)
        elif c.mode == ZERO:
            sp = "zero flow"
        else:
            sp = "%d rpm" % c.rpm_target

        def p(s):
            return str(rounded(s.value, 10)) if not s.status else status_name(s.status).upper()
        dp = str(rounded(self.p2.value - self.p3.value, 10)) \
            if not (self.p2.status or self.p3.status) else "?"
        f = self.flow
        flow = fixed(rounded(f.value, 10), 2) if not f.status else status_name(f.status).upper()
        r = self.red
        if r.q_est:
            flow = "EST " + fixed(rounded(r.q_g, 10), 2)   # the loop runs on the map's estimate
        elif r.suspect & 8:
            flow = "SUSPECT"
        al = ",".join(self.al.codes()) or "-"
        # an ESP32 without ADC calibration reads its analog inputs through read_u16 and our
        # own two-point line (board ADC_U16_CAL, else a nominal one): said at the end
        adc = self.wiring.adc_mode
        adc = " adc=" + adc if adc[:4] == "u16-" else ""
        return ("%s %s %s sp=%s flow=%s rpm=%d P1=%s P2=%s P3=%s dP=%s alarms=%s%s%s" % (
            STATE_NAMES[STOP if self.sup.stopped() else self.sup.state], self.sup.profile, MODE_NAMES[c.mode], sp, flow,
            self.pump.rpm, p(self.p1), p(self.p2), p(self.p3), dp, al, self._cal_token(), adc))

    def _not_stopped(self, what):
        if self.sup.stopped():
            raise ValueError("%s refused: latched stop; ack(), clear the cause%s, then restart()"
                             % (what, ", de-air and deaired()" if self.bubble.latched else ""))

    def _first_readings(self, what):
        # a command typed (or scripted by mpremote) before the loop's first tick would be judged
        # on readings not yet taken: wait for that tick, bounded (the timer runs the loop)
        if self.loop.n or self.timer is None:
            return
        t0 = ticks_ms()
        while self.loop.n == 0:
            if ticks_diff(ticks_ms(), t0) > 40 * self.loop.period_ms:
                raise ValueError("%s refused: the loop is not running (no readings yet)" % what)
            sleep_ms(self.loop.period_ms)

    def _not_blind_flow(self, what):
        # H08: flow mode with no trusted flow reading and no trusted speed known (after a boot)
        # has nothing to start on; refused, nothing changed (the status line stays as it is)
        self._first_readings(what)
        if self.sup.blind_flow_start():
            f = self.flow
            why = status_name(f.status).upper() if f.status else "suspect"
            raise ValueError("%s refused: flow mode cannot start on an untrusted flow reading "
                             "(SENSOR_FLOW, %s): use rig.mode('rpm') and rig.set_rpm(...)"
                             % (what, why))

    def run(self):
        self._not_stopped("run()")
        self._not_blind_flow("run()")
        with self._crit:
            self.sup.start(self.loop.now_ms)
            self.control.restart(self.flow.value)
            self.al.set(A.POWER_ON, False, self.loop.now_ms)
        self._run_intent = True       # an unexpected reset resumes (VA) from here on
        self._keep()

    def standby(self):
        self._not_stopped("standby()")
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

    def mode(self, name=_ASK):
        # rpm, flow, pressure (the P1 servo, set_p1) or zero (VA weaning: the speed of zero net
        # flow); every switch is bumpless. mode() alone names the mode in use.
        if name is _ASK:
            return MODE_NAMES[self.control.mode]
        S.choice("mode", name, S.CONTROL_MODES)
        if name == "flow":
            self._gains_can_control(self.settings["gains"], True)
        if name == "pressure":
            g = self.settings["servo_gains"]
            if g[1] == 0:
                raise ValueError("pressure mode needs integral action: servo_gains ki=0 would "
                                 "never bring P1 to its target; rig.servo_gains(ki=...) first")
            self._p1_target_ok(self.settings["p1_target_mmhg"])
        if name == "zero" and self.sup.profile != "VA":
            raise ValueError("zero-flow mode is for VA weaning only (profile is %s)"
                             % self.sup.profile)
        with self._crit:
            self.control.set_mode(MODE_NAMES.index(name), self.flow.value, self.sup.rpm_applied,
                                  self.p1.value)
        self.settings["control"] = name
        self._touch()

    def _p1_target_ok(self, mmhg):
        # the servo's target must sit above the suction warning limit (+10 mmHg, the
        # interlock's own release band): a target the interlock fights is no target
        lo = (self.sup.p1_warn_dmmhg + 100) / 10
        if mmhg < lo:
            raise ValueError("P1 target %s mmHg is too close to the suction warning limit "
                             "(%s mmHg): at least %s mmHg" % (mmhg, self.sup.p1_warn_dmmhg / 10, lo))

    def set_p1(self, mmhg):
        # the pressure servo's target for P1 in mmHg (pressure mode; kept for it otherwise)
        mmhg = T.check("p1_target_mmhg", mmhg)
        self._p1_target_ok(mmhg)
        self.control.p1_target_dmmhg = T.to_units("p1_target_mmhg", mmhg)   # one store: atomic
        self.settings["p1_target_mmhg"] = mmhg
        self._touch()

    def servo_gains(self, kp=None, ki=None, kd=None):
        # the pressure servo's gains: RPM/mmHg, RPM/(mmHg*s), RPM/(mmHg/s); no arguments: show
        g = list(self.settings["servo_gains"])
        if kp is None and ki is None and kd is None:
            return tuple(g)
        for i, v in enumerate((kp, ki, kd)):
            if v is not None:
                g[i] = T.check(S.SERVO_GAINS[i], v, whole=True)
        if self.control.mode == PRESSURE and g[1] == 0:
            raise ValueError("pressure mode needs integral action: ki=0 would never bring P1 "
                             "to its target (or switch to mode('rpm') first)")
        with self._crit:
            self.control.set_servo_gains(g[0], g[1], g[2])
        self.settings["servo_gains"] = g
        self._touch()
        return tuple(g)

    def set_flow(self, lpm):
        lpm = T.check("flow_lpm", lpm)
        self.control.flow_target_mlpm = T.to_units("flow_lpm", lpm)   # one store: atomic for the tick
        self.settings["flow_lpm"] = lpm
        self._touch()

    def set_rpm(self, rpm):
        rpm = T.check("rpm", rpm, self.board.RPM_MAX)
        self.control.rpm_target = rpm
        self.settings["rpm"] = rpm
        self._touch()

    def gains(self, kp=None, ki=None, kd=None):
        g = list(self.settings["gains"])
        if kp is None and ki is None and kd is None:
            return tuple(g)
        for i, v in enumerate((kp, ki, kd)):
            if v is not None:
                g[i] = T.check(S.GAINS[i], v)
        self._gains_can_control(g, self.control.mode == FLOW)
        with self._crit:
            self.control.pid.set_gains(g[0], g[1], g[2])
        self.settings["gains"] = g
        self._touch()
        return tuple(g)

    def _gains_can_control(self, g, flow_mode):
        # gains that cannot hold a flow are refused, with the reason
        if g[0] == 0 and g[1] == 0 and g[2] == 0:
            raise ValueError("gains (0, 0, 0) turn the flow loop off; lowest useful: ki >= %d"
                             % _KI_USEFUL)
        if flow_mode and g[1] < _KI_USEFUL:
            raise ValueError("flow mode needs integral action: ki=%d is below %d, the flow "
                             "would never reach its setpoint (or switch to mode('rpm') first)"
                             % (g[1], _KI_USEFUL))

    def limits(self):
        return dict(self.settings["limits"])

    def limit(self, name, value, confirm=False):
        prof = self.settings["profile"]
        if not isinstance(name, str):
            raise ValueError("limit name must be a string; known: %s" % ", ".join(sorted(profiles.LIMITS)))
        if not isinstance(confirm, bool):
            raise ValueError("confirm must be True or False, got %r" % (confirm,))
        v = profiles.check(name, value, prof, confirm)
        self._loosening({name: v}, confirm, "limit %s" % name)
        new = dict(self.settings["limits"])
        new[name] = v
        new = S.check_limits(new, None)    # hard bounds and warn/crit order
        with self._crit:
            self._apply_limits(prof, new)
        self.settings["limits"] = new
        self._touch()
        return v

    def _loosening(self, new, confirm, what):
        # while the pump runs, a change that loosens any limit needs confirm=True; the error
        # says which limits loosen and by how much. Tightening never needs it. A stop latched
        # from a run counts as running: restart() would take the pump back up on the new limits.
        st = self.sup.state
        if confirm or not (st == RUN or (st == STOP and self.sup.before_stop == RUN)):
            return
        cur = self.settings["limits"]
        out = []
        for k in profiles.PUMP_LIMITS + profiles.GAS_LIMITS:
            if k in new:
                d = T.looser(k, new[k], cur[k])
                if d:
                    out.append("%s %d -> %d (%d %s looser)" % (k, cur[k], new[k], d, T.ROWS[k][T.UNIT]))
        if out:
            raise ValueError("%s loosens while the pump runs: %s; pass confirm=True"
                             % (what, ", ".join(out)))

    def profile(self, name, confirm=False):
        name = T.check("profile", name)
        if not isinstance(confirm, bool):
            raise ValueError("confirm must be True or False, got %r" % (confirm,))
        if name != "VA" and self.control.mode == ZERO:
            raise ValueError("zero-flow mode is VA only: leave it first (rig.mode('%s'))"
                             % MODE_NAMES[self.control.prev_mode])
        lim = profiles.defaults(name)
        self._loosening(lim, confirm, "profile %s" % name)
        with self._crit:
            self._apply_limits(name, lim)
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

    def deaired(self):
        # after an air stop: the operator has de-aired the line between the detector and the
        # clamp (the detector cannot see air that passed it); logged with its time
        with self._crit:
            self.sup.deaired(self.loop.now_ms)
            self.al.confirmed(A.AIR, self.loop.now_ms)
        return self.loop.now_ms

    def restart(self):
        # release a latched stop, back to the state before it (a stop taken in standby stays off)
        if self.sup.state == STOP and self.sup.before_stop == RUN:
            self._not_blind_flow("restart()")
        with self._crit:
            self.sup.restart(self.loop.now_ms)
            self.control.restart(self.flow.value)
        S.clear_latch(self.path)          # released properly: a power cycle must not bring it back
        self._run_intent = self.sup.state == RUN
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
        hz = T.check("telemetry_hz", hz, whole=True)
        cap = self._tlm_cap()
        if hz > cap:
            # the ESP32's console is a 115200 baud UART: a row blocks the scheduler while it
            # goes out, and faster rows would hold it long enough to drop queued events
            raise ValueError("telemetry_hz %d: this board's serial link takes at most %d rows/s"
                             % (hz, cap))
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

    def load(self, confirm=False):
        # a missing, corrupt or out-of-bounds file changes nothing here (boot is where defaults
        # and the SETTINGS alarm apply). While the pump runs the file is held to what a setter
        # would be: limits that loosen need confirm=True, gains that cannot control are refused.
        if not isinstance(confirm, bool):
            raise ValueError("confirm must be True or False, got %r" % (confirm,))
        d, problem = S.load(self.path, self.board.RPM_MAX)
        if problem:
            raise ValueError("settings not loaded: " + problem)
        self._loosening(d["limits"], confirm, "load()")
        self._gains_can_control(d["gains"], d["control"] == "flow")
        self._apply_settings(d)
        self.settings = d
        if self._tlm_hz(d) != self.tlm.hz:
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

    def lift_clot_ceiling(self):
        # while CLOT is up the speed may not rise above where it was when CLOT came (H27);
        # this lets it rise again until CLOT clears (a planned push, e.g. to a change-out)
        self.sup.lift_clot_ceiling(True)

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
    # Sweep and FiO2 targets, gas limits and O2-cell calibration (firmware/ecmo/oxygenator.py).
    def _gas_side(self):
        if self.gas is None:
            raise ValueError("this board has no oxygenator side (no GAS in its board file)")
        return self.gas

    def set_sweep(self, lpm):
        # sweep gas setpoint in L/min; 0 closes the valve
        g = self._gas_side()
        lpm = T.check("sweep_lpm", lpm)
        g.control.target_mlpm = T.to_units("sweep_lpm", lpm)   # one store: atomic for the tick
        self.settings["sweep_lpm"] = lpm
        self._touch()

    def set_fio2(self, fio2):
        # FiO2 target as a fraction (0.21..1.0) or a percent (21..100): the blender's setpoint,
        # or on a monitor-only rig what the manual blender is set to (the FiO2 alarm checks it)
        g = self._gas_side()
        if not isinstance(fio2, bool) and isinstance(fio2, (int, float)) and fio2 > 1:
            fio2 = _number("fio2", fio2, S.FIO2_MIN * 100, 100) / 100
        fio2 = T.check("fio2", fio2)
        with self._crit:
            g.set_fio2_dpct(T.to_units("fio2", fio2))
        self.settings["fio2"] = fio2
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
        return dict((k, lim[k]) for k in profiles.GAS_LIMITS)

    def gas_limit(self, name, value, confirm=False):
        # one of gas_limits(), with the same rules as limit() (low temperature stays below high)
        if name not in profiles.GAS_LIMITS:
            raise ValueError("gas limit must be one of %s, got %r" % (", ".join(profiles.GAS_LIMITS), name))
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

    # ---- transducer zeros and the flow probe's calibration (issue #12, docs/checklist.md) ----
    # An offset is subtracted where the driver converts its raw counts (drivers/analog.py,
    # drivers/pressure.py: `value = conv - offset`, the flow probe's gain after it), in
    # integers in the tick. Each is kept on flash at once with its time (settings "zero",
    # "flow_cal"); rig.save() is not needed for them.
    def _zero_sensor(self, name):
        return {"p1": self.p1, "p2": self.p2, "p3": self.p3, "flow": self.flow}[name]

    def zero_limit(self, name):
        # the largest offset that is still an offset of this part (docs/facts.md §1, §2); more
        # is a wiring fault, a port not open to air or a line under flow
        s = self._zero_sensor(name)
        if name == "flow":
            return _ZERO_FLOW_MLPM
        span = getattr(s, "_span", None)
        if span is not None:                  # Honeywell ABP: its total error band, 1.5 % FSS
            return span * 15 // 1000
        return _ZERO_P_ANALOG_DMMHG           # disposable bridge transducer and its amplifier

    def _stamp(self):
        t = localtime()
        return "%04d-%02d-%02d %02d:%02d:%02d" % (t[0], t[1], t[2], t[3], t[4], t[5])

    def _pump_still(self, what):
        if self.sup.state == RUN or self.pump.enabled or self.pump.rpm > 0:
            raise ValueError("%s refused: the pump runs; rig.standby() and wait for it to stop"
                             % what)

    def _sample(self, names, n=16):
        # the mean of n ticks' converted values (before any offset) of each sensor; raises if
        # one reads invalid. The tick keeps running: this waits for it.
        sens = [self._zero_sensor(k) for k in names]
        acc = [0] * len(sens)
        k = 0
        last = self.loop.n
        t0 = ticks_ms()
        while k < n:
            if self.timer is not None:
                sleep_ms(self.loop.period_ms)
                if self.loop.n == last:
                    if ticks_diff(ticks_ms(), t0) > 40 * n * self.loop.period_ms:
                        raise ValueError("the loop is not running: no readings to zero on")
                    continue
                last = self.loop.n
            else:
                for s in sens:                # no timer (a bench test): read here
                    s.read()
            for i, s in enumerate(sens):
                if s.status:
                    raise ValueError("%s reads %s: fix the sensor first, nothing changed"
                                     % (names[i].upper(), status_name(s.status).upper()))
                acc[i] += s.conv
            k += 1
        return [(a + n // 2) // n for a in acc]

    def zero(self, name="all"):
        # zero a transducer open to atmosphere ('p1', 'p2', 'p3', 'all' = the three), or the
        # flow probe with the line clamped and the pump stopped ('flow'). The pump must be
        # stopped; an offset beyond the part's limit (rig.zero_limit) is refused. Returns the
        # offsets taken, in 0.1 mmHg / mL/min.
        if name == "all":
            names = ["p1", "p2", "p3"]
        elif name in S.ZEROABLE:
            names = [name]
        else:
            raise ValueError("zero takes 'p1', 'p2', 'p3', 'all' or 'flow', got %r" % (name,))
        self._pump_still("zero(%r)" % name)
        if name == "flow":
            if not isinstance(self.flow, AnalogSensor):
                raise ValueError("this flow meter (turbine) reads no flow at rest: nothing to zero")
            if not self.clamp_out.closed:
                raise ValueError("zero('flow') needs the line clamped: rig.clamp(True) first "
                                 "(no flow may pass the probe)")
        got = self._sample(names)
        for i, k in enumerate(names):
            lim = self.zero_limit(k)
            if got[i] > lim or got[i] < -lim:
                unit = "mL/min" if k == "flow" else "0.1 mmHg"
                raise ValueError("%s reads %d %s at zero, beyond the %d a healthy part shows: "
                                 "a wiring fault or %s, not an offset; nothing changed"
                                 % (k.upper(), got[i], unit, lim,
                                    "flow through the probe" if k == "flow" else
                                    "a port not open to air"))
        when = self._stamp()
        z = dict(self.settings.get("zero") or {})
        with self._crit:
            for i, k in enumerate(names):
                self._zero_sensor(k).offset = got[i]
                z[k] = [got[i], when]
        self.settings["zero"] = z
        self._keep_cal()
        return dict((k, got[i]) for i, k in enumerate(names))

    def calibrate_flow(self, point_a=None, point_b=None):
        # two-point calibration of the flow probe against timed collections (a bucket test):
        # each point (reading_lpm, collected_ml, seconds) = what rig.status() showed while the
        # pump ran steadily, and what the jug caught in that time. With the pump stopped.
        # No arguments: the calibration in use. Returns the new gain and offset.
        fc = self.settings.get("flow_cal") or []
        if point_a is None and point_b is None:
            return {"gain": (fc[0] if fc else 10000) / 10000, "offset_mlpm": self.flow.offset,
                    "at": fc[1] if fc else None}
        if not isinstance(self.flow, AnalogSensor):
            raise ValueError("this flow meter (turbine) is calibrated by pulses_per_l in its board file")
        self._pump_still("calibrate_flow()")
        pts = []
        for p in (point_a, point_b):
            if not isinstance(p, (list, tuple)) or len(p) != 3:
                raise ValueError("a point is (reading_lpm, collected_ml, seconds), got %r" % (p,))
            r = _number("reading_lpm", p[0], 0.5, S.FLOW_MAX_LPM)
            ml = _number("collected_ml", p[1], 50, 20000)
            sec = _number("seconds", p[2], 10, 600)
            pts.append((int(r * 1000), int(ml * 60 / sec)))    # shown, true; mL/min
        (ra, ta), (rb, tb) = pts
        if abs(rb - ra) < 1000:
            raise ValueError("the two readings must be at least 1 L/min apart, got %d mL/min"
                             % abs(rb - ra))
        a_e4 = (tb - ta) * 10000 // (rb - ra)        # true per shown
        b = ta - a_e4 * ra // 10000                  # mL/min at a shown 0
        g_old = self.flow.gain_e4
        g_new = g_old * a_e4 // 10000
        if g_new < S.FLOW_GAIN_MIN_E4 or g_new > S.FLOW_GAIN_MAX_E4:
            raise ValueError("gain %d.%04d is outside %d.%04d..%d.%04d: the wrong tubing set on the "
                             "meter, or a bad collection; nothing changed" % (
                                 g_new // 10000, g_new % 10000, S.FLOW_GAIN_MIN_E4 // 10000,
                                 S.FLOW_GAIN_MIN_E4 % 10000, S.FLOW_GAIN_MAX_E4 // 10000,
                                 S.FLOW_GAIN_MAX_E4 % 10000))
        # shown' = (conv - off') * g_new: off' = off - b / g_new (b in shown units after a)
        off = self.flow.offset - b * 10000 // g_new
        if off > _ZERO_FLOW_MLPM or off < -_ZERO_FLOW_MLPM:
            raise ValueError("the two points put the probe's zero at %d mL/min, beyond %d: check "
                             "the collections (or rig.zero('flow') first); nothing changed"
                             % (off, _ZERO_FLOW_MLPM))
        when = self._stamp()
        with self._crit:
            self.flow.gain_e4 = g_new
            self.flow.offset = off
        z = dict(self.settings.get("zero") or {})
        z["flow"] = [off, when]
        self.settings["zero"] = z
        self.settings["flow_cal"] = [g_new, when]
        self._keep_cal()
        return self.calibrate_flow()

    def collect(self):
        # a timed collection for calibrate_flow, in two calls: the first as the outflow goes
        # into the jug (the pump running steadily), the second as it comes out. Returns the
        # point (mean shown L/min, None, seconds): put the jug's mL in place of None.
        c = self._collect
        if c is None:
            c = self._collect = _Collect(self.flow)
            self.loop.aux = self.loop.aux + (c,)
        if not c.on:
            if self.sup.state != RUN:
                raise ValueError("collect() needs the pump running steadily: rig.run() first")
            with self._crit:
                c.sum = 0
                c.n = 0
                c.bad = 0
                c.t0 = ticks_ms()
                c.on = True
            return "collecting: call rig.collect() again as the outflow leaves the jug"
        with self._crit:
            c.on = False
        sec = ticks_diff(ticks_ms(), c.t0) / 1000
        if c.bad > c.n // 20 or c.n == 0:
            raise ValueError("the flow read invalid for %d of %d ticks: collect again" % (c.bad, c.n + c.bad))
        if self.sup.state != RUN:
            raise ValueError("the pump stopped during the collection: collect again")
        return (round(c.sum / c.n / 1000, 3), None, round(sec, 1))

    def calibration(self):
        # zeros and the flow calibration in use, with their times
        z = self.settings.get("zero") or {}
        out = dict((k, {"offset": z[k][0], "at": z[k][1]}) for k in z)
        fc = self.settings.get("flow_cal") or []
        if fc:
            out["flow_gain"] = {"gain_e4": fc[0], "at": fc[1]}
        return out

    def _apply_cal(self, d):
        # from the settings (boot, load): an offset beyond its sensor's limit is not used
        z = d.get("zero") or {}
        for k in S.ZEROABLE:
            s = self._zero_sensor(k)
            s.offset = 0
            if k in z:
                if k == "flow" and not isinstance(s, AnalogSensor):
                    continue
                lim = self.zero_limit(k)
                if -lim <= z[k][0] <= lim:
                    s.offset = z[k][0]
                else:
                    self.al.set(A.SETTINGS, True, self.loop.now_ms)
        if isinstance(self.flow, AnalogSensor):
            fc = d.get("flow_cal") or []
            self.flow.gain_e4 = fc[0] if fc else 10000

    def _keep_cal(self):
        try:
            S.save_fields(self.path, self.settings, ("zero", "flow_cal"), self.board.RPM_MAX)
        except OSError as e:
            raise ValueError("taken and in use, but not kept on flash (%s): rig.save() to retry" % (e,))

    def _cal_token(self):
        # on the status line: which sensors are zeroed, and the flow probe's gain if calibrated
        z = self.settings.get("zero") or {}
        t = " zero=" + (",".join(k for k in S.ZEROABLE if k in z) or "-")
        fc = self.settings.get("flow_cal") or []
        if fc:
            t += " fgain=%d.%03d" % (fc[0] // 10000, (fc[0] % 10000) // 10)
        return t
