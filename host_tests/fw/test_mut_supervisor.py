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
        self.p2_low = False
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


def comes_after(g, code, n, req=3000):
    # the alarm comes on the n-th tick from now, not one tick earlier
    g.tick(req, n - 1)
    assert not g.on(code)
    g.tick(req)
    assert g.on(code)


def latched_stop(g, latch, events=1):
    # an air or e-stop IRQ: its latch and its count, the trip fired; the tick sees them
    latch.latched = True
    latch.events = events
    g.trip.fire()
    g.tick(3000, 3)


def acknowledged(g):
    g.sup.acked()
    g.al.ack(g.t)


def restart_refused_as_just_seen(g):
    # restart() refuses when a latch event came in while it ran
    try:
        g.sup.restart(g.t)
    except ValueError as e:
        assert "seen just now" in str(e)
    else:
        raise AssertionError("restart accepted")


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
    comes_after(g, A.TACH, 200)


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
    comes_after(g, A.CLOT, 100)


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
    assert not g.trip.clamp.closed
    g = Rig()                               # a VV floor setting does not hold the line shut
    g.sup.set_profile("VV", {"rpm_min": 1500})
    g.sup.start(g.t)
    assert g.tick(2000) == 2000 and not g.trip.clamp.closed


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
    comes_after(g, crit_code, 2, 4000)     # debounced: two ticks
    assert g.sup.rpm_applied == 3030 - 40, name     # backing off at once
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
    comes_after(g, A.LOW_FLOW, 200)


def test_retrograde_debounced_and_not_at_the_limit():
    g = Rig()
    g.run(3000, 5)
    g.red.q_g = -100
    g.tick(3000, 10)
    assert not g.on(A.RETROGRADE)
    g.red.q_g = -101
    comes_after(g, A.RETROGRADE, 2)


def test_air_and_estop_alarms_each_name_their_own_stop():
    g = Rig()
    g.run(3000, 5)
    latched_stop(g, g.estop)
    assert g.sup.state == STOP and g.on(A.ESTOP) and not g.on(A.AIR)
    g = Rig()
    g.run(3000, 5)
    latched_stop(g, g.bubble)
    assert g.sup.state == STOP and g.on(A.AIR) and not g.on(A.ESTOP)


def test_bubble_detector_fault_alarm_debounced():
    g = Rig()
    g.run(3000, 10)
    assert not g.on(A.SENSOR_BUBBLE)
    g.bubble.status = 1
    comes_after(g, A.SENSOR_BUBBLE, 2)
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
    latched_stop(g, g.estop)
    acknowledged(g)

    def queued():           # the handler ran inside the section: its latch was wiped, its count shows
        g.estop.events += 1
    g.estop.on_clear = queued
    restart_refused_as_just_seen(g)
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
    assert g.tick(3000) == 3000             # then the loop goes on from there
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
    comes_after(g, A.CLOT, 100)


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
    comes_after(g, A.ZERO_FLOW, 500)
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
    comes_after(g, A.LEVEL_LOW, 2)
    g.level.value = 200
    g.tick(3000, 10)
    assert not g.on(A.LEVEL_CRIT)
    g.level.value = 199
    comes_after(g, A.LEVEL_CRIT, 2)


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
    g.tick(3000)                    # t = 1000: the first trend sample is no trend: easing
    assert g.sup.cap_rpm == c - 2   # (it was compared with 0, "rose", and kept the speed 1 s)
    g.tick(3000, 99)
    assert g.sup.cap_rpm == c - 200
    c -= 200
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


