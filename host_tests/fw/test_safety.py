# Safety interlocks, one test (or more) per row of docs/hazards.md: inject the condition through
# the fake hardware, assert the reaction and the alarm, then clear it and assert the recovery.
# The hazard id each test covers is in its name (hNN) and checked by host_tests/test_hazards.py.
import fwtmp
import machine
from rigkit import Bench
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import RUN, STOP, STANDBY


def shown(b, code):
    return A.NAMES[code] in b.rig.alarms()


def air_stop_acked(b):
    # a bubble passes the detector: latched stop, detector clear again, alarm acknowledged
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.ticks(1)
    b.rig.ack()
    b.rig.deaired()        # the line between the detector and the clamp de-aired (issue #12)


def refused(call, why, what):
    # call() must raise ValueError whose message contains `why`
    try:
        call()
    except ValueError as e:
        assert why in str(e), str(e)
        return
    raise AssertionError("accepted: " + what)


def test_h01_air_stops_pump_inside_the_irq_and_latches():
    b = Bench()
    b.running(2500)
    assert b.duty() > 0 and b.enabled() and not b.clamp_closed()
    b.air(True)
    # no tick has run since the edge: the handler itself stopped the pump and closed the clamp
    assert b.duty() == 0 and not b.enabled() and b.clamp_closed()
    b.ticks(2)
    assert b.rig.sup.state == STOP and shown(b, A.AIR)
    b.air(False)
    b.ticks(50)
    # latched: detector clear is not enough
    assert b.duty() == 0 and b.clamp_closed() and b.rig.sup.state == STOP


def test_h01_air_restart_needs_clear_ack_and_explicit_restart():
    b = Bench()
    b.running(2500)
    b.air(True)
    b.ticks(2)
    refused(b.rig.restart, "air", "restart with air present")
    b.air(False)
    b.ticks(2)
    refused(b.rig.restart, "acknowledged", "restart without acknowledgement")
    b.rig.ack()
    refused(b.rig.restart, "deaired", "restart without the de-air confirmation")
    b.rig.deaired()
    b.rig.restart()
    b.ticks(400)
    assert b.rig.sup.state == RUN and b.duty() > 0 and not b.clamp_closed()
    assert not shown(b, A.AIR)


def test_h01_air_while_standby_latches_too():
    b = Bench()
    b.ticks(5)
    b.air(True)
    b.ticks(2)
    assert b.rig.sup.state == STOP and b.duty() == 0
    refused(b.rig.run, "", "run() released a latched stop")


def test_h02_estop_stops_pump_inside_the_irq_and_latches():
    b = Bench()
    b.running(3000)
    b.estop(True)
    assert b.duty() == 0 and not b.enabled() and b.clamp_closed()
    b.ticks(2)
    assert shown(b, A.ESTOP) and b.rig.sup.state == STOP
    b.rig.ack()
    refused(b.rig.restart, "e-stop", "restart with e-stop pressed")
    b.estop(False)
    b.ticks(2)
    b.rig.restart()
    b.ticks(400)
    assert b.rig.sup.state == RUN and b.duty() > 0 and not shown(b, A.ESTOP)


def test_h03_suction_warning_freezes_speed_critical_backs_off():
    b = Bench()
    b.running(3000)
    b.set(p1=-120)
    b.ticks(3)
    assert shown(b, A.SUCTION_WARN)
    b.rig.set_rpm(3500)
    b.ticks(100)
    assert b.rig.sup.rpm_applied <= 3000      # the warning froze the speed
    b.set(p1=-170)
    b.ticks(2)
    assert shown(b, A.SUCTION_CRIT)
    r0 = b.rig.sup.rpm_applied
    b.ticks(2)
    assert b.rig.sup.rpm_applied < r0         # backing off within 2 ticks of the debounced alarm
    b.ticks(50)
    assert b.rig.sup.rpm_applied >= b.rig.sup.rpm_min   # VA floor holds
    assert b.enabled()                        # suction never stops the pump
    b.set(p1=-40)
    b.ticks(1500)
    assert b.rig.sup.rpm_applied == 3500      # speed given back once P1 recovered
    assert not shown(b, A.SUCTION_WARN)
    assert shown(b, A.SUCTION_CRIT)           # high priority: latched until acknowledged
    b.rig.ack()
    b.ticks(1)
    assert not shown(b, A.SUCTION_CRIT)


def test_h03_suction_backoff_in_vv_can_go_lower_than_va_floor():
    b = Bench(profile="VV")
    b.running(2000)
    b.set(p1=-200)
    b.ticks(300)
    assert b.rig.sup.rpm_applied < 1500 and b.enabled()


def test_h04_over_pressure_limits_speed():
    b = Bench()
    b.running(3500)
    b.set(p3=320)
    b.ticks(3)
    assert shown(b, A.PRESSURE_WARN) and b.rig.sup.rpm_applied == 3500
    b.set(p3=420, p2=450)
    b.ticks(2)
    assert shown(b, A.PRESSURE_CRIT)
    r0 = b.rig.sup.rpm_applied
    b.ticks(2)
    assert b.rig.sup.rpm_applied < r0 and b.enabled()
    b.set(p3=190, p2=220)
    b.ticks(2000)
    assert b.rig.sup.rpm_applied == 3500 and not shown(b, A.PRESSURE_WARN)


