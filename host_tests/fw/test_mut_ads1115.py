# drivers/ads1115.py to the byte (mutation run, docs/mutation.md): the config word each channel
# writes (datasheet 8.6.3), the sign of a conversion at its edges, the first poll that only
# starts a conversion, and the recovery after a bus error. A stub bus records what is written.
from ecmo.drivers.ads1115 import ADS1115


class _Bus:
    def __init__(self):
        self.ops = []
        self.conv = b"\x00\x00"
        self.fail = False

    def writeto(self, addr, data):
        if self.fail:
            raise OSError(5)
        self.ops.append(("w", addr, bytes(data)))

    def readfrom_into(self, addr, buf):
        if self.fail:
            raise OSError(5)
        self.ops.append(("r", addr))
        buf[0] = self.conv[0]
        buf[1] = self.conv[1]


def test_each_channel_writes_its_datasheet_config_word():
    bus = _Bus()
    a = ADS1115(bus, 0x49)
    a.channel(0, 4096)     # OS | AIN0-GND | PGA 4.096 V | single | 860 SPS | comparator off
    a.channel(3, 256)      # the last input and the smallest range
    a.poll()
    assert bus.ops == [("w", 0x49, bytes((0x01, 0xC3, 0xE3)))], bus.ops
    bus.ops = []
    a.poll()
    assert bus.ops == [("w", 0x49, b"\x00"), ("r", 0x49), ("w", 0x49, bytes((0x01, 0xFB, 0xE3)))]


def test_inputs_outside_0_to_3_or_an_unknown_range_are_refused():
    a = ADS1115(_Bus())
    for ain, fsr in ((-1, 4096), (4, 4096), (0, 5000)):
        try:
            a.channel(ain, fsr)
            raise AssertionError((ain, fsr))
        except ValueError:
            pass


def test_nothing_reads_before_the_first_conversion_is_read_back():
    bus = _Bus()
    a = ADS1115(bus)
    ch = a.channel(1)
    assert a.ok is False and ch.read_u16() is None
    bus.conv = b"\x12\x34"
    a.poll()                        # starts the conversion: nothing read yet
    assert a.ok is True and ch.read_u16() is None
    a.poll()
    assert ch.read_u16() == 0x1234


def test_a_conversion_s_sign_at_its_edges():
    bus = _Bus()
    a = ADS1115(bus)
    ch = a.channel(0)
    a.poll()
    for raw, v in ((b"\x7f\xff", 32767), (b"\x80\x00", -32768), (b"\xff\xff", -1)):
        bus.conv = raw
        a.poll()
        assert ch.read_u16() == v, (raw, ch.read_u16())


def test_after_a_bus_error_the_next_poll_starts_over_without_reading():
    bus = _Bus()
    a = ADS1115(bus)
    ch = a.channel(0)
    a.channel(1)
    a.poll()
    bus.fail = True
    a.poll()
    assert a.ok is False and a.faults == 1 and ch.read_u16() is None
    bus.fail = False
    bus.ops = []
    a.poll()                        # no conversion is running on the chip's side: start one
    assert bus.ops == [("w", 0x48, bytes((0x01, 0xC3, 0xE3)))], bus.ops
    assert a.ok is True and a.faults == 1