def test_level_trend_needs_two_good_readings_not_one_across_a_sensor_fault():
    # low level, easing; the sensor fails for a trend step and comes back (460 mL, still low,
    # over critical) far above its failed reading (0): no rise is judged from the failed one, so easing goes on (it
    # used to "rise" from 0 and keep the speed for a second)
    lv = Sensor(450)
    g = Rig(level=lv)
    g.run(3000, 1)
    g.tick(3000, 150)                 # t = 1510: low, easing, one good trend sample taken
    assert g.on(A.LEVEL_LOW)
    lv.status, lv.value = 1, 0        # failed (open wire) over the t = 2000 sample
    g.tick(3000, 60)
    assert g.on(A.SENSOR_LEVEL)
    lv.status, lv.value = 0, 460
    while g.t < 3000:                 # back, still low, before the next sample
        g.tick(3000)
    c = g.sup.cap_rpm
    g.tick(3000, 50)                  # the t = 3000 sample: 460 mL over a failed 0
    assert g.on(A.LEVEL_LOW) and not g.on(A.LEVEL_CRIT) and g.sup.cap_rpm == c - 100


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


# ---- H08: the held and fallback speeds, the start ramps (issue #13) ----
class Map:
    # a pump map whose head rises k dmmHg per RPM from -off at 0 RPM, at every flow
    def __init__(self, k=1, off=0):
        self.k = k
        self.off = off

    def head_dmmhg(self, rpm, q):
        return rpm * self.k - self.off


def mapped(profile="VV", head=2000, target=3000, k=1, off=0):
    # flow mode with a pump map: its speed for the flow target at the trusted head P2 - P1 is
    # head // k (+ off), the speed the H08 start ramps go to
    c = Control(FLOW)
    c.flow_target_mlpm = target
    g = Rig(profile=profile, control=c)
    g.red.map = Map(k, off)
    g.red.p1_g = -300
    g.red.p2_g = head - 300
    return g


def blind(g):
    # the flow sensor faulted and no substitute stands in: not trusted, and the speed holds
    g.red.trusted = False
    g.red.q_g_ok = False


def test_a_fault_in_the_start_ramp_ramps_at_1000_rpm_s_to_the_map_speed():
    # trust lost at 1200 RPM with a fallback (the speed of a second ago) under 1000 RPM: the
    # map's speed (3000) is ramped to at 1000 RPM/s while a substitute stands in, then the
    # request is followed again
    g = mapped(head=3000)
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(3500) == 1210
    assert g.tick(3500) == 1220
    assert g.tick(3500, 1, 1000) == 2220        # a 1 s tick: 1000 RPM
    assert g.tick(3500, 77) == 2990
    assert g.tick(3500) == 3000                 # exactly there: the ramp ends
    assert g.tick(3500) == 3500
    g = mapped(head=3000)                       # a step past the map's speed: it stops there
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(3500, 1, 1000) == 2200
    assert g.tick(3500, 1, 1000) == 3000
    assert g.tick(3500) == 3500
    g = mapped(head=3000)                       # trust back in the ramp: the request again
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(3500) == 1210
    g.red.trusted = True
    assert g.tick(3500) == 1220                 # (this tick's step still taken)
    assert g.tick(3500) == 3500


def test_a_fault_in_the_start_ramp_at_the_map_speed_or_under_it():
    g = mapped(head=1200)                       # the map says the speed now: nothing changes
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(1300) == 1300
    g = mapped(head=1100)                       # the map says less: down to it, once
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(1300) == 1100
    assert g.tick(1300) == 1300
    g = mapped(head=1000, k=1000)               # the map's speed is 1 RPM: as low as the
    g.run(1200, 5)                              # fallback, so the speed now (a step to 1
    g.red.trusted = False                       # RPM was a stop), then the request
    assert g.tick(1300) == 1300
    g = mapped(head=999)                        # 999 RPM: under 1000, the same
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(1300) == 1300
    g = mapped(profile="VA", head=1400)         # VA: a map speed under the floor, the same
    g.run(1600, 5)
    g.red.trusted = False
    assert g.tick(1700) == 1700
    g = mapped(profile="VA", head=1500)         # at the floor: taken
    g.run(1600, 5)
    g.red.trusted = False
    assert g.tick(1700) == 1500


