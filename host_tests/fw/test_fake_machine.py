# Tests of the fake machine and time themselves, run under CPython and MicroPython.
import machine
import time


def test_timers_fire_in_time_order_with_clock_at_due_time():
    log = []
    t1 = machine.Timer(-1)
    t2 = machine.Timer(-1)
    t1.init(mode=machine.Timer.PERIODIC, period=10, callback=lambda t: log.append((1, machine.sim_now_us())))
    t2.init(mode=machine.Timer.ONE_SHOT, freq=40, callback=lambda t: log.append((2, machine.sim_now_us())))
    machine.sim_advance_us(35000)
    assert log == [(1, 10000), (1, 20000), (2, 25000), (1, 30000)]
    assert machine.sim_now_us() == 35000
    t1.deinit()
    machine.sim_advance_us(100000)
    assert len(log) == 4


def test_timer_callback_gets_timer_and_errors_propagate():
    seen = []

    def cb(t):
        seen.append(t)
        raise ValueError("firmware bug")

    tim = machine.Timer(-1, mode=machine.Timer.PERIODIC, freq=100, callback=cb)
    try:
        machine.sim_advance_us(20000)
        raise AssertionError("exception was swallowed")
    except ValueError:
        pass
    assert seen == [tim]
    assert machine.sim_now_us() == 10000


def test_sleep_advances_virtual_time_and_runs_timers():
    hits = []
    machine.Timer(-1, period=5, callback=lambda t: hits.append(1))
    t0 = time.ticks_ms()
    time.sleep_ms(12)
    assert time.ticks_diff(time.ticks_ms(), t0) == 12
    assert len(hits) == 2


def test_ticks_wrap_at_2_pow_30():
    period = 1 << 30
    machine.sim_advance_us(period - 5)
    a = time.ticks_us()
    assert a == period - 5
    machine.sim_advance_us(10)
    b = time.ticks_us()
    assert b == 5
    assert time.ticks_diff(b, a) == 10
    assert time.ticks_diff(a, b) == -10
    assert time.ticks_add(a, 10) == b
    assert time.ticks_diff(1 << 29, 0) == -(1 << 29)


def test_pin_irq_on_matching_edge_only():
    got = []
    p = machine.Pin(5, machine.Pin.IN, machine.Pin.PULL_UP)
    assert p.value() == 1
    p.irq(lambda pin: got.append(pin.value()), machine.Pin.IRQ_FALLING, hard=True)
    sim = machine.sim_pin(5)
    sim.drive(0)
    sim.drive(1)
    sim.drive(1)
    sim.drive(0)
    assert got == [0, 0]
    assert sim.irq_handler is not None


def test_pins_with_same_id_share_state_and_outputs_read_back():
    a = machine.Pin(2, machine.Pin.OUT)
    b = machine.Pin(2)
    a.on()
    assert b.value() == 1
    machine.sim_pin(2).drive(0)    # an output ignores the outside world
    assert a.value() == 1
    assert machine.Pin(3, machine.Pin.IN).value() == 0


def test_adc_reads_injected_values():
    adc = machine.ADC(machine.Pin(26))
    machine.sim_adc(26).u16 = 40000
    assert adc.read_u16() == 40000
    machine.sim_adc(26).u16 = None
    assert adc.read_u16() is None


def test_i2c_missing_device_raises_eio_on_rp2_and_faults():
    import devices
    bus = machine.I2C(0, scl=machine.Pin(1), sda=machine.Pin(0), freq=400000)
    try:
        bus.readfrom(0x28, 2)
        raise AssertionError("no OSError")
    except OSError as e:
        assert e.args[0] == 5       # rp2 (esp32: 19, ENODEV)
    machine.sim_i2c_attach(0, 0x28, devices.HoneywellABP(-517, 517))
    assert bus.scan() == [0x28]
    assert len(bus.readfrom(0x28, 4)) == 4
    machine.sim_i2c_fault(0, 0x28, "timeout")
    try:
        bus.readfrom(0x28, 2)
        raise AssertionError("no OSError")
    except OSError as e:
        assert e.args[0] == 110


