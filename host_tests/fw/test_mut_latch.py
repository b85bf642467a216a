# drivers/latch.py through the detectors that share it (mutation run, docs/mutation.md): the
# pump-enable cut written first in the IRQ, and the hardware edge counter that latches an
# event whose soft IRQ never ran (issue #20), counted as missed; clear() forgets old edges.
import machine
from ecmo.drivers.bubble import DigitalBubble
from ecmo.drivers.estop import EStop


class _Count:
    def __init__(self, n=0):
        self.n = n

    def value(self):
        return self.n


class _Pin:
    # an input that fires no IRQ: only the tick (read) and the counter see it
    def __init__(self, level=0):
        self.level = level

    def value(self):
        return self.level

    def irq(self, handler=None, trigger=0, hard=False):
        self.handler = handler
        return None


def detectors():
    for make in (DigitalBubble, EStop):
        yield make


def test_the_irq_writes_the_cut_level_first_then_latches():
    for make in detectors():
        order = [0, 0, 0, 0]       # preallocated: the handlers run with the heap locked
        n = [0]

        def cut(v):
            order[n[0]] = 10 + v
            n[0] += 1

        def trip():
            order[n[0]] = 99
            n[0] += 1

        d = make(machine.Pin(16, machine.Pin.IN), 1, trip, (cut, 0))
        machine.sim_pin(16).drive(0)
        machine.sim_pin(16).drive(1)
        assert order == [10, 99, 0, 0] and d.latched and d.events == 1, make
        machine.sim_reset()


def test_the_cut_level_is_the_one_given():
    got = [None]

    def cut(v):
        got[0] = v

    d = EStop(machine.Pin(16, machine.Pin.IN), 1, None, (cut, 1))
    machine.sim_pin(16).drive(0)
    machine.sim_pin(16).drive(1)
    assert got == [1] and d.latched


def test_a_counted_edge_the_irq_missed_latches_at_the_next_read():
    for make in detectors():
        trips, cuts = [], []
        cnt = _Count(5)
        pin = _Pin(0)
        d = make(pin, 1, lambda: trips.append(1), (cuts.append, 0), cnt)
        d.read()
        assert not d.latched and d.missed == 0 and trips == [], make
        cnt.n = 6                           # air came and went between two ticks
        d.read()
        assert d.latched and d.missed == 1 and trips == [1] and cuts == [0], make
        assert d.events == 1
        cnt.n = 7
        d.read()                            # already latched: not counted again
        assert d.missed == 1 and trips == [1], make
        d.clear()                           # the edges so far belong to the released stop
        d.read()
        assert not d.latched and d.missed == 1, make
        cnt.n = 8
        d.read()
        assert d.latched and d.missed == 2, make


def test_a_counter_starting_anywhere_is_not_an_edge():
    for make in detectors():
        d = make(_Pin(0), 1, None, None, _Count(123456))
        for _ in range(3):
            d.read()
        assert not d.latched and d.missed == 0, make


def test_without_a_counter_or_a_cut_nothing_extra_happens():
    for make in detectors():
        d = make(_Pin(0), 1, None)
        d.read()
        d.clear()
        assert not d.latched and d.missed == 0 and d.events == 0, make