def test_h05_clot_delta_p_alarm_does_not_touch_the_pump():
    b = Bench()
    b.set(flow=4.0)
    b.running(3000)
    b.set(p2=300, p3=200)          # dP 100 mmHg > 60
    b.ticks(99)
    assert not shown(b, A.CLOT)    # a clot builds over minutes: one second filters noise (H26)
    b.ticks(3)
    assert shown(b, A.CLOT)
    assert b.rig.sup.rpm_applied == 3000
    b.set(p2=220, p3=190)
    b.ticks(3)
    assert not shown(b, A.CLOT)


def test_h05_clot_resistance_rise_within_a_minute():
    b = Bench()
    b.set(flow=4.0, p2=220, p3=200)      # dP 20 mmHg at 4 L/min
    b.running(3000)
    b.ticks(1000)
    assert not shown(b, A.CLOT)
    b.set(p3=180)                        # dP 40 mmHg: resistance doubled, still under 60
    # (P3 falls, P2 and the pump's head stay: a P2 rising alone would break the pump map's
    # relation too and name P2 as the suspect, ecmo/redundancy.py)
    b.ticks(300)
    assert shown(b, A.CLOT)


def test_h06_low_flow_alarm_after_its_debounce():
    b = Bench()
    b.set(flow=0.8)
    b.running(2500, settle=10)
    b.ticks(150)
    assert not shown(b, A.LOW_FLOW)
    b.ticks(100)
    assert shown(b, A.LOW_FLOW)
    b.set(flow=3.0)
    b.ticks(2)
    assert not shown(b, A.LOW_FLOW)


def test_h07_retrograde_flow_alarm_and_va_speed_floor():
    b = Bench()
    b.running(2500)
    b.rig.set_rpm(500)
    b.ticks(300)
    assert b.rig.sup.rpm_applied == b.rig.sup.rpm_min == 1500
    b.set(flow=-0.5)
    b.ticks(3)
    assert shown(b, A.RETROGRADE)
    b.set(flow=2.0)
    b.ticks(3)
    assert shown(b, A.RETROGRADE)        # high: latched until acknowledged
    b.rig.ack()
    b.ticks(1)
    assert not shown(b, A.RETROGRADE)
    # with the return line clamped, the floor no longer applies
    b.rig.clamp(True)
    b.ticks(300)
    assert b.rig.sup.rpm_applied == 500 and b.clamp_closed()


def test_h07_vv_has_no_speed_floor():
    b = Bench(profile="VV")
    b.running(500)
    assert b.rig.sup.rpm_applied == 500


def test_h08_p1_open_circuit_alarm_within_3_ticks_and_rpm_hold():
    b = Bench()
    b.set(flow=3.0)
    b.running(2800)
    b.rig.mode("flow")
    b.rig.set_flow(4.5)
    b.ticks(10)
    b.raw("p1", 0)                      # open circuit
    b.ticks(3)
    assert shown(b, A.SENSOR_P1)
    held = b.rig.sup.rpm_applied
    b.ticks(200)
    assert b.rig.sup.rpm_applied == held and b.enabled()
    assert "suction" in b.rig.blind()
    b.set(p1=-40)
    b.ticks(3)
    assert not shown(b, A.SENSOR_P1)
    assert b.rig.blind() == []


def test_h08_sensor_faults_of_every_kind_raise_their_alarm():
    b = Bench()
    b.running(2500)
    machine.sim_i2c_fault(1, 0x28, "nack")        # P3 bus error
    b.raw("flow", 65535)                          # flow shorted
    b.p2.set_fault("diag")
    b.ticks(3)
    for code in (A.SENSOR_P3, A.SENSOR_FLOW, A.SENSOR_P2):
        assert shown(b, code), A.NAMES[code]
    assert b.rig.sup.rpm_applied == 2500 and b.enabled()
    machine.sim_i2c_fault(1, 0x28, None)
    b.set(flow=3.0)
    b.p2.set_fault(None)
    b.ticks(3)
    b.rig.ack()                  # SENSOR_FLOW is high priority: latched until acknowledged
    b.ticks(1)
    for code in (A.SENSOR_P3, A.SENSOR_FLOW, A.SENSOR_P2):
        assert not shown(b, code), A.NAMES[code]


def test_h08_nan_from_adc_is_a_fault_not_a_crash():
    b = Bench()
    b.running(2500)
    b.raw("p1", float("nan"))
    b.ticks(3)
    assert b.rig.loop.errors == 0 and shown(b, A.SENSOR_P1)


class SlowSensor:
    status = 0
    value = 0

    def __init__(self, us):
        self.us = us

    def read(self):
        machine.sim_spend_us(self.us)


def test_h09_loop_overrun_is_counted_and_alarmed():
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    sensors = loop.sensors
    loop.sensors = sensors + (SlowSensor(15000),)
    b.ticks(1)
    at = loop.now_ms                            # the slow tick's start
    loop.sensors = sensors
    b.ticks(1)                                  # alarm raised by the next tick
    assert loop.overruns >= 1 and shown(b, A.OVERRUN)
    assert loop.overrun_at_ms == at and loop.max_tick_at_ms == at    # when, for the diagnosis
    assert b.rig.sup.rpm_applied == 2500
    b.ticks(150)
    assert not shown(b, A.OVERRUN)


