# The firmware on the ESP32 as the esp32 port really behaves (issue #20), fake `machine` in
# esp32 mode with its quirks on (host_tests/fw/esp32kit.py). Runs under CPython and MicroPython.
import machine
import board_esp32
import esp32kit
from esp32kit import Bench
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import RUN, STOP, STANDBY


def shown(b, code):
    return A.NAMES[code] in b.rig.al.codes() if hasattr(A, "NAMES") else \
        b.rig.al.active(code)


def codes(b):
    return b.rig.al.codes()


def _no_counters():
    # the board without its hardware edge counters: what the firmware did before issue #20
    class B:
        pass
    nb = B()
    for k in dir(board_esp32):
        if not k.startswith("__") and k != "EDGE_COUNTERS":
            setattr(nb, k, getattr(board_esp32, k))
    return nb


# ---- air and e-stop that the scheduler queue cannot lose ----

def _air_pulse_during(b, ms, at_ms):
    def during(i):
        if i == at_ms:
            b.air(True)
        elif i == at_ms + 5:
            b.air(False)          # a 5 ms bubble: gone long before the tick runs again
    return during


def test_air_pulse_during_save_is_never_lost():
    esp32kit.esp32()
    b = Bench()
    b.running(5000)
    assert b.rig.sup.state == RUN and b.enabled()
    q0 = machine.sim_sched()[2]
    # save() as the flash write holds the scheduler: 150 ms, a 5 ms bubble 100 ms into it
    b.rig.save()
    b.blocked(150, _air_pulse_during(b, 150, 100))
    assert machine.sim_sched()[2] > q0             # the queue overflowed: events were dropped
    b.ticks(2)
    assert b.rig.sup.state == STOP and "AIR" in codes(b) and not b.enabled() and b.duty() == 0
    assert b.clamp_closed() and b.rig.bubble.latched


def test_air_pulse_during_a_telemetry_burst_at_5000_rpm_is_never_lost():
    esp32kit.esp32()
    b = Bench()
    b.running(5000)
    u = machine.UART(0, baudrate=115200)        # the REPL's UART, 128-byte TX buffer
    row = (b.rig.telemetry_row() + "\n").encode()
    q0 = machine.sim_sched()[2]
    pos = [0]

    def during(i):
        _air_pulse_during(b, 200, 120)(i)
        # rows back to back into a full buffer: each 12-byte piece waits ~1 ms for the line
        j = pos[0]
        u.write(row[j:j + 12] if j + 12 <= len(row) else row[j:] + row[:j + 12 - len(row)])
        pos[0] = (j + 12) % len(row)
    # the 1 ms the world moves here comes on top of the UART's own wait
    b.blocked(200, during)
    assert machine.sim_sched()[2] > q0
    b.ticks(2)
    assert b.rig.sup.state == STOP and "AIR" in codes(b) and not b.enabled()


def test_without_the_counters_the_same_pulse_is_lost():
    # the control: the same 5 ms bubble with only the soft IRQ and the tick's level read
    esp32kit.esp32()
    b = Bench(board_mod=_no_counters())
    b.running(5000)
    b.blocked(150, _air_pulse_during(b, 150, 100))
    b.ticks(5)
    assert b.rig.sup.state == RUN and "AIR" not in codes(b) and b.enabled()


def test_estop_press_during_save_is_never_lost():
    esp32kit.esp32()
    b = Bench()
    b.running(4000)

    def during(i):
        if i == 90:
            b.estop(True)
        elif i == 110:
            b.estop(False)        # a 20 ms press (a bouncing contact)
    b.blocked(150, during)
    b.ticks(2)
    assert b.rig.sup.state == STOP and "ESTOP" in codes(b) and not b.enabled()


def test_tach_through_the_counter_reads_the_speed():
    esp32kit.esp32()
    b = Bench()
    assert b.rig.pump._count is not None          # machine.Counter on the tach
    b.running(5000, settle=300)
    c = b.rig.pump.rpm_cmd          # the interlocks may hold it a little under 5000
    assert c > 4000 and abs(b.rig.pump.rpm - c) <= c // 50, (b.rig.pump.rpm, c)
    b.rig.set_rpm(1800)
    b.ticks(600)
    c = b.rig.pump.rpm_cmd
    assert c == 1800 and abs(b.rig.pump.rpm - c) <= 60, (b.rig.pump.rpm, c)
    b.rig.standby()
    b.ticks(2)
    assert b.rig.pump.rpm == 0


def test_tach_speed_holds_through_a_blocked_scheduler():
    # counted in hardware: a held-off tick reads the same speed, no spurious TACH alarm
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    b.blocked(120)
    b.ticks(3)
    assert abs(b.rig.pump.rpm - 3000) <= 60 and "TACH" not in codes(b), b.rig.pump.rpm


# ---- analog inputs that show an open wire ----

def test_unplugged_p1_and_flow_raise_their_sensor_alarms():
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    b.unplug("p1")                 # the board's pull-down: 0 V at the pin, read_uv ~142 mV
    b.ticks(30)
    assert b.rig.p1.raw >= 140 and b.rig.p1.raw > 100     # above the old 100 mV rail
    assert "SENSOR_P1" in codes(b), codes(b)
    b.unplug("flow")
    b.ticks(30)
    assert "SENSOR_FLOW" in codes(b), codes(b)


def test_floating_p1_and_flow_raise_their_sensor_alarms():
    # no pull-down fitted: the open input wanders; its noise (or a rail) gives it away
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    b.unplug("p1", pulldown=False)
    b.unplug("flow", pulldown=False)
    b.ticks(50)
    assert "SENSOR_P1" in codes(b) and "SENSOR_FLOW" in codes(b), codes(b)


