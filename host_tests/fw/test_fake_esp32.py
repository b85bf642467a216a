# Conformance of the fake `machine` in esp32 mode with the MicroPython v1.28.0 esp32 port
# (issue #20). Each check names the source it reflects. Runs under CPython and MicroPython.
# The queue, soft pin IRQ and disable_irq checks are in test_fake_machine.py (test_esp32_*).
import machine


def _esp32():
    machine.sim_port("esp32")


def _raises(exc, f, *a):
    try:
        f(*a)
    except exc as e:
        return e
    raise AssertionError("no %s" % exc.__name__)


def test_adc_constants_are_the_ports():
    # ports/esp32/machine_adc.c: ATTN_* = ADC_ATTEN_DB_* (0..3), WIDTH_9BIT..12BIT = 9..12
    # (SOC_ADC_RTC_MIN/MAX_BITWIDTH of the ESP32: no 13-bit width)
    _esp32()
    A = machine.ADC
    assert (A.ATTN_0DB, A.ATTN_2_5DB, A.ATTN_6DB, A.ATTN_11DB) == (0, 1, 2, 3)
    assert (A.WIDTH_9BIT, A.WIDTH_10BIT, A.WIDTH_11BIT, A.WIDTH_12BIT) == (9, 10, 11, 12)
    assert not hasattr(A, "WIDTH_13BIT")
    _raises(ValueError, machine.ADC(36).width, 13)      # "invalid bit-width"


def test_read_uv_offset_and_saturation_at_11db():
    # ports/esp32/adc.c madcblock_read_uv_helper: the line-fitting calibration maps raw 0 to
    # about 142 mV at 11 dB (issue #20's figure) and the input saturates near 3.1 V
    _esp32()
    machine.sim_quirk("adc_cal")
    adc = machine.ADC(36, atten=3)
    machine.sim_adc(36).uv = 0                 # an open input pulled to 0 V
    assert adc.read_uv() == 142000
    machine.sim_adc(36).uv = 3300000
    assert adc.read_uv() == 3100000
    machine.sim_adc(36).uv = 1500000
    assert adc.read_uv() == 1500000


def test_read_uv_raises_oserror_on_a_chip_without_calibration():
    # ports/esp32/adc.c ensure_adc_calibration -> check_esp_err: ESP_ERR_NOT_SUPPORTED maps to
    # EOPNOTSUPP (ports/esp32/mphalport.c); no default vref is ever set
    _esp32()
    machine.sim_quirk("no_adc_cal")
    e = _raises(OSError, machine.ADC(36).read_uv)
    assert e.args[0] == 95


def test_floating_input_reads_noise_and_gpio34_39_have_no_pulls():
    # ports/esp32/machine_pin.c: GPIO34..39 are input-only (GPIO_FIRST_NON_OUTPUT 34) without
    # pull resistors; an undriven input without a pull floats
    _esp32()
    machine.sim_quirk("float")
    p = machine.Pin(36, machine.Pin.IN, machine.Pin.PULL_UP)      # the pull does nothing here
    seen = set(p.value() for _ in range(64))
    assert seen == {0, 1}
    _raises(ValueError, machine.Pin, 36, machine.Pin.OUT)
    q = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_DOWN)     # a pin with pulls is steady
    assert set(q.value() for _ in range(16)) == {0}
    machine.sim_adc(39).floating = True                           # an open analog input
    vals = set(machine.ADC(39).read_uv() for _ in range(16))
    assert len(vals) > 8


def test_pins_float_through_boot_after_a_reset():
    # issue #20 item 4: esp32 GPIOs come out of reset without pulls; rp2's pads have the
    # pull-down on (RP2040 datasheet, pad control: PDE resets to 1)
    _esp32()
    machine.sim_quirk("float")
    machine.Pin(26, machine.Pin.OUT, value=1)
    machine.sim_reboot(machine.HARD_RESET)
    st = machine.sim_pin(26)
    assert st.pull is None and st.mode == -1
    assert set(st.level for _ in range(64)) == {0, 1}
    machine.sim_port("rp2")
    machine.sim_reboot(machine.WDT_RESET)
    assert machine.sim_pin(26).pull == machine.Pin.PULL_DOWN and machine.sim_pin(26).level == 0


def test_pwm_duty_rounded_to_the_ledc_resolution():
    # ports/esp32/machine_pwm.c: find_suitable_duty_resolution = log2(80 MHz / freq), at most
    # 16; apply_duty keeps duty >> (16 - bits); get_duty_u16 shifts back (65536 -> 65535)
    _esp32()
    pwm = machine.PWM(machine.Pin(25), freq=20000, duty_u16=12345)    # 11 bits at 20 kHz
    assert pwm.duty_u16() == (12345 >> 5) << 5
    pwm.duty_u16(65535)
    assert pwm.duty_u16() == 65535
    slow = machine.PWM(machine.Pin(16), freq=1000, duty_u16=12345)    # 16 bits at 1 kHz
    assert slow.duty_u16() == 12345
    machine.sim_port("rp2")
    rp = machine.PWM(machine.Pin(15), freq=20000, duty_u16=12345)
    assert rp.duty_u16() == 12345


def test_uart_write_blocks_once_its_buffer_is_full():
    # issue #20 item 1: the REPL UART's 128-byte TX buffer; a write that does not fit waits for
    # the line (10 bits a byte at 115200 baud), and nothing scheduled runs meanwhile
    _esp32()
    ran = []
    u = machine.UART(0, baudrate=115200)
    t0 = machine.sim_now_us()
    u.write(b"x" * 100)
    assert machine.sim_now_us() == t0                   # fits: no wait
    machine.Timer(0, period=1, mode=machine.Timer.ONE_SHOT, callback=lambda t: ran.append(1))
    u.write(b"y" * 400)                                  # 372 bytes over: ~32 ms blocked
    waited = machine.sim_now_us() - t0
    assert 31000 <= waited <= 33000, waited
    assert ran == []                                     # the timer's call is still queued
    machine.sim_advance_us(0)
    assert ran == [1]


