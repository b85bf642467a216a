# Issue 17: the pressure servo (rig.mode('pressure'), set_p1), zero-flow mode for VA weaning and
# the reservoir level interlock, on the rigkit bench (readings set by the test, ideal motor).
# The hazard rows: H31 (reservoir level), H32 (zero-flow mode), H33 (the servo's P1) in
# docs/hazards.md; the simulated-rig outcomes are the examples h31_*, h32_*, h33_*.
import gc
import machine
import devices
import board_pico
from rigkit import Bench, u16_for
from ecmo.safety import alarms as A
from ecmo.control.pump_control import PRESSURE, ZERO, FLOW, RPM

LEVEL_ANALOG = {"kind": "analog", "adc": 28, "cal": (5958, 0, 59578, 3000),
                "rails": (993, 64542), "limits": (-200, 3500)}
LEVEL_SWITCH = {"kind": "switch", "pin": 21, "active_level": 1}


def shown(b, code):
    return A.NAMES[code] in b.rig.alarms()


def refused(fn, *args):
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    return None


def with_level(spec, profile="VA"):
    # a board file with a LEVEL entry, for this bench only
    board_pico.LEVEL = spec
    try:
        return Bench(profile=profile)
    finally:
        del board_pico.LEVEL


def col(b, name):
    h = b.rig.telemetry_header().split(",")
    return b.rig.telemetry_row().split(",")[h.index(name)]


def level_ml(b, ml):
    b._put(LEVEL_ANALOG["adc"], u16_for(LEVEL_ANALOG, int(ml)))


# ---- pressure servo ----
def test_h33_pressure_mode_switch_is_bumpless_and_the_servo_moves_the_speed_the_right_way():
    b = Bench(profile="VV")
    b.set(p1=-40, flow=3.0)
    b.running(3000)
    b.rig.set_p1(-40)
    b.rig.mode("pressure")
    assert b.rig.control.mode == PRESSURE and b.rig.mode() == "pressure"
    b.ticks(1)
    assert abs(b.rig.sup.rpm_applied - 3000) <= 2       # no step at the switch
    b.rig.set_p1(-60)            # more suction wanted: the speed must rise
    b.ticks(200)
    r = b.rig.sup.rpm_applied
    assert r > 3050, r
    b.set(p1=-70)                # now past the target: the speed comes back down
    b.ticks(200)
    assert b.rig.sup.rpm_applied < r
    # back to rpm mode: the speed the servo had is kept
    r = b.rig.sup.rpm_applied
    b.rig.mode("rpm")
    b.ticks(5)
    assert abs(b.rig.sup.rpm_applied - r) <= 2


def test_h33_pressure_servo_holds_on_an_invalid_p1_and_resumes_from_there():
    b = Bench(profile="VV")
    b.set(p1=-40, flow=3.0)
    b.running(3000)
    b.rig.set_p1(-40)
    b.rig.mode("pressure")
    b.ticks(50)
    r = b.rig.sup.rpm_applied
    b.raw("p1", 0)               # open wire
    b.set(flow=3.0)
    b.ticks(300)
    assert b.rig.control.holding
    assert abs(b.rig.sup.rpm_applied - r) <= 2 and b.enabled()
    assert shown(b, A.SENSOR_P1)
    b.set(p1=-40)
    b.ticks(20)
    assert not b.rig.control.holding
    assert abs(b.rig.sup.rpm_applied - r) <= 20   # resumed from the held speed


def test_h33_p1_target_and_servo_gains_are_validated():
    b = Bench(profile="VV")
    assert "suction warning" in refused(b.rig.set_p1, -95)   # warn -100 mmHg: 10 mmHg margin
    assert refused(b.rig.set_p1, -300) is not None
    assert refused(b.rig.set_p1, "x") is not None
    assert refused(b.rig.set_p1, float("nan")) is not None
    b.rig.set_p1(-80)
    assert b.rig.control.p1_target_dmmhg == -800 and b.rig.settings["p1_target_mmhg"] == -80
    assert refused(b.rig.servo_gains, 60) is not None
    assert refused(b.rig.servo_gains, 1.5) is not None
    assert b.rig.servo_gains(ki=0) == (20, 0, 0)
    assert "integral" in refused(b.rig.mode, "pressure")
    b.rig.servo_gains(ki=20)
    b.rig.mode("pressure")
    assert "integral" in refused(b.rig.servo_gains, None, 0)
    assert b.rig.control.servo.ki == 2000


