# The `machine` behaviour the firmware relies on, as facts one runtime can be compared with
# another: the same checks run on the fake machine under CPython and the MicroPython unix port
# (host_tests/fw/test_conform.py) and on the real rp2 port of MicroPython v1.28.0 in the emulated
# Pico (tools/emu/conform.py, host_tests/test_emu.py). Each check returns (name, value) facts;
# EXPECTED says what the real port gave and, where the fake differs, why (EXPLAINED).
# MicroPython subset: no typing, no f-strings, nothing CPython-only.
#
# The stimulus comes from an `io` object, one per runtime:
#   io.drive(v)    an edge on IN_PIN (the fake: sim_pin().drive; the emulator: OUT_PIN wired to it)
#   io.spin_ms(ms) time spent inside one callback (the emulator: a busy loop; the fake: sim_spend_us)
#   io.feed()      keep a watchdog left running by the rig fed (the emulator; no-op on the fake)
import sys
import time
import machine
from machine import Pin, Timer

OUT_PIN = 2      # free on the Pico board file; the emulator wires GP2's output to GP3's input
IN_PIN = 3
PWM_A = 8        # GP8 and GP9: the two channels of PWM slice 4
PWM_B = 9
ADC_PIN = 28     # the spare ADC input; the runner sets it to ADC_U16 (12 bits on the rp2)
ADC_U16 = 0xABCD
NO_DEV = 0x77    # no device at this address on bus 0


def _exc(f):
    try:
        f()
        return "ok"
    except Exception as e:
        return type(e).__name__


def check_timer_ids(io):
    out = []
    for i in (-1, 0, 1, 3, 4):
        def make(i=i):
            t = Timer(i)
            t.deinit()
        out.append(("timer.id_%d" % i, _exc(make)))
    out.append(("timer.no_id", _exc(lambda: Timer().deinit())))
    return out


def _periodic(io, spin_at, spin_ms, window_ms):
    # a 10 ms periodic timer whose callback `spin_at` spins spin_ms: when do the others run?
    t_at = []
    n = [0]

    def cb(t):
        t_at.append(time.ticks_ms())
        n[0] += 1
        if n[0] == spin_at:
            io.spin_ms(spin_ms)
    t0 = time.ticks_ms()
    tim = Timer(-1)
    tim.init(mode=Timer.PERIODIC, period=10, callback=cb)
    time.sleep_ms(window_ms)
    tim.deinit()
    io.feed()
    rel = [time.ticks_diff(x, t0) for x in t_at]
    return len(rel), rel


def _on_grid(xs):
    return all(min(x % 10, 10 - x % 10) <= 1 for x in xs)


def check_timer_overrun(io):
    # a 35 ms callback (its period is 10): do the missed periods run later, and does the schedule
    # slip? How the 3 late calls sit beside the on-time ones is phase-bound (the port ran them
    # 65 70 70 73 in one build of this suite, 65 70 70 80 80 in another; gaps under 2 ms read 1
    # or 2, stop 28's CI), so the facts are: the first runs at the spin's end, all of them have
    # run within 2 periods of it, and from 2 periods after it every call is on the 10 ms grid
    # (from 1 period after it failed once in CI: a late call ran more than 10 ms after the spin)
    # (within 1 ms: the suite's start phase made the grid 11 21 .. on the port once)
    n, rel = _periodic(io, 3, 35, 200)
    if len(rel) < 8:
        return [("timer.overrun35.calls_in_200ms", n)]
    end = rel[3]
    caught = sum(1 for x in rel if x <= end + 20) == (end + 20) // 10
    at_end = abs(end - (rel[2] + 35)) <= 1    # the port's ms clock: 65 or 66 by the phase
    return [("timer.overrun35.calls_in_200ms", n), ("timer.overrun35.late_at_spin_end", at_end),
            ("timer.overrun35.caught_up_in_2_periods", caught),
            ("timer.overrun35.then_on_grid", _on_grid([x for x in rel if x >= end + 20]))]


