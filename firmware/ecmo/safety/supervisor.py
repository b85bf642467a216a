# The safety supervisor: sees every reading with its validity and the controller's request, and
# has the last word on the pump, its enable and the line clamp. Only air and the e-stop stop the
# pump (in their IRQ, before the next tick); every other hazard limits, holds or alarms, because
# a stopped pump is itself a hazard (VA: retrograde flow through the circuit, no circulation).
from micropython import const
from array import array
from time import ticks_diff
from machine import disable_irq, enable_irq
from ecmo.safety import alarms as A
from ecmo.safety.profiles import defaults, GAS_LIMITS
from ecmo.drivers.retain import STOP_AIR, STOP_ESTOP

STANDBY = const(0)
RUN = const(1)
STOP = const(2)
STATE_NAMES = ("standby", "run", "stop")

_CLAMP_OPEN_TIMEOUT_MS = const(3000)   # VA start: open the return line once the pump is up to speed
_RELEASE_HYST_DMMHG = const(100)       # 10 mmHg inside the warning limit before speed is given back
_R_SAMPLES = const(60)                 # one membrane-resistance sample a second, one minute kept
_R_MIN_FLOW_MLPM = const(1500)         # below this, delta-P / flow is noise (a 1 mmHg dP error is 7 %)
_R_MIN_RISE = const(30)                # and a rise must be at least 3 mmHg per L/min
_TACH_TOL_RPM = const(300)
_TACH_TICKS = const(200)
_CLOT_TICKS = const(100)               # a clot builds over minutes: a second filters noise out


class Trip:
    # The air and e-stop stop, made before the IRQ inputs so their handlers can call it: two pin
    # writes, a flag, and the latch recorded in retained memory at once, so no reset (a hung
    # loop, a crash before the next tick) can release it. Nothing here allocates on rp2.
    def __init__(self, pump, clamp, retain=None):
        self.pump = pump
        self.clamp = clamp
        self.retain = retain
        self.tripped = False
        self.air_cb = self.air       # bound once; calling them allocates nothing
        self.estop_cb = self.estop
        self.cb = self.fire

    def fire(self):
        self.pump.stop()
        self.clamp.close()
        self.tripped = True

    def air(self):
        self.fire()
        if self.retain is not None:
            self.retain.add(STOP_AIR)

    def estop(self):
        self.fire()
        if self.retain is not None:
            self.retain.add(STOP_ESTOP)


