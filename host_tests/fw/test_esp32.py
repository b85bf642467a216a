# The firmware on the ESP32 as the esp32 port really behaves (issue #20), fake `machine` in
# esp32 mode with its quirks on (host_tests/fw/esp32kit.py). Runs under CPython and MicroPython.
import fwtmp
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


def test_a_board_naming_edge_counters_on_a_port_without_counter_refuses_to_boot():
    # a MicroPython older than 1.26 has no machine.Counter: the air/e-stop protection the board
    # file counts on would silently be gone, so the rig is not built (found by review, #20)
    esp32kit.esp32()
    C = machine.Counter
    del machine.Counter
    try:
        try:
            Bench()
            raise AssertionError("booted without the edge counters the board names")
        except RuntimeError as e:
            assert "machine.Counter" in str(e) and "v1.26" in str(e), str(e)
        pump = board_esp32.PUMP
        assert machine.sim_pin(pump["enable"]).level != pump["enable_level"]   # the pump stays off
    finally:
        machine.Counter = C
    assert Bench().rig.pump._count is not None


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


def test_early_safe_pins_keep_the_clamp_closed_in_vv_while_a_stop_is_recorded():
    # found by review: a VV rig booting with a recorded air stop opened the return line for
    # 0.3-0.7 s (until the rig restored the stop), with the trapped air behind it
    esp32kit.esp32()
    from ecmo import early
    from ecmo.drivers.retain import Retained, STOP_AIR, STOP_ESTOP
    r = Retained("esp32_rtc")
    for flag in (STOP_AIR, STOP_ESTOP):
        r.put(flag, 0)                    # VV, a stop latched before the reset
        assert early.safe_pins(board_esp32) == "VV"
        assert machine.sim_pin(23).level == 1
    r.put(0, 0)
    assert early.safe_pins(board_esp32) == "VV" and machine.sim_pin(23).level == 0

    class OnFlash:                         # after a power cycle: only the flash record is left
        pass
    b = OnFlash()
    for k in ("PUMP", "CLAMP"):
        setattr(b, k, getattr(board_esp32, k))
    b.SETTINGS_PATH = fwtmp.path("early.json")
    with open(fwtmp.path("early.json"), "w") as f:
        f.write('{"profile": "VV"}')
    with open(fwtmp.path("early.stop"), "w") as f:
        f.write("air ")
    assert early.safe_pins(b) == "VV" and machine.sim_pin(23).level == 1
    import os
    os.remove(fwtmp.path("early.stop"))
    assert early.safe_pins(b) == "VV" and machine.sim_pin(23).level == 0


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


def test_a_counted_air_stop_is_released_by_restart_like_any_other():
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    b.blocked(150, _air_pulse_during(b, 150, 100))
    b.ticks(2)
    assert b.rig.sup.state == STOP and b.rig.bubble.missed == 1
    b.rig.ack()
    b.rig.deaired()
    b.rig.restart()
    b.ticks(300)
    assert b.rig.sup.state == RUN and b.enabled() and not b.rig.bubble.latched


def _stall_with_air(b, block_ms, at_ms):
    # one blocking call of block_ms with a 5 ms bubble at_ms into it: the stop must come within
    # a tick after the call, the watchdog must not fire, and the rig must restart as usual.
    # The tick that was queued first runs as the call returns: the stop is there at once.
    t0 = machine.sim_now_us()
    b.blocked(block_ms, _air_pulse_during(b, block_ms, at_ms))
    machine.sim_advance_us(0)
    late_ms = 0
    while b.enabled() and late_ms < 50:
        b.ms(1)
        late_ms += 1
    assert not b.enabled() and late_ms <= 10, (block_ms, at_ms, late_ms)
    assert not machine.sim_wdt().expired and b.rig.loop.errors == 0, (block_ms, at_ms)
    b.rig.ack()
    b.rig.deaired()
    b.rig.restart()
    b.ticks(300)
    assert b.rig.sup.state == RUN and b.enabled(), (block_ms, at_ms, codes(b))
    assert machine.sim_now_us() > t0


def test_worst_case_blocking_call_still_stops_within_one_tick_after_it():
    # a flash erase can hold the scheduler for hundreds of ms (a 4 KB sector); the queue drops
    # ticks and the air IRQ, the counter keeps the edge: the stop comes one tick after the call
    esp32kit.esp32()
    b = Bench()
    b.running(5000)
    for block_ms in (50, 150, 500):
        _stall_with_air(b, block_ms, 10)


# ---- disable_irq() does not keep out a queued handler (ports/esp32, py/scheduler.c) ----

def _stopped_once(b):
    b.running(3000)
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.ticks(2)
    b.rig.ack()
    b.rig.deaired()


def test_air_handler_running_inside_restarts_section_keeps_the_stop():
    # the port may run a queued air handler at any branch inside restart()'s disable_irq
    # section, after its last look: here it runs as the latches are cleared
    esp32kit.esp32()
    b = Bench()
    _stopped_once(b)
    bub = b.rig.bubble
    clear = bub.clear

    def clear_with_handler_inside():
        bub._irq(None)              # the queued handler runs at the branch before the store
        clear()
    bub.clear = clear_with_handler_inside
    try:
        b.rig.restart()
        raise AssertionError("restart() went through")
    except ValueError as e:
        assert "seen just now" in str(e)
    finally:
        bub.clear = clear
    b.ticks(2)
    assert b.rig.sup.state == STOP and bub.latched and not b.enabled()


