# Drivers: engineering units, validity, and bad data (rails, NaN, bus errors, CRC, stale) that
# must give an invalid reading and never an exception.
import machine
import devices
from ecmo.drivers import status as S
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.pressure import HoneywellABP
from ecmo.drivers.flow import PulseFlow, SLF3S
from ecmo.drivers.bubble import AnalogBubble
from ecmo import wiring as W
from ecmo.drivers.sensirion import crc8

CAL = (5958, -3000, 59578, 5000)


def analog(stuck=0):
    # limits beyond the calibration points: reading exactly at a limit is saturated (RANGE)
    return AnalogSensor(machine.ADC(26), CAL, (993, 64542), (-3500, 5500), stuck)


def test_analog_calibration_points_and_midpoint():
    a = analog()
    machine.sim_adc(26).u16 = 5958
    assert a.read() == S.OK and a.value == -3000
    machine.sim_adc(26).u16 = 59578
    a.read()
    assert a.value == 5000
    machine.sim_adc(26).u16 = (5958 + 59578) // 2
    a.read()
    assert abs(a.value - 1000) <= 1


def test_analog_rails_give_open_and_short_and_keep_last_value():
    a = analog()
    machine.sim_adc(26).u16 = 20000
    a.read()
    good = a.value
    machine.sim_adc(26).u16 = 0
    assert a.read() == S.OPEN and a.value == good
    machine.sim_adc(26).u16 = 65535
    assert a.read() == S.SHORT and a.value == good
    machine.sim_adc(26).u16 = 20000
    assert a.read() == S.OK


def test_analog_garbage_is_nan_status_not_exception():
    a = analog()
    for junk in (float("nan"), float("inf"), "x", 1.5):
        machine.sim_adc(26).u16 = junk
        assert a.read() == S.NAN
    machine.sim_adc(26).u16 = None            # an external converter not answering
    assert a.read() == S.BUS


def test_analog_out_of_physical_range():
    a = AnalogSensor(machine.ADC(26), CAL, (993, 64542), (-1000, 1000))
    machine.sim_adc(26).u16 = 50000
    assert a.read() == S.RANGE and a.sat == 1 and a.value == 1000
    machine.sim_adc(26).u16 = 6000
    assert a.read() == S.RANGE and a.sat == -1 and a.value == -1000


def test_analog_stuck_detection():
    a = analog(stuck=5)
    machine.sim_adc(26).u16 = 30000
    for _ in range(5):
        assert a.read() == S.OK
    assert a.read() == S.STUCK
    machine.sim_adc(26).u16 = 30001
    assert a.read() == S.OK


def test_analog_mv_mode_reads_read_uv():
    machine.sim_port("esp32")    # read_uv is the esp32 port's (rp2's ADC has read_u16 only)
    a = AnalogSensor(machine.ADC(36), (300, -3000, 2400, 5000), (100, 2600), (-3000, 5000), 0, True)
    machine.sim_adc(36).uv = 1350000
    assert a.read() == S.OK
    assert abs(a.value - 1000) <= 1


def abp(bus=0):
    dev = devices.HoneywellABP(-517.1, 517.1)
    machine.sim_i2c_attach(bus, 0x28, dev)
    return dev, HoneywellABP(machine.I2C(bus), 0x28, -5171, 5171)


def test_abp_transfer_function():
    dev, s = abp()
    for mmhg in (-300, 0, 150, 450):
        dev.pressure_mmhg = mmhg
        assert s.read() == S.OK
        assert abs(s.value - mmhg * 10) <= 1, (mmhg, s.value)


def test_abp_saturated_is_range_with_the_end_it_sits_at():
    # at or beyond full scale is never a valid reading (issue 11), but `sat` and the range end
    # as the value let an interlock use it as a bound ("at least 517 mmHg")
    dev, s = abp()
    dev.pressure_mmhg = 900
    assert s.read() == S.RANGE and s.sat == 1 and s.value == 5171
    dev.pressure_mmhg = -530
    assert s.read() == S.RANGE and s.sat == -1 and s.value == -5171
    dev.pressure_mmhg = 100
    assert s.read() == S.OK and s.sat == 0


def test_abp_bus_error_diag_and_stale():
    dev, s = abp()
    dev.pressure_mmhg = 100
    s.read()
    machine.sim_i2c_fault(0, 0x28, "nack")
    assert s.read() == S.BUS and abs(s.value - 1000) <= 1   # last good value kept
    machine.sim_i2c_fault(0, 0x28, None)
    dev.set_fault("diag")
    assert s.read() == S.DIAG
    dev.set_fault("stale")
    s.read()
    s.read()
    assert s.read() == S.STALE
    dev.set_fault(None)
    assert s.read() == S.OK