def test_h33_servo_request_still_passes_the_suction_interlock():
    # the servo asks for more speed (P1 above its target), the interlock says no: it wins
    b = Bench(profile="VV")
    b.set(p1=-40, flow=3.0)
    b.running(3000)
    b.rig.set_p1(-60)
    b.rig.mode("pressure")
    b.set(p1=-160)               # critical suction reading
    b.ticks(100)
    assert shown(b, A.SUCTION_CRIT)
    assert b.rig.sup.rpm_applied < 3000


def test_pressure_mode_survives_save_and_load():
    b = Bench(profile="VV")
    b.rig.set_p1(-70)
    b.rig.servo_gains(12, 25, 1)
    b.rig.mode("pressure")
    b.rig.save()
    b2 = Bench(profile=None, keep_settings=True)
    assert b2.rig.control.mode == PRESSURE
    assert b2.rig.control.p1_target_dmmhg == -700
    assert b2.rig.servo_gains() == (12, 25, 1)


# ---- zero-flow mode ----
def test_h32_zero_flow_mode_is_va_only():
    b = Bench(profile="VV")
    assert "VA" in refused(b.rig.mode, "zero")
    b = Bench()
    b.rig.mode("zero")
    assert "VA only" in refused(b.rig.profile, "VV")


def test_h32_zero_flow_mode_searches_zero_and_returns_bumplessly():
    b = Bench()
    b.set(flow=2.0)
    b.running(2500)
    b.rig.mode("flow")
    b.ticks(10)
    r = b.rig.sup.rpm_applied
    b.rig.mode("zero")
    assert b.rig.control.prev_mode == FLOW
    b.ticks(1)
    assert abs(b.rig.sup.rpm_applied - r) <= 10         # no step at the switch
    b.ticks(600)
    assert b.rig.sup.rpm_applied < 2400                 # forward flow: the speed comes down
    b.set(flow=-0.05)
    r = b.rig.sup.rpm_applied
    b.ticks(200)
    assert b.rig.sup.rpm_applied > r                    # flow backwards: the speed goes up
    b.set(flow=0.06)                                    # inside the dead band: it rests
    b.ticks(5)
    r = b.rig.sup.rpm_applied
    b.ticks(100)
    assert abs(b.rig.sup.rpm_applied - r) <= 1
    assert not shown(b, A.LOW_FLOW) and not shown(b, A.ZERO_FLOW)
    b.rig.mode("flow")                                  # leaving: bumpless
    b.ticks(1)
    assert abs(b.rig.sup.rpm_applied - r) <= 30
    assert b.rig.control.flow_sp_mlpm < 200             # the setpoint ramps from the flow now


def test_h32_zero_flow_alarm_at_the_floor_and_on_a_flow_fault_retrograde_stays_on():
    b = Bench()
    b.set(flow=1.0)
    b.running(2000)
    b.rig.mode("zero")
    b.ticks(900)                 # the flow does not fall: the speed sits at the VA floor
    assert b.rig.sup.rpm_applied == b.rig.sup.rpm_min
    assert shown(b, A.ZERO_FLOW) and b.enabled()
    b.set(flow=0.05)
    b.ticks(5)
    assert not shown(b, A.ZERO_FLOW)
    b.set(flow=-0.5)             # retrograde: H07 as ever
    b.ticks(3)
    assert shown(b, A.RETROGRADE)
    b.set(flow=0.05)
    b.ticks(20)
    b.raw("flow", 0)             # the flow sensor fails: the mode holds and says it cannot
    r = b.rig.sup.rpm_applied
    b.ticks(700)
    assert b.rig.control.holding and shown(b, A.ZERO_FLOW)
    # held (H08: at the last speed applied while every sensor was trusted), never stopped
    assert b.rig.sup.rpm_min <= b.rig.sup.rpm_applied <= r and b.enabled()


