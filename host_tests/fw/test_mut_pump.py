# drivers/pump.py to the edge (mutation run, docs/mutation.md): what drive() leaves in duty_u16
# with the enable off, the tach's 0.3 s stall limit at its exact edge (pulses and no pulses),
# two falling edges in the same microsecond, and read()'s OK.
import machine
from ecmo import wiring as W
from test_drivers import pulses
from ecmo.drivers.pump import Pump

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


def test_stop_leaves_nothing_of_the_run_behind():
    p = pump()
    p.drive(3000, True)
    pulses(20, 10000, p.read)
    assert p.rpm == 3000 and p.enabled
    p.stop()
    assert p.duty_u16 == 0 and not p.enabled and p.rpm_cmd == 0 and p.rpm == 0
    assert machine.sim_pwm(15).duty_u16 == 0 and machine.sim_pin(14).level == 0


def test_after_a_stop_the_first_pulse_only_starts_the_clock():
    # a coasting rotor's pulse 50 ms after the stop is no speed: its gap spans the stop
    p = pump()
    p.drive(3000, True)
    pulses(20, 10000, p.read)
    p.stop()
    pulses(1, 50000)
    p.read()
    assert p.rpm == 0, p.rpm


def test_after_a_stall_the_first_pulse_is_no_speed_even_when_the_gap_wraps():
    # the loop saw the rotor stop (reads every 10 ms); the next pulse comes so much later that
    # ticks_us has wrapped and the gap reads 5 ms: it only starts the clock again
    p = pump()
    pulses(20, 10000, p.read)
    for _ in range(40):
        machine.sim_advance_us(10000)
        p.read()
    assert p.rpm == 0
    machine.sim_advance_us((1 << 30) - 400000 + 5000)
    pin = machine.sim_pin(13)
    pin.drive(0)
    pin.drive(1)
    p.read()
    assert p.rpm == 0, p.rpm


# ---- the ESP32's hardware counter (machine.Counter) ----

class _Count:
    def __init__(self):
        self.n = 0

    def value(self):
        return self.n


def counted(c):
    return Pump(machine.PWM(machine.Pin(15)), machine.Pin(14, machine.Pin.OUT),
                machine.Pin(13, machine.Pin.IN), 5000, 2, 1, c)


def reads(p, c, n, per_read, dt_us=10000):
    # n reads 10 ms apart, the counter moving per_read pulses between them
    for _ in range(n):
        machine.sim_advance_us(dt_us)
        c.n += per_read
        assert p.read() == 0


def test_counter_window_ends_at_32_pulses_or_50_reads():
    c = _Count()
    p = counted(c)
    reads(p, c, 60, 1)                  # 3000 RPM: a pulse a read
    assert p.rpm == 3000 and p.win == 32, (p.rpm, p.win)
    reads(p, c, 60, 2)                  # 6000 pulses/min: 16 reads hold 32 pulses
    assert p.win == 16, p.win
    c2 = _Count()
    p2 = counted(c2)
    for _ in range(120):                # 600 RPM: a pulse every 5 reads
        machine.sim_advance_us(10000)
        c2.n += 1 if p2._ci % 5 == 0 else 0
        p2.read()
    assert p2.win == 50, p2.win


def test_counter_silence_of_exactly_the_stall_limit_keeps_the_speed():
    c = _Count()
    p = counted(c)
    reads(p, c, 40, 1)
    reads(p, c, 30, 0)                  # 300 ms without a count: the window's mean, falling
    assert p.rpm > 0, p.rpm
    machine.sim_advance_us(1)
    assert p.read() == 0 and p.rpm == 0


def test_counter_after_a_stop_measures_a_fresh_window():
    c = _Count()
    p = counted(c)
    reads(p, c, 40, 2)                  # 6000 RPM
    p.stop()
    assert p.rpm == 0
    reads(p, c, 1, 1)                   # the first read only opens the new window
    assert p.rpm == 0, p.rpm
    reads(p, c, 1, 1)                   # one pulse in 10 ms: 3000 RPM, not the old window's
    assert p.rpm == 3000, p.rpm


def test_a_counter_glitch_faster_than_a_pulse_a_microsecond_is_no_speed():
    # 20,000 counts in 10 ms is no rotor (noise on the counter input): no period, no division
    c = _Count()
    p = counted(c)
    reads(p, c, 40, 1)
    reads(p, c, 1, 20000)
    assert p.rpm == 3000, p.rpm
