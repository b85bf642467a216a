# The safety supervisor: sees every reading with its validity and the controller's request, and
# has the last word on the pump, its enable and the line clamp. Only air and the e-stop stop the
# pump (in their IRQ, before the next tick); every other hazard limits, holds or alarms, because
# a stopped pump is itself a hazard (VA: retrograde flow through the circuit, no circulation).
#
# Read it as the pump side of docs/hazards.md: one method per interlock, named with its hazard
# id, run in the order of INTERLOCKS every tick; then _decide() turns what they found into the
# pump and clamp command. An interlock sets its alarms and may ask for less speed through
# _limit_speed(); it never writes an actuator. A new interlock is a new method and a name in
# INTERLOCKS (and a row in the hazard table); debounced conditions get a slot
# below and count with safety/held.py.
from micropython import const
from array import array
from time import ticks_diff
from machine import disable_irq, enable_irq
from ecmo.safety import alarms as A
from ecmo.safety.profiles import defaults
from ecmo.safety.held import held, counters, ms_to_ticks
from ecmo.control.pump_control import FLOW, ZERO, ZERO_TARGET_MLPM

STANDBY = const(0)
RUN = const(1)
STOP = const(2)
STATE_NAMES = ("standby", "run", "stop")

# the interlocks, in the order they run each tick (alarm log order within a tick follows it)
INTERLOCKS = ("_h01_air", "_h02_estop", "_h08_sensor_faults", "_h03_suction",
              "_h04_over_pressure", "_h28_pre_oxygenator_pressure", "_h06_low_flow",
              "_h07_retrograde", "_h05_clot", "_h31_reservoir_level", "_h32_zero_flow")

# what the speed interlocks (H03, H04) ask of _decide(), the strongest wins
SPEED_FREE = const(0)        # clear by the hysteresis: speed may be given back
SPEED_KEEP = const(1)        # inside the hysteresis band: the ceiling stays where it is
SPEED_FREEZE = const(2)      # warning: the speed may not rise
SPEED_EASE = const(3)        # reservoir low: the ceiling comes down slowly (_LEVEL_EASE_RPM_S)
SPEED_BACK_OFF = const(4)    # critical: the ceiling comes down at backoff_rpm_s

# debounce slots: one counter each (safety/held.py)
_D_BUBBLE = const(0)
_D_P1 = const(1)
_D_P2 = const(2)
_D_P3 = const(3)
_D_FLOW = const(4)
_D_SUCTION = const(5)
_D_PRESSURE = const(6)
_D_RETRO = const(7)
_D_CLOT = const(8)
_D_LOW_FLOW = const(9)
_D_TACH = const(10)
_D_P2_HIGH = const(11)
_D_LEVEL_SENSOR = const(12)
_D_LEVEL_LOW = const(13)
_D_LEVEL_CRIT = const(14)
_D_ZERO = const(15)
_D_COUNT = const(16)

_CLAMP_OPEN_TIMEOUT_MS = const(3000)   # VA start: open the return line once the pump is up to speed
_UP_TO_SPEED_PCT = const(90)           # ... "up to speed" = tach at 90 % of the floor or more
_RELEASE_HYST_DMMHG = const(100)       # 10 mmHg inside the warning limit before speed is given back
_R_SAMPLES = const(60)                 # one membrane-resistance sample a second, one minute kept
_R_SAMPLE_MS = const(1000)
_R_MIN_SAMPLES = const(5)              # a baseline from fewer than 5 s of samples is not judged
_R_MIN_FLOW_MLPM = const(1500)         # below this, delta-P / flow is noise (a 1 mmHg dP error is 7 %)
_R_NONE = const(0x3FFFFFFF)            # a sample dropped: no part of the baseline
_R_DROP = const(2)                     # samples dropped when P2/P3 loses trust (below)
_R_MIN_RISE = const(30)                # and a rise must be at least 3 mmHg per L/min
_TACH_TOL_RPM = const(300)             # tach may differ from the command by 300 RPM ...
_TACH_TOL_PCT = const(20)              # ... plus 20 % of the command (controller's own loop, slip)
_TACH_MS = const(2000)                 # for this long before TACH is raised
_START_RAMP_RPM_S = const(1000)         # a start while blind ramps as the RPM mode does (control)
_FALLBACK_MIN_RPM = const(1000)        # a fallback speed under this (or the VA floor) moves next
                                       # to no blood: a fault in the start ramp (_h08)