# ---- reservoir level ----
def test_h31_no_level_sensor_no_level_alarms():
    b = Bench()
    b.running(3000)
    assert b.rig.sup.level is None
    assert [col(b, c) for c in ("p1_setpoint_mmhg", "level_ml", "level_low")] == ["", "", ""]


def test_h31_analog_level_low_eases_critical_backs_off_high():
    b = with_level(LEVEL_ANALOG)
    level_ml(b, 1500)
    b.running(3000)
    assert not shown(b, A.LEVEL_LOW)
    assert col(b, "level_low") == "0" and col(b, "level_ml") == "1500"
    level_ml(b, 400)             # below low (500 mL)
    b.ticks(100)
    assert shown(b, A.LEVEL_LOW) and not shown(b, A.LEVEL_CRIT)
    r = b.rig.sup.rpm_applied
    assert 2700 < r < 2850, r    # ~200 RPM/s for a second
    level_ml(b, 150)             # below critical (200 mL)
    b.ticks(100)
    assert shown(b, A.LEVEL_CRIT)
    assert b.rig.sup.rpm_applied == b.rig.sup.rpm_min and b.enabled()   # VA floor holds
    level_ml(b, 1000)
    b.ticks(2000)
    assert b.rig.sup.rpm_applied == 3000                 # given back once the level is up
    assert not shown(b, A.LEVEL_LOW)
    assert shown(b, A.LEVEL_CRIT)                        # HIGH: latched until acknowledged
    b.rig.ack()
    b.ticks(1)
    assert not shown(b, A.LEVEL_CRIT)


def test_h31_failed_level_sensor_limits_never_stops():
    b = with_level(LEVEL_ANALOG)
    level_ml(b, 1500)
    b.running(3000)
    b.raw_adc = None
    b._adc.pop(28, None)
    machine.sim_adc(28).u16 = 0           # open wire
    b.ticks(10)
    assert shown(b, A.SENSOR_LEVEL)
    b.rig.set_rpm(3500)
    b.ticks(200)
    assert b.rig.sup.rpm_applied == 3000 and b.enabled()   # may not rise, not slowed
    level_ml(b, 1500)
    b.ticks(400)
    assert b.rig.sup.rpm_applied > 3000                    # back: the speed rises again


def test_h31_level_switch_low_slows_the_pump_and_a_cut_wire_reads_low():
    b = with_level(LEVEL_SWITCH, "VV")
    pin = machine.sim_pin(21)
    pin.drive(0)
    b.running(3000)
    assert not shown(b, A.LEVEL_LOW)
    pin.drive(1)                          # the level is below the switch
    b.ticks(300)
    assert shown(b, A.LEVEL_LOW)
    assert b.rig.sup.rpm_applied < 2500 and b.enabled()
    pin.drive(0)
    b.ticks(300)
    assert not shown(b, A.LEVEL_LOW)
    # a cut wire: the input's pull takes it to "low"
    assert machine.sim_pin(21).pull == machine.Pin.PULL_UP


def test_h31_level_limits_are_ordered():
    b = Bench()
    assert "level_crit_ml" in refused(b.rig.limit, "level_crit_ml", 600, True)


# ---- the tick stays allocation-free in the new modes ----
def test_new_modes_tick_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    for mode, profile in (("pressure", "VV"), ("zero", "VA")):
        board_pico.LEVEL = LEVEL_ANALOG
        try:
            b = Bench(profile=profile)
        finally:
            del board_pico.LEVEL
        level_ml(b, 400)          # low level: the ease path runs too
        b.set(flow=0.5, p1=-40)
        b.running(2500)
        b.rig.set_p1(-50)
        b.rig.mode(mode)
        tick = b.rig.loop.tick
        devices.can_all(machine)
        for _ in range(200):
            tick()
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        for _ in range(1000):
            tick()
        used = gc.mem_alloc() - a
        gc.enable()
        assert b.rig.loop.errors == 0, b.rig.loop.last_error
        assert used == 0, "%s: tick allocated %d bytes over 1000 ticks" % (mode, used)


