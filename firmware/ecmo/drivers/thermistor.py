# Blood temperature: NTC thermistor in the return line's probe well, on an ADC. 0.01 degC (`_cdegc`).
# Ratiometric divider (fixed resistor from the ADC reference, NTC to ground), so reference drift
# cancels. The Beta curve is turned into a table once at start-up; the tick interpolates integers.
from micropython import const
from array import array
from math import exp
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.status import Reading, OK, OPEN, SHORT, RANGE

_T0_K = 298.15     # Beta equation reference: 25 degC


class Thermistor(Reading):
    # raw_ref: ADC reading (counts or mV) of the divider's supply; t_min_c..t_max_c: table span,
    # 1 degC per step (interpolation error of the Beta curve over 1 degC is below 0.01 degC).
    def __init__(self, adc, r25_ohm, beta, r_fixed_ohm, raw_ref, rails, use_mv=False,
                 t_min_c=10, t_max_c=50):
        self._ch = AnalogSensor(adc, (0, 0, 1000, 1000), rails, rails, 0, use_mv)
        self._t0 = t_min_c * 100
        tab = array("i", [0] * (t_max_c - t_min_c + 1))
        for i in range(len(tab)):
            r = r25_ohm * exp(beta * (1.0 / (t_min_c + i + 273.15) - 1.0 / _T0_K))
            tab[i] = int(raw_ref * r / (r + r_fixed_ohm) + 0.5)
            # a divider that moves less than a count per degC cannot give 0.01 degC: a board error
            if i and tab[i] >= tab[i - 1]:
                raise ValueError("thermistor: under 1 count per degC at %d degC" % (t_min_c + i))
        self._tab = tab      # raw falls as temperature rises
        self.raw = -1
        Reading.__init__(self)

    def read(self):
        ch = self._ch
        st = ch.read()
        self.raw = ch.raw
        if st:
            # NTC on the low side: an open probe pulls the input to the high rail and vice versa
            return self._fail(OPEN if st == SHORT else SHORT if st == OPEN else st)
        raw = ch.value
        t = self._tab
        hi = len(t) - 1
        if raw > t[0] or raw < t[hi]:
            return self._fail(RANGE)
        lo = 0
        while hi - lo > 1:          # t[lo] >= raw >= t[hi]
            m = (lo + hi) >> 1
            if t[m] >= raw:
                lo = m
            else:
                hi = m
        # the table falls strictly (checked at start-up): span > 0
        self.value = self._t0 + lo * 100 + (t[lo] - raw) * 100 // (t[lo] - t[hi])
        self.status = OK
        return OK
