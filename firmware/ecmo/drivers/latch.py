# The stop latch the air detectors and the e-stop share: set once the input fires (in its hard
# IRQ, or by read() for an edge the IRQ missed), cleared only by the supervisor's restart.
# Nothing here allocates: it runs in a hard IRQ on rp2.


class Latch:
    # cut: (pin, level) the IRQ handler writes first, before anything else: the pump enable at
    # its off level (issue #14: the stop is one pin write; the latch, the PWM, the clamp and the
    # retained word follow). None: no pin (a detector tested on its own).
    # count: a hardware edge counter on the same input (ESP32 machine.Counter, PCNT): it counts
    # every edge toward the active level in hardware, so an event whose soft IRQ the full
    # scheduler queue dropped still latches at the next tick (issue #20).
    def __init__(self, on_trip, cut=None, count=None):
        self._on_trip = on_trip      # a bound method made once by the wiring: calling it allocates nothing
        self._cut = cut[0] if cut is not None else None
        self._cut_off = cut[1] if cut is not None else 0
        self._count = count
        self._counted = count.value() if count is not None else 0
        self.latched = False
        self.events = 0              # times it fired; the restart check compares it with the ack
        self.missed = 0              # events the counter saw and the IRQ did not (dropped, late)

    def _first(self):
        # the pump enable off: called first thing in the IRQ handler
        c = self._cut
        if c is not None:
            c(self._cut_off)

    def _counted_edge(self):
        # from the tick: True if the hardware counted an edge since the last look
        c = self._count
        if c is None:
            return False
        n = c.value()
        if n == self._counted:
            return False
        self._counted = n
        return True

    def _latch(self):
        self.latched = True
        # bounded: a chattering input must not allocate here. `(e + 1) & mask` would not do: at
        # 2^30 - 1 the sum is a long int on a board (its small ints end there), a MemoryError
        # in this hard IRQ before the trip below
        e = self.events
        self.events = e + 1 if e < 0x3FFFFFFF else 0
        if self._on_trip is not None:
            self._on_trip()

    def clear(self):
        # only the supervisor calls this, and only when the input reads clear. Edges counted and
        # not yet seen by a tick stay counted: one whose IRQ was dropped latches again at the
        # next tick (the ticks before the operator's restart have taken the older ones)
        self.latched = False
