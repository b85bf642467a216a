# Pressure sensors: analog bridge/ratiometric transducers and Honeywell ABP/TruStability on I2C.
# Values in 0.1 mmHg (`_dmmhg`).
from micropython import const
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.plausible import Plausible, FROZEN_TICKS
from ecmo.drivers.status import Reading, OK, BUS, STALE, DIAG, RANGE

# Honeywell app note "I2C Communication with Honeywell Digital Output Pressure Sensors":
# 14-bit counts, 10 %..90 % transfer function, status in bits 7:6 of the first byte.
_ABP_OUT_MIN = const(1638)
_ABP_OUT_MAX = const(14746)
_ABP_FAULT_LO = const(819)    # 5 % of 2^14: half way from the 10 % floor to zero
_ABP_STATUS_STALE = const(2)
_ABP_STATUS_DIAG = const(3)
# A stale reading is normal now and then (we read faster than it converts); only a run of them is a fault.
_ABP_STALE_LIMIT = const(3)
PSI15_DMMHG = const(7757)     # +/-15 psi (1 psi = 51.715 mmHg): the ABP "015PD" range


class HoneywellABP(Reading):
    # Default: a +/-15 psi differential part used as gage (one port open to air), +/-776 mmHg:
    # a centrifugal pump at full speed against a closed line makes ~710 mmHg before the
    # oxygenator (docs/sensor-trust.md), so a +/-10 psi range would saturate on P2 and P3.
    # frozen_ticks: the same counts with good status this many reads in a row is STUCK;
    # jitter: tick-to-tick flips above this (0.1 mmHg) are NOISY (0 = off); drivers/plausible.py.
    def __init__(self, i2c, addr=0x28, pmin_dmmhg=-PSI15_DMMHG, pmax_dmmhg=PSI15_DMMHG,
                 frozen_ticks=FROZEN_TICKS, jitter=40):
        self._i2c = i2c
        self._addr = addr
        self._pmin = pmin_dmmhg
        self._pmax = pmax_dmmhg
        self._span = pmax_dmmhg - pmin_dmmhg
        self._buf = bytearray(2)
        self._stale = 0
        self._pl = Plausible(jitter if jitter else 0x3FFFFFFF, frozen_ticks)
        self.raw = -1
        Reading.__init__(self)

    def read(self):
        try:
            self._i2c.readfrom_into(self._addr, self._buf)
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:
            return self._fail(BUS)
        b = self._buf
        s = b[0] >> 6
        if s == _ABP_STATUS_DIAG:
            return self._fail(DIAG)
        if s == _ABP_STATUS_STALE or s == 1:  # 1 = command mode: not a measurement either
            self._stale += 1
            if self._stale >= _ABP_STALE_LIMIT:
                return self._fail(STALE)
            return self.status
        self._stale = 0
        counts = ((b[0] & 0x3F) << 8) | b[1]
        self.raw = counts
        # Far below 10 % is no pressure at all but an all-zero frame (SDA stuck low, sensor in
        # reset); a real vacuum that deep is not possible on these lines. At or beyond 10 % /
        # 90 % the part is saturated: RANGE with `sat` and the range end as the value, so the
        # interlocks can still use it as a bound (over-pressure: "at least full scale").
        if counts < _ABP_FAULT_LO:
            self._pl.reset()
            return self._fail(RANGE)
        if counts <= _ABP_OUT_MIN:
            self._pl.reset()
            return self._saturated(-1, self._pmin)
        if counts >= _ABP_OUT_MAX:
            self._pl.reset()
            return self._saturated(1, self._pmax)
        v = self._pmin + (counts - _ABP_OUT_MIN) * self._span // (_ABP_OUT_MAX - _ABP_OUT_MIN)
        st = self._pl.check(counts, v)
        if st:
            return self._fail(st)
        self.conv = v
        self.value = v - self.offset      # the zero taken open to air (rig.zero)
        self.status = OK
        self.sat = 0
        return OK