def test_the_fallback_speed_is_taken_from_1000_rpm_up_or_the_va_floor():
    # a fallback under 1000 RPM (VV) or the VA floor counts as a start ramp: without a map
    # speed the speed now stays; from 1000 RPM (the floor) up the fallback is taken once
    for fb, now, want in ((1000, 1200, 1000), (999, 1200, 1300), (1, 800, 1)):
        g = Rig()
        g.red.fallback_rpm = fb
        g.run(now, 5)
        g.red.trusted = False
        assert g.tick(1300) == want, (fb, now)
    g = Rig(profile="VA")
    g.red.fallback_rpm = 1200                   # over 1000 but under the floor 1500
    g.run(1600, 5)
    g.red.trusted = False
    assert g.tick(1700) == 1700
    g = Rig(profile="VA")
    g.red.fallback_rpm = 1500
    g.run(1600, 5)
    g.red.trusted = False
    assert g.tick(1700) == 1500
    g = Rig()                                   # a VV floor setting does not raise the bar
    g.sup.set_profile("VV", {"rpm_min": 1500})
    g.red.fallback_rpm = 1200
    g.run(1600, 5)
    g.red.trusted = False
    assert g.tick(1700) == 1200


def test_a_blind_start_ramps_to_the_map_speed_then_follows_the_control():
    g = mapped(head=2000)
    blind(g)
    assert g.run(3000, 1) == 10
    assert g.tick(3000, 198) == 1990
    assert g.tick(3000) == 2000                 # the speed the map gives for the target
    assert g.tick(3000) == 3000


def test_a_blind_start_takes_the_map_speed_only_where_it_is_known():
    g = mapped(head=1)                          # the map's speed is 1 RPM
    blind(g)
    assert g.run(3000, 1) == 1
    assert g.tick(3000) == 3000
    g = mapped(head=500, target=1)              # a flow target of 1 mL/min still has a speed
    blind(g)
    assert g.run(3000, 1) == 10
    g = mapped(head=0, off=100)                 # no head: no speed from the map
    blind(g)
    assert g.run(3000, 1) == 3000
    g = mapped(head=2000)                       # P2 not trusted: no head known
    blind(g)
    g.red.p2_g_ok = False
    assert g.run(3000, 1) == 3000


def test_the_map_speed_is_taken_by_a_stopped_pump_only():
    g = mapped(head=2000, target=0)             # no flow target: no map speed, the request
    blind(g)
    assert g.run(1, 1) == 1
    assert g.sup.holding and not g.sup.blind_flow_start()   # it turns
    g.sup.control.flow_target_mlpm = 3000           # a map speed now, but the pump turns
    assert g.tick(1) == 1


def test_a_blind_restart_ramps_to_the_speed_held():
    g = Rig()
    g.run(2005, 5)
    blind(g)
    assert g.tick(3000) == 2005                 # held
    g.sup.standby()
    assert g.tick(3000) == 0
    g.sup.start(g.t)
    assert g.tick(3000) == 10                   # 1000 RPM/s from a stop
    assert g.tick(3000, 199) == 2000
    assert g.tick(3000) == 2005                 # and not past it
    assert g.tick(3000) == 2005


def test_a_held_speed_of_1_rpm_is_held_and_restarted_to():
    c = Control(FLOW)
    g = Rig(control=c)
    g.run(1, 5)
    blind(g)
    assert g.tick(3000) == 1
    g.sup.standby()
    g.tick(3000)
    assert not g.sup.blind_flow_start()         # a speed is known
    g.red.map = Map()                           # (a map speed would be 2300)
    g.sup.start(g.t)
    assert g.tick(3000) == 1


def test_p2_seen_only_through_p3_holds_the_speed():
    # every guard ok, but P2's is P3, its lower bound (a clot raises P2 while P3 falls): the
    # flow loop may not push the speed up against it; trusted again, it follows the request
    g = Rig()
    g.run(3000, 5)
    g.red.trusted = False
    g.red.fallback_rpm = 2800
    g.red.p2_low = True
    assert g.tick(4000) == 2800 and g.sup.holding
    assert g.tick(5000) == 2800
    g.red.p2_low = False
    g.red.trusted = True
    assert g.tick(3500) == 3500 and not g.sup.holding