_CLOT_MS = const(1000)                 # a clot builds over minutes: a second filters noise out
# issue 17: reservoir level (H31) and zero-flow mode (H32)
_LEVEL_EASE_RPM_S = const(200)         # low level: the speed comes down 200 RPM/s (a reservoir
                                       # drains over tens of seconds; suction's 4000 is for ms)
_LEVEL_HYST_ML = const(50)             # 50 mL above the low level before speed is given back
_LEVEL_TREND_MS = const(1000)          # the level's trend, from one sample a second:
_LEVEL_RISE_ML = const(10)             # rising by more than 10 mL/s (the noise of a level is
                                       # a few mL): the speed that stops the fall is kept
_ZERO_BAND_MLPM = const(200)           # zero-flow mode cannot hold: flow off zero by 0.2 L/min
_ZERO_FAIL_MS = const(5000)            # ... for 5 s (a search takes a few seconds), or the flow
                                       # sensor not trusted for as long as a sensor alarm takes


def _nothing():
    pass


class Supervisor:
    def __init__(self, trip, bubble, estop, p1, p2, p3, flow, alarms, profile, rpm_max,
                 period_ms, red, level=None, level_switch=False, control=None):
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
        self.period_ms = period_ms
        self.state = STANDBY
        self.before_stop = STANDBY  # the state a latched stop interrupted: restart() returns to it
        self.on_latch = _nothing    # called once from the tick when a stop latch is first seen
        self._latch_seen = False
        self._deaired_events = -1   # bubble events when the operator confirmed the line de-aired
        self.deaired_ms = None      # when he did (REPL side)
        self.rpm_applied = 0
        self.cap_rpm = rpm_max      # speed ceiling from suction / over-pressure back-off
        self.holding = False        # RPM hold: a sensor an interlock needs is invalid
        self.clamp_request = False  # operator asked for the clamp closed (VA weaning, tests)
        self._running = False       # state == RUN at the top of this tick
        self._speed = SPEED_FREE    # what the interlocks ask of the speed this tick
        self._floor_on = False      # VA retrograde floor in force last tick
        self._air_events_acked = 0  # bubble events when the operator last acknowledged
        self._stop_events_acked = 0 # e-stop events then
        self._run_t = 0
        self._held_n = counters(_D_COUNT)
        self._tach_n = ms_to_ticks(_TACH_MS, period_ms)
        self._r = array("i", [0] * _R_SAMPLES)
        self._r_n = 0
        self._r_t = 0
        self._r_base = 0
        self._r_blind = False          # the clot check skipped P2/P3 last tick
        # issue 11: the cross-checks and substitutes (ecmo/redundancy.py), given by the wiring
        self.red = red
        self._hold_rpm = 0          # speed held while blind: the last one applied while trusted
        self._start_to = 0          # a start while blind ramps to this (_hold_rpm), then holds
        self._was_trusted = True    # every interlock sensor trusted last tick
        self._fallback_now = False  # apply the fallback speed on this tick (then the loop goes on)
        self.clot_cap_rpm = rpm_max # ceiling while CLOT is up (H28); the operator can lift it
        self.clot_lifted = False
        self._clot_was = False
        self._clot_n = ms_to_ticks(_CLOT_MS, period_ms)
        # issue 17: the reservoir level sensor (None: the board has none), a digital low-level
        # switch (level_switch: its `low`) or an analog level in mL (`value`, `status`); the
        # pump control, for the mode it runs in (zero-flow mode, H32)
        self.level = level
        self.level_switch = level_switch
        self._lvl_t = 0
        self._lvl_prev = 0
        self._lvl_have = False       # _lvl_prev is a good reading a trend step ago
        self._lvl_rising = False
        self.control = control
        self._zero_n = ms_to_ticks(_ZERO_FAIL_MS, period_ms)
        # bound once: the tick calls them without allocating
        self._interlocks = tuple(getattr(self, n) for n in INTERLOCKS)
        self.profile = profile
        self.set_profile(profile)

    def set_profile(self, profile, limits=None):
        self.profile = profile
        d = defaults(profile)
        if limits is not None:
            d.update(limits)
        self.set_limits(d)

    def set_limits(self, d):
        # the pump side's limits from a full limits dict; attributes, so the tick reads them
        # without a dict lookup; times become tick counts here, once
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
        self.debounce_ms = d["debounce_ms"]
        self.low_flow_ms = d["low_flow_ms"]
        self.level_low_ml = d["level_low_ml"]
        self.level_crit_ml = d["level_crit_ml"]
        self._deb_n = ms_to_ticks(self.debounce_ms, self.period_ms)
        self._low_flow_n = ms_to_ticks(self.low_flow_ms, self.period_ms)

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
        # operator stop (not a safety stop): pump off; VA closes the return line. A latched
        # stop stays a stop (restart() releases it, back to the state before it)
        if self.state != STOP:
            self.state = STANDBY

    def restore_stop(self, was_running):
        # boot with a recorded latch: stopped again, restart() back to what the operator had
        self.trip_.fire()
        self.before_stop = RUN if was_running else STANDBY
        self.state = STOP

    def stopped(self):
        # a latched stop now, or one the IRQ just took and the tick has not seen yet
        return self.state == STOP or self.trip_.tripped

    def deaired(self, now_ms):
        # the operator confirms the line between the detector and the clamp is free of air;
        # it holds for the air seen so far (more air needs de-airing and confirming again)
        if not self.bubble.latched:
            raise ValueError("no air stop to confirm")
        if self.bubble.present():
            raise ValueError("air still at the detector: de-air first, then confirm")
        self._deaired_events = self.bubble.events
        self.deaired_ms = now_ms

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
        if self.bubble.latched and self.bubble.events != self._deaired_events:
            # the air that stopped the pump sits between the detector and the closed clamp:
            # the detector cannot see it, so the operator must say the line is clear
            why.append("de-air the line, then confirm with rig.deaired()")
        return why

    def acked(self):
        # the operator acknowledged: the air events seen so far are known to him
        self._air_events_acked = self.bubble.events
        self._stop_events_acked = self.estop.events

    def restart(self, now_ms):
        if self.state != STOP:
            # from standby the next step is a start, which has its own checks (H08, H21)
            raise ValueError("nothing to restart: state is %s%s" % (
                STATE_NAMES[self.state], "; rig.run() starts the pump" if self.state == STANDBY else ""))
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
            self._latch_seen = False
            self.state = self.before_stop     # a stop taken in standby leaves the pump off
            self.cap_rpm = self.rpm_max
        finally:
            enable_irq(st)
        # ESP32: disable_irq() does not hold back a handler already queued; it runs at the next
        # branch, maybe inside the section above, and its latch was then wiped. Its count shows.
        if self.bubble.events != self._air_events_acked or \
                self.estop.events != self._stop_events_acked:
            self.bubble.latched = self.bubble.latched or \
                self.bubble.events != self._air_events_acked
            self.estop.latched = self.estop.latched or \
                self.estop.events != self._stop_events_acked
            self.trip_.fire()
            self.state = STOP
            raise ValueError("cannot restart: air or e-stop seen just now")

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
            "P2, its upper bound" if self.p2.status == 0 else
            "P3 saturated" if self.p3.sat > 0 else "the pump-map estimate of P2")
        one("pre-oxygenator pressure", self.p2.status == 0 and not r.suspect & 2, r.p2_g_ok,
            "P2 saturated" if self.p2.sat > 0 else
            "the pump-map estimate of P2" if r.p2_est_ok else "P3, its lower bound")
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
    def _limit_speed(self, level):
        if level > self._speed:
            self._speed = level

    def _stop(self):
        if self.state != STOP:
            self.before_stop = self.state
            self.state = STOP

    def update(self, now_ms, req_rpm, dt_ms):
        if self.trip_.tripped:
            # (every latch fires the trip: a healthy running tick pays for one test only)
            self._stop()
            if not self._latch_seen and (self.bubble.latched or self.estop.latched):
                # the pump is stopped now, so a flash write costs nothing: the rig records
                # the latch there (a power cycle must not erase it), scheduled, not in the tick
                self._latch_seen = True
                if self.on_latch is not None:
                    self.on_latch()
        self._running = self.state == RUN
        self._speed = SPEED_FREE
        for check in self._interlocks:
            check(now_ms)
        return self._decide(now_ms, req_rpm, dt_ms)

    # ---- the interlocks, one per hazard row ----
    def _h01_air(self, now_ms):
        # air: the bubble IRQ already stopped the pump; the latch holds the stop
        if self.bubble.latched:
            self._stop()
            self._running = False
        v = self.state == STOP and self.bubble.latched
        if v != self.alarms.flags[A.AIR] & 1:       # set() only on a change (_F_PRESENT)
            self.alarms.set(A.AIR, v, now_ms)

    def _h02_estop(self, now_ms):
        if self.estop.latched:
            self._stop()
            self._running = False
        v = self.state == STOP and self.estop.latched
        if v != self.alarms.flags[A.ESTOP] & 1:
            self.alarms.set(A.ESTOP, v, now_ms)

    def _h08_sensor_faults(self, now_ms):
        # fail operational: a sensor a pump interlock needs is blind -> hold the speed
        al = self.alarms
        c = self._held_n
        n = self._deb_n
        # A sensor is faulted by its own status (open, bus, stuck = frozen, noisy, range =
        # saturated: H08, H24-H26) or named by the cross-checks (H27, ecmo/redundancy.py);
        # either way its alarm names it. The speed holds only where no substitute can stand
        # in (Redundancy.guards()), and then at the last speed applied while every sensor was
        # trusted, not the one of the moment of detection (a frozen reading may have led the
        # flow loop astray for the half second it took to see it).
        r = self.red
        s = r.suspect
        fl = al.flags      # set() only where the presence bit (_F_PRESENT, 1) changes
        v = held(c, _D_BUBBLE, self.bubble.status != 0, n)
        if v != fl[A.SENSOR_BUBBLE] & 1:
            al.set(A.SENSOR_BUBBLE, v, now_ms)
        v = held(c, _D_P1, self.p1.status != 0 or s & 1 != 0, n)
        if v != fl[A.SENSOR_P1] & 1:
            al.set(A.SENSOR_P1, v, now_ms)
        v = held(c, _D_P2, self.p2.status != 0 or s & 2 != 0, n)
        if v != fl[A.SENSOR_P2] & 1:
            al.set(A.SENSOR_P2, v, now_ms)
        v = held(c, _D_P3, self.p3.status != 0 or s & 4 != 0, n)
        if v != fl[A.SENSOR_P3] & 1:
            al.set(A.SENSOR_P3, v, now_ms)
        v = held(c, _D_FLOW, self.flow.status != 0 or s & 8 != 0, n)
        if v != fl[A.SENSOR_FLOW] & 1:
            al.set(A.SENSOR_FLOW, v, now_ms)
        # (P2 seen only through P3, its lower bound, is blind to a clot: the speed holds too; a
        # held speed bounds P2 by the pump's shut-off head at that speed)
        holding = not (r.p1_g_ok and r.p3_g_ok and r.q_g_ok) or r.p2_low
        trusted = r.all_trusted()
        if not trusted and self._was_trusted and self._running:
            # never faster than now: a fault reaction must not push speed up unseen (and in RPM
            # mode the operator's speed did not depend on the reading at all)
            fb = r.fallback_rpm
            now = self.rpm_applied
            low = self._low_rpm()
            if fb < low < now:
                # a fault in the start ramp: the speed of a second ago moved next to no blood
                # (and in VA sits under the floor). The pump map's speed for the flow setpoint
                # at the trusted head, ramped to as a blind start is, where it is not as low
                # itself; else the speed now
                m = self._blind_start_rpm()
                self._hold_rpm = m if m >= low else now
                if self._hold_rpm > now:
                    self._start_to = self._hold_rpm
            else:
                self._hold_rpm = fb if 0 < fb < now else now
            self._fallback_now = self._hold_rpm != now
        if holding and not self.holding:
            # the speed from the loss of trust, unless none was known or it sat next to no
            # blood while the loop has since run the pump above that on a substitute: a hold
            # there would be a stop (2000 -> 1 RPM in a tick); then the speed now
            h = self._hold_rpm
            if trusted or h <= 0 or h < self._low_rpm() < self.rpm_applied:
                self._hold_rpm = self.rpm_applied
        self._was_trusted = trusted
        self.holding = holding

    def _low_rpm(self):
        # a speed under this moves next to no blood (VV), or sits under the floor (VA)
        if self.profile == "VA" and self.rpm_min > _FALLBACK_MIN_RPM:
            return self.rpm_min
        return _FALLBACK_MIN_RPM

    def _h03_suction(self, now_ms):
        # drainage pressure too low: warning freezes the speed, critical backs it off
        # on P1, or its substitute: P1 saturated low, the pump-map estimate (redundancy.py)
        bad = not self.red.p1_g_ok
        p1 = self.red.p1_g
        running = self._running
        crit = held(self._held_n, _D_SUCTION, running and not bad and p1 < self.p1_crit_dmmhg,
                          self._deb_n)
        warn = not bad and p1 < self.p1_warn_dmmhg
        fl = self.alarms.flags
        if (running and warn) != fl[A.SUCTION_WARN] & 1:    # set() only on a change
            self.alarms.set(A.SUCTION_WARN, running and warn, now_ms)
        if crit != fl[A.SUCTION_CRIT] & 1:
            self.alarms.set(A.SUCTION_CRIT, crit, now_ms)
        if crit:
            self._limit_speed(SPEED_BACK_OFF)
        elif warn:
            self._limit_speed(SPEED_FREEZE)
        elif not bad and p1 <= self.p1_warn_dmmhg + _RELEASE_HYST_DMMHG:
            self._limit_speed(SPEED_KEEP)

    def _h04_over_pressure(self, now_ms):
        # post-oxygenator pressure too high: as suction, the other way round
        # on P3, or its substitute: P2 (an upper bound at forward flow), P3 saturated high
        bad = not self.red.p3_g_ok
        p3 = self.red.p3_g
        running = self._running
        crit = held(self._held_n, _D_PRESSURE, running and not bad and p3 > self.p3_crit_dmmhg,
                          self._deb_n)
        warn = not bad and p3 > self.p3_warn_dmmhg
        fl = self.alarms.flags
        if (running and warn) != fl[A.PRESSURE_WARN] & 1:    # set() only on a change
            self.alarms.set(A.PRESSURE_WARN, running and warn, now_ms)
        if crit != fl[A.PRESSURE_CRIT] & 1:
            self.alarms.set(A.PRESSURE_CRIT, crit, now_ms)
        if crit:
            self._limit_speed(SPEED_BACK_OFF)
        elif warn:
            self._limit_speed(SPEED_FREEZE)
        elif not bad and p3 >= self.p3_warn_dmmhg - _RELEASE_HYST_DMMHG:
            self._limit_speed(SPEED_KEEP)

    def _h28_pre_oxygenator_pressure(self, now_ms):
        # P2 too high: a clot (P3 falls behind it, so H04 cannot see it) or an occlusion; as
        # over-pressure: warning freezes the speed, critical backs it off. On P2, or P2
        # saturated high, or P3 (a lower bound)
        r = self.red
        bad = not r.p2_g_ok
        p2 = r.p2_g
        running = self._running
        crit = held(self._held_n, _D_P2_HIGH, running and not bad and p2 > self.p2_crit_dmmhg,
                    self._deb_n)
        warn = not bad and p2 > self.p2_warn_dmmhg
        fl = self.alarms.flags
        if (running and warn) != fl[A.P2_HIGH] & 1:    # set() only on a change
            self.alarms.set(A.P2_HIGH, running and warn, now_ms)
        if crit != fl[A.P2_CRIT] & 1:
            self.alarms.set(A.P2_CRIT, crit, now_ms)
        if crit:
            self._limit_speed(SPEED_BACK_OFF)
        elif warn:
            self._limit_speed(SPEED_FREEZE)
        elif not bad and p2 >= self.p2_warn_dmmhg - _RELEASE_HYST_DMMHG:
            self._limit_speed(SPEED_KEEP)

    def _h06_low_flow(self, now_ms):
        r = self.red     # the flow reading, or the pump-map estimate while it is not trusted
        # zero-flow mode (VA weaning) runs near zero on purpose: H32 judges it instead
        low = self._running and r.q_g_ok and r.q_g < self.flow_low_mlpm and not self._zero_mode()
        low = held(self._held_n, _D_LOW_FLOW, low, self._low_flow_n)
        if low != self.alarms.flags[A.LOW_FLOW] & 1:     # set() only on a change
            self.alarms.set(A.LOW_FLOW, low, now_ms)

    def _h07_retrograde(self, now_ms):
        # also while stopped: VA with an open return line flows backwards
        r = self.red
        retro = r.q_g_ok and r.q_g < self.flow_retro_mlpm
        retro = held(self._held_n, _D_RETRO, retro, self._deb_n)
        if retro != self.alarms.flags[A.RETROGRADE] & 1:
            self.alarms.set(A.RETROGRADE, retro, now_ms)

    def _h05_clot(self, now_ms):
        # delta-P above its limit, or membrane resistance up by dp_rise_pct within a minute;
        # blind without P2 and P3 (the alarm and its debounce stay as they were)
        # A noisy or suspect P2/P3 is not a clot (H26, H27): skipped like an invalid one, and
        # the condition must hold a second (a clot builds over minutes; noise flips in ticks).
        # While CLOT is up the speed may not rise above where it was when CLOT came (H28):
        # pushing against a rising membrane resistance only raises P2.
        self._clot_ceiling(now_ms)
        if self.p2.status != 0 or self.p3.status != 0 or self.red.suspect & 6:
            if not self._r_blind:
                # the fault was flagged now, but it began up to its detection time before
                # (noise 0.1-0.2 s, frozen 0.5 s): the last samples may hold it, and one low
                # resistance as the baseline read as a clot for a minute once P3 was back
                self._r_blind = True
                self._r_drop()
            return
        if self._r_blind:
            self._r_blind = False      # (stored on a change only: a store costs ~20 us here)
        dp = self.p2.value - self.p3.value
        q = self.flow.value
        high = dp > self.dp_max_dmmhg
        rising = False
        if self.flow.status == 0 and q > _R_MIN_FLOW_MLPM:
            r = dp * 1000 // q
            if ticks_diff(now_ms, self._r_t) >= _R_SAMPLE_MS:
                # one sample a second; the baseline is the lowest resistance of the last minute
                self._r_t = now_ms
                self._r[self._r_n % _R_SAMPLES] = r
                self._r_n += 1
                self._r_base = self._r_min()
            base = self._r_base
            rising = self._r_n >= _R_MIN_SAMPLES and base > 0 and \
                r * 100 > base * (100 + self.dp_rise_pct) and r - base > _R_MIN_RISE
        clot = held(self._held_n, _D_CLOT, high or rising, self._clot_n)
        if clot != self.alarms.flags[A.CLOT] & 1:
            self.alarms.set(A.CLOT, clot, now_ms)

    def _r_min(self):
        # the baseline: the lowest resistance kept (0: none, and then nothing is judged)
        n = self._r_n if self._r_n < _R_SAMPLES else _R_SAMPLES
        base = _R_NONE
        rs = self._r
        for i in range(n):
            if rs[i] < base:
                base = rs[i]
        return 0 if base == _R_NONE else base

    def _r_drop(self):
        # the last _R_DROP samples leave the baseline: marked, and their slots are the next to
        # be written (the count goes back), so a sensor that keeps failing and recovering wipes
        # only its own samples, never the older good ones (marked but not rewound, a flapping
        # P3 filled the whole ring with marks, and a clot then became its own baseline)
        k = _R_DROP if self._r_n >= _R_DROP else self._r_n
        for i in range(1, k + 1):
            self._r[(self._r_n - i) % _R_SAMPLES] = _R_NONE
        self._r_n -= k
        self._r_base = self._r_min()

    def _h31_reservoir_level(self, now_ms):
        # a venous reservoir must never run dry (air into the pump, H01). Low: the speed comes
        # down slowly while the level still falls (an analog level rising by > 10 mL/s keeps
        # the speed), until it is back above the low limit + 50 mL (then kept, then given
        # back at release_rpm_s); critical: HIGH alarm, the speed backs off at
        # backoff_rpm_s. A failed analog sensor: SENSOR_LEVEL and the speed may not rise (the
        # pump is not slowed on a reading it cannot trust: in VA a stopped pump is a hazard of
        # its own). A switch pulled toward "low" shows a cut wire as a low level.
        lv = self.level
        if lv is None:
            return
        c = self._held_n
        n = self._deb_n
        running = self._running
        if self.level_switch:
            bad = False
            low = lv.low
            crit = False
            near = False
        else:
            # a reading at or below the bottom of its range is at most that: still a level
            bad = lv.status != 0 and lv.sat >= 0
            v = lv.value
            low = not bad and v < self.level_low_ml
            crit = not bad and v < self.level_crit_ml
            near = not bad and v < self.level_low_ml + _LEVEL_HYST_ML
            if ticks_diff(now_ms, self._lvl_t) >= _LEVEL_TREND_MS:
                self._lvl_t = now_ms
                # a trend needs two good readings a step apart: none from the first one (it
                # was compared with 0: any level "rose" and a low one kept its speed for 1 s)
                # and none across a sensor fault
                self._lvl_rising = self._lvl_have and not bad and \
                    v > self._lvl_prev + _LEVEL_RISE_ML
                self._lvl_prev = v
                self._lvl_have = not bad
        al = self.alarms
        fl = al.flags      # set() only on a change
        v = held(c, _D_LEVEL_SENSOR, bad, n)
        if v != fl[A.SENSOR_LEVEL] & 1:
            al.set(A.SENSOR_LEVEL, v, now_ms)
        low = held(c, _D_LEVEL_LOW, low, n)
        crit = held(c, _D_LEVEL_CRIT, running and crit, n)
        if (running and low) != fl[A.LEVEL_LOW] & 1:
            al.set(A.LEVEL_LOW, running and low, now_ms)
        if crit != fl[A.LEVEL_CRIT] & 1:
            al.set(A.LEVEL_CRIT, crit, now_ms)
        if crit:
            self._limit_speed(SPEED_BACK_OFF)
        elif low:
            # coming down until the level stops falling; rising again: that speed is kept
            self._limit_speed(SPEED_KEEP if self._lvl_rising and not self.level_switch
                              else SPEED_EASE)
        elif bad:
            self._limit_speed(SPEED_FREEZE)
        elif near:
            self._limit_speed(SPEED_KEEP)

    def _zero_mode(self):
        c = self.control
        return c is not None and c.mode == ZERO

    def _h32_zero_flow(self, now_ms):
        # zero-flow mode cannot find or hold zero net flow: the flow sensor is not trusted (the
        # mode holds its speed: the map's estimate is weakest near zero), or the flow stays off
        # zero (the speed at its limits: the VA floor rpm_min, a ceiling, RPM_MAX). The
        # retrograde interlock (H07) and the floor stay on throughout.
        bad = False
        c = self.control
        # judged once the search's target ramp has come down to zero (a search from 4 L/min
        # takes ~8 s of ramp), then for _ZERO_FAIL_MS
        if self._running and c is not None and c.mode == ZERO and \
                c.zero_sp_mlpm == ZERO_TARGET_MLPM:
            f = self.flow
            d = f.value - ZERO_TARGET_MLPM
            bad = f.status != 0 or self.red.suspect & 8 != 0 or d > _ZERO_BAND_MLPM or \
                d < -_ZERO_BAND_MLPM
        v = held(self._held_n, _D_ZERO, bad, self._zero_n)
        if v != self.alarms.flags[A.ZERO_FLOW] & 1:     # set() only on a change
            self.alarms.set(A.ZERO_FLOW, v, now_ms)

    def _clot_ceiling(self, now_ms):
        up = self.alarms.present(A.CLOT)
        if up and not self._clot_was:
            self.clot_cap_rpm = self.rpm_applied
        if not up:
            self.clot_cap_rpm = self.rpm_max
            self.clot_lifted = False
        self._clot_was = up

    def _h12_tach(self, rpm, now_ms):
        # the motor does not follow its command: driver fault, stalled or unplugged tach
        # (after the actuators: it needs this tick's command)
        # Inside that tolerance a tach can still be wrong: latched at an old speed (it shows no
        # change while the command moved) or showing a speed the circuit does not run at (the
        # pump map fits the command's speed, not the tach's): the cross-checks' own tach
        # checks (red.tach_bad) raise TACH at once
        off = self.pump.rpm - rpm
        tol = _TACH_TOL_RPM + rpm * _TACH_TOL_PCT // 100
        bad = off > tol or -off > tol
        r = self.red
        v = held(self._held_n, _D_TACH, bad, self._tach_n) or (r is not None and r.tach_bad)
        if v != self.alarms.flags[A.TACH] & 1:      # set() only on a change
            self.alarms.set(A.TACH, v, now_ms)

    # ---- the decision ----
    def _decide(self, now_ms, req_rpm, dt_ms):
        va = self.profile == "VA"
        self._ceiling(dt_ms)
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
        if self.holding:
            if self.rpm_applied <= 0:
                # a (re)start while blind: holding a stopped pump stopped is no fail-operational
                # hold (the flow loop frozen at 0 and no map estimate at 0 RPM never turn it);
                # ramp to the last speed applied while trusted, or follow the control (the
                # operator's speed, the flow loop where its reading is there) if none is known
                self._start_to = self._hold_rpm
                if self._start_to <= 0:
                    self._start_to = self._blind_start_rpm()
            if self._start_to > 0:
                rpm = self.rpm_applied + _START_RAMP_RPM_S * dt_ms // 1000
                if rpm >= self._start_to:
                    rpm = self._start_to
                    self._start_to = 0
            elif self._hold_rpm > 0:
                rpm = self._hold_rpm
        elif self._start_to > 0:
            # a fallback in the start ramp with a substitute standing in (_h08): ramp to it
            rpm = self.rpm_applied + _START_RAMP_RPM_S * dt_ms // 1000
            if rpm >= self._start_to:
                rpm = self._start_to
                self._start_to = 0
        elif self._fallback_now:
            rpm = self._hold_rpm     # once: the loop then goes on from there (control.track)
        if not self.holding and self._was_trusted:
            self._start_to = 0
        self._fallback_now = False
        if rpm > self.cap_rpm:
            rpm = self.cap_rpm
        if not self.clot_lifted and rpm > self.clot_cap_rpm:
            rpm = self.clot_cap_rpm
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
            up = self.pump.rpm * 100 >= self.rpm_min * _UP_TO_SPEED_PCT
            late = ticks_diff(now_ms, self._run_t) >= _CLAMP_OPEN_TIMEOUT_MS
            if not (up or late):
                closed = True
        if self.actuate(rpm, True, closed):
            self.rpm_applied = rpm
        else:
            self.rpm_applied = 0
        self._h12_tach(rpm, now_ms)
        return self.rpm_applied

    def blind_flow_start(self):
        # a start in flow mode now would have nothing to go on: the flow loop has no trusted
        # reading (nor the map's estimate: it needs the pump turning) and no speed applied
        # while trusted is known (after a boot). The operator's start is refused (rig.py).
        c = self.control
        return c is not None and c.mode == FLOW and not self.red.q_g_ok and \
            self._hold_rpm <= 0 and self.rpm_applied <= 0

    def _blind_start_rpm(self):
        # H08: a start that cannot be refused (VA's resume after a reset) in flow mode on a
        # blind flow reading, no trusted speed known: the speed the pump map gives for the
        # flow setpoint at the head the trusted pressures show (P2 - P1), else none (0): the
        # control's own output, and in VA the floor rpm_min, which _decide applies after this
        c = self.control
        r = self.red
        if c is None or c.mode != FLOW or r is None or not (r.p1_g_ok and r.p2_g_ok):
            return 0
        m = r.map
        q = c.flow_target_mlpm
        head = r.p2_g - r.p1_g
        if q <= 0 or head <= 0:
            return 0
        lo = 0
        hi = self.rpm_max
        for _ in range(14):          # the map's head rises with speed at a given flow
            mid = (lo + hi) >> 1
            if m.head_dmmhg(mid, q) < head:
                lo = mid
            else:
                hi = mid
        return hi

    def _ceiling(self, dt_ms):
        # the speed ceiling the suction and over-pressure interlocks asked for
        s = self._speed
        if s == SPEED_BACK_OFF:
            c = self.rpm_applied - self.backoff_rpm_s * dt_ms // 1000
            if c < self.cap_rpm:
                self.cap_rpm = c
        elif s == SPEED_EASE:
            c = self.rpm_applied - _LEVEL_EASE_RPM_S * dt_ms // 1000
            if c < self.cap_rpm:
                self.cap_rpm = c
        elif s == SPEED_FREEZE:
            if self.rpm_applied < self.cap_rpm:
                self.cap_rpm = self.rpm_applied
        elif s == SPEED_FREE and self.cap_rpm < self.rpm_max:
            self.cap_rpm += self.release_rpm_s * dt_ms // 1000
            if self.cap_rpm > self.rpm_max:
                self.cap_rpm = self.rpm_max

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