class BrokenSensor:
    status = 0
    value = 0

    def read(self):
        raise RuntimeError("driver bug")


def test_h10_exception_in_tick_holds_pump_and_alarms():
    b = Bench()
    b.running(2700)
    loop = b.rig.loop
    sensors = loop.sensors
    loop.sensors = sensors + (BrokenSensor(),)
    b.ticks(20)
    assert loop.errors == 20 and shown(b, A.TICK_ERROR)
    assert b.duty() == 2700 * 65535 // 5000 and b.enabled()
    loop.sensors = sensors
    b.ticks(5)
    assert loop.errors == 20 and shown(b, A.TICK_ERROR)   # high: latched
    b.rig.ack()
    b.ticks(1)
    assert not shown(b, A.TICK_ERROR)


def test_h10_exception_while_stopped_keeps_pump_stopped():
    b = Bench()
    b.running(2700)
    b.air(True)
    b.ticks(2)
    b.rig.loop.sensors = b.rig.loop.sensors + (BrokenSensor(),)
    b.ticks(5)
    assert b.duty() == 0 and b.clamp_closed()


def test_h11_watchdog_fed_only_by_healthy_ticks():
    b = Bench()
    b.running(2500)
    b.rig.loop.sensors = b.rig.loop.sensors + (BrokenSensor(),)
    try:
        b.ticks(300)
        raise AssertionError("watchdog did not fire")
    except machine.SimWatchdogReset:
        pass
    assert machine.sim_wdt().expired


def reboot_after_watchdog(b, cause=machine.WDT_RESET):
    # the chip resets; the world (sensors, pins, retained memory) stays; the firmware boots
    # again. Nothing is saved first: the run/standby intent must not depend on a save().
    machine.sim_reboot(cause)
    return Bench(profile=None, keep_settings=True)


def test_h11_va_resumes_pumping_after_watchdog_reset():
    b = Bench()
    b.running(2600)
    b.rig.save()                 # the speed comes from flash; the run intent does not
    b2 = reboot_after_watchdog(b)
    assert shown(b2, A.WDT_RESET)
    b2.ticks(500)
    assert b2.rig.sup.state == RUN and b2.rig.sup.rpm_applied == 2600 and not b2.clamp_closed()


def test_h11_vv_stays_in_standby_after_watchdog_reset():
    b = Bench(profile="VV")
    b.running(2600)
    b.rig.save()                 # the profile and speed come from flash; run intent does not
    b2 = reboot_after_watchdog(b)
    b2.ticks(100)
    assert b2.rig.sup.state == STANDBY and b2.duty() == 0 and shown(b2, A.WDT_RESET)
    b2.rig.ack()
    b2.rig.run()
    b2.ticks(300)
    assert b2.rig.sup.rpm_applied == 2600


def test_h11_air_present_at_boot_latches_before_resume():
    b = Bench()
    b.running(2600)
    b.air(True)
    b2 = reboot_after_watchdog(b)
    b2.ticks(5)
    assert b2.rig.sup.state == STOP and b2.duty() == 0 and b2.clamp_closed()


def test_h12_motor_not_following_command_alarms():
    b = Bench()
    b.running(2500)
    b.motor = False              # stalled rotor / tach unplugged
    b.ticks(100)
    assert not shown(b, A.TACH)
    # the tach falls to 0 (0.3 s without a pulse) and stays there while the command sits away
    # from it: the tach's frozen check (redundancy.py) raises TACH ~1 s later, before the 2 s of
    # the plain command-vs-tach check
    b.ticks(150)
    assert shown(b, A.TACH) and b.enabled()
    b.motor = True
    b.ticks(10)
    assert not shown(b, A.TACH)


def test_h07_va_return_line_closed_from_boot_until_pump_is_up():
    # regression: run() before the first tick left the clamp in its boot state (open) at 0 RPM
    b = Bench(start=False)
    assert b.clamp_closed()                  # VA: closed from construction, before any tick
    b.rig.set_rpm(2500)
    b.rig.run()
    b.rig.start()
    b.ticks(1)
    assert b.clamp_closed()                  # pump not yet at the retrograde floor
    b.ticks(300)
    assert not b.clamp_closed() and b.rig.sup.rpm_applied == 2500


def test_h07_vv_boots_with_the_return_line_open():
    b = Bench(profile="VV")
    b.ticks(2)
    assert not b.clamp_closed()


def test_h05_no_false_clot_alarm_from_noise_at_low_flow():
    # regression: dP noise of +-1 mmHg at 0.8 L/min looked like a resistance rise
    b = Bench()
    b.set(flow=0.8, p2=200, p3=196)
    b.running(1600)
    for i in range(1500):
        b.set(p2=199 + 2 * (i % 2))
        b.ticks(1)
    assert not shown(b, A.CLOT)