def check_timer_holdoff_overflow(io):
    # held off 120 ms: 12 periods missed, the scheduler queue holds 8. How many are lost is
    # phase-bound (27 and 25 calls in 300 ms, two builds of this suite); that some are, and that
    # the schedule then runs one call per period on the grid again, is not
    n, rel = _periodic(io, 2, 120, 300)
    tail = rel[-6:]
    steady = len(tail) == 6 and _on_grid(tail) and all(
        9 <= tail[i + 1] - tail[i] <= 11 for i in range(5))
    # most kept: the queue saved 8 of the 12 (a runtime without one keeps 1: 19 calls)
    return [("timer.holdoff120.some_lost", n < 30), ("timer.holdoff120.most_kept", n >= 22),
            ("timer.holdoff120.then_one_per_period", steady)]


def check_pin_irq(io):
    out = []
    io.drive(0)
    p = Pin(IN_PIN, Pin.IN)
    got = [0, 0, None, None]
    def h(pin):
        got[0] += 1
        got[2] = pin is p
        try:
            x = [1, 2, 3]     # allocates: the heap is locked in a hard handler
            got[3] = "ok" if x else "ok"
        except MemoryError:
            got[3] = "MemoryError"
    p.irq(h, Pin.IRQ_RISING, hard=True)
    io.drive(1)
    seen_at_once = got[0]
    io.drive(0)
    io.drive(1)
    io.drive(0)
    p.irq(None)
    out.append(("pin.hard_irq.calls_on_2_rising", got[0]))
    out.append(("pin.hard_irq.ran_before_next_line", seen_at_once == 1))
    out.append(("pin.hard_irq.arg_is_pin", got[2]))
    out.append(("pin.hard_irq.alloc", got[3]))
    soft = [0]

    def sh(pin):
        soft[0] += 1
    p.irq(sh, Pin.IRQ_FALLING)
    io.drive(1)
    io.drive(0)
    time.sleep_ms(1)
    p.irq(None)
    out.append(("pin.soft_irq.calls_on_1_falling", soft[0]))
    # an irq with handler None and the default trigger is what the firmware uses to detach
    out.append(("pin.irq_none", _exc(lambda: p.irq(None))))
    out.append(("pin.has_high_low", hasattr(p, "high") and hasattr(p, "low")))
    return out


def check_i2c_errors(io):
    i2c = machine.I2C(0, scl=Pin(5), sda=Pin(4), freq=400000)
    buf = bytearray(2)
    out = []
    for what, f in (("readfrom_into", lambda: i2c.readfrom_into(NO_DEV, buf)),
                    ("writeto", lambda: i2c.writeto(NO_DEV, b"\x00"))):
        try:
            f()
            out.append(("i2c.nodev.%s" % what, "ok"))
        except OSError as e:
            out.append(("i2c.nodev.%s" % what, "OSError %d" % e.args[0]))
    return out


def check_adc(io):
    a = machine.ADC(ADC_PIN)
    v = a.read_u16()
    return [("adc.read_u16_of_0xABCD", "0x%04X" % v),
            ("adc.has_read_uv", hasattr(a, "read_uv")),
            ("adc.CORE_TEMP", getattr(machine.ADC, "CORE_TEMP", None))]


def check_pwm_slice(io):
    a = machine.PWM(Pin(PWM_A))
    a.freq(20000)
    a.duty_u16(10000)
    b = machine.PWM(Pin(PWM_B))
    b.freq(1000)
    fa = a.freq()
    fb = b.freq()
    out = [("pwm.slice_partner_freq_after_other_set", fa), ("pwm.other_freq", fb),
           ("pwm.duty_u16_after_freq_change", a.duty_u16())]
    a.deinit()
    b.deinit()
    return out


def check_wdt(io):
    # the rp2 port can reconfigure its one watchdog; 8000 ms is in range (RP2040: max 8388).
    # (Out of range is not tried here: a watchdog set wrong resets the chip under the suite.)
    out = [("wdt.timeout_8000", _exc(lambda: machine.WDT(timeout=8000).feed()))]
    io.feed()
    return out


def check_reset_cause(io):
    names = [n for n in ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET",
                         "SOFT_RESET") if hasattr(machine, n)]
    return [("reset.constants", ",".join(names)),
            ("reset.PWRON_RESET", getattr(machine, "PWRON_RESET", None)),
            ("reset.WDT_RESET", getattr(machine, "WDT_RESET", None)),
            ("reset.cause_is_int", isinstance(machine.reset_cause(), int))]


