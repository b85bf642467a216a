# Analog input channel: ADC read, rail/garbage detection, two-point linear calibration, and the
# reading's own plausibility (frozen, noisy, saturated). Every analog sensor (pressure, flow,
# bubble, FiO2, ...) is one of these with its own units.
from micropython import const
from ecmo.drivers.status import Reading, OK, OPEN, SHORT, STUCK, NAN, BUS, NOISY
from ecmo.drivers.plausible import Plausible

_WILD_UP = const(256)     # floating input: +256 a wild step, -1/16 of the score a read
_WILD_ON = const(1000)    # ~5 wild steps in a row (a floating pin: 2 in 3 reads are wild)
_WILD_OFF = const(128)    # ~25 calm reads before it clears


def calibrated(adc):
    # False on an ESP32 without burned-in ADC calibration (read_uv raises OSError there)
    try:
        adc.read_uv()
        return True
    except OSError:
        return False


class AnalogSensor(Reading):
    # cal = (raw_a, value_a, raw_b, value_b): two calibration points, raw in ADC counts (read_u16)
    # or in mV when use_mv (ESP32: read_uv is the calibrated reading, its read_u16 is not linear).
    # rails = (raw_open, raw_short): at or beyond them the wire is open / shorted.
    # limits = (value_min, value_max): the part's range; a reading at or beyond an end is
    # saturated (RANGE, `sat` says which end) and never valid.
    # stuck_ticks: identical raw values for this many reads means a frozen sensor (0 = off).
    # jitter: tick-to-tick flips larger than this (value units) are noise (0 = off; the pump-side
    # parts set it in the board file): see drivers/plausible.py.
    # u16cal = (u16_a, mv_a, u16_b, mv_b): ESP32 chips without burned-in ADC calibration, whose
    # read_uv() raises OSError (ports/esp32/adc.c sets no default vref): mV from read_u16()
    # through our own two-point calibration of the chip instead (board file ADC_U16_CAL).
    def __init__(self, adc, cal, rails, limits, stuck_ticks=0, use_mv=False, jitter=0,
                 u16cal=None):
        self._adc = adc
        self._mv = use_mv
        self._u16cal = None
        if u16cal is not None:
            self.use_u16(u16cal)
        self.set_cal(cal)
        self._open = rails[0]
        self._short = rails[1]
        self._vmin = limits[0]
        self._vmax = limits[1]
        self._pl = Plausible(jitter if jitter else 0x3FFFFFFF, stuck_ticks)
        # a floating input (ESP32: an open pin without its pull-down) wanders over the range:
        # steps of a quarter of the rail span, tick after tick, which no transducer makes.
        # Counted whatever the reading's status (a wandering pin hits the rails too).
        self._wild_on = use_mv or u16cal is not None
        self._wild_step = (rails[1] - rails[0]) >> 2
        self._wild = 0
        self.floating = False
        self.raw = -1
        Reading.__init__(self)
        # calibration on the rig (rig.calibrate_flow): value = (conv - offset) * gain_e4 / 10000

    def use_u16(self, u16cal):
        # from now on mV from read_u16() through this two-point line (see __init__)
        if u16cal[2] == u16cal[0]:
            raise ValueError("ADC_U16_CAL points need different counts")
        self._ua = u16cal[0]
        self._ma = u16cal[1]
        self._un = u16cal[3] - u16cal[1]
        self._ud = u16cal[2] - u16cal[0]
        self._u16cal = u16cal

    def set_cal(self, cal):
        if cal[2] == cal[0]:
            raise ValueError("calibration points need different raw values")
        self._raw_a = cal[0]
        self._val_a = cal[1]
        self._num = cal[3] - cal[1]
        self._den = cal[2] - cal[0]

    def read(self):
        try:
            if self._u16cal is not None:
                u = self._adc.read_u16()
                raw = self._ma + (u - self._ua) * self._un // self._ud if isinstance(u, int) else u
            elif self._mv:
                raw = self._adc.read_uv() // 1000
            else:
                raw = self._adc.read_u16()
        except OSError:
            return self._fail(BUS)
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:  # a driver must never raise into the tick
            return self._fail(NAN)
        if raw is None:            # an external converter that is not answering
            return self._fail(BUS)
        if not isinstance(raw, int):
            return self._fail(NAN)
        if self._wild_on:
            d = raw - self.raw
            w = self._wild - (self._wild >> 4)
            if self.raw >= 0 and (d > self._wild_step or d < -self._wild_step):
                w += _WILD_UP
            self._wild = w
            self.floating = w >= (_WILD_OFF if self.floating else _WILD_ON)
        self.raw = raw
        if self.floating:
            self._pl.reset()
            return self._fail(NOISY)
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