def test_h01_air_irq_during_the_tick_is_not_undone_by_the_tick():
    # regression: the IRQ fired after the supervisor's trip check, and the tick then re-enabled
    # the pump and opened the clamp for one period
    b = Bench()
    b.running(2500)
    sup = b.rig.sup
    checks = sup._interlocks

    def air_now(now):
        b.air(True)              # the hard IRQ lands here, after the last interlock

    sup._interlocks = checks + (air_now,)
    b.ticks(1)
    assert b.duty() == 0 and not b.enabled() and b.clamp_closed()
    sup._interlocks = checks
    b.ticks(1)
    assert b.rig.sup.state == STOP and b.duty() == 0 and b.clamp_closed()


def test_h07_unclamping_in_va_waits_for_the_pump_to_reach_its_floor():
    # regression: the clamp-open timeout ran from start(), so unclamping later opened the
    # line in the same tick the pump was told to go from 0 to the floor
    b = Bench()
    b.running(2500)
    b.rig.clamp(True)
    b.rig.set_rpm(0)
    b.ticks(600)
    assert b.rig.pump.rpm == 0 and b.clamp_closed()
    b.rig.clamp(False)
    b.ticks(1)
    assert b.clamp_closed() and b.rig.sup.rpm_applied == 1500
    b.ticks(300)
    assert not b.clamp_closed() and b.rig.pump.rpm >= 1350


def test_h07_switching_vv_to_va_below_the_floor_closes_the_line_first():
    b = Bench(profile="VV")
    b.running(800)
    assert not b.clamp_closed()
    b.rig.profile("VA", confirm=True)       # VA allows a longer sweep loss (3 s vs 2 s)
    b.ticks(1)
    assert b.clamp_closed()
    b.ticks(300)
    assert not b.clamp_closed() and b.rig.sup.rpm_applied == 1500


def test_h11_va_resumes_even_when_run_was_never_saved():
    # regression: the run intent lived in the settings dict and needed a save() to survive
    b = Bench()
    b.rig.save()
    b.running(2000)
    b2 = reboot_after_watchdog(b)
    b2.ticks(500)
    assert b2.rig.sup.state == RUN and b2.rig.sup.rpm_applied == 2000


def test_h11_operator_standby_is_honoured_after_a_reset():
    # regression: run, save, standby, reset -> the pump resumed against the operator's decision
    b = Bench()
    b.running(2000)
    b.rig.save()
    b.rig.standby()
    b2 = reboot_after_watchdog(b)
    b2.ticks(200)
    assert b2.rig.sup.state == STANDBY and b2.duty() == 0
    assert shown(b2, A.WDT_RESET)            # still an unexpected reset: the operator is told


def test_h11_planned_reset_raises_no_alarm_and_does_not_resume():
    # rp2's machine.reset() reads back as a watchdog reset; expect_reset() tells them apart
    b = Bench()
    b.running(2000)
    b.rig.expect_reset()
    b2 = reboot_after_watchdog(b)
    b2.ticks(100)
    assert b2.rig.sup.state == STANDBY and not shown(b2, A.WDT_RESET)


def test_h11_halt_then_watchdog_is_a_planned_reset():
    b = Bench()
    b.running(2000)
    b.rig.halt()
    assert b.duty() == 0 and b.clamp_closed()
    try:
        b.ticks(300)
        raise AssertionError("watchdog did not fire after halt")
    except machine.SimWatchdogReset:
        pass
    b2 = reboot_after_watchdog(b)
    b2.ticks(50)
    assert b2.rig.sup.state == STANDBY and not shown(b2, A.WDT_RESET)


def test_h11_power_cycle_boots_to_standby_without_the_reset_alarm():
    b = Bench()
    b.running(2000)
    b2 = reboot_after_watchdog(b, machine.PWRON_RESET)
    b2.ticks(50)
    assert b2.rig.sup.state == STANDBY and not shown(b2, A.WDT_RESET)


def test_h01_cut_bubble_detector_wire_stops_like_air():
    # regression: an unplugged digital detector floated and the air interlock was blind
    b = Bench()
    b.running(2500)
    machine.sim_pin(16).drive(None)          # wire cut: only the pull is left
    assert b.duty() == 0 and b.clamp_closed()
    b.ticks(2)
    b.rig.ack()
    refused(b.rig.restart, "air", "restart with the detector unplugged")


def test_h01_second_bubble_after_ack_needs_a_new_ack():
    # regression: air seen again after the acknowledgement did not block the restart
    b = Bench()
    b.running(2500)
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.rig.ack()
    b.air(True)                               # another bubble, already gone by the restart
    b.air(False)
    refused(b.rig.restart, "since the acknowledgement", "restart after an unacknowledged bubble")
    b.rig.ack()
    b.rig.deaired()
    b.rig.restart()
    b.ticks(300)
    assert b.rig.sup.state == RUN


def test_h01_restart_reads_the_detector_now_not_the_last_tick():
    b = Bench()
    b.running(2500)
    air_stop_acked(b)
    machine.sim_pin(16).drive(1)              # air again, but the IRQ's latch is already set
    refused(b.rig.restart, "air still", "restart with air at the detector")


