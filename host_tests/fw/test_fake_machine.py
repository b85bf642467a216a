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


def test_i2c_missing_device_raises_enodev_and_faults():
    import devices
    bus = machine.I2C(0, scl=machine.Pin(1), sda=machine.Pin(0), freq=400000)
    try:
        bus.readfrom(0x28, 2)
        raise AssertionError("no OSError")
    except OSError as e:
        assert e.args[0] == 19
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