def test_pwm_duty_bounds():
    pwm = machine.PWM(machine.Pin(15), freq=20000, duty_u16=0)
    pwm.duty_u16(65535)
    assert machine.sim_pwm(15).duty_u16 == 65535
    for bad in (65536, -1, 1.5):
        try:
            pwm.duty_u16(bad)
            raise AssertionError("accepted %r" % (bad,))
        except ValueError:
            pass
    pwm.deinit()
    assert not machine.sim_pwm(15).active


def test_wdt_expires_without_feed():
    wdt = machine.WDT(timeout=100)
    machine.sim_advance_us(90000)
    wdt.feed()
    machine.sim_advance_us(90000)
    assert not machine.sim_wdt().expired
    try:
        machine.sim_advance_us(20000)
        raise AssertionError("no reset")
    except machine.SimWatchdogReset:
        pass
    assert machine.sim_wdt().expired
    assert machine.sim_now_us() == 190000


def test_reboot_keeps_world_drops_chip_state():
    machine.sim_adc(27).u16 = 1234
    machine.Pin(4, machine.Pin.IN).irq(lambda p: None)
    machine.sim_pin(4).drive(1)
    machine.Timer(-1, period=1, callback=lambda t: None)
    machine.sim_reboot(machine.WDT_RESET)
    assert machine.reset_cause() == machine.WDT_RESET
    assert machine.sim_adc(27).u16 == 1234
    assert machine.sim_pin(4).level == 1
    assert machine.sim_pin(4).irq_handler is None
    assert machine.sim_timers() == []


# ---- strictness: as the real ports (issue #10 item 5); each fails against the old fake ----

def _raises(exc, f, *a, **kw):
    try:
        f(*a, **kw)
    except exc as e:
        return e
    raise AssertionError("no %s from %r" % (exc.__name__, f))


def test_rp2_has_only_the_soft_timer():
    # ports/rp2/machine_timer.c: any id but -1 is "Timer doesn't exist"
    for bad in (0, 1, 3):
        _raises(ValueError, machine.Timer, bad)
    machine.Timer(-1)
    machine.Timer()


def test_esp32_timers_are_0_to_3_and_never_hard():
    # ports/esp32/machine_timer.c: the id is required, 0..3, and hard=True is refused
    machine.sim_port("esp32")
    for bad in (-1, 4):
        _raises(ValueError, machine.Timer, bad)
    _raises(TypeError, machine.Timer)
    _raises(ValueError, machine.Timer, 0, period=10, callback=lambda t: None, hard=True)
    machine.Timer(3, period=10, callback=lambda t: None)


def test_rp2_pwm_slice_partners_share_one_frequency():
    # GPIO14 and GPIO15 are slice 7: the last frequency set wins for both, silently
    # (ports/rp2/machine_pwm.c mp_machine_pwm_freq_set); the fake records the clash
    a = machine.PWM(machine.Pin(14), freq=20000, duty_u16=32768)
    b = machine.PWM(machine.Pin(15), freq=1000, duty_u16=0)
    assert a.freq() == 1000 and b.freq() == 1000
    assert machine.sim_pwm_clashes() == [(14, 20000, 1000)]
    machine.PWM(machine.Pin(16), freq=50)      # slice 0: no partner running
    assert len(machine.sim_pwm_clashes()) == 1