def test_h21_power_on_boot_alarms_until_acknowledged():
    b = Bench(start=False)
    assert shown(b, A.POWER_ON) and b.rig.sup.state == STANDBY
    b.rig.start()
    b.ticks(5)
    assert b.rig.al.audible()
    b.rig.ack()
    b.ticks(1)
    assert not shown(b, A.POWER_ON)


def test_h21_running_the_pump_clears_the_power_on_alarm():
    b = Bench()
    b.running(2000)
    assert not shown(b, A.POWER_ON)


def test_h21_brownout_while_pumping_boots_to_standby_with_the_alarm():
    b = Bench()
    b.running(2500)
    b.rig.ack()
    b2 = reboot_after_watchdog(b, machine.PWRON_RESET)
    b2.ticks(10)
    assert b2.rig.sup.state == STANDBY and shown(b2, A.POWER_ON)


def test_h01_air_edge_while_restart_clears_the_latch_is_not_lost():
    # regression: an air edge between the restart checks and the clearing of the latches was
    # wiped, and the pump restarted after an air event it never acted on
    b = Bench()
    b.running(2500)
    air_stop_acked(b)
    clear = b.rig.bubble.clear

    def clear_with_air():
        b.air(True)               # masked: pending until the restart's critical section ends
        b.air(False)
        clear()

    b.rig.bubble.clear = clear_with_air
    try:
        b.rig.restart()
    except ValueError:
        pass
    b.rig.bubble.clear = clear
    b.ticks(2)
    assert b.rig.sup.state == STOP and b.duty() == 0 and b.clamp_closed()


def test_h07_va_return_line_not_opened_on_a_stale_tach_reading():
    # regression: after standby the tach kept its last speed for 300 ms, and a quick run()
    # opened the return line at once with the rotor stopped
    b = Bench()
    b.running(2500)
    b.motor = False              # rotor stopped dead (no coasting pulses)
    b.rig.standby()
    b.ticks(5)
    b.rig.run()
    b.ticks(1)
    assert b.clamp_closed()


class SimReset(BaseException):
    pass


class ResettingSensor:
    status = 0
    value = 0

    def read(self):
        raise SimReset()


def test_tick_lets_non_errors_through_after_a_defined_state():
    # regression: `except BaseException` swallowed the simulator's resets (and Ctrl-C)
    b = Bench()
    b.running(2500)
    loop = b.rig.loop
    loop.sensors = loop.sensors + (ResettingSensor(),)
    try:
        loop.tick()
        raise AssertionError("swallowed")
    except SimReset:
        pass
    assert loop.errors == 0 and b.enabled()


def test_h11_reset_restores_the_live_profile_not_the_saved_one():
    # regression: VV switched live and never saved came back pumping as VA after a reset
    b = Bench()
    b.rig.save()                              # flash says VA
    b.rig.profile("VV")
    b.running(1200)
    b2 = reboot_after_watchdog(b)
    b2.ticks(100)
    assert b2.rig.sup.profile == "VV" and b2.rig.sup.state == STANDBY and b2.duty() == 0
    assert shown(b2, A.SETTINGS)              # live and saved settings differ: said so


def test_h11_va_resumes_at_the_live_setpoint_not_the_saved_one():
    b = Bench()
    b.rig.set_rpm(2000)
    b.rig.save()
    b.running(2700)                           # changed live, not saved
    b2 = reboot_after_watchdog(b)
    b2.ticks(500)
    assert b2.rig.sup.state == RUN and b2.rig.sup.rpm_applied == 2700


def test_h02_cut_estop_wire_stops_the_pump():
    b = Bench()
    b.running(2500)
    machine.sim_pin(17).drive(None)           # NC contact's wire cut: the pull-up reads "pressed"
    assert b.duty() == 0 and b.clamp_closed()
    b.ticks(2)
    assert b.rig.sup.state == STOP and shown(b, A.ESTOP)


def test_h10_exception_in_standby_keeps_the_pump_off():
    b = Bench()
    b.ticks(5)
    b.rig.loop.sensors = b.rig.loop.sensors + (BrokenSensor(),)
    b.ticks(5)
    assert b.duty() == 0 and not b.enabled() and b.clamp_closed()


def test_h01_air_between_the_restart_checks_and_the_clearing_is_not_lost():
    # regression: the event snapshot was taken after the checks, so air in between was wiped
    b = Bench()
    b.running(2500)
    air_stop_acked(b)
    sup = b.rig.sup
    blockers = sup.restart_blockers

    def then_air():
        why = blockers()
        b.air(True)
        b.air(False)
        return why

    sup.restart_blockers = then_air
    refused(b.rig.restart, "air", "restart with air between the checks and the clearing")
    sup.restart_blockers = blockers
    b.ticks(2)
    assert b.rig.sup.state == STOP and b.duty() == 0


def test_h01_estop_pressed_and_released_after_ack_needs_a_new_ack():
    b = Bench()
    b.running(2500)
    b.estop(True)
    b.ticks(2)
    b.estop(False)
    b.rig.ack()
    b.estop(True)
    b.estop(False)
    refused(b.rig.restart, "e-stop", "restart after an unacknowledged e-stop press")


