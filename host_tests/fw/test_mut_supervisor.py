# safety/supervisor.py to the tick (mutation run, docs/mutation.md, issue #13): the Supervisor
# with stub parts, so each interlock's limit, debounce and timer is seen at its exact boundary
# (the event at exactly N ticks and not one earlier; a value at the limit and one past it).
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import Supervisor, RUN, STOP, STANDBY
from ecmo.control.pump_control import FLOW, ZERO, ZERO_TARGET_MLPM

P = 10      # tick period, ms


class Pump:
    def __init__(self):
        self.rpm = 0            # the tach
        self.cmd = 0
        self.enabled = False
        self.follow = True      # the tach shows the command

    def drive(self, rpm, enable):
        self.cmd = rpm
        self.enabled = enable
        if self.follow:
            self.rpm = rpm if enable else 0

    def stop(self):
        self.cmd = 0
        self.enabled = False
        if self.follow:
            self.rpm = 0


class Clamp:
    def __init__(self):
        self.closed = True

    def close(self):
        self.closed = True

    def open(self):
        self.closed = False


class Trip:
    def __init__(self):
        self.pump = Pump()
        self.clamp = Clamp()
        self.tripped = False

    def fire(self):
        self.tripped = True
        self.pump.stop()
        self.clamp.close()


class Latch:
    # the bubble detector or the e-stop: an IRQ latch with an event count
    def __init__(self):
        self.latched = False
        self.status = 0
        self.events = 0
        self.now = False
        self.on_clear = None

    def present(self):
        return self.now

    def clear(self):
        self.latched = False
        if self.on_clear is not None:
            self.on_clear()


class Sensor:
    def __init__(self, value=0):
        self.value = value
        self.status = 0
        self.sat = 0
        self.low = False


class Red:
    # the cross-checks: every guard trusted, the readings given here
    def __init__(self):
        self.p1_g_ok = self.p2_g_ok = self.p3_g_ok = self.q_g_ok = True
        self.p1_g = -300
        self.p2_g = 2000
        self.p3_g = 1500
        self.q_g = 3000
        self.suspect = 0
        self.trusted = True
        self.fallback_rpm = 0
        self.tach_bad = False
        self.p2_est_ok = True
        self.map = None

    def all_trusted(self):
        return self.trusted


class Control:
    def __init__(self, mode=FLOW):
        self.mode = mode
        self.zero_sp_mlpm = ZERO_TARGET_MLPM
        self.flow_target_mlpm = 3000


class Rig:
    def __init__(self, profile="VV", rpm_max=5000, level=None, control=None, **kw):
        self.trip = Trip()
        self.bubble = Latch()
        self.estop = Latch()
        self.p1 = Sensor(-300)
        self.p2 = Sensor(2000)
        self.p3 = Sensor(1500)
        self.flow = Sensor(3000)
        self.al = A.Alarms()
        self.red = Red()
        self.level = level
        self.sup = Supervisor(self.trip, self.bubble, self.estop, self.p1, self.p2, self.p3,
                              self.flow, self.al, profile, rpm_max, P, self.red, level=level,
                              control=control, **kw)
        self.t = 0

    def tick(self, req, n=1, dt=P):
        r = 0
        for _ in range(n):
            self.t += dt
            r = self.sup.update(self.t, req, dt)
        return r

    def on(self, code):
        return self.al.present(code)

    def run(self, req=3000, n=5):
        self.sup.start(self.t)
        return self.tick(req, n)


def test_initial_public_state():
    s = Rig().sup
    assert s.state == STANDBY and s.holding is False and s.deaired_ms is None
    assert s.clot_cap_rpm == 5000 and s.clot_lifted is False and s.profile == "VV"
    assert s.cap_rpm == 5000 and s.level_switch is False