def test_air_handler_running_inside_keep_is_still_retained():
    # keep() reads the latches, then writes the retained word: a handler that runs between
    # them (inside the section, on the ESP32) must not be overwritten by the older word
    esp32kit.esp32()
    b = Bench()
    b.running(3000)
    r = b.rig.retain
    put = r.put

    def put_with_handler_before(*a):
        b.rig.bubble._irq(None)     # air: the handler records STOP_AIR in the word ...
        put(*a)                     # ... and the word read before it is written over it
    r.put = put_with_handler_before
    try:
        b.rig._keep()
    finally:
        r.put = put
    from ecmo.drivers.retain import STOP_AIR
    assert r.get()[0] & STOP_AIR


# ---- the console link's rate: the ESP32's UART REPL (issue #20) ----

def test_telemetry_faster_than_the_esp32_link_takes_is_refused_with_the_reason():
    esp32kit.esp32()
    b = Bench()
    assert b.rig.telemetry(10) == 10
    try:
        b.rig.telemetry(20)
        raise AssertionError("20 rows/s accepted on a 115200 baud console")
    except ValueError as e:
        assert "at most 10 rows/s" in str(e), str(e)
    assert b.rig.telemetry() == 10 and b.rig.settings["telemetry_hz"] == 10


def test_a_settings_file_faster_than_the_esp32_link_runs_at_the_link_s_rate():
    # a Pico's file (20 rows/s) on an ESP32: the rest of the file applies, the rate is capped
    import json
    from ecmo import settings as S
    esp32kit.esp32()
    b = Bench(start=False)
    d = dict(b.rig.settings)
    d["telemetry_hz"] = 20
    S.save(esp32kit.SETTINGS, d)
    with open(esp32kit.SETTINGS) as f:
        assert json.load(f)["payload"]["telemetry_hz"] == 20
    b2 = Bench(start=True, keep=True)
    assert b2.rig.telemetry() == 10 and b2.rig.settings["telemetry_hz"] == 10
    assert "SETTINGS" not in codes(b2)
    b2.rig.load()
    assert b2.rig.telemetry() == 10


def test_help_shows_this_board_s_telemetry_cap():
    # rig.help() on the ESP32 says max 10 rows/s, what rig.telemetry() takes there (not the 50
    # of the settings table)
    import ecmo.help as H
    esp32kit.esp32()
    b = Bench()
    seen = []
    keep = H.commands
    H.commands = lambda version, hz: seen.append(hz) or ""
    try:
        b.rig.help()
    finally:
        H.commands = keep
    assert seen == [board_esp32.TELEMETRY_MAX_HZ] and b.rig.telemetry(seen[0]) == seen[0], seen


def test_a_save_at_the_flash_s_worst_case_loses_no_air_and_no_watchdog():
    # board_esp32.FLASH_STALL_MAX_MS (3 sector erases at the datasheet's 400 ms): a 5 ms bubble
    # at its start and one at its end are both stopped, the watchdog does not fire, the loop
    # runs on after it
    esp32kit.esp32()
    b = Bench()
    b.running(5000)
    stall = board_esp32.FLASH_STALL_MAX_MS
    for at in (2, stall - 8):
        b.rig.save()
        _stall_with_air(b, stall, at)


class _QuietRTC:
    # an RTC memory that neither side allocates in (as the port's memory(buf) write does not)
    def __init__(self):
        self.mem = bytearray(8)
        self.writes = 0

    def memory(self, data=None):
        if data is None:
            return bytes(self.mem)
        for i in range(8):
            self.mem[i] = data[i]
        self.writes += 1


def test_retained_add_allocates_nothing_on_the_esp32():
    # found by review: add() read RTC memory (a new bytes object) and wrote a new one; a tick
    # that latches air or an e-stop itself (pressed at boot, a dropped soft IRQ) runs it with
    # the heap locked on a board: MemoryError, the stop's flag missing from the word
    import micropython
    esp32kit.esp32()
    from ecmo.drivers.retain import Retained, STOP_AIR, STOP_ESTOP, VA
    r = Retained("esp32_rtc")
    rtc = r._rtc = _QuietRTC()
    r.put(VA, 3000)
    micropython.heap_lock()
    try:
        r.add(STOP_ESTOP)
        r.add(STOP_AIR)
    finally:
        micropython.heap_unlock()
    flags, sp, _ = r.get()
    assert flags == VA | STOP_ESTOP | STOP_AIR and sp == 3000 and rtc.writes == 3
    r2 = Retained("esp32_rtc")               # a reset: the words read back from the memory
    r2._rtc = rtc
    r2._words()
    r2.add(0)
    assert r2.get()[0] == VA | STOP_ESTOP | STOP_AIR