def test_hard_irq_handler_that_allocates_raises_memoryerror():
    # A hard handler runs with the heap locked (shared/runtime/mpirq.c gc_lock). The unix port
    # locks it for real; CPython cannot, so there the test checks the handler ran as hard. As on
    # rp2, the exception does not reach whoever drove the pin: it is printed and the handler is
    # disabled for good (its trigger 0: conform.py pin.hard_irq.raises).
    import sys
    seen = []

    def alloc(pin):
        seen.append(machine.sim_in_hard_irq())
        seen.append([1, 2, 3])     # a new list: allocation

    def quiet(pin):
        seen.append("quiet")

    p = machine.Pin(5, machine.Pin.IN, machine.Pin.PULL_DOWN)
    o = p.irq(alloc, machine.Pin.IRQ_RISING, hard=True)
    machine.sim_pin(5).drive(1)
    if sys.implementation.name == "micropython":
        assert [type(e).__name__ for e in machine.sim_irq_uncaught()] == ["MemoryError"]
        assert o.trigger() == 0
    else:
        assert seen[0] is True and machine.sim_irq_uncaught() == []
    machine.sim_pin(5).drive(0)
    p.irq(quiet, machine.Pin.IRQ_RISING, hard=True)
    machine.sim_pin(5).drive(1)               # a handler that allocates nothing is fine
    assert seen[-1] == "quiet"


def test_a_hard_irq_handler_that_raises_is_disabled_until_armed_again():
    calls = []

    def bad(pin):
        calls.append(1)
        raise RuntimeError("maximum recursion depth exceeded")

    p = machine.Pin(6, machine.Pin.IN, machine.Pin.PULL_DOWN)
    o = p.irq(bad, machine.Pin.IRQ_RISING, hard=True)
    assert o.trigger() == machine.Pin.IRQ_RISING
    for _ in range(2):
        machine.sim_pin(6).drive(1)
        machine.sim_pin(6).drive(0)
    assert len(calls) == 1 and o.trigger() == 0
    o = p.irq(bad, machine.Pin.IRQ_RISING, hard=True)
    machine.sim_pin(6).drive(1)
    assert len(calls) == 2


def test_port_only_names_follow_the_port():
    machine.sim_port("esp32")
    assert machine.SOFT_RESET == 5 and machine.HARD_RESET == 2
    assert machine.ADC.WIDTH_12BIT == 12 and machine.ADC.ATTN_11DB == 3
    assert hasattr(machine.ADC(36), "read_uv")
    machine.sim_port("rp2")
    assert not hasattr(machine, "SOFT_RESET")
    assert not hasattr(machine.ADC(26), "read_uv")
    assert not hasattr(machine.ADC, "WIDTH_12BIT")


# ---- timer overruns as the real ports (issue #15) ----

def test_slow_callback_never_slips_the_schedule_and_queues_at_most_8():
    # A 10 ms periodic soft timer whose callback takes 25 ms: the alarm keeps firing every 10 ms
    # and only queues the call (mp_sched_schedule); calls run back to back, late; a full queue
    # of 8 drops the rest. Virtual time ends where it was asked to, plus the running call.
    starts = []

    def slow(t):
        starts.append(machine.sim_now_us())
        machine.sim_spend_us(25000)

    machine.Timer(-1, period=10, callback=slow)
    machine.sim_advance_us(1000000)
    # back to back from the first alarm: one every 25 ms, never a burst at one instant
    assert starts[0] == 10000
    for a, b in zip(starts, starts[1:]):
        assert b - a == 25000
    queued, deepest, dropped = machine.sim_sched()
    assert deepest == 8
    alarms = 1000000 // 10000 + (machine.sim_now_us() - 1000000) // 10000
    assert len(starts) + queued + dropped == alarms
    assert machine.sim_now_us() < 1000000 + 25000


def test_quick_callback_keeps_its_period_exactly():
    seen = []
    machine.Timer(-1, freq=100, callback=lambda t: seen.append(machine.sim_now_us()))
    machine.sim_advance_us(50000)
    assert seen == [10000, 20000, 30000, 40000, 50000]
    assert machine.sim_sched()[2] == 0