def test_holding_after_a_loss_of_trust_at_a_standstill_holds_the_speed_then():
    # trust lost with the pump at 0 RPM (no speed to fall back to); the speed went up on the
    # substitutes; the flow substitute lost too: it holds there, not at 0
    g = Rig()
    g.run(0, 5)
    g.red.trusted = False
    assert g.tick(2000) == 2000
    g.red.q_g_ok = False
    assert g.tick(2500) == 2000
    assert g.sup.holding
    g = Rig()                       # lost at 0 RPM, the substitutes took it to 999 only:
    g.run(0, 5)                     # no speed was known, so the speed then is held
    g.red.trusted = False
    assert g.tick(999) == 999
    g.red.q_g_ok = False
    assert g.tick(2500) == 999
    g = Rig()                       # lost at 1 RPM, next to no blood: holding at 1 RPM
    g.run(1, 5)                     # would stop a pump the substitutes took to 2000: held
    g.red.trusted = False           # at 2000 (it held 1: 2000 -> 1 RPM in a tick)
    assert g.tick(2000) == 2000
    g.red.q_g_ok = False
    assert g.tick(2500) == 2000
    g = Rig()                       # ... to 999 only: still next to no blood, 1 held
    g.run(1, 5)
    g.red.trusted = False
    assert g.tick(999) == 999
    g.red.q_g_ok = False
    assert g.tick(2500) == 1
    g = Rig()                       # lost at 1200 RPM: that speed is held, not the speed now
    g.run(1200, 5)
    g.red.trusted = False
    assert g.tick(2000) == 2000
    g.red.q_g_ok = False
    assert g.tick(2500) == 1200


def test_tach_tolerance_to_the_rpm_and_its_debounce():
    # 300 RPM + 20 % of the command (900 at 3000): at it no alarm, one RPM past it after 2 s
    for tach in (3900, 2100):
        g = Rig()
        g.run(3000, 5)
        g.trip.pump.follow = False
        g.trip.pump.rpm = tach
        g.tick(3000, 250)
        assert not g.on(A.TACH), tach
    for tach in (3901, 2099):
        g = Rig()
        g.run(3000, 5)
        g.trip.pump.follow = False
        g.trip.pump.rpm = tach
        comes_after(g, A.TACH, 200)


def test_tach_named_by_the_cross_checks_at_once():
    g = Rig()
    g.run(3000, 5)
    g.red.tach_bad = True
    g.tick(3000)
    assert g.on(A.TACH)
    g.red.tach_bad = False
    g.tick(3000)
    assert not g.on(A.TACH)


# ---- stops, latches and the operator's actions ----
def test_a_latch_alone_stops_the_pump_and_the_run_on_that_tick():
    # a latch the tick sees before its trip fired: the tick stops the pump itself, and the
    # interlocks after it judge a stopped pump (a running-only warning goes)
    for name in ("bubble", "estop"):
        g = Rig()
        g.run(3000, 5)
        g.red.p1_g = -1001
        g.tick(3000)
        assert g.on(A.SUCTION_WARN)
        getattr(g, name).latched = True
        assert g.tick(3000) == 0
        assert g.sup.state == STOP and g.sup.tripped, name
        assert g.trip.pump.cmd == 0 and not g.trip.pump.enabled, name
        assert not g.on(A.SUCTION_WARN), name


def backed_off(g):
    # suction critical for 3 ticks from 3000 RPM: the ceiling backed off to 2920, then clear
    g.red.p1_g = -1501
    g.tick(3000, 3)
    assert g.sup.cap_rpm == 2920
    g.red.p1_g = -300


def test_the_ceiling_given_back_stops_at_rpm_max():
    g = Rig()
    g.run(5000, 5)
    g.red.p1_g = -1501
    g.tick(5000, 3)
    g.red.p1_g = -300
    assert g.sup.cap_rpm == 4920
    g.tick(5000, 26)                # 3 RPM a tick (300 RPM/s) back
    assert g.sup.cap_rpm == 4998
    g.tick(5000)
    assert g.sup.cap_rpm == 5000 and g.tick(5000) == 5000


