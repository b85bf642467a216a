# The stop latch the air detectors and the e-stop share: set once the input fires (in its hard
# IRQ, or by read() for an edge the IRQ missed), cleared only by the supervisor's restart.
# Nothing here allocates: it runs in a hard IRQ on rp2.


class Latch:
    def __init__(self, on_trip):
        self._on_trip = on_trip      # a bound method made once by the wiring: calling it allocates nothing
        self.latched = False
        self.events = 0              # times it fired; the restart check compares it with the ack

    def _latch(self):
        self.latched = True
        self.events = (self.events + 1) & 0x3FFFFFFF   # bounded: a chattering input must not allocate here
        if self._on_trip is not None:
            self._on_trip()

    def clear(self):
        # only the supervisor calls this, and only when the input reads clear
        self.latched = False
