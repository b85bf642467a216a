# drivers/retain.py to the bit (mutation run, docs/mutation.md). The two retained words are a
# contract beyond one firmware build: the emulator harness (tools/emu) keeps exactly the
# watchdog's SCRATCH0 and SCRATCH1 across its restarts, as silicon does (RP2040 datasheet 4.7;
# SCRATCH4..7 belong to the SDK's watchdog_reboot), and a firmware deployed over a running rig
# reads the words the old one left. So the addresses and the layout are pinned here.
import machine
from ecmo.drivers import retain as R

_S0 = 0x4005800C
_S1 = 0x40058010


def test_the_words_sit_in_scratch0_and_scratch1_with_a_fixed_layout():
    r = R.Retained("rp2_scratch")
    r.put(R.RUN | R.ASKED | R.VA | R.FLOW | R.STOP_AIR | R.STOP_ESTOP | R.DIRTY | R.CLAMP,
          0x1234, 0x0567, 0x0B)
    assert machine.mem32[_S0] == 0x2AFF1234, hex(machine.mem32[_S0])
    assert machine.mem32[_S1] == 0x150B0567, hex(machine.mem32[_S1])
    r.put(R.VA, 2500)                          # no gas side: the sweep field says so
    assert machine.mem32[_S0] == 0x2A0409C4 and machine.mem32[_S1] == 0x1500FFFF


def test_each_flag_has_its_own_bit_of_the_word():
    r = R.Retained("rp2_scratch")
    for bit, flag in enumerate((R.RUN, R.ASKED, R.VA, R.FLOW, R.STOP_AIR, R.STOP_ESTOP,
                                R.DIRTY, R.CLAMP)):
        r.put(flag, 100)
        assert machine.mem32[_S0] == 0x2A000064 | 1 << (16 + bit), (bit, hex(machine.mem32[_S0]))


def test_words_an_earlier_build_left_are_read():
    machine.mem32[_S0] = 0x2A0D0FA0            # RUN | VA | FLOW, 4000 mL/min
    machine.mem32[_S1] = 0x150702BC            # zero-flow search back to flow, sweep 700 mL/min
    r = R.Retained("rp2_scratch")
    assert r.get() == (R.RUN | R.VA | R.FLOW, 4000, 700) and r.mode() == 7


def test_no_mode_survives_without_both_magics():
    r = R.Retained("rp2_scratch")
    machine.mem32[_S0] = 0
    machine.mem32[_S1] = 0x150702BC
    assert r.get() is None and r.mode() == 0
    machine.mem32[_S0] = 0x2A0D0FA0
    machine.mem32[_S1] = 0x000702BC            # the sweep word torn: no mode, no sweep
    assert r.mode() == 0 and r.get() == (R.RUN | R.VA | R.FLOW, 4000, None)
