# Pressure sensors: analog bridge/ratiometric transducers and Honeywell ABP/TruStability on I2C.
# Values in 0.1 mmHg (`_dmmhg`).
from micropython import const
from ecmo.drivers.analog import AnalogSensor
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


class AnalogPressure(AnalogSensor):
    pass


class HoneywellABP(Reading):
    def __init__(self, i2c, addr=0x28, pmin_dmmhg=-5171, pmax_dmmhg=5171):
        # default: a +/-10 psi gage part (docs/facts.md §1: +/-517 mmHg covers -300..+500 mmHg)
        self._i2c = i2c
        self._addr = addr
        self._pmin = pmin_dmmhg
        self._span = pmax_dmmhg - pmin_dmmhg
        self._buf = bytearray(2)
        self._stale = 0
        Reading.__init__(self)

    def read(self):
        try:
            self._i2c.readfrom_into(self._addr, self._buf)
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
        # Far below 10 % is no pressure at all but an all-zero frame (SDA stuck low, sensor in
        # reset); a real vacuum that deep is not possible on these lines. Above 90 % the part
        # saturates up to all ones: clamping keeps "very high" reading as high, so the
        # over-pressure interlock still acts (a floating bus reads status 3 = DIAG instead).
        if counts < _ABP_FAULT_LO:
            return self._fail(RANGE)
        if counts < _ABP_OUT_MIN:
            counts = _ABP_OUT_MIN
        elif counts > _ABP_OUT_MAX:
            counts = _ABP_OUT_MAX
        self.value = self._pmin + (counts - _ABP_OUT_MIN) * self._span // (_ABP_OUT_MAX - _ABP_OUT_MIN)
        self.status = OK
        return OK