def test_schedule_queue_full_raises_runtimeerror_in_a_callback():
    import micropython
    got = []

    def cb(t):
        for i in range(10):
            try:
                micropython.schedule(got.append, i)
            except RuntimeError:
                got.append("full")

    machine.Timer(-1, period=10, mode=machine.Timer.ONE_SHOT, callback=cb)
    machine.sim_advance_us(20000)
    # the timer's own call took one slot while it ran? no: it was dequeued first, so 8 fit
    assert got.count("full") == 2
    assert [g for g in got if g != "full"] == list(range(8))


# ---- soft pin IRQs on the esp32 (issues #15, #20) ----

def test_esp32_pin_irq_waits_for_the_running_callback():
    machine.sim_port("esp32")
    log = []
    p = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_DOWN)
    p.irq(lambda pin: log.append(("air", machine.sim_now_us())), machine.Pin.IRQ_RISING)

    def tick(t):
        log.append(("tick", machine.sim_now_us()))
        machine.sim_spend_us(2000)
        machine.sim_pin(4).drive(1)       # the edge arrives mid-tick
        machine.sim_spend_us(3000)
        log.append(("tick end", machine.sim_now_us()))

    machine.Timer(0, period=10, mode=machine.Timer.ONE_SHOT, callback=tick)
    machine.sim_advance_us(20000)
    assert log == [("tick", 10000), ("tick end", 15000), ("air", 15000)]


def test_rp2_hard_pin_irq_preempts_the_running_callback():
    log = []
    p = machine.Pin(16, machine.Pin.IN, machine.Pin.PULL_DOWN)
    p.irq(lambda pin: log.append("air"), machine.Pin.IRQ_RISING, hard=True)

    def tick(t):
        log.append("tick")
        machine.sim_pin(16).drive(1)
        log.append("tick end")

    machine.Timer(-1, period=10, mode=machine.Timer.ONE_SHOT, callback=tick)
    machine.sim_advance_us(20000)
    assert log == ["tick", "air", "tick end"]


def test_esp32_queue_of_8_drops_pin_events_behind_a_blocked_scheduler():
    # 12 edges while one callback blocks: 8 queue, 4 are lost (py/scheduler.c)
    machine.sim_port("esp32")
    n = []
    p = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_DOWN)
    p.irq(lambda pin: n.append(1), machine.Pin.IRQ_RISING)

    def blocked(t):
        for _ in range(12):
            machine.sim_pin(4).drive(1)
            machine.sim_pin(4).drive(0)

    machine.Timer(0, period=10, mode=machine.Timer.ONE_SHOT, callback=blocked)
    machine.sim_advance_us(20000)
    assert len(n) == 8
    assert machine.sim_sched()[2] == 4


def test_esp32_disable_irq_does_not_hold_back_a_queued_handler():
    # ports/esp32: disable_irq masks the GPIO interrupt, not the scheduler: a handler queued
    # during a blocking C call runs at the next bytecode, inside the "protected" section
    machine.sim_port("esp32")
    ran = []
    p = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_DOWN)
    p.irq(lambda pin: ran.append(machine.sim_irqs_enabled()), machine.Pin.IRQ_RISING)
    machine.sim_c_call(machine.sim_pin(4).drive, 1)     # the edge lands during a C call
    assert ran == []
    st = machine.disable_irq()
    assert ran == [False]                                # it ran with interrupts "off"
    machine.enable_irq(st)


def test_rp2_disable_irq_holds_a_hard_handler_until_enable():
    ran = []
    p = machine.Pin(16, machine.Pin.IN, machine.Pin.PULL_DOWN)
    p.irq(lambda pin: ran.append(machine.sim_irqs_enabled()), machine.Pin.IRQ_RISING, hard=True)
    st = machine.disable_irq()
    machine.sim_pin(16).drive(1)
    assert ran == []
    machine.enable_irq(st)
    assert ran == [True]