def test_h11_latched_air_stop_survives_a_reset():
    # regression: a watchdog reset in VA released a latched air stop and resumed pumping
    b = Bench()
    b.running(2500)
    b.air(True)
    b.ticks(2)
    b.air(False)                              # the bubble has passed
    b.ticks(2)
    b2 = reboot_after_watchdog(b)
    assert b2.duty() == 0 and b2.clamp_closed()
    b2.ticks(2)
    assert b2.rig.sup.state == STOP and shown(b2, A.AIR) and b2.duty() == 0
    refused(b2.rig.restart, "acknowledged", "restart without acknowledging the air")
    b2.rig.ack()
    refused(b2.rig.restart, "deaired", "restart without confirming the de-air after the reset")
    b2.rig.deaired()
    b2.rig.restart()
    b2.ticks(300)
    assert b2.rig.sup.state == RUN


def test_h11_setpoint_changed_after_run_is_what_resumes():
    b = Bench()
    b.running(2000)
    b.rig.set_rpm(2900)                       # live, after run(), not saved
    b.ticks(300)
    b2 = reboot_after_watchdog(b)
    b2.ticks(500)
    assert b2.rig.sup.rpm_applied == 2900 and shown(b2, A.SETTINGS)


def test_h11_restart_after_a_stop_is_what_a_reset_remembers():
    b = Bench(profile="VA")
    b.ticks(5)
    b.air(True)                               # air while in standby: latched stop
    b.ticks(2)
    b.air(False)
    b.rig.ack()
    b.rig.set_rpm(2200)
    b.rig.deaired()
    b.rig.restart()                           # back to standby, as before the stop (#12)
    assert b.rig.sup.state == STANDBY
    b.rig.run()                               # pumping now
    b.ticks(300)
    b2 = reboot_after_watchdog(b)
    b2.ticks(500)
    assert b2.rig.sup.state == RUN and b2.rig.sup.rpm_applied == 2200


def test_h11_a_retained_word_from_signed_mem32_reads_back():
    # rp2's mem32 returns a signed int; the retained word must not depend on the sign
    from ecmo.drivers.retain import Retained, RUN as KRUN, VA as KVA
    r = Retained("rp2_scratch")
    r.put(KRUN | KVA, 3100, 4000)
    assert r.get() == (KRUN | KVA, 3100, 4000)
    machine.sim_port("esp32")    # RTC.memory is the esp32 port's
    e = Retained("esp32_rtc")
    e.put(KRUN, 4500, None)
    assert e.get() == (KRUN, 4500, None)


def test_h11_air_during_failing_ticks_survives_the_watchdog_reset():
    # regression: the latch went into retained memory only from a healthy tick; a tick that
    # keeps raising (the very case the watchdog is for) lost it, and VA resumed pumping
    b = Bench()
    b.running(2500)
    b.rig.loop.sensors = b.rig.loop.sensors + (BrokenSensor(),)
    b.air(True)
    b.air(False)
    try:
        b.ticks(400)
        raise AssertionError("watchdog did not fire")
    except machine.SimWatchdogReset:
        pass
    b2 = reboot_after_watchdog(b)
    b2.ticks(5)
    assert b2.rig.sup.state == STOP and shown(b2, A.AIR) and b2.duty() == 0


def test_h11_air_then_a_reset_before_any_tick_stays_latched():
    b = Bench()
    b.running(2500)
    b.air(True)
    b.air(False)
    b2 = reboot_after_watchdog(b)             # no tick between the bubble and the reset
    b2.ticks(5)
    assert b2.rig.sup.state == STOP and shown(b2, A.AIR)


def test_h11_planned_reboot_does_not_release_a_latched_stop():
    b = Bench()
    b.running(2500)
    b.estop(True)
    b.ticks(2)
    b.estop(False)
    b.rig.expect_reset()
    b2 = reboot_after_watchdog(b)
    b2.ticks(2)
    assert b2.rig.sup.state == STOP and shown(b2, A.ESTOP)
    refused(b2.rig.run, "", "run() after a planned reboot released a latched e-stop")


def test_h11_vv_standby_after_a_reset_is_not_a_run_intent_later():
    # regression: the RUN bit survived a VV reset into standby; a later reset in VA started
    # the pump although nobody had run it since
    b = Bench(profile="VV")
    b.running(2500)
    b2 = reboot_after_watchdog(b)
    b2.ticks(5)
    assert b2.rig.sup.state == STANDBY
    b2.rig.ack()
    b2.rig.profile("VA")
    b3 = reboot_after_watchdog(b2)
    b3.ticks(50)
    assert b3.rig.sup.state == STANDBY and b3.duty() == 0


def test_h11_impossible_retained_setpoint_is_not_trusted():
    from ecmo.drivers.retain import Retained, RUN as KRUN, VA as KVA, FLOW as KFLOW
    b = Bench()
    b.running(2500)
    Retained("rp2_scratch").put(KRUN | KVA | KFLOW, 0xFFFF, None)   # 65.5 L/min
    b2 = reboot_after_watchdog(b)
    assert b2.rig.control.flow_target_mlpm <= 8000 and shown(b2, A.SETTINGS)


