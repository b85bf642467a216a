# Air-bubble detectors. The digital one latches in a hard IRQ and calls the safety trip at once,
# so the pump stops before the next tick; the tick reads the level and the latch.
from machine import Pin
from time import ticks_ms
from ecmo.drivers.status import OK


class DigitalBubble:
    # CMOS wet/dry output (e.g. Sensortechnics AD8/AD9): active_level is the "air" level.
    def __init__(self, pin_id, active_level=1, on_air=None):
        self._active = active_level
        self._on_air = on_air        # a bound method made once by the wiring, called from the IRQ
        self.latched = False
        self.events = 0
        self.t_ms = 0                # when air was last seen: for the travel-time to the patient
        self.air = False
        self.value = 0
        self.status = OK
        self.faults = 0
        self._pin = Pin(pin_id, Pin.IN)
        trig = Pin.IRQ_RISING if active_level else Pin.IRQ_FALLING
        self._pin.irq(handler=self._irq, trigger=trig, hard=True)

    def _irq(self, _pin):
        # hard IRQ: no allocation; ticks_ms returns a small int
        self.latched = True
        self.events += 1
        self.t_ms = ticks_ms()
        if self._on_air is not None:
            self._on_air()

    def read(self):
        self.air = self._pin.value() == self._active
        if self.air and not self.latched:
            # an edge the IRQ missed (present at boot, or glitch): latch and trip from the tick
            self.latched = True
            self.events += 1
            self.t_ms = ticks_ms()
            if self._on_air is not None:
                self._on_air()
        self.value = 1 if self.air else 0
        return OK

    def clear(self):
        # only the supervisor calls this, and only when the detector reads clear
        self.latched = False


class AnalogBubble:
    # Ultrasonic detector with an analog amplitude output: air when the reading crosses threshold.
    # `sensor` is an AnalogSensor in arbitrary units (counts or mV); polled, latched in the tick.
    def __init__(self, sensor, threshold, air_above=True, on_air=None):
        self._s = sensor
        self._thr = threshold
        self._above = air_above
        self._on_air = on_air
        self.latched = False
        self.events = 0
        self.t_ms = 0
        self.air = False
        self.value = 0
        self.status = OK
        self.faults = 0

    def read(self):
        st = self._s.read()
        self.status = st
        if st:
            self.faults += 1
            return st
        v = self._s.value
        self.air = v > self._thr if self._above else v < self._thr
        self.value = 1 if self.air else 0
        if self.air and not self.latched:
            self.latched = True
            self.events += 1
            self.t_ms = ticks_ms()
            if self._on_air is not None:
                self._on_air()
        return OK

    def clear(self):
        self.latched = False
