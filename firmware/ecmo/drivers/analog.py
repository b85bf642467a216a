# Analog input channel: ADC read, rail/garbage detection, two-point linear calibration, and the
# reading's own plausibility (frozen, noisy, saturated). Every analog sensor (pressure, flow,
# bubble, FiO2, ...) is one of these with its own units.
from ecmo.drivers.status import Reading, OK, OPEN, SHORT, STUCK, NAN, BUS
from ecmo.drivers.plausible import Plausible


class AnalogSensor(Reading):
    # cal = (raw_a, value_a, raw_b, value_b): two calibration points, raw in ADC counts (read_u16)
    # or in mV when use_mv (ESP32: read_uv is the calibrated reading, its read_u16 is not linear).
    # rails = (raw_open, raw_short): at or beyond them the wire is open / shorted.
    # limits = (value_min, value_max): the part's range; a reading at or beyond an end is
    # saturated (RANGE, `sat` says which end) and never valid.
    # stuck_ticks: identical raw values for this many reads means a frozen sensor (0 = off).
    # jitter: tick-to-tick flips larger than this (value units) are noise (0 = off; the pump-side
    # parts set it in the board file): see drivers/plausible.py.
    def __init__(self, adc, cal, rails, limits, stuck_ticks=0, use_mv=False, jitter=0):
        self._adc = adc
        self._mv = use_mv
        self.set_cal(cal)
        self._open = rails[0]
        self._short = rails[1]
        self._vmin = limits[0]
        self._vmax = limits[1]
        self._pl = Plausible(jitter if jitter else 0x3FFFFFFF, stuck_ticks)
        self.raw = -1
        Reading.__init__(self)
        # calibration on the rig (rig.calibrate_flow): value = (conv - offset) * gain_e4 / 10000

    def set_cal(self, cal):
        if cal[2] == cal[0]:
            raise ValueError("calibration points need different raw values")
        self._raw_a = cal[0]
        self._val_a = cal[1]
        self._num = cal[3] - cal[1]
        self._den = cal[2] - cal[0]

    def read(self):
        try:
            if self._mv:
                raw = self._adc.read_uv() // 1000
            else:
                raw = self._adc.read_u16()
        except OSError:
            return self._fail(BUS)
        except Exception:  # a driver must never raise into the tick
            return self._fail(NAN)
        if raw is None:            # an external converter that is not answering
            return self._fail(BUS)
        if not isinstance(raw, int):
            return self._fail(NAN)
        self.raw = raw
        if raw <= self._open:
            self._pl.reset()
            return self._fail(OPEN)
        if raw >= self._short:
            self._pl.reset()
            return self._fail(SHORT)
        v = self._val_a + (raw - self._raw_a) * self._num // self._den
        if v <= self._vmin:
            self._pl.reset()
            return self._saturated(-1, self._vmin)
        if v >= self._vmax:
            self._pl.reset()
            return self._saturated(1, self._vmax)
        st = self._pl.check(raw, v)
        if st:
            return self._fail(st)
        self.conv = v
        # the zero (rig.zero) and the rig's calibration (rig.calibrate_flow), in integers
        g = self.gain_e4
        self.value = v - self.offset if g == 10000 else (v - self.offset) * g // 10000
        self.status = OK
        self.sat = 0
        return OK