def test_uncalibrated_chip_reads_through_read_u16_and_says_so():
    esp32kit.esp32(("no_adc_cal",))
    b = Bench()
    assert b.rig.wiring.adc_mode == "u16-nominal"
    b.ticks(20)
    assert b.rig.p1.status == 0 and b.rig.flow.status == 0, (b.rig.p1.status, b.rig.flow.status)
    # -40 mmHg through the nominal line (the fake's chip has the typical line exactly; a real
    # one is off by its reference error, which ADC_U16_CAL removes)
    assert abs(b.rig.p1.value + 400) <= 10, b.rig.p1.value
    assert b.rig.status_line().endswith(" adc=u16-nominal")
    b.running(2500)
    assert b.rig.sup.state == RUN       # not a bus fault on every input, not held for good


def test_uncalibrated_chip_uses_the_boards_own_two_point_calibration():
    esp32kit.esp32(("no_adc_cal",))
    nb = _no_counters()
    # this chip, measured: read_u16 at 500 mV and at 2000 mV from a reference (the fake's
    # conversion: raw 0 at 142 mV, full scale at 3100 mV)
    nb.ADC_U16_CAL = (7931, 500, 41165, 2000)
    b = Bench(board_mod=nb)
    assert b.rig.wiring.adc_mode == "u16-cal"
    b.ticks(20)
    assert abs(b.rig.p1.value + 400) <= 10, b.rig.p1.value
    assert b.rig.status_line().endswith(" adc=u16-cal")


# ---- safe pins through boot and reset ----

def _trace(pid):
    # every level the pin takes from now on, through the boot (the pin is re-made by then)
    seen = []
    st = machine.sim_pin(pid)
    for _ in range(50):
        seen.append(st.level)
    return seen


def test_clamp_stays_closed_through_a_watchdog_reset_in_va():
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    assert b.rig.sup.state == RUN
    b.rig.clamp(True)              # weaning: the operator has the line clamped
    b.ticks(2)
    assert b.clamp_closed()
    machine.sim_reboot(machine.WDT_RESET)
    # the chip boots (~0.7 s): every GPIO floats, the board's pulls hold the lines
    boot_us = machine.SIM_BOOT_US["esp32"]
    for _ in range(boot_us // 10000):
        machine.sim_advance_us(10000)
        assert set(_trace(board_esp32.CLAMP["pin"])) == {board_esp32.CLAMP["closed_level"]}
        assert set(_trace(board_esp32.PUMP["enable"])) == {0}
    # main.py: the first lines set the pins, then the rig is built on them
    from ecmo import early
    assert early.safe_pins(board_esp32) == "VA"
    cl = machine.sim_pin(board_esp32.CLAMP["pin"])
    assert cl.mode == machine.Pin.OUT and cl.level == 1
    b2 = Bench(profile=None, start=False, keep=True)
    assert b2.clamp_closed() and not b2.enabled()
    b2.rig.start()
    b2.ticks(3)
    assert b2.clamp_closed()


def test_without_the_pulls_the_clamp_floats_through_boot():
    # the control: the same reset without the board's pulls (what issue #20 found)
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    for pid in board_esp32.BOOT_PULLS:
        machine.sim_pin(pid).ext_pull = None
    machine.sim_reboot(machine.WDT_RESET)
    assert set(_trace(board_esp32.CLAMP["pin"])) == {0, 1}
    assert set(_trace(board_esp32.PUMP["enable"])) == {0, 1}


def test_early_safe_pins_close_the_clamp_in_va_and_open_it_in_vv():
    esp32kit.esp32()
    from ecmo import early
    from ecmo.drivers.retain import Retained, VA
    r = Retained("esp32_rtc")
    r.put(0, 0)                           # the live profile a reset kept: VV
    assert early.safe_pins(board_esp32) == "VV"
    assert machine.sim_pin(23).level == 0 and machine.sim_pin(26).level == 0
    r.put(VA, 0)
    assert early.safe_pins(board_esp32) == "VA"
    assert machine.sim_pin(23).level == 1 and machine.sim_pin(25).level == 0


# ---- resets told apart ----

def test_soft_reset_is_planned_not_a_watchdog_reset():
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    assert b.enabled()
    machine.sim_soft_reset()                 # Ctrl-D: the enable stays high, the WDT runs
    assert machine.reset_cause() == machine.SOFT_RESET
    from ecmo import early
    early.safe_pins(board_esp32)
    assert not b.enabled()                   # main.py's first lines: the pump off
    b2 = Bench(profile=None, start=False, keep=True)
    assert b2.rig.reset_kind == "soft" and not b2.rig.unexpected_reset
    b2.rig.start()
    b2.ticks(5)
    assert "WDT_RESET" not in codes(b2) and b2.rig.sup.state == STANDBY and not b2.enabled()
    assert b2.clamp_closed()                 # VA, stopped: the return line closed


def test_hard_reset_from_machine_reset_is_planned_and_a_crash_is_not():
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    b.rig.expect_reset()                     # rig.reboot(): then machine.reset()
    machine.sim_reboot(machine.HARD_RESET)
    b2 = Bench(profile=None, start=False, keep=True)
    assert b2.rig.reset_kind == "planned" and not b2.rig.unexpected_reset
    b2.rig.start()
    b2.running(3000)
    machine.sim_reboot(machine.HARD_RESET)   # a panic: HARD_RESET too, nobody asked
    b3 = Bench(profile=None, start=False, keep=True)
    assert b3.rig.reset_kind == "crash" and b3.rig.unexpected_reset
    assert "WDT_RESET" in codes(b3)