def test_machine_reset_is_a_hard_reset_and_soft_reset_stops_timers_not_the_watchdog():
    # ports/esp32/modmachine.c reset causes; ports/esp32/main.c after "soft reboot":
    # machine_timer_deinit_all, machine_pwm_deinit_all, machine_pins_deinit (IRQs); the WDT runs
    _esp32()
    assert machine.HARD_RESET == 2 and machine.SOFT_RESET == 5
    machine.WDT(timeout=2000)
    machine.Timer(0, period=10, callback=lambda t: None)
    pwm = machine.PWM(machine.Pin(25), freq=20000, duty_u16=30000)
    en = machine.Pin(26, machine.Pin.OUT, value=1)
    machine.Pin(4, machine.Pin.IN).irq(lambda p: None)
    machine.sim_soft_reset()
    assert machine.sim_timers() == [] and machine.sim_pin(4).irq_handler is None
    assert not machine.sim_pwm(25).active and en.value() == 1     # the enable stays high
    assert machine.reset_cause() == machine.SOFT_RESET
    try:
        machine.sim_advance_us(2100000)
        raise AssertionError("the watchdog did not fire")
    except machine.SimWatchdogReset:
        pass


def test_counter_counts_edges_in_hardware_whatever_the_scheduler_does():
    # ports/esp32/modules/machine.py Counter(_CounterBase) on esp32.PCNT (esp32_pcnt.c):
    # a singleton per unit id, RISING = 1 / FALLING = 2, value(v) returns the count and sets
    # it; "invalid id" beyond PCNT_UNIT_MAX (8 on the ESP32); rp2 has no machine.Counter
    _esp32()
    C = machine.Counter
    assert (C.RISING, C.FALLING) == (1, 2)
    _raises(ValueError, C, 8)
    pin = machine.Pin(4, machine.Pin.IN, machine.Pin.PULL_DOWN)
    c = C(0, pin, edge=C.RISING)
    assert C(0) is c
    st = machine.sim_pin(4)

    def pulses():
        for _ in range(20):
            st.drive(1)
            st.drive(0)
    machine.sim_c_call(pulses)               # a blocking C call: soft IRQs would only queue
    assert c.value(0) == 20 and c.value() == 0
    f = C(1, pin, edge=C.FALLING | C.RISING)
    st.drive(1)
    st.drive(0)
    assert f.value() == 2 and c.value() == 1
    machine.sim_soft_reset()                 # ports/esp32/main.c: esp32_pcnt_deinit_all
    _raises(RuntimeError, c.value)
    machine.sim_port("rp2")
    assert not hasattr(machine, "Counter")


def test_read_u16_is_the_raw_conversion_scaled():
    # ports/esp32/machine_adc.c mp_machine_adc_read_u16: raw << (16 - bits) | raw >> (2 bits - 16),
    # uncalibrated; the raw line at 11 dB starts at ~142 mV (the offset read_uv removes)
    _esp32()
    a = machine.ADC(36, atten=3)
    machine.sim_adc(36).uv = 0
    assert a.read_u16() == 0
    machine.sim_adc(36).uv = 3300000
    assert a.read_u16() == 65535
    machine.sim_adc(36).uv = 1621000                       # mid-way along 142..3100 mV
    assert abs(a.read_u16() - 32767) < 40


def test_board_pulls_hold_a_floating_pin_through_a_reset():
    # the chip's GPIOs float out of reset (issue #20 item 4); a resistor on the board is not
    # the chip's and stays: it sets the level until the firmware drives the pin
    _esp32()
    machine.sim_quirk("float")
    machine.sim_pin(23).ext_pull = 1
    machine.Pin(23, machine.Pin.OUT, value=0)
    machine.sim_reboot(machine.WDT_RESET)
    st = machine.sim_pin(23)
    assert st.mode == -1 and set(st.level for _ in range(64)) == {1}
    machine.Pin(23, machine.Pin.OUT, value=0)
    assert st.level == 0                                   # a driven output beats the pull


def test_reset_causes_are_the_ports():
    # ports/esp32/modmachine.c mp_machine_reset_cause: ESP_RST_POWERON and ESP_RST_BROWNOUT ->
    # PWRON_RESET (1); the watchdogs -> WDT_RESET (3); ESP_RST_SW (machine.reset()) and
    # ESP_RST_PANIC (a crash) -> HARD_RESET (2); is_soft_reset -> SOFT_RESET (5)
    _esp32()
    assert (machine.PWRON_RESET, machine.HARD_RESET, machine.WDT_RESET, machine.SOFT_RESET) == \
        (1, 2, 3, 5)
    _raises(machine.SimHardReset, machine.reset)
    machine.sim_reboot(machine.HARD_RESET)
    assert machine.reset_cause() == machine.HARD_RESET


def test_scheduler_queue_is_8_deep():
    # ports/esp32/mpconfigport.h MICROPY_SCHEDULER_DEPTH (8); py/scheduler.c mp_sched_schedule
    # returns false (the call is lost) once it is full
    _esp32()
    ran = []

    import simchip

    def fill():
        for i in range(12):
            simchip.schedule(ran.append, i)
    machine.sim_c_call(fill)
    q = machine.sim_sched()
    assert q[0] == 8 and q[2] == 4
    machine.sim_advance_us(0)
    assert ran == list(range(8))