def test_rp2_soft_reset_leaves_the_pump_pwm_running_until_the_watchdog_fires():
    # as the rp2 v1.28 image does on the emulated Pico (tools/emu/conform.py facts
    # mpremote.no_resume.*): after a Ctrl-D from the raw REPL the PWM slice keeps its duty and
    # the enable its level; only the watchdog the firmware started ends it, 2 s on
    machine.sim_reset()
    machine.WDT(timeout=2000)
    pwm = machine.PWM(machine.Pin(15), freq=20000, duty_u16=30000)
    en = machine.Pin(14, machine.Pin.OUT, value=1)
    machine.sim_soft_reset()
    assert machine.sim_pwm(15).active and pwm.duty_u16() == 30000 and en.value() == 1
    machine.sim_advance_us(1900000)
    assert machine.sim_pwm(15).active
    try:
        machine.sim_advance_us(200000)
        raise AssertionError("the watchdog did not fire")
    except machine.SimWatchdogReset:
        pass


def test_a_pin_mode_takes_the_pin_back_from_its_pwm():
    # main.py's first line after a soft reset (ecmo/early.py) drives the speed pin low as a
    # GPIO: that ends a PWM the soft reset left running, as gpio_set_function does on rp2
    machine.sim_reset()
    machine.PWM(machine.Pin(15), freq=20000, duty_u16=30000)
    machine.sim_soft_reset()
    machine.Pin(15, machine.Pin.OUT, value=0)
    assert not machine.sim_pwm(15).active
    pwm = machine.PWM(machine.Pin(15), freq=20000, duty_u16=0)
    assert machine.sim_pwm(15).active and pwm.duty_u16() == 0


class _Stretching:
    # a part that holds SCL low for stretch_us on every transfer (the World's "slow" fault)
    def __init__(self, us):
        self.stretch_us = us
        self.spent = 0

    def spend(self, us):
        self.spent += us
        machine.sim_spend_us(us)

    def read(self, n):
        return bytes(n)

    def write(self, data):
        return None


class _Plain:
    def read(self, n):
        return b"\x01" * n

    def write(self, data):
        return None


def test_i2c_clock_stretching_past_the_timeout_is_etimedout_and_holds_the_bus():
    # as rp2's pico-sdk transfer with its timeout (the emulated Pico, tools/emu/compare.py h09):
    # a part stretching 12 ms on a 2 ms timeout fails after 2 ms, and holds the clock 10 ms
    # more, so a transfer to another part on that bus meanwhile times out too
    from machine import I2C, Pin
    slow = _Stretching(12000)
    machine.sim_i2c_attach(0, 0x28, slow)
    machine.sim_i2c_attach(0, 0x48, _Plain())
    i2c = I2C(0, scl=Pin(5), sda=Pin(4), freq=400000, timeout=2000)
    buf = bytearray(4)
    t0 = time.ticks_us()
    try:
        i2c.readfrom_into(0x28, buf)
        assert False, "no timeout"
    except OSError as e:
        assert e.args[0] == 110, e.args            # ETIMEDOUT
    assert time.ticks_diff(time.ticks_us(), t0) == 2000 and slow.spent == 2000
    try:
        i2c.readfrom_into(0x48, buf)                # SCL still held: 10 ms left > 2 ms
        assert False, "no timeout on the held bus"
    except OSError as e:
        assert e.args[0] == 110
    machine.sim_spend_us(9000)                      # the part lets go (12 ms after it began)
    i2c.readfrom_into(0x48, buf)
    assert bytes(buf) == b"\x01" * 4
    fast = _Stretching(1500)                        # within the timeout: the read just waits
    machine.sim_i2c_attach(1, 0x28, fast)
    i2c1 = I2C(1, scl=Pin(7), sda=Pin(6), freq=400000, timeout=2000)
    t0 = time.ticks_us()
    i2c1.readfrom_into(0x28, buf)
    assert time.ticks_diff(time.ticks_us(), t0) == 1500