def test_h07_operator_clamp_survives_a_reset():
    b = Bench()
    b.running(2500)
    b.rig.clamp(True)                         # VA weaning trial: return line clamped
    b.ticks(10)
    b2 = reboot_after_watchdog(b)
    b2.ticks(300)
    assert b2.clamp_closed()


# ---- issue #12: procedures the firmware holds the operator to ----
def test_h01_restart_without_the_deair_confirmation_is_refused():
    # after an air stop the slug sits between the detector and the closed clamp: the detector
    # reads clear, so only the operator can say the line is de-aired
    b = Bench()
    b.running(2500)
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.ticks(2)
    b.rig.ack()
    refused(b.rig.restart, "deaired", "restart of an air stop without the de-air confirmation")
    b.ticks(50)
    assert b.rig.sup.state == STOP and b.duty() == 0 and b.clamp_closed()
    t = b.rig.deaired()
    assert ("AIR", "confirmed") in [(e[1], e[2]) for e in b.rig.log(5)]
    assert [e[0] for e in b.rig.log(5) if e[2] == "confirmed"] == [t]    # with its time
    b.rig.restart()
    b.ticks(300)
    assert b.rig.sup.state == RUN and b.duty() > 0


def test_h01_deair_confirmation_holds_only_for_the_air_seen_so_far():
    b = Bench()
    b.running(2500)
    air_stop_acked(b)                 # acknowledged and confirmed
    b.air(True)                       # more air before the restart
    b.air(False)
    b.rig.ack()
    refused(b.rig.restart, "deaired", "restart after new air with an old confirmation")
    b.rig.deaired()
    b.rig.restart()
    assert b.rig.sup.state == RUN


def test_h01_deaired_is_refused_with_air_at_the_detector_or_without_an_air_stop():
    b = Bench()
    b.running(2500)
    refused(b.rig.deaired, "no air stop", "a confirmation with nothing to confirm")
    b.air(True)
    b.ticks(2)
    refused(b.rig.deaired, "air still at the detector", "de-aired with air at the detector")


def test_h02_restart_after_a_stop_taken_in_standby_leaves_the_pump_off():
    b = Bench()
    b.ticks(5)                        # standby
    b.estop(True)
    b.ticks(2)
    b.estop(False)
    b.ticks(2)
    b.rig.ack()
    b.rig.restart()
    b.ticks(300)
    assert b.rig.sup.state == STANDBY and b.duty() == 0 and not b.enabled()
    assert b.rig.status_line().startswith("standby")


def test_h08_restart_from_standby_names_the_start_as_the_next_step():
    # restart() only resumes a latched stop; from standby it says what does start the pump
    b = Bench()
    b.ticks(5)
    refused(b.rig.restart, "state is standby; rig.run() starts the pump", "restart from standby")
    b.running(2500)
    try:
        b.rig.restart()
        raise AssertionError("restart while running accepted")
    except ValueError as e:
        assert str(e) == "nothing to restart: state is run", str(e)


def test_h01_run_and_standby_during_a_latched_stop_raise_and_the_status_never_says_run():
    b = Bench()
    b.running(2500)
    b.air(True)                       # the IRQ stopped the pump; no tick yet
    assert b.rig.status_line().startswith("stop") and b.rig.telemetry_row().split(",")[1] == "stop"
    b.ticks(2)
    refused(b.rig.standby, "latched stop", "standby during a latched stop")
    refused(b.rig.run, "latched stop", "run during a latched stop")
    assert b.rig.sup.state == STOP and b.rig.status_line().startswith("stop")
    assert b.duty() == 0


def test_h21_a_power_cycle_after_an_air_stop_keeps_the_stop():
    # regression: a brownout or power cycle booted into standby with only POWER_ON, and a plain
    # run() sent the trapped air to the patient
    b = Bench(settings_path=fwtmp.path("latch.json"))
    b.running(2500)
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.ticks(5)                        # the latch is on flash by now (scheduled from the tick)
    machine.sim_reboot(machine.PWRON_RESET)
    b2 = Bench(profile=None, keep_settings=True, settings_path=fwtmp.path("latch.json"))
    b2.ticks(2)
    assert b2.rig.sup.state == STOP and shown(b2, A.AIR) and b2.duty() == 0 and b2.clamp_closed()
    refused(b2.rig.run, "latched stop", "run() after a power cycle with an air stop")
    b2.rig.ack()
    refused(b2.rig.restart, "deaired", "restart after a power cycle without the confirmation")
    b2.rig.deaired()
    b2.rig.restart()
    assert b2.rig.sup.state == STANDBY        # what the rig was before is not known: off
    machine.sim_reboot(machine.PWRON_RESET)   # released properly: the next boot is clean
    b3 = Bench(profile=None, keep_settings=True, settings_path=fwtmp.path("latch.json"))
    b3.ticks(2)
    assert b3.rig.sup.state == STANDBY and not shown(b3, A.AIR)