class Supervisor:
    def __init__(self, trip, bubble, estop, p1, p2, p3, flow, alarms, profile, rpm_max, red):
        self.trip_ = trip
        self.pump = trip.pump
        self.clamp = trip.clamp
        self.bubble = bubble
        self.estop = estop
        self.p1 = p1
        self.p2 = p2
        self.p3 = p3
        self.flow = flow
        self.alarms = alarms
        self.rpm_max = rpm_max
        self.state = STANDBY
        self.rpm_applied = 0
        self.cap_rpm = rpm_max      # speed ceiling from suction / over-pressure back-off
        self.holding = False        # RPM hold: a sensor an interlock needs is invalid
        self.clamp_request = False  # operator asked for the clamp closed (VA weaning, tests)
        self._floor_on = False      # VA retrograde floor in force last tick
        self._air_events_acked = 0  # bubble events when the operator last acknowledged
        self._stop_events_acked = 0 # e-stop events then
        self._run_t = 0
        self._cnt = bytearray(11)   # debounce counters, see _deb()
        self._low_flow_n = 0
        self._tach_n = 0
        self._r = array("i", [0] * _R_SAMPLES)
        self._r_n = 0
        self._r_t = 0
        self.r_mem = 0              # membrane resistance now, 0.1 mmHg per L/min
        self._r_base = 0
        # issue 11: the cross-checks and substitutes (ecmo/redundancy.py)
        self.red = red
        self._hold_rpm = 0          # speed held while blind: the last one applied while trusted
        self._was_trusted = True    # every interlock sensor trusted last tick
        self._fallback_now = False  # apply the fallback speed on this tick (then the loop goes on)
        self.clot_cap_rpm = rpm_max # ceiling while CLOT is up (H28); the operator can lift it
        self.clot_lifted = False
        self._clot_was = False
        self._clot_n = 0
        self.profile = profile
        self.set_profile(profile)

    def set_profile(self, profile, limits=None):
        # limits are attributes so the tick reads them without a dict lookup
        self.profile = profile
        d = defaults(profile)
        if limits is not None:
            d.update(limits)
        self.p1_warn_dmmhg = d["p1_warn_dmmhg"]
        self.p1_crit_dmmhg = d["p1_crit_dmmhg"]
        self.p3_warn_dmmhg = d["p3_warn_dmmhg"]
        self.p3_crit_dmmhg = d["p3_crit_dmmhg"]
        self.p2_warn_dmmhg = d["p2_warn_dmmhg"]
        self.p2_crit_dmmhg = d["p2_crit_dmmhg"]
        self.dp_max_dmmhg = d["dp_max_dmmhg"]
        self.dp_rise_pct = d["dp_rise_pct"]
        self.flow_low_mlpm = d["flow_low_mlpm"]
        self.flow_retro_mlpm = d["flow_retro_mlpm"]
        self.rpm_min = d["rpm_min"]
        self.backoff_rpm_s = d["backoff_rpm_s"]
        self.release_rpm_s = d["release_rpm_s"]
        self.debounce_ticks = d["debounce_ticks"]
        self.low_flow_ticks = d["low_flow_ticks"]
        for k in GAS_LIMITS:    # the oxygenator's limits ride along; safety/gas.py reads them here
            setattr(self, k, d[k])

    @property
    def tripped(self):
        return self.trip_.tripped

    def trip(self):
        self.trip_.fire()

    # ---- operator actions (REPL side) ----
    def start(self, now_ms):
        if self.state == STOP:
            raise ValueError("latched stop: acknowledge, clear the cause, then restart()")
        if self.state == STANDBY:
            self.state = RUN
            self.cap_rpm = self.rpm_max

    def standby(self):
        # operator stop (not a safety stop): pump off; VA closes the return line
        self.state = STANDBY

    def restart_blockers(self):
        # why a latched stop may not be released yet; empty when it may
        why = []
        if self.bubble.present():
            why.append("air still at the detector")
        if self.bubble.status:
            why.append("bubble detector faulted: air cannot be seen")
        if self.bubble.events != self._air_events_acked:
            why.append("air seen again since the acknowledgement")
        if self.estop.events != self._stop_events_acked:
            why.append("e-stop pressed again since the acknowledgement")
        if self.estop.present():
            why.append("e-stop still pressed")
        if (self.alarms.present(A.AIR) and not self.alarms.acked[A.AIR]) or \
                (self.alarms.present(A.ESTOP) and not self.alarms.acked[A.ESTOP]):
            why.append("alarm not acknowledged")
        return why

    def acked(self):
        # the operator acknowledged: the air events seen so far are known to him
        self._air_events_acked = self.bubble.events
        self._stop_events_acked = self.estop.events

    def restart(self, now_ms):
        if self.state != STOP:
            raise ValueError("nothing to restart: state is %s" % STATE_NAMES[self.state])
        why = self.restart_blockers()
        if why:
            raise ValueError("cannot restart: " + ", ".join(why))
        # Clear the latches with interrupts off, after one more look: an air or e-stop edge
        # between the checks above and the clearing would otherwise be wiped unseen.
        st = disable_irq()
        try:
            if self.bubble.events != self._air_events_acked or \
                    self.estop.events != self._stop_events_acked or \
                    self.bubble.present() or self.estop.present():
                raise ValueError("cannot restart: air or e-stop seen just now")
            self.bubble.clear()
            self.estop.clear()
            self.trip_.tripped = False
            self.state = RUN
            self.cap_rpm = self.rpm_max
        finally:
            enable_irq(st)

    def blind(self):
        # which interlocks cannot see right now, and which see through a substitute (REPL side)
        out = []
        r = self.red
        def one(name, trusted, sub_ok, sub):
            if not trusted:
                out.append("%s (on %s)" % (name, sub) if sub_ok else name)
        one("suction", self.p1.status == 0 and not r.suspect & 1, r.p1_g_ok,
            "P1 saturated" if self.p1.sat else "the pump-map estimate of P1")
        one("over-pressure", self.p3.status == 0 and not r.suspect & 4, r.p3_g_ok,
            "P2, its upper bound" if self.p2.status == 0 else "P3 saturated")
        one("pre-oxygenator pressure", self.p2.status == 0 and not r.suspect & 2, r.p2_g_ok,
            "P3, its lower bound" if self.p3.status == 0 else "P2 saturated")
        if self.p2.status or self.p3.status or r.suspect & 6:
            out.append("clot")
        one("low/retrograde flow", self.flow.status == 0 and not r.suspect & 8, r.q_g_ok,
            "the pump-map estimate of flow")
        if self.bubble.status:
            out.append("air")
        return out

    def lift_clot_ceiling(self, lifted=True):
        # the operator lets the speed rise against a clot again (until CLOT clears)
        self.clot_lifted = lifted

    # ---- the tick ----
    def _deb(self, i, cond):
        # consecutive-tick debounce; True once cond held debounce_ticks in a row
        n = self._cnt[i]
        if cond:
            if n < 255:
                n += 1
        else:
            n = 0
        self._cnt[i] = n
        return n >= self.debounce_ticks

    def update(self, now_ms, req_rpm, dt_ms):
        al = self.alarms
        b = self.bubble
        e = self.estop
        if b.latched or e.latched or self.tripped:
            if self.state != STOP:
                self.state = STOP
        al.set(A.AIR, self.state == STOP and b.latched, now_ms)
        al.set(A.ESTOP, self.state == STOP and e.latched, now_ms)
        al.set(A.SENSOR_BUBBLE, self._deb(0, b.status != 0), now_ms)

        # H08, H24-H27: a sensor is faulted by its own status (open, bus, stuck = frozen,
        # noisy, range = saturated) or named by the cross-checks (ecmo/redundancy.py); either
        # way its alarm names it. The speed holds only where no substitute can stand in
        # (Redundancy.guards()), and then at the last speed applied while every sensor was
        # trusted, not the one of the moment of detection (a frozen reading may have led the
        # flow loop astray for the half second it took to see it).
        r = self.red
        s = r.suspect
        al.set(A.SENSOR_P1, self._deb(1, self.p1.status != 0 or s & 1 != 0), now_ms)
        al.set(A.SENSOR_P2, self._deb(2, self.p2.status != 0 or s & 2 != 0), now_ms)
        al.set(A.SENSOR_P3, self._deb(3, self.p3.status != 0 or s & 4 != 0), now_ms)
        al.set(A.SENSOR_FLOW, self._deb(4, self.flow.status != 0 or s & 8 != 0), now_ms)
        running = self.state == RUN
        holding = not (r.p1_g_ok and r.p3_g_ok and r.q_g_ok)
        trusted = r.all_trusted()
        if not trusted and self._was_trusted and running:
            # never faster than now: a fault reaction must not push speed up unseen (and in RPM
            # mode the operator's speed did not depend on the reading at all)
            fb = r.fallback_rpm
            self._hold_rpm = fb if 0 < fb < self.rpm_applied else self.rpm_applied
            self._fallback_now = self._hold_rpm != self.rpm_applied
        if holding and not self.holding:
            if trusted or self._hold_rpm <= 0:
                self._hold_rpm = self.rpm_applied
        self._was_trusted = trusted
        self.holding = holding

        # the interlocks read the sensor or its substitute (P1: P1 saturated low, the pump-map
        # estimate; P3: P2, an upper bound at forward flow, or P3 saturated high; flow: the
        # pump-map estimate where the map is good)
        p1_bad = not r.p1_g_ok
        p3_bad = not r.p3_g_ok
        flow_bad = not r.q_g_ok
        p1 = r.p1_g
        p3 = r.p3_g
        q = r.q_g

        # suction and over-pressure: warning freezes the speed, critical backs it off
        suction_crit = self._deb(5, running and not p1_bad and p1 < self.p1_crit_dmmhg)
        press_crit = self._deb(6, running and not p3_bad and p3 > self.p3_crit_dmmhg)
        suction_warn = not p1_bad and p1 < self.p1_warn_dmmhg
        press_warn = not p3_bad and p3 > self.p3_warn_dmmhg
        al.set(A.SUCTION_WARN, running and suction_warn, now_ms)
        al.set(A.SUCTION_CRIT, suction_crit, now_ms)
        al.set(A.PRESSURE_WARN, running and press_warn, now_ms)
        al.set(A.PRESSURE_CRIT, press_crit, now_ms)
        # H28: P2 too high (a clot: P3 falls behind it, so over-pressure cannot see it), on P2,
        # or P2 saturated high, or P3 (a lower bound): as over-pressure, warning freezes,
        # critical backs off
        p2_bad = not r.p2_g_ok
        p2 = r.p2_g
        p2_crit = self._deb(9, running and not p2_bad and p2 > self.p2_crit_dmmhg)
        p2_warn = not p2_bad and p2 > self.p2_warn_dmmhg
        al.set(A.P2_HIGH, running and p2_warn, now_ms)
        al.set(A.P2_CRIT, p2_crit, now_ms)
        press_crit = press_crit or p2_crit
        press_warn = press_warn or p2_warn
        if suction_crit or press_crit:
            c = self.rpm_applied - self.backoff_rpm_s * dt_ms // 1000
            self.cap_rpm = c if c < self.cap_rpm else self.cap_rpm
        elif suction_warn or press_warn:
            if self.rpm_applied < self.cap_rpm:
                self.cap_rpm = self.rpm_applied
        elif (p1_bad or p1 > self.p1_warn_dmmhg + _RELEASE_HYST_DMMHG) and \
                (p3_bad or p3 < self.p3_warn_dmmhg - _RELEASE_HYST_DMMHG) and \
                (p2_bad or p2 < self.p2_warn_dmmhg - _RELEASE_HYST_DMMHG):
            if self.cap_rpm < self.rpm_max:
                self.cap_rpm += self.release_rpm_s * dt_ms // 1000
                if self.cap_rpm > self.rpm_max:
                    self.cap_rpm = self.rpm_max

        # flow: low (slow debounce) and retrograde
        low = running and not flow_bad and q < self.flow_low_mlpm
        if not low:
            self._low_flow_n = 0
        elif self._low_flow_n < 0x3FFF0000:     # bounded: stays a small int
            self._low_flow_n += 1
        al.set(A.LOW_FLOW, self._low_flow_n >= self.low_flow_ticks, now_ms)
        al.set(A.RETROGRADE, self._deb(7, not flow_bad and q < self.flow_retro_mlpm), now_ms)

        self._clot(now_ms, q, flow_bad)

        # ---- decide the actuators ----
        va = self.profile == "VA"
        if self.state == STOP:
            self.trip_.fire()
            self._floor_on = False
            self.rpm_applied = 0
            return 0
        if self.state == STANDBY:
            self._floor_on = False
            self.rpm_applied = 0
            self.actuate(0, False, va or self.clamp_request)
            return 0
        rpm = req_rpm
        if self.holding and self.rpm_applied > 0:
            rpm = self._hold_rpm
        elif self._fallback_now:
            rpm = self._hold_rpm     # once: the loop then goes on from there (control.track)
        self._fallback_now = False
        if rpm > self.cap_rpm:
            rpm = self.cap_rpm
        if not self.clot_lifted and rpm > self.clot_cap_rpm:
            rpm = self.clot_cap_rpm  # H28: no pushing against a rising membrane resistance
        closed = self.clamp_request
        floor = va and not closed
        if floor and not self._floor_on:
            # the floor starts to apply (start, operator unclamps, VV -> VA): the return line
            # stays shut until the pump is up to speed, timed from now
            self._run_t = now_ms
            self.clamp.close()
        self._floor_on = floor
        if floor and rpm < self.rpm_min:
            rpm = self.rpm_min       # the retrograde floor wins over every back-off
        if rpm < 0:
            rpm = 0
        elif rpm > self.rpm_max:
            rpm = self.rpm_max
        if floor and self.clamp.closed:
            # open the return line only once the pump can hold off the arterial pressure; after
            # the timeout open anyway: a failed tach must not deny support (TACH alarm, H12)
            up = self.pump.rpm * 10 >= self.rpm_min * 9
            late = ticks_diff(now_ms, self._run_t) >= _CLAMP_OPEN_TIMEOUT_MS
            if not (up or late):
                closed = True
        if self.actuate(rpm, True, closed):
            self.rpm_applied = rpm
        else:
            self.rpm_applied = 0
        self._tach(rpm, now_ms)
        return self.rpm_applied

    def actuate(self, rpm, enable, clamp_closed):
        # The only place the tick writes the pump and clamp. Interrupts are off so an air or
        # e-stop IRQ cannot land between the trip check and the writes and be undone; a trip
        # that fired at any time since the top of the tick wins here.
        st = disable_irq()
        try:       # whatever raises in here (even Ctrl-C), interrupts come back on
            if self.trip_.tripped:
                self.pump.stop()
                self.clamp.close()
                return False
            self.pump.drive(rpm, enable)
            if clamp_closed:
                self.clamp.close()
            else:
                self.clamp.open()
            return True
        finally:
            enable_irq(st)

    def _tach(self, rpm, now_ms):
        # the motor does not follow its command: driver fault, stalled or unplugged tach
        off = self.pump.rpm - rpm
        bad = off > _TACH_TOL_RPM + rpm // 5 or -off > _TACH_TOL_RPM + rpm // 5
        if not bad:
            self._tach_n = 0
        elif self._tach_n < _TACH_TICKS:
            self._tach_n += 1
        self.alarms.set(A.TACH, self._tach_n >= _TACH_TICKS, now_ms)

    def _clot(self, now_ms, q, flow_bad):
        # delta-P above its limit, or membrane resistance up by dp_rise_pct within a minute
        # A noisy or suspect P2/P3 is not a clot (H26, H27): skipped like an invalid one, and
        # the condition must hold a second (a clot builds over minutes; noise flips in ticks).
        # While CLOT is up the speed may not rise above where it was when CLOT came (H28).
        al = self.alarms
        up = al.present(A.CLOT)
        if up and not self._clot_was:
            self.clot_cap_rpm = self.rpm_applied
        if not up:
            self.clot_cap_rpm = self.rpm_max
            self.clot_lifted = False
        self._clot_was = up
        p2b = self.p2.status != 0 or self.p3.status != 0 or self.red.suspect & 6
        dp = self.p2.value - self.p3.value
        q = self.flow.value
        flow_bad = self.flow.status != 0
        if p2b:
            return
        high = dp > self.dp_max_dmmhg
        rising = False
        if not flow_bad and q > _R_MIN_FLOW_MLPM:
            r = dp * 1000 // q
            self.r_mem = r
            if ticks_diff(now_ms, self._r_t) >= 1000:
                # one sample a second; the baseline is the lowest resistance of the last minute
                self._r_t = now_ms
                self._r[self._r_n % _R_SAMPLES] = r
                self._r_n += 1
                n = self._r_n if self._r_n < _R_SAMPLES else _R_SAMPLES
                base = self._r[0]
                for i in range(1, n):
                    if self._r[i] < base:
                        base = self._r[i]
                self._r_base = base
            base = self._r_base
            rising = self._r_n >= 5 and base > 0 and r * 100 > base * (100 + self.dp_rise_pct) \
                and r - base > _R_MIN_RISE
        if high or rising:
            if self._clot_n < _CLOT_TICKS:
                self._clot_n += 1
        else:
            self._clot_n = 0
        al.set(A.CLOT, self._clot_n >= _CLOT_TICKS, now_ms)
