# drivers/gasflow.py: the SFM3000 sweep sensor to the count (mutation run, docs/mutation.md):
# both range limits valid, a start the bus refuses leaves it stopped. A stub bus hands it
# exact frames, their CRC from the part's own checksum (ecmo/drivers/sensirion.py).
from ecmo.drivers import status as S
from ecmo.drivers.gasflow import SFM3000
from ecmo.drivers.sensirion import crc8, INIT_SFM3000


class _Bus:
    def __init__(self):
        self.frame = bytearray(3)
        self.fail_write = False

    def writeto(self, addr, data):
        if self.fail_write:
            raise OSError(19)

    def readfrom_into(self, addr, buf):
        buf[:] = self.frame


def raw(bus, r):
    b = bytearray((r >> 8, r & 0xFF, 0))
    b[2] = crc8(b, 0, 2, INIT_SFM3000)
    bus.frame = b


def started(lo=-1000, hi=15000):
    bus = _Bus()
    s = SFM3000(bus, limits_mlpm=(lo, hi))
    raw(bus, 32000)
    assert s.read() == S.STALE            # the first result after a start is not valid
    return bus, s


def test_the_range_limits_themselves_are_valid():
    bus, s = started()
    raw(bus, 32000 - 140)                 # -1000 mL/min exactly
    assert s.read() == S.OK and s.value == -1000
    raw(bus, 32000 - 141)
    assert s.read() == S.RANGE
    raw(bus, 32000 + 2100)                # 15000 mL/min exactly
    assert s.read() == S.OK and s.value == 15000
    raw(bus, 32000 + 2101)
    assert s.read() == S.RANGE and s.value == 15000


def test_a_start_the_bus_refuses_leaves_it_stopped():
    bus, s = started()
    raw(bus, 32700)
    assert s.read() == S.OK
    bus.fail_write = True
    s.start()
    assert s.read() == S.BUS              # not measuring: it tries to start again, and cannot
    bus.fail_write = False
    assert s.read() == S.STALE and s.read() == S.OK
