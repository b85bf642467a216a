# Line clamp (solenoid or clamp driver input) on the return line, after the bubble detector.
from machine import Pin


class Clamp:
    def __init__(self, pin_id, closed_level=1):
        self._closed = closed_level
        self._opened = 1 - closed_level
        # boot with the clamp open: closing a line at power-up is itself a hazard (VA: no support)
        self._pin = Pin(pin_id, Pin.OUT, value=self._opened)
        self.closed = False

    def close(self):
        # called from the air/e-stop hard IRQ
        self._pin.value(self._closed)
        self.closed = True

    def open(self):
        self._pin.value(self._opened)
        self.closed = False
