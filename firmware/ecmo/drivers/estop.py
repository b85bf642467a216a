# Emergency-stop input. Wire it normally-closed to ground with a pull-up, active_level=1:
# a pressed button or a cut wire both read 1 and stop the pump.
from machine import Pin
from ecmo.drivers import pins
from time import ticks_ms


class EStop:
    def __init__(self, pin_id, active_level=1, on_stop=None):
        self._active = active_level
        self._on_stop = on_stop
        self.latched = False
        self.active = False
        self.events = 0
        self.t_ms = 0
        self._pin = Pin(pin_id, Pin.IN, Pin.PULL_UP if active_level else Pin.PULL_DOWN)
        trig = Pin.IRQ_RISING if active_level else Pin.IRQ_FALLING
        self.hard_irq = pins.irq(self._pin, self._irq, trig)

    def _irq(self, _pin):
        self.latched = True
        self.events = (self.events + 1) & 0x3FFFFFFF   # bounded: stays a small int
        self.t_ms = ticks_ms()
        if self._on_stop is not None:
            self._on_stop()

    def read(self):
        self.active = self._pin.value() == self._active
        if self.active and not self.latched:
            self.latched = True
            self.events = (self.events + 1) & 0x3FFFFFFF
            self.t_ms = ticks_ms()
            if self._on_stop is not None:
                self._on_stop()
        return 0

    def present(self):
        # pressed (or wire cut) right now
        return self._pin.value() == self._active

    def clear(self):
        self.latched = False