def check_mem32(io):
    # a watchdog scratch word (the firmware's retained intent, ecmo/drivers/retain.py)
    a = 0x40058000 + 0x0C + 4 * 7       # WATCHDOG_BASE + SCRATCH0 + 4 * 7
    old = machine.mem32[a]
    machine.mem32[a] = 0x80000001
    v = machine.mem32[a]
    machine.mem32[a] = old
    return [("mem32.read_of_0x80000001", v), ("mem32.signed", v < 0)]


def check_disable_irq(io):
    p = Pin(IN_PIN, Pin.IN)
    io.drive(0)
    got = [0]
    def h(pin):
        got[0] += 1
    p.irq(h, Pin.IRQ_RISING, hard=True)
    s = machine.disable_irq()
    io.drive(1)
    inside = got[0]
    machine.enable_irq(s)
    after = got[0]
    p.irq(None)
    io.drive(0)
    return [("irq.disabled.ran_inside", inside), ("irq.disabled.ran_after_enable", after),
            ("irq.state_type", type(s).__name__)]


def check_pin_irq_raises(io):
    # a hard handler that raises is disabled for good: trigger() 0, no more calls until it is
    # armed again (what drivers/pins.py rearm() relies on)
    io.drive(0)
    p = Pin(IN_PIN, Pin.IN)
    calls = [0]

    def bad(pin):
        calls[0] += 1
        raise RuntimeError("conform")
    o = p.irq(bad, Pin.IRQ_RISING, hard=True)
    before = o.trigger()
    for _ in range(2):
        io.drive(1)
        io.drive(0)
    after = o.trigger()
    n = calls[0]
    o = p.irq(bad, Pin.IRQ_RISING, hard=True)
    io.drive(1)
    io.drive(0)
    p.irq(None)
    return [("pin.hard_irq.raises.trigger_before", before == Pin.IRQ_RISING),
            ("pin.hard_irq.raises.calls_on_2_rising", n),
            ("pin.hard_irq.raises.trigger_after", after),
            ("pin.hard_irq.raises.calls_after_rearm", calls[0] - n)]


CHECKS = (check_timer_ids, check_timer_overrun, check_timer_holdoff_overflow, check_pin_irq,
          check_pin_irq_raises,
          check_i2c_errors, check_adc, check_pwm_slice, check_wdt, check_reset_cause,
          check_mem32, check_disable_irq)


def run(io, emit=None):
    facts = []
    for c in CHECKS:
        io.feed()
        try:
            got = c(io)
        except Exception as e:
            got = [(c.__name__, "raised %s: %s" % (type(e).__name__, e))]
        for k, v in got:
            facts.append((k, v))
            if emit is not None:
                emit(k, v)
    return facts


