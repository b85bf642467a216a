# Both board files build a working rig on the fake machine, each with its port's quirks:
# the ESP32 port's Pin.irq() rejects hard=, so its air/e-stop handlers fall back to soft IRQs.
import fwtmp
import machine
import devices
import board_esp32
import board_pico
from ecmo.rig import Rig
from ecmo.safety.supervisor import RUN, STOP

SETTINGS = fwtmp.path("boards.json")


def _world(board):
    for bus in board.I2C:
        machine.sim_i2c_attach(bus, 0x28, devices.HoneywellABP(-517.1, 517.1))
    machine.sim_pin(board.ESTOP["pin"]).drive(0)
    machine.sim_pin(board.BUBBLE["pin"]).drive(0)
    for name in ("p1", "flow"):
        spec = board.SENSORS[name]
        ra, va, rb, vb = spec["cal"]
        mid = (ra + rb) // 2
        if getattr(board, "ADC_MV", False):
            machine.sim_adc(spec["adc"]).uv = mid * 1000
        else:
            machine.sim_adc(spec["adc"]).u16 = mid


def _fresh():
    from ecmo import settings as S
    S.clear_latch(SETTINGS)       # an air stop recorded on "flash" by the last run (issue #12)
    try:
        import os
        os.remove(SETTINGS)
    except OSError:
        pass


def _run(board):
    _fresh()
    _world(board)
    rig = Rig(board, SETTINGS)
    rig.start()
    rig.set_rpm(2500)
    rig.run()
    for _ in range(50):
        machine.sim_advance_us(10000)
    assert rig.loop.errors == 0, repr(rig.loop.last_error)
    assert rig.sup.state == RUN and machine.sim_pwm(board.PUMP["pwm"]).duty_u16 > 0
    return rig


def test_pico_rig_uses_hard_irqs():
    rig = _run(board_pico)
    assert rig.bubble.hard_irq and rig.estop.hard_irq


def test_esp32_rig_builds_with_soft_pin_irqs_and_still_stops_on_air():
    # regression: hard=True made Pin.irq raise TypeError on ESP32, and the rig never booted
    machine.sim_port("esp32")
    rig = _run(board_esp32)
    assert not rig.bubble.hard_irq and not rig.estop.hard_irq
    machine.sim_pin(board_esp32.BUBBLE["pin"]).drive(1)
    machine.sim_advance_us(10000)
    assert rig.sup.state == STOP
    assert machine.sim_pwm(board_esp32.PUMP["pwm"]).duty_u16 == 0


def test_the_watchdog_outlasts_the_longest_flash_stall():
    # a save() that takes the flash's worst case must not reset the board (a VA pump restart)
    for b in (board_pico, board_esp32):
        assert b.WDT_TIMEOUT_MS >= b.FLASH_STALL_MAX_MS + 2 * 1000 // b.TICK_HZ, b.NAME