def test_abp_single_stale_read_is_not_a_fault():
    dev, s = abp()
    s.read()
    dev.set_fault("stale")
    assert s.read() == S.OK
    dev.set_fault(None)
    assert s.read() == S.OK


def test_abp_missing_device_is_bus_error():
    s = HoneywellABP(machine.I2C(1), 0x28)
    assert s.read() == S.BUS


def test_crc8_vector():
    b = bytearray((0xBE, 0xEF, 0x92))
    assert crc8(b, 0, 2) == 0x92


def _crc8_by_bits(data, init):
    # Sensirion's CRC-8 as its datasheets define it, bit by bit (poly 0x31, MSB first)
    crc = init
    for v in data:
        crc ^= v
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def test_crc8_by_table_is_the_bit_definition_for_every_word():
    # the table-driven crc8/word_ok against the definition: every first byte with a spread
    # of second bytes, both start values (SLF3S 0xFF, SFM3000 0x00), and the known vectors
    from ecmo.drivers.sensirion import word_ok, INIT_SLF3S, INIT_SFM3000
    b = bytearray(4)
    for init in (INIT_SLF3S, INIT_SFM3000):
        for hi in range(256):
            for lo in (0, 1, 0x55, 0x80, 0xAA, 0xFF, hi):
                want = _crc8_by_bits((hi, lo), init)
                b[0] = 0x5A
                b[1] = hi
                b[2] = lo
                b[3] = want
                assert crc8(b, 1, 2, init) == want, (init, hi, lo)
                assert word_ok(b, 1, init)
                b[3] = want ^ 0x01
                assert not word_ok(b, 1, init)
    assert crc8(bytearray(b"\x7d\x18"), 0, 2, INIT_SFM3000) == 0x81
    assert crc8(bytearray(b"\xbe\xef"), 0, 2, INIT_SFM3000) == 0x13
    assert crc8(bytearray(b"\x01\x02\x03\x04"), 0, 4, 0x00) == _crc8_by_bits((1, 2, 3, 4), 0)


def test_crc_word_check_allocates_nothing():
    import gc
    if not hasattr(gc, "mem_alloc"):
        return
    from ecmo.drivers.sensirion import word_ok
    b = bytearray((0xBE, 0xEF, 0x92))
    word_ok(b, 0)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(200):
        word_ok(b, 0)
        crc8(b, 0, 2)
    d = gc.mem_alloc() - a
    gc.enable()
    assert d == 0, d


class _SfmBus:
    # an I2C bus with one fixed read frame (the SFM3000's 3 bytes)
    def __init__(self, frame):
        self.frame = frame

    def writeto(self, addr, buf):
        return len(buf)

    def readfrom_into(self, addr, buf):
        for i in range(len(buf)):
            buf[i] = self.frame[i]


def test_sfm3000_checks_its_crc_from_0x00():
    # A part built to Sensirion's SFM3000 CRC note sends CRC-8 (poly 0x31) started at 0x00:
    # 0x7D 0x18 -> 0x81 (0xFF-start would give 0x00). The driver must take it, and refuse
    # the SLF3S-style CRC on this part.
    from ecmo.drivers.gasflow import SFM3000
    s = SFM3000(_SfmBus(bytearray((0x7D, 0x18, 0x81))))
    assert s.read() == S.STALE           # first result after the start command
    assert s.read() == S.OK
    assert s.value == (0x7D18 - 32000) * 1000 // 140
    s = SFM3000(_SfmBus(bytearray((0x7D, 0x18, 0x00))))
    s.read()
    assert s.read() == S.CRC


def test_slf3s_reads_flow_and_rejects_bad_crc():
    dev = devices.SensirionSLF3S(scale=500)
    machine.sim_i2c_attach(0, 0x08, dev)
    s = SLF3S(machine.I2C(0))
    dev.flow = 12.5   # mL/min
    assert s.read() == S.OK
    assert abs(s.value - 12500) <= 2
    dev.set_fault("crc")
    assert s.read() == S.CRC
    dev.set_fault("air")
    assert s.read() == S.OK and s.air
    machine.sim_i2c_fault(0, 0x08, "nack")
    assert s.read() == S.BUS
    machine.sim_i2c_fault(0, 0x08, None)
    dev.set_fault(None)
    s.read()                         # restarts the measurement after the bus error
    assert s.read() == S.OK


def test_slf3s_absent_sensor_never_raises():
    s = SLF3S(machine.I2C(1))
    for _ in range(3):
        assert s.read() == S.BUS