def test_tach_alarm_after_exactly_2000_ms():
    g = Rig()
    g.run(3000, 5)
    g.trip.pump.follow = False
    g.trip.pump.rpm = 0
    g.tick(3000, 199)
    assert not g.on(A.TACH)
    g.tick(3000)
    assert g.on(A.TACH)


def dp_clot(g, dp, q=3000):
    g.red.p2_g = g.p2.value = 1000 + dp
    g.red.p3_g = g.p3.value = 1000
    g.flow.value = q


def test_clot_after_exactly_1000_ms_and_not_at_the_limit():
    g = Rig()
    g.run(3000, 5)
    dp_clot(g, 600)          # at dp_max: no clot
    g.tick(3000, 300)
    assert not g.on(A.CLOT)
    dp_clot(g, 601)
    g.tick(3000, 99)
    assert not g.on(A.CLOT)
    g.tick(3000)
    assert g.on(A.CLOT)


def test_clot_ceiling_holds_the_speed_clot_came_at_lifted_and_released():
    g = Rig()
    g.run(3000, 5)
    dp_clot(g, 700)
    g.tick(3000, 100)
    assert g.on(A.CLOT)
    assert g.tick(4000) == 3000 and g.sup.clot_cap_rpm == 3000
    assert g.tick(4000, 10) == 3000
    g.sup.lift_clot_ceiling()
    assert g.sup.clot_lifted is True
    assert g.tick(3500, 5) == 3500
    g.sup.lift_clot_ceiling(False)
    assert g.tick(3500, 5) == 3000       # back to the ceiling CLOT came at
    dp_clot(g, 100)
    g.tick(4000)
    assert not g.on(A.CLOT)
    assert g.tick(4000) == 4000          # given back the tick after CLOT cleared
    assert g.sup.clot_cap_rpm == 5000 and not g.sup.clot_lifted
    g.sup.lift_clot_ceiling()
    dp_clot(g, 700)
    g.tick(4000, 200)
    assert g.on(A.CLOT)
    assert not g.sup.clot_lifted         # a lift ends with its CLOT
    g.tick(4000, 2)
    assert g.tick(4500, 5) == 4000


def test_no_clot_judged_on_one_faulted_pressure():
    g = Rig()
    g.run(3000, 5)
    dp_clot(g, 2000)
    g.p2.status = 1
    g.tick(3000, 300)
    assert not g.on(A.CLOT)
    g.p2.status = 0
    g.p3.status = 1
    g.tick(3000, 300)
    assert not g.on(A.CLOT)


def test_va_clamp_opens_at_90_pct_of_the_floor_at_once():
    g = Rig(profile="VA")
    g.trip.pump.follow = False
    g.sup.start(g.t)
    g.trip.pump.rpm = 1349          # just under 90 % of rpm_min 1500
    g.tick(3000, 5)
    assert g.trip.clamp.closed
    g.trip.pump.rpm = 1350          # exactly 90 %: up to speed, well before the timeout
    g.tick(3000)
    assert not g.trip.clamp.closed


def test_va_clamp_opens_after_exactly_3000_ms_without_the_tach():
    g = Rig(profile="VA")
    g.trip.pump.follow = False
    g.sup.start(g.t)
    g.tick(3000)                    # the floor starts here: timed from now
    t0 = g.t
    while g.t - t0 < 2990:
        g.tick(3000)
    assert g.trip.clamp.closed
    g.tick(3000)                    # 3000 ms since the floor started
    assert not g.trip.clamp.closed


def test_va_first_tick_ever_in_run_times_the_clamp_from_then():
    g = Rig(profile="VA")
    g.trip.pump.follow = False
    g.t = 50000
    g.sup.start(g.t)
    g.trip.clamp.open()
    g.tick(3000)
    assert g.trip.clamp.closed      # a floor starting now: the line shut until up or late
    g.tick(3000, 100)
    assert g.trip.clamp.closed


def test_vv_first_run_tick_applies_the_request():
    g = Rig()
    g.tick(0, 3)
    g.sup.start(g.t)
    assert g.tick(2000) == 2000 and g.trip.pump.cmd == 2000


