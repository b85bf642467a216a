# Emergency-stop input. Wire it normally-closed to ground with a pull-up, active_level=1:
# a pressed button or a cut wire both read 1 and stop the pump.
from machine import Pin
from ecmo.drivers import pins
from ecmo.drivers.latch import Latch


class EStop(Latch):
    # pin: an input with its pull toward "pressed" (the wiring makes it so); cut, count: see
    # drivers/latch.py (the pump enable written first; the ESP32's hardware edge counter)
    def __init__(self, pin, active_level=1, on_stop=None, cut=None, count=None):
        Latch.__init__(self, on_stop, cut, count)
        self._active = active_level
        self.active = False
        self._pin = pin
        trig = Pin.IRQ_RISING if active_level else Pin.IRQ_FALLING
        self.hard_irq = pins.irq(self._pin, self._irq, trig)

    def _irq(self, _pin):
        c = self._cut
        if c is not None:
            c(self._cut_off)     # first: the pump enable off, one pin write (issue #14)
        self._latch()

    def read(self):
        self.active = self._pin.value() == self._active
        if self._counted_edge() and not self.latched:
            self.missed += 1     # pressed and released between ticks, its soft IRQ dropped
            self._first()
            self._latch()
        if self.active and not self.latched:
            self._latch()    # an edge the IRQ missed (pressed at boot, or a glitch)
        return 0

    def present(self):
        # pressed (or wire cut) right now
        return self._pin.value() == self._active
