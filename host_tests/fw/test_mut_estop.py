# drivers/estop.py: the e-stop input through its public face (mutation run, docs/mutation.md):
# the edge latches in the IRQ, read() catches a press the IRQ missed, both active levels.
import machine
from ecmo import wiring as W


def test_estop_press_latches_in_the_irq_and_read_reports_it():
    hits = []
    e = W.estop({"pin": 17, "active_level": 1}, lambda: hits.append(1))
    pin = machine.sim_pin(17)
    pin.drive(0)                     # closed contact: not pressed
    assert e.read() == 0 and e.active is False and not e.present() and not e.latched
    assert hits == [] and e.events == 0
    pin.drive(1)                     # pressed: the rising edge fires the latch at once
    assert e.latched and hits == [1] and e.events == 1 and e.present()
    assert e.active is False         # the level itself is refreshed by the next read
    assert e.read() == 0 and e.active is True
    assert hits == [1]               # already latched: read does not fire it again
    pin.drive(0)
    e.read()
    assert e.active is False and e.latched      # released: the latch holds until clear()
    e.clear()
    e.read()
    assert not e.latched and hits == [1]


def test_estop_pressed_at_boot_is_caught_by_read():
    machine.sim_pin(17).drive(1)
    hits = []
    e = W.estop({"pin": 17, "active_level": 1}, lambda: hits.append(1))
    assert not e.latched
    e.read()
    assert e.latched and e.active and hits == [1]


def test_estop_unwired_input_reads_as_pressed():
    # nothing drives the pin: the pull toward "pressed" makes a cut wire stop the pump
    hits = []
    e = W.estop({"pin": 17, "active_level": 1}, lambda: hits.append(1))
    e.read()
    assert e.active and e.latched and hits == [1]


def test_estop_active_low_latches_on_the_falling_edge():
    hits = []
    e = W.estop({"pin": 17, "active_level": 0}, lambda: hits.append(1))
    pin = machine.sim_pin(17)
    pin.drive(1)
    e.read()
    assert not e.active and not e.latched and hits == []
    pin.drive(0)
    assert e.latched and hits == [1] and e.present()
    e.read()
    assert e.active


def test_estop_reads_not_pressed_before_its_first_read():
    # mutants: `self.active = False` removed / True in the constructor (status shown before
    # the first tick said "pressed", or raised)
    e = W.estop({"pin": 17, "active_level": 1}, None)
    assert e.active is False and not e.latched and e.events == 0