def test_speed_clamped_to_zero_and_to_rpm_max_under_a_high_floor():
    g = Rig()
    g.run(-200, 2)
    assert g.sup.rpm_applied == 0 and g.trip.pump.cmd == 0
    g = Rig(profile="VA", rpm_max=1200)      # a pump whose top speed is under the VA floor
    g.run(1000, 3)
    assert g.sup.rpm_applied == 1200 and g.trip.pump.cmd == 1200


def test_stop_sets_the_applied_speed_to_zero():
    g = Rig()
    g.run(3000, 5)
    assert g.sup.rpm_applied == 3000
    g.trip.fire()
    assert g.tick(3000) == 0
    assert g.sup.state == STOP and g.sup.rpm_applied == 0


class TripOnRead:
    # a level sensor whose reading lands with a trip flagged (an IRQ in the middle of the tick)
    def __init__(self):
        self.trip = None
        self.arm = False
        self.status = 0
        self.sat = 0
        self.low = False

    @property
    def value(self):
        if self.arm:
            self.trip.tripped = True
        return 1000


def test_a_trip_flagged_during_the_tick_wins_at_the_actuators():
    lv = TripOnRead()
    g = Rig(level=lv)
    lv.trip = g.trip
    g.run(3000, 5)
    assert g.trip.pump.cmd == 3000 and not g.trip.clamp.closed
    lv.arm = True
    assert g.tick(3000) == 0
    assert g.sup.rpm_applied == 0
    assert g.trip.pump.cmd == 0 and not g.trip.pump.enabled and g.trip.clamp.closed


def limit_band(name, warn_code, crit_code, warn, crit, sign):
    # sign -1: below is bad (P1); +1: above is bad (P3, P2). The warning freezes the speed, the
    # band 10 mmHg inside the warning keeps the ceiling, past it the speed is given back
    g = Rig(level=Sensor(1000))     # a healthy analog level runs its own debounce alongside
    g.run(3000, 5)
    setattr(g.red, name, warn + sign)
    g.tick(3000)
    assert g.on(warn_code) and g.sup.cap_rpm == 3000, name     # frozen where it was
    setattr(g.red, name, warn)       # at the warning limit: no warning, ceiling kept
    g.tick(4000, 20)
    assert not g.on(warn_code) and g.sup.rpm_applied == 3000, name
    setattr(g.red, name, warn - sign * 100)     # the band's edge: kept
    g.tick(4000, 20)
    assert g.sup.cap_rpm == 3000 and g.sup.rpm_applied == 3000, name
    setattr(g.red, name, warn - sign * 101)     # past it: given back at release_rpm_s
    g.tick(4000, 10)
    assert g.sup.cap_rpm == 3030 and g.sup.rpm_applied == 3030, name
    setattr(g.red, name, crit)       # at the critical limit: no back-off
    g.tick(4000, 20)
    assert not g.on(crit_code) and g.sup.rpm_applied == 3030, name
    setattr(g.red, name, crit + sign)
    g.tick(4000)
    assert not g.on(crit_code), name     # debounced: two ticks
    g.tick(4000)
    assert g.on(crit_code) and g.sup.rpm_applied == 3030 - 40, name   # backing off at once
    g.tick(4000)
    assert g.sup.rpm_applied == 3030 - 80, name
    # blind: no judgement, no band, no ceiling kept (speed given back)
    setattr(g.red, name[:2] + "_g_ok", False)
    setattr(g.red, name, warn - sign * 50)
    c = g.sup.cap_rpm
    g.tick(4000, 5)
    assert g.sup.cap_rpm > c, name


def test_suction_limits_and_hysteresis_to_the_dmmhg():
    limit_band("p1_g", A.SUCTION_WARN, A.SUCTION_CRIT, -1000, -1500, -1)


