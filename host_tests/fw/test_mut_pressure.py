# drivers/pressure.py: the Honeywell ABP frame decoded to the count (mutation run,
# docs/mutation.md): status bits, the stale run, the fault floor and both saturation ends,
# the transfer function, the defaults. A stub bus hands the driver exact frames.
from ecmo.drivers import status as S
from ecmo.drivers.pressure import HoneywellABP, PSI15_DMMHG


class _Bus:
    def __init__(self):
        self.frame = (0, 0)
        self.addrs = []
        self.fail = False

    def readfrom_into(self, addr, buf):
        self.addrs.append(addr)
        if self.fail:
            raise OSError(5)
        buf[0] = self.frame[0]
        buf[1] = self.frame[1]


def counts(bus, c, status=0):
    bus.frame = ((status << 6) | (c >> 8), c & 0xFF)


def part(lo=-5171, hi=5171, **kw):
    bus = _Bus()
    return bus, HoneywellABP(bus, 0x28, lo, hi, **kw)


def test_abp_defaults_are_the_15_psi_part_at_0x28():
    bus = _Bus()
    s = HoneywellABP(bus)
    counts(bus, 14745)
    assert s.read() == S.OK and bus.addrs == [0x28]
    assert PSI15_DMMHG == 7757
    assert s.value == -7757 + (14745 - 1638) * 2 * 7757 // (14746 - 1638)


def test_abp_transfer_function_to_the_count():
    bus, s = part()
    for c in (1639, 8192, 14745):
        counts(bus, c + 0)
        assert s.read() == S.OK and s.sat == 0 and s.raw == c
        assert s.value == -5171 + (c - 1638) * 10342 // 13108, c


def test_abp_saturation_ends_are_inclusive():
    bus, s = part()
    counts(bus, 1638)
    assert s.read() == S.RANGE and s.sat == -1 and s.value == -5171
    counts(bus, 14746)
    assert s.read() == S.RANGE and s.sat == 1 and s.value == 5171
    counts(bus, 1639)
    assert s.read() == S.OK and s.sat == 0


def test_abp_fault_floor_below_which_a_frame_is_not_a_pressure():
    bus, s = part()
    counts(bus, 8192)
    s.read()
    v = s.value
    counts(bus, 818)
    assert s.read() == S.RANGE and s.sat == 0 and s.value == v    # all-zero-like: no bound
    counts(bus, 819)
    assert s.read() == S.RANGE and s.sat == -1 and s.value == -5171


def test_abp_status_bits_diag_stale_and_command_mode():
    bus, s = part()
    counts(bus, 8192)
    assert s.read() == S.OK
    counts(bus, 8192, 3)
    assert s.read() == S.DIAG and s.status == S.DIAG
    counts(bus, 8000)
    assert s.read() == S.OK
    for st in (2, 1):
        counts(bus, 8192, st)
        assert s.read() == S.OK and s.read() == S.OK     # one or two stale reads: last status
        assert s.read() == S.STALE and s.status == S.STALE
        counts(bus, 8100 + st)
        assert s.read() == S.OK                          # a good frame ends the run
    counts(bus, 8192, 2)
    assert s.read() == S.OK and s.read() == S.OK
    counts(bus, 8050)
    s.read()
    counts(bus, 8192, 2)
    assert s.read() == S.OK and s.read() == S.OK         # counted again from zero


def test_abp_stale_keeps_the_last_status_not_ok():
    bus, s = part()
    bus.fail = True
    assert s.read() == S.BUS
    bus.fail = False
    counts(bus, 8192, 2)
    assert s.read() == S.BUS and s.status == S.BUS
    assert s.faults == 1


def test_abp_default_jitter_and_frozen_limits():
    bus, s = part()
    n = 0
    counts(bus, 8192)
    while s.read() == S.OK:
        n += 1
        assert n < 200
    assert s.status == S.STUCK and n == 50
    bus2, s2 = part(jitter=0)                # 0 = noise check off
    for k in range(60):
        counts(bus2, 8192 + (300 if k % 2 else -300) + k % 3)
        assert s2.read() == S.OK
    bus3, s3 = part()                        # the default: 4 mmHg flips are noise
    seen = set()
    for k in range(60):
        counts(bus3, 8192 + (300 if k % 2 else -300) + k % 3)
        seen.add(s3.read())
    assert S.NOISY in seen


def test_abp_zero_offset_applies_to_the_value_not_the_conversion():
    bus, s = part()
    counts(bus, 8192)
    s.offset = 30
    assert s.read() == S.OK
    v = -5171 + (8192 - 1638) * 10342 // 13108
    assert s.conv == v and s.value == v - 30


def test_abp_raw_is_minus_one_before_the_first_read_and_a_saturation_restarts_the_frozen_count():
    bus, s = part(frozen_ticks=3)
    assert s.raw == -1
    counts(bus, 8192)
    assert [s.read() for _ in range(4)] == [S.OK, S.OK, S.OK, S.STUCK]
    for end in (1638, 14746):             # saturated low, then high: history forgotten
        counts(bus, end)
        s.read()
        counts(bus, 8192)
        assert [s.read() for _ in range(4)] == [S.OK, S.OK, S.OK, S.STUCK], end


def test_abp_an_all_zero_frame_restarts_the_frozen_count_too():
    bus, s = part(frozen_ticks=3)
    counts(bus, 8192)
    assert [s.read() for _ in range(2)] == [S.OK, S.OK]
    counts(bus, 0)                        # SDA stuck low, or the part in reset
    assert s.read() == S.RANGE
    counts(bus, 8192)
    assert [s.read() for _ in range(4)] == [S.OK, S.OK, S.OK, S.STUCK]
