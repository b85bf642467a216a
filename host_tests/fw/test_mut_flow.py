# drivers/flow.py: the turbine window and the SLF3S frame to the count (mutation run,
# docs/mutation.md). The SLF3S gets a stub bus that hands it exact frames.
import machine
from ecmo.drivers import status as S
from ecmo.drivers.flow import PulseFlow, SLF3S
from ecmo.drivers.sensirion import crc8


def turbine(window=5, tick_ms=10, ppl=450):
    pin = machine.Pin(10, machine.Pin.IN, machine.Pin.PULL_UP)
    return PulseFlow(pin, pulses_per_l=ppl, window_ticks=window, tick_ms=tick_ms)


def pulses(n):
    pin = machine.sim_pin(10)
    for _ in range(n):
        pin.drive(0)
        pin.drive(1)


def test_turbine_flow_is_pulses_over_the_window_to_the_ml():
    f = turbine()
    k = 60000 * 1000 // (5 * 10)
    pulses(3)
    assert f.read() == S.OK and f.value == 3 * k // 450
    pulses(2)
    f.read()
    assert f.value == 5 * k // 450
    for _ in range(3):
        f.read()
    assert f.value == 5 * k // 450          # 5 ticks in the window: both still in it
    f.read()
    assert f.value == 2 * k // 450          # the first tick's 3 pulses left the window
    f.read()
    assert f.value == 0


def test_turbine_default_window_and_ppl():
    pin = machine.Pin(10, machine.Pin.IN, machine.Pin.PULL_UP)
    f = PulseFlow(pin)
    pulses(45)                              # 45 pulses in 0.5 s at 450/L = 12 L/min
    f.read()
    assert f.value == 12000
    for _ in range(49):
        f.read()
    assert f.value == 12000
    f.read()
    assert f.value == 0


def test_turbine_pulses_per_tick_are_capped_at_255():
    f = turbine(window=2)
    pulses(300)
    f.read()
    k = 60000 * 1000 // 20
    assert f.value == 255 * k // 450
    pulses(255)
    f.read()
    assert f.value == 510 * k // 450
    f.read()
    assert f.value == 255 * k // 450


def test_turbine_counter_wraps_without_a_spike():
    f = turbine(window=2)
    f._count = f._last = 0x3FFFFFFF - 1
    pulses(4)
    assert f._count == 2
    f.read()
    assert f.value == 4 * (60000 * 1000 // 20) // 450


class _Bus:
    def __init__(self):
        self.writes = []
        self.frame = bytearray(9)
        self.fail_write = False
        self.fail_read = False

    def writeto(self, addr, data):
        if self.fail_write:
            raise OSError(19)
        self.writes.append((addr, bytes(data)))

    def readfrom_into(self, addr, buf):
        if self.fail_read:
            raise OSError(5)
        buf[:] = self.frame


def frame(bus, flow, temp, flags):
    b = bytearray(9)
    for i, w in ((0, flow & 0xFFFF), (3, temp & 0xFFFF), (6, flags)):
        b[i] = w >> 8
        b[i + 1] = w & 0xFF
        b[i + 2] = crc8(b, i, 2)
    bus.frame = b


def test_slf3s_starts_measuring_with_the_water_command_at_0x08():
    bus = _Bus()
    s = SLF3S(bus)
    assert bus.writes == [(0x08, b"\x36\x08")]
    assert s.status == S.BUS              # nothing read yet
    s.stop()
    assert bus.writes[-1] == (0x08, b"\x3f\xf9")
    assert s.read() == S.STALE            # stopped: restarted, first result not ready yet
    assert bus.writes[-1] == (0x08, b"\x36\x08")


def test_slf3s_decodes_flow_temperature_and_air_to_the_count():
    bus = _Bus()
    s = SLF3S(bus, 0x08, 500)
    frame(bus, 1250, 5000, 0)
    assert s.read() == S.OK and s.value == 2500 and s.temp_cdegc == 2500 and s.air is False
    frame(bus, -1250, -100, 1)
    assert s.read() == S.OK and s.value == -2500 and s.temp_cdegc == -50 and s.air is True
    frame(bus, 0x7FFF, 0x7FFF, 2)
    assert s.read() == S.OK and s.value == 0x7FFF * 2 and s.temp_cdegc == 0x7FFF // 2
    assert s.air is False
    frame(bus, -0x8000, -0x8000, 0)
    s.read()
    assert s.value == -0x8000 * 2 and s.temp_cdegc == -0x4000
    s2 = SLF3S(bus, 0x08, 10)
    frame(bus, 3, 0, 0)
    s2.read()
    assert s2.value == 300


def test_slf3s_a_bad_crc_on_any_word_is_crc():
    bus = _Bus()
    s = SLF3S(bus)
    frame(bus, 500, 5000, 0)
    assert s.read() == S.OK
    for i in (2, 5, 8):
        frame(bus, 500, 5000, 0)
        bus.frame[i] ^= 1
        assert s.read() == S.CRC and s.value == 1000
    frame(bus, 500, 5000, 0)
    assert s.read() == S.OK and s.status == S.OK


def test_slf3s_bus_errors_restart_the_measurement():
    bus = _Bus()
    bus.fail_write = True
    s = SLF3S(bus)
    assert s.read() == S.BUS              # cannot start: bus error
    bus.fail_write = False
    assert s.read() == S.STALE            # started now, result not ready yet
    frame(bus, 500, 5000, 0)
    assert s.read() == S.OK
    bus.fail_read = True
    assert s.read() == S.BUS
    bus.fail_read = False
    n = len(bus.writes)
    assert s.read() == S.STALE and len(bus.writes) == n + 1   # restarted after the error
    assert s.read() == S.OK
    bus.fail_write = True
    s.stop()                              # a stop that fails on the bus does not raise
    assert s.read() == S.BUS


def test_turbine_cap_is_exactly_255_a_tick():
    f = turbine(window=2)
    pulses(256)
    f.read()
    assert f.value == 255 * (60000 * 1000 // 20) // 450


def test_a_fresh_turbine_reads_zero_and_valid():
    f = turbine()
    assert f.status == S.OK and f.value == 0 and f.faults == 0 and f.sat == 0


def test_a_fresh_slf3s_is_not_valid_and_shows_no_air_before_its_first_frame():
    bus = _Bus()
    s = SLF3S(bus)
    assert s.status == S.BUS and s.value == 0 and s.air is False and s.temp_cdegc == 0


def test_slf3s_a_start_that_fails_leaves_it_stopped():
    bus = _Bus()
    s = SLF3S(bus)
    s.read()
    frame(bus, 500, 5000, 0)
    assert s.read() == S.OK
    bus.fail_write = True
    s.start()                             # a restart the bus refuses: not measuring now
    assert s.read() == S.BUS
    bus.fail_write = False
    assert s.read() == S.STALE and s.read() == S.OK
