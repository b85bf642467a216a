# Galvanic oxygen cell on an ADC: FiO2 of the sweep gas in 0.1 % (`_dpct`), two-point calibration
# in air and in 100 % O2, and an "out of calibration" flag.
from micropython import const
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.status import OK, RANGE

AIR_DPCT = const(209)        # dry room air is 20.9 % O2
O2_DPCT = const(1000)
# An air/O2 sweep cannot hold less O2 than air or more than pure O2; a reading outside this
# band (with a margin for noise) means the cell has drifted. Galvanic cells fail low as they wear.
_PLAUSIBLE_MIN_DPCT = const(195)
_PLAUSIBLE_MAX_DPCT = const(1030)
_IMPLAUSIBLE_READS = const(30)   # consecutive reads: ~3 s at the 10 Hz gas rate
_CELL_TOL_PCT = const(40)        # a new cell within +/-40 % of the board's nominal output


class O2Cell(AnalogSensor):
    # cal = (raw_air, 209, raw_o2, 1000) in ADC counts or mV; the cell's output is proportional to
    # the O2 partial pressure (through zero), which an air-only recalibration relies on.
    def __init__(self, adc, cal, rails, stuck_ticks=0, use_mv=False):
        AnalogSensor.__init__(self, adc, cal, rails, (0, 1200), stuck_ticks, use_mv)
        self._nominal_air = cal[0] + (AIR_DPCT - cal[1]) * (cal[2] - cal[0]) // (cal[3] - cal[1])
        self._air_raw = self._nominal_air
        self._o2_raw = cal[0] + (O2_DPCT - cal[1]) * (cal[2] - cal[0]) // (cal[3] - cal[1])
        self._bad = 0
        self.out_of_cal = False
        self.drift_dpct = 0          # what the old calibration read at the last calibration point

    def read(self):
        st = AnalogSensor.read(self)
        if st == OK:
            v = self.value
            if v < _PLAUSIBLE_MIN_DPCT or v > _PLAUSIBLE_MAX_DPCT:
                if self._bad < _IMPLAUSIBLE_READS:
                    self._bad += 1
                else:
                    self.out_of_cal = True    # latched until a calibration succeeds
            else:
                self._bad = 0
        return st

    # ---- REPL side: the operator exposes the cell to room air or to 100 % O2 first ----
    def calibrate(self, point_dpct):
        if point_dpct not in (AIR_DPCT, O2_DPCT):
            raise ValueError("calibration point must be %d (air) or %d (O2)" % (AIR_DPCT, O2_DPCT))
        if self.status != OK and self.status != RANGE:   # RANGE may be the old calibration's fault
            raise ValueError("O2 cell reading invalid (status %d): check the cell and its cable"
                             % self.status)
        raw = self.raw
        expect = self._nominal_air * point_dpct // AIR_DPCT
        if abs(raw - expect) * 100 > abs(expect) * _CELL_TOL_PCT:
            self.out_of_cal = True
            raise ValueError("O2 cell gives %d, expected about %d at %.1f %% O2: cell exhausted "
                             "or not in that gas" % (raw, expect, point_dpct / 10))
        old = self.value
        if point_dpct == AIR_DPCT:
            # sensitivity drifts, zero does not: scale the O2 point with the air point
            o2 = self._o2_raw * raw // self._air_raw
            air = raw
        else:
            o2 = raw
            air = self._air_raw
        if o2 == air:
            raise ValueError("calibration points coincide")
        self.set_cal((air, AIR_DPCT, o2, O2_DPCT))
        self._air_raw = air
        self._o2_raw = o2
        self.drift_dpct = old - point_dpct
        self._bad = 0
        self.out_of_cal = False
        return self.drift_dpct