def test_over_pressure_limits_and_hysteresis_to_the_dmmhg():
    limit_band("p3_g", A.PRESSURE_WARN, A.PRESSURE_CRIT, 3000, 4000, 1)


def test_pre_oxygenator_pressure_limits_and_hysteresis_to_the_dmmhg():
    limit_band("p2_g", A.P2_HIGH, A.P2_CRIT, 4000, 4500, 1)


def test_low_flow_after_exactly_low_flow_ms_and_not_at_the_limit():
    g = Rig()
    g.run(3000, 5)
    g.red.q_g = 1000
    g.tick(3000, 300)
    assert not g.on(A.LOW_FLOW)
    g.red.q_g = 999
    g.tick(3000, 199)
    assert not g.on(A.LOW_FLOW)
    g.tick(3000)
    assert g.on(A.LOW_FLOW)


def test_retrograde_debounced_and_not_at_the_limit():
    g = Rig()
    g.run(3000, 5)
    g.red.q_g = -100
    g.tick(3000, 10)
    assert not g.on(A.RETROGRADE)
    g.red.q_g = -101
    g.tick(3000)
    assert not g.on(A.RETROGRADE)
    g.tick(3000)
    assert g.on(A.RETROGRADE)


def test_air_and_estop_alarms_each_name_their_own_stop():
    g = Rig()
    g.run(3000, 5)
    g.estop.latched = True
    g.estop.events = 1
    g.trip.fire()
    g.tick(3000, 3)
    assert g.sup.state == STOP and g.on(A.ESTOP) and not g.on(A.AIR)
    g = Rig()
    g.run(3000, 5)
    g.bubble.latched = True
    g.bubble.events = 1
    g.trip.fire()
    g.tick(3000, 3)
    assert g.sup.state == STOP and g.on(A.AIR) and not g.on(A.ESTOP)


def test_bubble_detector_fault_alarm_debounced():
    g = Rig()
    g.run(3000, 10)
    assert not g.on(A.SENSOR_BUBBLE)
    g.bubble.status = 1
    g.tick(3000)
    assert not g.on(A.SENSOR_BUBBLE)
    g.tick(3000)
    assert g.on(A.SENSOR_BUBBLE)
    g.bubble.status = 0
    g.tick(3000)
    assert not g.on(A.SENSOR_BUBBLE)


def test_restore_stop_fires_the_trip():
    g = Rig()
    g.sup.restore_stop(True)
    assert g.sup.tripped and g.sup.stopped() and g.sup.state == STOP
    assert g.sup.before_stop == RUN


def test_restart_blockers_name_each_cause():
    g = Rig()
    g.bubble.status = 2
    g.estop.events = 1
    assert "bubble detector faulted: air cannot be seen" in g.sup.restart_blockers()
    assert "e-stop pressed again since the acknowledgement" in g.sup.restart_blockers()
    g.estop.now = True
    assert "e-stop still pressed" in g.sup.restart_blockers()
    g.bubble.status = 0
    g.estop.now = False
    g.sup.acked()
    assert g.sup.restart_blockers() == []


def test_restart_relatches_an_estop_queued_during_the_clearing():
    g = Rig()
    g.run(3000, 5)
    g.estop.latched = True
    g.estop.events = 1
    g.trip.fire()
    g.tick(3000, 3)
    g.sup.acked()
    g.al.ack(g.t)

    def queued():           # the handler ran inside the section: its latch was wiped, its count shows
        g.estop.events += 1
    g.estop.on_clear = queued
    try:
        g.sup.restart(g.t)
    except ValueError as e:
        assert "seen just now" in str(e)
    else:
        raise AssertionError("restart accepted")
    assert g.estop.latched and g.sup.tripped and g.sup.state == STOP
    assert not g.bubble.latched


