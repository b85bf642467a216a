# Air-bubble detectors. The digital one latches in a hard IRQ and calls the safety trip at once,
# so the pump stops before the next tick; the tick reads the level and the latch.
from machine import Pin
from ecmo.drivers import pins
from ecmo.drivers.latch import Latch
from ecmo.drivers.status import Reading, OK


class _Detector(Reading, Latch):
    # a reading (air 1/0, with its validity) and the stop latch
    def __init__(self, on_air, cut=None, count=None):
        Reading.__init__(self)
        Latch.__init__(self, on_air, cut, count)
        self.air = False


class DigitalBubble(_Detector):
    # CMOS wet/dry output (e.g. Sensortechnics AD8/AD9): active_level is the "air" level.
    # The input is pulled toward "air": a cut or unplugged detector stops the pump like air
    # would, rather than leaving the air interlock silently blind (a digital output has no
    # other way to say it is gone).
    # pin: an input pulled toward the "air" level (the wiring makes it so); cut, count: see
    # drivers/latch.py (the pump enable written first; the ESP32's hardware edge counter)
    def __init__(self, pin, active_level=1, on_air=None, cut=None, count=None):
        _Detector.__init__(self, on_air, cut, count)
        self._active = active_level
        self._pin = pin
        trig = Pin.IRQ_RISING if active_level else Pin.IRQ_FALLING
        self.hard_irq = pins.irq(self._pin, self._irq, trig)

    def _irq(self, _pin):
        c = self._cut
        if c is not None:
            c(self._cut_off)     # first: the pump enable off, one pin write (issue #14)
        self._latch()

    def present(self):
        # air at the detector right now (REPL side: the restart check must not use the last tick)
        return self._pin.value() == self._active

    def read(self):
        self.air = self._pin.value() == self._active
        if self._counted_edge() and not self.latched:
            # air came and went since the last tick and its soft IRQ never ran (ESP32: the
            # scheduler's queue was full): the hardware counter saw it
            self.missed += 1
            self._first()
            self._latch()
        if self.air and not self.latched:
            self._latch()    # an edge the IRQ missed (air present at boot, or a glitch)
        self.value = 1 if self.air else 0
        return OK


class AnalogBubble(_Detector):
    # Ultrasonic detector with an analog amplitude output: air when the reading crosses threshold.
    # `sensor` is an AnalogSensor in arbitrary units (counts or mV); polled, latched in the tick.
    def __init__(self, sensor, threshold, air_above=True, on_air=None):
        _Detector.__init__(self, on_air)
        self._s = sensor
        self._thr = threshold
        self._above = air_above

    def read(self):
        st = self._s.read()
        if st:
            return self._fail(st)
        self.status = OK
        v = self._s.value
        self.air = v > self._thr if self._above else v < self._thr
        self.value = 1 if self.air else 0
        if self.air and not self.latched:
            self._latch()
        return OK

    def present(self):
        return self.air
