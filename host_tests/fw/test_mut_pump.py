# drivers/pump.py to the edge (mutation run, docs/mutation.md): what drive() leaves in duty_u16
# with the enable off, the tach's 0.3 s stall limit at its exact edge (pulses and no pulses),
# two falling edges in the same microsecond, and read()'s OK.
import machine
from ecmo import wiring as W
from test_drivers import pulses

_PUMP = {"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2}


def pump():
    return W.pump(_PUMP, 5000)


def test_duty_u16_is_what_the_pwm_has_and_zero_with_the_enable_off():
    p = pump()
    assert p.duty_u16 == 0 and p.rpm_cmd == 0
    p.drive(2500, True)
    assert p.duty_u16 == machine.sim_pwm(15).duty_u16 == 32767 and p.rpm_cmd == 2500
    p.drive(3000, False)                      # a speed with the enable off: nothing goes out
    assert p.duty_u16 == machine.sim_pwm(15).duty_u16 == 0 and p.rpm_cmd == 0
    assert machine.sim_pin(14).level == 0 and not p.enabled


def test_read_says_ok():
    p = pump()
    assert p.read() == 0
    pulses(5, 10000, p.read)
    assert p.read() == 0


def test_a_gap_of_exactly_the_stall_limit_starts_the_clock_again():
    # 300 ms between pulses is a stall (no speed from it); 1 us less is 100 RPM
    p = pump()
    pulses(1, 1000)                           # the first pulse only starts the clock
    pulses(1, 300000)
    p.read()
    assert p.rpm == 0, p.rpm
    pulses(1, 299999)
    p.read()
    assert p.rpm == 100, p.rpm


def test_no_pulse_for_exactly_the_stall_limit_keeps_the_speed_one_more_us_drops_it():
    p = pump()
    pulses(20, 10000, p.read)                 # 3000 RPM
    machine.sim_advance_us(300000)
    p.read()
    assert p.rpm == 3000, p.rpm
    machine.sim_advance_us(1)
    p.read()
    assert p.rpm == 0


def test_two_edges_in_the_same_microsecond_are_not_a_speed():
    # a bounce with no time between the edges: no period, no division by it
    p = pump()
    pulses(10, 10000, p.read)
    pin = machine.sim_pin(13)
    pin.drive(0)
    pin.drive(1)
    pin.drive(0)
    pin.drive(1)
    p.read()
    assert p.rpm == 3000, p.rpm