def test_blind_names_the_substitutes_clot_and_air():
    g = Rig()
    assert g.sup.blind() == []
    g.p2.status = 1
    g.p3.status = 1
    g.p3.sat = 0
    out = g.sup.blind()
    assert "over-pressure (on the pump-map estimate of P2)" in out and "clot" in out
    g.p3.sat = 1
    assert "over-pressure (on P3 saturated)" in g.sup.blind()
    g.bubble.status = 1
    assert g.sup.blind()[-1] == "air"


def test_standby_sets_the_applied_speed_to_zero():
    g = Rig()
    g.run(3000, 5)
    g.sup.standby()
    assert g.tick(3000) == 0 and g.sup.rpm_applied == 0 and g.trip.pump.cmd == 0


def test_a_fallback_speed_is_applied_once_on_losing_trust_only():
    g = Rig()
    g.red.fallback_rpm = 2000
    g.run(3000, 10)
    assert g.sup.rpm_applied == 3000        # trusted: the fallback is not used
    g.red.trusted = False
    assert g.tick(3000) == 2000             # lost: the fallback speed, once
    g = Rig()
    g.red.trusted = False                   # the very first tick already untrusted
    assert g.run(3000, 3) == 3000


def test_a_blind_start_with_a_zero_flow_target_runs_at_the_request():
    c = Control(FLOW)
    c.flow_target_mlpm = 0
    g = Rig(control=c)
    g.red.q_g_ok = False                    # holding: flow blind
    g.red.trusted = False
    assert g.run(0, 5) == 0 and g.sup.holding
    assert g.sup.state == RUN


def secs(g, n, req=3000):
    for _ in range(n):
        g.tick(req, 100)