# What the real rp2 port gave in the emulator (python -m tools.emu.conform, MicroPython v1.28.0
# RPI_PICO in rp2040js 1.4.1): the reference. A fact the fake gives differently is in EXPLAINED
# as (what the fake gives, why); anything else is a bug in one of them.
EXPECTED = {
    "timer.id_-1": "ok", "timer.id_0": "ValueError", "timer.id_1": "ValueError",
    "timer.id_3": "ValueError", "timer.id_4": "ValueError", "timer.no_id": "ok",
    # a 35 ms callback: the 3 missed periods run late (the first at 65 ms, the spin's end), all
    # within 2 periods of it, none lost (20 calls in 200 ms), and the schedule never slips: from
    # two periods after the spin every call is on the 10 ms grid. Measured schedules (two builds of
    # this suite, each run twice, identical): 10 20 30 65 70 70 73 80 90 .. 200 and
    # 10 20 30 65 70 70 80 80 90 .. 200
    "timer.overrun35.calls_in_200ms": 20, "timer.overrun35.late_at_spin_end": True,
    "timer.overrun35.caught_up_in_2_periods": True, "timer.overrun35.then_on_grid": True,
    # held off 120 ms: the 8-deep scheduler queue overflows and periods are lost (27 and 25 of
    # 30 in the two builds: the count is phase-bound), then one call per period on the grid
    "timer.holdoff120.some_lost": True, "timer.holdoff120.most_kept": True,
    "timer.holdoff120.then_one_per_period": True,
    "pin.hard_irq.calls_on_2_rising": 2, "pin.hard_irq.ran_before_next_line": True,
    "pin.hard_irq.arg_is_pin": True, "pin.hard_irq.alloc": "MemoryError",
    "pin.soft_irq.calls_on_1_falling": 1,
    "pin.hard_irq.raises.trigger_before": True, "pin.hard_irq.raises.calls_on_2_rising": 1,
    "pin.hard_irq.raises.trigger_after": 0, "pin.hard_irq.raises.calls_after_rearm": 1,
    "pin.irq_none": "ok", "pin.has_high_low": True,
    "i2c.nodev.readfrom_into": "OSError 5", "i2c.nodev.writeto": "OSError 110",
    "adc.read_u16_of_0xABCD": "0xABCA", "adc.has_read_uv": False, "adc.CORE_TEMP": 4,
    "pwm.slice_partner_freq_after_other_set": 1000, "pwm.other_freq": 1000,
    "pwm.duty_u16_after_freq_change": 10000,
    "wdt.timeout_8000": "ok",
    "reset.constants": "PWRON_RESET,WDT_RESET", "reset.PWRON_RESET": 1, "reset.WDT_RESET": 3,
    "reset.cause_is_int": True,
    "mem32.read_of_0x80000001": -2147483647, "mem32.signed": True,
    "irq.disabled.ran_inside": 0, "irq.disabled.ran_after_enable": 1, "irq.state_type": "int",
    # emulator only (tools/emu/conform.py): a 10 ms timer with a 7 ms callback keeps 100 Hz
    # with the REPL at its prompt as in sleep_ms (99-101 calls in a window of any phase)
    "prompt.timer7ms.calls_in_1s_at_prompt": "100 Hz",
    "prompt.timer7ms.calls_in_1s_in_sleep_ms": "100 Hz",
    # emulator only: mpremote without `resume` on a running rig (Ctrl-C, raw REPL, Ctrl-D):
    # 200 ms after the Ctrl-D the pump's enable is still high and its PWM still runs: the
    # firmware's tick is gone but the pump is not stopped (the watchdog the rig started is the
    # only thing left to stop it). It does, 2.0 s after the Ctrl-D (reason 1: the timer, as a
    # hung tick's), and the rig boots as after a hang: WDT_RESET, and VA resumes the pump.
    "mpremote.no_resume.enable": 1, "mpremote.no_resume.pwm_running": True,
    "mpremote.no_resume.watchdog_reset": 1, "mpremote.no_resume.reset_after_s": 2.0,
    "mpremote.no_resume.after.wdt_alarm": True, "mpremote.no_resume.after.running": True,
}

# Facts whose check changed after the last emulator run: reported by the emulator's test but not
# held against EXPECTED until the next run confirms them.
UNVERIFIED = ()

EXPLAINED = {
    # CPython cannot lock its heap in a hard handler; the unix port can (MemoryError, as rp2)
    "pin.hard_irq.alloc@cpython": ("ok", "CPython has no heap lock"),
    # rp2040js: a write to an address that does not ACK ends in the pico-sdk's timeout, not its
    # abort path; on silicon the abort gives EIO as the read does. The firmware treats every
    # OSError from the bus alike, so the fake gives EIO for both.
    "i2c.nodev.writeto": ("OSError 5", "the emulator's I2C write NACK path times out"),
    # the port converts 12 bits and scales them v << 4 | v >> 8; the fake returns the u16 the
    # World set. Not changed in the fake: with a quantising fake a still input that the World
    # gives sub-LSB noise reads constant and the stuck-sensor check (stuck_ticks 50) fires,
    # which a real converter's own few-LSB noise prevents (host_tests/fw/test_checklist.py
    # fails that way). The World should add converter noise first: left to its owner.
    "adc.read_u16_of_0xABCD": ("0xABCD", "the fake does not quantise to 12 bits"),
}