def test_a_start_and_a_restart_give_the_whole_speed_back_at_once():
    g = Rig()
    g.run(3000, 5)
    backed_off(g)
    g.sup.standby()
    g.tick(3000, 3)
    g.sup.start(g.t)
    assert g.tick(3000) == 3000
    backed_off(g)
    latched_stop(g, g.bubble)
    g.sup.deaired(g.t + 1)
    assert g.sup.deaired_ms == g.t + 1
    acknowledged(g)
    g.sup.restart(g.t)
    assert g.tick(3000) == 3000


def test_on_latch_once_a_latched_stop_not_for_a_trip_alone():
    g = Rig()
    seen = []
    g.sup.on_latch = lambda: seen.append(g.t)
    g.run(3000, 5)
    g.trip.fire()                   # a trip with no latch: nothing to record
    g.tick(3000, 3)
    assert seen == []
    g.sup.restart(g.t)
    for n in (1, 2):                # each latched stop once, however many ticks it lasts
        g.tick(3000, 3)
        latched_stop(g, g.bubble, n)
        assert len(seen) == n
        g.sup.deaired(g.t)
        acknowledged(g)
        g.sup.restart(g.t)


def test_blind_names_the_p2_saturated_and_flow_substitutes():
    g = Rig()
    g.p2.status = 1
    g.p2.sat = 1
    assert "pre-oxygenator pressure (on P2 saturated)" in g.sup.blind()
    g = Rig()
    on_map = "low/retrograde flow (on the pump-map estimate of flow)"
    g.flow.status = 1
    assert on_map in g.sup.blind()
    g.flow.status = 0
    g.red.suspect = 8
    assert on_map in g.sup.blind()


def test_no_low_flow_alarm_in_zero_flow_mode():
    c = Control(ZERO)
    g = Rig(control=c)
    g.run(3000, 5)
    g.red.q_g = g.flow.value = ZERO_TARGET_MLPM
    g.tick(3000, 300)
    assert not g.on(A.LOW_FLOW) and not g.on(A.ZERO_FLOW)
    c.mode = FLOW
    comes_after(g, A.LOW_FLOW, 200)


def test_resistance_sampled_every_1000_ms_and_judged_from_the_5th_sample():
    g = Rig()
    g.run(3000, 5)
    resist(g, 80)
    until(g, 1000)          # the first sample, at t = 1000
    resist(g, 100)
    until(g, 4990)          # three more (t = 2000 ... 4000), 100 each
    resist(g, 130)          # 62 % over the lowest, 50 above it
    until(g, 5000)          # the 5th sample: judged from here, held a second from here
    g.tick(3000, 98)
    assert not g.on(A.CLOT)
    g.tick(3000)            # t = 5990: the 100th tick judged
    assert g.on(A.CLOT)


def test_no_resistance_rise_judged_on_a_zero_baseline():
    for base, clot in ((0, False), (1, True)):
        g = Rig()
        g.run(3000, 5)
        resist(g, base)
        until(g, 6000)
        resist(g, 100)      # dP 200: under dp_max
        g.tick(3000, 200)
        assert g.on(A.CLOT) == clot, base


def test_an_air_edge_just_before_the_clearing_leaves_every_latch_as_it_was():
    # the air IRQ lands after restart_blockers() looked and before interrupts go off: the
    # restart is refused and nothing is cleared (here: the e-stop's latch stays)
    import ecmo.safety.supervisor as S
    g = Rig()
    g.run(3000, 5)
    latched_stop(g, g.estop)
    acknowledged(g)
    off = S.disable_irq

    def edge_then_off():
        g.bubble.latched = True
        g.bubble.events += 1
        g.trip.fire()
        S.disable_irq = off
        return off()
    S.disable_irq = edge_then_off
    try:
        restart_refused_as_just_seen(g)
    finally:
        S.disable_irq = off
    assert g.estop.latched and g.bubble.latched and g.sup.tripped and g.sup.state == STOP