def resist(g, r, q=2000):
    # membrane resistance r = dP * 1000 // q
    dp_clot(g, r * q // 1000, q)


def test_resistance_rise_judged_to_its_limits():
    g = Rig()
    g.run(3000, 5)
    resist(g, 100)
    secs(g, 6)
    resist(g, 140)          # 40 % up (the limit is 50 %), 40 above: no clot
    secs(g, 3)
    assert not g.on(A.CLOT)
    resist(g, 150)          # exactly 50 % up: no clot
    secs(g, 3)
    assert not g.on(A.CLOT)
    resist(g, 40)           # a new baseline
    secs(g, 2)
    resist(g, 70)           # 75 % up but only 30 above: no clot
    secs(g, 3)
    assert not g.on(A.CLOT)
    resist(g, 71)           # 31 above: clot after its second
    g.tick(3000, 99)
    assert not g.on(A.CLOT)
    g.tick(3000)
    assert g.on(A.CLOT)


def test_resistance_needs_a_flow_above_1500():
    g = Rig()
    g.run(3000, 5)
    dp_clot(g, 150, 1500)
    secs(g, 6)
    dp_clot(g, 400, 1500)
    secs(g, 3)
    assert not g.on(A.CLOT)
    g = Rig()
    g.run(3000, 5)
    dp_clot(g, 150, 1501)   # r = 99
    secs(g, 6)
    dp_clot(g, 300, 1501)   # r = 199
    secs(g, 2)
    assert g.on(A.CLOT)


def until(g, t, req=3000):
    while g.t < t:
        g.tick(req)


def test_resistance_baseline_is_the_last_60_samples():
    g = Rig()
    g.run(3000, 5)
    resist(g, 80)           # one sample at 80 (t = 1000)
    until(g, 1050)
    resist(g, 100)          # then 59 at 100 (t = 2000 ... 60000)
    until(g, 60990)
    resist(g, 140)          # the 61st sample pushes the 80 out: 40 % over 100, no clot
    until(g, 61990)         # (75 % over 80 held a second would be one)
    assert not g.on(A.CLOT)
    for e in g.al.log():
        assert e[1] != "CLOT", e


def test_zero_flow_mode_band_and_time():
    c = Control(ZERO)
    g = Rig(control=c)
    g.run(3000, 5)
    g.flow.value = ZERO_TARGET_MLPM + 200
    g.tick(3000, 600)
    assert not g.on(A.ZERO_FLOW)
    g.flow.value = ZERO_TARGET_MLPM - 200
    g.tick(3000, 600)
    assert not g.on(A.ZERO_FLOW)
    g.flow.value = ZERO_TARGET_MLPM + 201
    g.tick(3000, 499)
    assert not g.on(A.ZERO_FLOW)
    g.tick(3000)
    assert g.on(A.ZERO_FLOW)
    g.flow.value = ZERO_TARGET_MLPM - 201
    g.tick(3000, 600)
    assert g.on(A.ZERO_FLOW)
    c.mode = FLOW           # flow mode: not judged
    g.tick(3000)
    assert not g.on(A.ZERO_FLOW)
    g.tick(3000, 600)
    assert not g.on(A.ZERO_FLOW)


def test_level_low_and_critical_limits_debounced():
    g = Rig(level=Sensor(1000))
    g.run(3000, 5)
    g.level.value = 500
    g.tick(3000, 10)
    assert not g.on(A.LEVEL_LOW) and not g.on(A.SENSOR_LEVEL)
    g.level.value = 499
    g.tick(3000)
    assert not g.on(A.LEVEL_LOW)
    g.tick(3000)
    assert g.on(A.LEVEL_LOW)
    g.level.value = 200
    g.tick(3000, 10)
    assert not g.on(A.LEVEL_CRIT)
    g.level.value = 199
    g.tick(3000)
    assert not g.on(A.LEVEL_CRIT)
    g.tick(3000)
    assert g.on(A.LEVEL_CRIT)


def test_level_low_eases_the_speed_until_the_level_rises():
    g = Rig(level=Sensor(450))      # low from the first tick
    g.run(3000, 1)
    assert g.sup.cap_rpm == 5000
    g.tick(3000)                    # debounced: easing at 200 RPM/s
    assert g.sup.cap_rpm == 2998 and g.sup.rpm_applied == 2998
    while g.t < 990:
        g.tick(3000)
    c = g.sup.cap_rpm
    assert c == 3000 - 2 * 98
    g.tick(3000)                    # t = 1000: the first trend sample (from 0: rising): kept
    assert g.sup.cap_rpm == c
    g.tick(3000, 99)
    assert g.sup.cap_rpm == c
    g.level.value = 460             # t = 2000: up by 10 mL in a second: not rising, easing
    g.tick(3000)
    assert g.sup.cap_rpm == c - 2
    g.tick(3000, 99)
    c = g.sup.cap_rpm
    g.level.value = 471             # t = 3000: up by 11: rising, kept
    g.tick(3000)
    assert g.sup.cap_rpm == c
    g.tick(3000, 99)
    g.level.value = 471             # t = 4000: flat: easing again, 200 RPM in a 1 s tick
    g.tick(3000)
    c = g.sup.cap_rpm
    g.tick(3000, 1, 1000)
    assert g.sup.cap_rpm == c - 200
    g.level.value = 549             # inside the 50 mL band: kept
    g.tick(3000, 20)
    assert g.sup.cap_rpm == c - 200
    g.level.value = 550             # past it: given back
    g.tick(3000, 10)
    assert g.sup.cap_rpm == c - 200 + 30


def test_level_switch_raises_only_the_low_level():
    lv = Sensor(0)
    g = Rig(level=lv, level_switch=True)
    g.run(3000, 5)
    lv.low = True
    g.tick(3000, 10)
    assert g.on(A.LEVEL_LOW) and g.sup.cap_rpm < 3000
    lv.low = False
    c = g.sup.cap_rpm
    g.tick(3000, 10)
    assert g.sup.cap_rpm == c + 30      # no band on a switch: given back at once
    assert not g.on(A.LEVEL_LOW) and not g.on(A.LEVEL_CRIT) and not g.on(A.SENSOR_LEVEL)