def test_pulse_flow_from_turbine_pulses():
    f = PulseFlow(machine.Pin(10, machine.Pin.IN, machine.Pin.PULL_UP), pulses_per_l=450, window_ticks=50, tick_ms=10)
    pin = machine.sim_pin(10)
    # 4 L/min at 450 pulses/L is 30 Hz: one pulse every 33.3 ms
    acc = 0.0
    for tick in range(200):
        for _ in range(10):
            machine.sim_advance_us(1000)
            acc += 30 / 1000
            if acc >= 1:
                acc -= 1
                pin.drive(0)
                pin.drive(1)
        f.read()
    assert abs(f.value - 4000) <= 300, f.value


def test_digital_bubble_latches_and_calls_trip_in_irq():
    hits = []
    machine.sim_pin(16).drive(0)             # liquid at the detector
    b = W.digital_bubble({"pin": 16, "active_level": 1}, lambda: hits.append(1))
    machine.sim_pin(16).drive(1)
    assert b.latched and hits == [1]       # before any read(): the IRQ did it
    machine.sim_pin(16).drive(0)
    b.read()
    assert b.latched and not b.air
    b.clear()
    b.read()
    assert not b.latched


def test_digital_bubble_unplugged_reads_as_air():
    hits = []
    b = W.digital_bubble({"pin": 16, "active_level": 1}, lambda: hits.append(1))    # nothing drives the pin
    b.read()
    assert b.air and b.latched and hits == [1]


def test_digital_bubble_present_at_boot_is_caught_by_read():
    machine.sim_pin(16).drive(1)
    hits = []
    b = W.digital_bubble({"pin": 16, "active_level": 1}, lambda: hits.append(1))
    b.read()
    assert b.latched and hits == [1]


def test_analog_bubble_threshold():
    a = AnalogSensor(machine.ADC(28), (0, 0, 65535, 1000), (-1, 65536), (0, 1000))
    b = AnalogBubble(a, 600)
    machine.sim_adc(28).u16 = 20000
    b.read()
    assert not b.air
    machine.sim_adc(28).u16 = 50000
    b.read()
    assert b.air and b.latched