def test_h31_low_level_keeps_the_speed_once_the_level_rises_again():
    b = with_level(LEVEL_ANALOG)
    level_ml(b, 1500)
    b.running(3000)
    level_ml(b, 420)
    b.ticks(150)                  # falling/not rising: the speed comes down
    r = b.rig.sup.rpm_applied
    assert r < 2800 and shown(b, A.LEVEL_LOW)
    ml = 420
    for _ in range(15):            # rising 20 mL/s: seen on the next trend sample (1 s)
        ml += 2
        level_ml(b, ml)
        b.ticks(10)
    r2 = b.rig.sup.rpm_applied
    assert r - 420 <= r2 <= r      # at most two trend samples more of easing
    for _ in range(20):            # still rising, still below the low limit
        ml += 2
        level_ml(b, ml)
        b.ticks(10)
    assert ml < 500 and shown(b, A.LEVEL_LOW)
    assert abs(b.rig.sup.rpm_applied - r2) <= 3       # kept, not brought further down


def _watchdog(b):
    # the chip resets; the world and retained memory stay; the firmware boots again (no save)
    machine.sim_reboot(machine.WDT_RESET)
    return Bench(profile=None, keep_settings=True)


def test_h11_va_resumes_in_pressure_mode_on_its_target_after_a_watchdog_reset():
    # found by review: the retained word kept only RPM or flow, so a servo came back in RPM mode
    b = Bench()                       # VA
    b.set(p1=-40, flow=3.0)
    b.running(3000)
    b.rig.save()                      # the file says rpm mode
    b.rig.set_p1(-45)
    b.rig.mode("pressure")
    b.ticks(50)
    b2 = _watchdog(b)
    assert b2.rig.control.mode == PRESSURE and b2.rig.mode() == "pressure"
    assert b2.rig.control.p1_target_dmmhg == -450
    b2.ticks(400)
    assert b2.rig.sup.state == 1 and b2.rig.sup.rpm_applied >= 1500     # RUN, the VA floor
    r = b2.rig.sup.rpm_applied
    b2.set(p1=-30)                    # less suction than the target: the servo speeds up
    b2.ticks(200)
    assert b2.rig.sup.rpm_applied > r


def test_h11_va_resumes_in_zero_flow_mode_and_leaves_it_to_where_it_came_from():
    b = Bench()
    b.set(flow=2.0)
    b.running(2500)
    b.rig.mode("flow")
    b.ticks(10)
    b.rig.save()                      # the file says flow mode
    b.rig.mode("zero")
    b.ticks(300)
    b2 = _watchdog(b)
    assert b2.rig.control.mode == ZERO and b2.rig.control.prev_mode == FLOW
    b2.set(flow=-0.05)                # backwards: the search raises the speed
    b2.ticks(400)
    r = b2.rig.sup.rpm_applied
    b2.ticks(200)
    assert b2.rig.sup.rpm_applied > r >= 1500
    b2.rig.mode("flow")
    assert b2.rig.control.mode == FLOW


def test_h11_va_resumes_in_rpm_mode_at_the_live_speed_when_the_file_says_flow():
    # the switch to RPM mode on restore took the applied speed (0 at boot) over the live one
    b = Bench()
    b.set(flow=3.0)
    b.running(2500)
    b.rig.mode("flow")
    b.rig.save()
    b.rig.mode("rpm")
    b.rig.set_rpm(2700)
    b.ticks(300)
    b2 = _watchdog(b)
    assert b2.rig.control.mode == RPM and b2.rig.control.rpm_target == 2700
    b2.ticks(500)
    assert b2.rig.sup.rpm_applied == 2700


def test_h11_a_retained_pressure_target_out_of_bounds_is_not_restored():
    from ecmo.drivers.retain import Retained, RUN, VA
    b = Bench()
    b.running(2600)
    b.rig.save()
    machine.sim_reboot(machine.WDT_RESET)
    Retained("rp2_scratch").put(RUN | VA, 0x8000 + 900, None, PRESSURE)   # +90 mmHg
    b2 = Bench(profile=None, keep_settings=True)
    assert b2.rig.control.mode == RPM and shown(b2, A.SETTINGS)
    b2.ticks(500)
    assert b2.rig.sup.rpm_applied == 2600          # VA still resumes, on the saved settings
