# drivers/bubble.py and drivers/latch.py: what the mutation run (docs/mutation.md) showed no
# test pinned down. Each test names the mutants it kills.
import machine
from ecmo.drivers import status as S
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.bubble import AnalogBubble
from ecmo import wiring as W


def amp(u16):
    machine.sim_adc(28).u16 = u16


def sensor():
    # 0..1000 units over the ADC span; rails just inside it so an open wire is reachable
    return AnalogSensor(machine.ADC(28), (0, 0, 65535, 1000), (100, 65500), (-1, 1001))


def u16_of(v):
    return v * 65535 // 1000 + 1    # a raw that converts to exactly v units


def test_analog_bubble_reports_no_air_before_its_first_read():
    # mutants: `self.air = False` removed / set True in the detector's constructor
    b = AnalogBubble(sensor(), 600)
    assert b.air is False and b.present() is False and not b.latched


def test_analog_bubble_at_the_threshold_is_not_air_either_way():
    # mutants: `v > thr` -> `>=`, `v < thr` -> `<=`
    a = sensor()
    amp(u16_of(600))
    a.read()
    assert a.value == 600
    hits = []
    above = AnalogBubble(sensor(), 600, True, lambda: hits.append(1))
    below = AnalogBubble(sensor(), 600, False, lambda: hits.append(2))
    assert above.read() == S.OK and below.read() == S.OK
    assert not above.air and not below.air and hits == []
    amp(u16_of(601))
    above.read()
    below.read()
    assert above.air and not below.air and hits == [1]
    amp(u16_of(599))
    below.read()
    assert below.air and below.latched and hits == [1, 2]


def test_analog_bubble_air_above_is_the_default():
    # mutant: the default air_above=True -> False
    b = AnalogBubble(sensor(), 600)
    amp(u16_of(900))
    b.read()
    assert b.air and b.latched


def test_analog_bubble_value_status_and_return_code():
    # mutants: `self.value = ...` removed, `self.status = OK` removed, `return OK` -> None,
    # `return self._fail(st)` -> None
    hits = []
    b = AnalogBubble(sensor(), 600, True, lambda: hits.append(1))
    amp(u16_of(300))
    assert b.read() == S.OK and b.value == 0 and b.status == S.OK
    amp(50)                                 # below the open rail: broken wire
    assert b.read() == S.OPEN and b.status == S.OPEN and b.faults == 1
    amp(u16_of(800))
    assert b.read() == S.OK and b.status == S.OK and b.value == 1 and b.present()
    assert hits == [1]


def test_analog_bubble_without_air_never_fires_the_trip():
    # mutant: `air and not latched` -> `air or not latched` (a clear reading fired the trip)
    hits = []
    b = AnalogBubble(sensor(), 600, True, lambda: hits.append(1))
    amp(u16_of(100))
    for _ in range(5):
        b.read()
    assert hits == [] and not b.latched and b.events == 0
    amp(u16_of(700))
    b.read()
    b.read()
    assert hits == [1] and b.events == 1      # latched once, not again while latched
    b.clear()
    amp(u16_of(100))
    b.read()
    assert not b.latched and hits == [1]
    assert not b.present()


def test_digital_bubble_read_value_and_return_code():
    # mutants: `self.value = 1 if air else 0` removed, `return OK` -> None
    b = W.digital_bubble({"pin": 16, "active_level": 1}, None)
    machine.sim_pin(16).drive(0)
    assert b.read() == S.OK and b.value == 0 and not b.air
    machine.sim_pin(16).drive(1)
    assert b.read() == S.OK and b.value == 1 and b.air and b.latched


def test_latch_event_count_is_bounded_and_counts_each_firing():
    # latch.py: the events counter (the restart check compares it with the ack)
    b = W.digital_bubble({"pin": 16, "active_level": 1}, None)
    machine.sim_pin(16).drive(0)
    b.read()
    assert b.events == 0
    machine.sim_pin(16).drive(1)
    assert b.events == 1 and b.latched     # the IRQ on the rising edge
    b.clear()
    machine.sim_pin(16).drive(0)
    machine.sim_pin(16).drive(1)
    assert b.events == 2
    b.events = 0x3FFFFFFF
    b._latch()
    assert b.events == 0                   # wraps inside a small int, never allocates