def test_pump_duty_enable_and_stop():
    p = W.pump({"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2}, 5000)
    assert machine.sim_pwm(15).duty_u16 == 0 and machine.sim_pin(14).level == 0
    p.drive(2500, True)
    assert machine.sim_pwm(15).duty_u16 == 32767 and machine.sim_pin(14).level == 1
    p.drive(9000, True)
    assert machine.sim_pwm(15).duty_u16 == 65535
    p.drive(-5, True)
    assert machine.sim_pwm(15).duty_u16 == 0
    p.drive(3000, True)
    p.stop()
    assert machine.sim_pwm(15).duty_u16 == 0 and machine.sim_pin(14).level == 0


def pulses(n, period_us, each=None, pin_id=13):
    # n tach pulses (falling edges), one every period_us; each() after every pulse
    pin = machine.sim_pin(pin_id)
    for _ in range(n):
        machine.sim_advance_us(period_us)
        pin.drive(0)
        pin.drive(1)
        if each is not None:
            each()


def test_pump_tach_rpm():
    p = W.pump({"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2}, 5000)
    pulses(30, 10000, p.read)      # 3000 RPM, 2 pulses/rev = 100 Hz: a pulse every 10 ms
    assert abs(p.rpm - 3000) <= 30, p.rpm
    machine.sim_advance_us(400000)
    p.read()
    assert p.rpm == 0


def test_clamp():
    c = W.clamp({"pin": 18, "closed_level": 1})
    assert machine.sim_pin(18).level == 0 and not c.closed
    c.close()
    assert machine.sim_pin(18).level == 1 and c.closed
    c.open()
    assert machine.sim_pin(18).level == 0


def test_servo_clamp_pulse_widths():
    from ecmo.drivers.clamp import ServoClamp, SERVO_HZ
    c = ServoClamp(machine.PWM(machine.Pin(18), freq=SERVO_HZ, duty_ns=1000000), 1000, 2000)
    assert machine.sim_pwm(18).freq == 50
    assert abs(machine.sim_pwm(18).duty_u16 - 65535 // 20) <= 2     # 1 ms of 20 ms
    c.close()
    assert c.closed and abs(machine.sim_pwm(18).duty_u16 - 65535 // 10) <= 2
    c.open()
    assert not c.closed


def test_pump_tach_sum_stays_bounded_when_nobody_reads():
    # regression: with the loop halted and the rotor turning, the IRQ's sum grew without bound
    p = W.pump({"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2}, 5000)
    pulses(5000, 10000)
    p.read()
    assert abs(p.rpm - 3000) <= 30, p.rpm


class _Frame:
    def __init__(self, frame):
        self.frame = bytes(frame)

    def write(self, data):
        pass

    def read(self, n):
        return self.frame[:n]


def test_abp_all_zero_frame_is_a_fault_but_saturated_high_is_a_pressure():
    # regression: a frame of zeros (SDA stuck low) read as a valid -517 mmHg
    s = HoneywellABP(machine.I2C(0), 0x28, -5171, 5171)
    machine.sim_i2c_attach(0, 0x28, _Frame((0, 0, 0, 0)))
    assert s.read() == S.RANGE
    machine.sim_i2c_attach(0, 0x28, _Frame((0x3F, 0xFF, 0xFF, 0xFF)))   # saturated: very high
    assert s.read() == S.RANGE and s.sat == 1 and s.value == 5171
    machine.sim_i2c_attach(0, 0x28, _Frame((0xFF, 0xFF, 0xFF, 0xFF)))   # floating bus
    assert s.read() == S.DIAG


def test_pump_tach_ignores_the_first_pulse_after_a_long_stall():
    # regression: a gap longer than the ticks period wrapped and one pulse gave a bogus RPM
    p = W.pump({"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2}, 5000)
    pin = machine.sim_pin(13)
    machine.sim_advance_us((1 << 30) + 5000)   # stalled for longer than ticks_us wraps
    p.read()
    pin.drive(0)
    pin.drive(1)
    p.read()
    assert p.rpm == 0


def test_abp_frozen_counts_with_good_status_are_stuck_within_half_a_second():
    # a latched bridge or sensor firmware: status 0 and the same counts every read
    dev, s = abp()
    for i in range(20):
        dev.pressure_mmhg = 200 + 0.12 * (i & 1)      # one count of noise: alive
        assert s.read() == S.OK
    n = 0
    while s.read() == S.OK:
        n += 1
        assert n < 60
    assert s.status == S.STUCK and 45 <= n <= 50 and abs(s.value - 2000) <= 2
    dev.pressure_mmhg = 201
    assert s.read() == S.OK


def _flips(read, put, base, amp, n):
    out = []
    for i in range(n):
        put(base + (amp if i & 1 else -amp) + (i % 3))
        out.append(read())
    return out


def test_abp_noise_far_above_the_part_is_noisy_and_clears():
    dev, s = abp()
    def put(v):
        dev.pressure_mmhg = v
    seen = _flips(s.read, put, 200, 15, 40)           # +/-15 mmHg tick to tick
    first = seen.index(S.NOISY)
    assert 5 <= first <= 15, first
    seen = _flips(s.read, put, 200, 0.12, 60)         # quiet again
    assert seen[-1] == S.OK


def test_abp_fast_real_changes_are_not_noise():
    # a clamp shut (step) and a speed ramp move one way: no flips
    dev, s = abp()
    for i in range(200):
        p = 100 + (i * 2 if i < 100 else 350) + 0.12 * (i & 1)
        dev.pressure_mmhg = p
        assert s.read() == S.OK, i


def test_analog_noise_and_frozen():
    a = AnalogSensor(machine.ADC(26), CAL, (993, 64542), (-3000, 5000), 50, False, 50)
    st = []
    for i in range(40):
        machine.sim_adc(26).u16 = 20000 + (700 if i & 1 else -700)   # ~+/-10 mmHg flips
        st.append(a.read())
    assert S.NOISY in st[:15]
    a2 = AnalogSensor(machine.ADC(27), CAL, (993, 64542), (-3000, 5000), 50, False, 50)
    machine.sim_adc(27).u16 = 20000
    st = [a2.read() for _ in range(52)]
    assert st[49] == S.OK and st[51] == S.STUCK


class _RefusedBus:
    # every bus call raises MemoryError: an allocation refused in a locked tick (ecmo/loop.py)
    def writeto(self, addr, buf):
        raise MemoryError

    def readfrom_into(self, addr, buf):
        raise MemoryError

    def read_u16(self):
        raise MemoryError


def test_a_refused_allocation_is_not_taken_for_a_bus_fault():
    # the loop sees it (one tick lost, the lock off), instead of a sensor failed for good
    from ecmo.drivers.gasflow import SFM3000
    from ecmo.drivers.ads1115 import ADS1115
    bus = _RefusedBus()
    ads = ADS1115(bus)
    ads.channel(0)
    slf = SLF3S(_SfmBus(bytearray(9)))        # built on a quiet bus, then the refusing one
    sfm = SFM3000(_SfmBus(bytearray(3)))
    slf._i2c = sfm._i2c = bus
    sfm._fresh = False
    for name, call in (("abp", HoneywellABP(bus).read), ("analog", AnalogSensor(
            bus, CAL, (993, 64542), (-3500, 5500)).read), ("slf3s", slf.read),
            ("sfm3000", sfm.read), ("ads1115", ads.poll), ("sfm3000 start", sfm.start)):
        try:
            call()
        except MemoryError:
            continue
        assert False, name + " swallowed the MemoryError"
