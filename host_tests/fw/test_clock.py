# The board's CPU clock, set by main.py before the rig (ecmo/early.py clock()): the core voltage
# first and only ever up, then the clock; a port that refuses it leaves the default running.
import machine
import board_esp32
import board_pico
from ecmo import early

ADDR, MASK, WANT = board_pico.CPU["vreg"]


def _fresh():
    machine.sim_reset()
    machine.mem32[ADDR] = 0xB1        # the regulator's reset value: 1.10 V, enabled


def test_pico_runs_at_its_board_clock_with_the_core_at_1_15_v():
    _fresh()
    assert early.clock(board_pico) == 200_000_000
    assert machine.freq() == 200_000_000
    assert machine.mem32[ADDR] & MASK == 0xC0          # VSEL 0b1100: 1.15 V
    assert machine.mem32[ADDR] & ~MASK & 0xFF == 0x01  # the enable and the rest kept


def test_the_voltage_is_raised_before_the_clock():
    _fresh()
    seen = []
    real = machine.freq

    def freq(hz=None):
        if hz is not None:
            seen.append(machine.mem32[ADDR] & MASK)
            return real(hz)
        return real()
    machine.freq = freq
    try:
        early.clock(board_pico)
    finally:
        machine.freq = real
    assert seen == [0xC0]


def test_a_higher_core_voltage_is_never_lowered():
    _fresh()
    machine.mem32[ADDR] = 0xD1        # 1.20 V, set by someone else
    early.clock(board_pico)
    assert machine.mem32[ADDR] & MASK == 0xD0


def test_a_board_already_at_its_clock_gets_its_voltage_all_the_same():
    # a clock set at the REPL and kept through a soft reset, on the default voltage
    _fresh()
    machine.freq(200_000_000)
    machine.mem32[ADDR] = 0xB1
    assert early.clock(board_pico) == 200_000_000
    assert machine.mem32[ADDR] & MASK == 0xC0


def test_a_soft_reset_at_the_clock_and_voltage_touches_nothing():
    _fresh()
    early.clock(board_pico)
    seen = []
    real = machine.freq

    def freq(hz=None):
        if hz is not None:
            seen.append(hz)
            return real(hz)
        return real()
    machine.freq = freq
    try:
        assert early.clock(board_pico) == 200_000_000
    finally:
        machine.freq = real
    assert seen == [] and machine.mem32[ADDR] & MASK == 0xC0


def test_a_refused_clock_leaves_the_default_running_and_says_so():
    _fresh()
    real = machine.freq

    def freq(hz=None):
        if hz is not None:
            raise ValueError("cannot change frequency")
        return real()
    machine.freq = freq
    try:
        got = early.clock(board_pico)
    finally:
        machine.freq = real
    assert got == machine.freq() and got != 200_000_000


def test_a_board_without_a_clock_setting_keeps_its_port_default():
    _fresh()
    machine.sim_port("esp32")
    f0 = machine.freq()
    assert early.clock(board_esp32) is None
    assert machine.freq() == f0


def test_after_a_watchdog_reset_the_clock_is_set_again():
    # the chip restarts at its default clock; the regulator word survives (as the fake's
    # retained words do): the clock comes back, the voltage is not touched again
    _fresh()
    early.clock(board_pico)
    machine.sim_reboot()
    assert machine.freq() != 200_000_000
    assert early.clock(board_pico) == 200_000_000
    assert machine.mem32[ADDR] & MASK == 0xC0