def test_h29_a_profile_switch_while_running_needs_confirm_and_says_what_loosens():
    b = Bench()                       # VA
    b.running(2500)
    before = b.rig.limits()
    try:
        b.rig.profile("VV")
        raise AssertionError("VA -> VV while running accepted without confirm")
    except ValueError as e:
        msg = str(e)
    assert "rpm_min 1500 -> 0" in msg and "confirm=True" in msg, msg
    assert "flow_low_mlpm 1500 -> 1000" in msg, msg
    assert b.rig.sup.profile == "VA" and b.rig.limits() == before
    b.rig.set_rpm(0)                  # the floor still holds: no retrograde flow
    b.ticks(300)
    assert b.rig.sup.rpm_applied >= 1500
    b.rig.profile("VV", confirm=True)
    b.ticks(300)
    assert b.rig.sup.profile == "VV" and b.rig.sup.rpm_applied == 0


def test_h29_loosening_a_limit_while_running_needs_confirm_tightening_never():
    b = Bench()
    b.running(2500)
    b.rig.limit("p3_warn_dmmhg", 2500)            # tighter than now: fine
    refused(lambda: b.rig.limit("p3_warn_dmmhg", 2800), "p3_warn_dmmhg 2500 -> 2800",
            "loosening while running without confirm")
    assert b.rig.limits()["p3_warn_dmmhg"] == 2500
    b.rig.limit("p3_warn_dmmhg", 2800, confirm=True)
    b.rig.standby()
    b.rig.limit("p3_warn_dmmhg", 2900)            # pump off: the default rule only
    assert b.rig.limits()["p3_warn_dmmhg"] == 2900


def test_h21_a_stop_the_flash_did_not_take_raises_settings():
    # the record that keeps an air stop across a power cycle failed (flash full or failing):
    # the stop still holds, and the operator is told (found by review)
    from ecmo import settings as S
    b = Bench()
    b.running(2500)
    assert not shown(b, A.SETTINGS)
    w = S.write_latch

    def broken(path, air, estop):
        raise OSError(28)            # ENOSPC
    S.write_latch = broken
    try:
        b.air(True)
        b.ticks(5)
    finally:
        S.write_latch = w
    assert b.rig.sup.state == STOP and shown(b, A.AIR) and shown(b, A.SETTINGS)


def test_h29_loosening_during_a_stop_latched_from_a_run_needs_confirm():
    # restart() takes the pump back up on whatever limits were set during the stop, so a
    # stop latched from a run counts as running (found by review: VA -> VV during an air
    # stop lost the VA floor after the restart)
    b = Bench()                       # VA
    b.running(2500)
    b.rig.limit("p3_warn_dmmhg", 2500)
    air_stop_acked(b)
    refused(lambda: b.rig.profile("VV"), "rpm_min 1500 -> 0", "VA -> VV during an air stop")
    refused(lambda: b.rig.limit("p3_warn_dmmhg", 2800), "p3_warn_dmmhg 2500 -> 2800",
            "a looser limit during an air stop")
    assert b.rig.sup.profile == "VA"
    b.rig.restart()
    b.rig.set_rpm(0)
    b.ticks(300)
    assert b.rig.sup.rpm_applied >= 1500      # the VA floor held: no retrograde flow


def test_h29_a_stop_taken_in_standby_is_not_running():
    b = Bench()
    b.rig.standby()
    b.ticks(2)
    air_stop_acked(b)
    b.rig.profile("VV")               # nothing to restart into a run: the default rule only
    assert b.rig.sup.profile == "VV"


def test_h29_load_while_running_is_held_to_the_setters_rules():
    b = Bench()                       # VA, running
    b.rig.profile("VV")
    b.rig.save()                      # a VV file: rpm_min 0
    b.rig.profile("VA")
    b.running(2500)
    refused(b.rig.load, "rpm_min 1500 -> 0", "load() of a looser file while running")
    assert b.rig.sup.profile == "VA" and b.rig.limits()["rpm_min"] == 1500
    b.rig.set_rpm(0)
    b.ticks(300)
    assert b.rig.sup.rpm_applied >= 1500
    refused(lambda: b.rig.load(confirm=1), "True or False", "confirm not a bool")
    b.rig.load(confirm=True)
    assert b.rig.sup.profile == "VV"


def test_h30_load_refuses_a_file_whose_gains_cannot_control():
    # a file edited elsewhere (its CRC made right) with flow mode and no integral action
    from ecmo import settings as S
    b = Bench()
    d = dict(b.rig.settings)
    d["control"] = "flow"
    d["gains"] = [300, 0, 0]
    S.save(b.rig.path, d)
    refused(b.rig.load, "integral", "load() of flow mode with ki = 0")
    assert b.rig.gains() == (300, 1500, 0)
    d["gains"] = [0, 0, 0]
    d["control"] = "rpm"
    S.save(b.rig.path, d)
    refused(b.rig.load, "turn the flow loop off", "load() of all-zero gains")


def test_h30_gains_that_cannot_control_are_refused_with_the_reason():
    b = Bench()
    refused(lambda: b.rig.gains(0, 0, 0), "turn the flow loop off", "all-zero gains")
    b.rig.mode("flow")
    refused(lambda: b.rig.gains(300, 0, 0), "integral", "no integral action in flow mode")
    assert b.rig.gains() == (300, 1500, 0)
    b.rig.mode("rpm")
    b.rig.gains(300, 0, 0)                        # RPM mode: the flow loop is not in use
    refused(lambda: b.rig.mode("flow"), "integral", "flow mode with ki = 0")
