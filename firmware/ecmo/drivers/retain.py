# Two words that survive a reset but not a power cycle: the operator's live intent (running or
# not, VA or VV, control mode and setpoint) and whether the coming reset was asked for. They tell
# an unexpected reset (watchdog, crash) from a deliberate one on every port (on rp2
# machine.reset() itself reboots through the watchdog, so reset_cause() cannot), and let the
# rig come back as it was running, not as it was last saved. Written only on operator actions,
# never from the tick, and never to flash (a flash write blocks interrupts, the air IRQ with them).
#   rp2:   watchdog SCRATCH0..1 (RP2040 datasheet 4.7: scratch registers persist through the
#          watchdog reset; the SDK's watchdog_reboot uses SCRATCH4..7 only)
#   esp32: RTC slow memory (machine.RTC().memory())
import machine
from micropython import const

_RP2_SCRATCH0 = const(0x4005800C)   # WATCHDOG_BASE 0x40058000 + SCRATCH0 offset 0x0c
_RP2_SCRATCH1 = const(0x40058010)
_MAGIC = const(0xEC31)               # upper 16 bits of the flags word: written by us
RUN = const(1)                       # the operator wants the pump running
ASKED = const(2)                     # the next reset was asked for (deploy, halt, rig.reboot())
VA = const(4)                        # the live profile is VA (else VV)
FLOW = const(8)                      # the live control mode is flow (else RPM)


class Retained:
    def __init__(self, kind):
        if kind not in ("rp2_scratch", "esp32_rtc", None):
            raise ValueError("retain kind: 'rp2_scratch', 'esp32_rtc' or None")
        self._kind = kind

    def get(self):
        # (flags, setpoint) or None if nothing valid survived (power-on, or never written);
        # setpoint is mL/min in flow mode, RPM in RPM mode
        w = sp = 0
        if self._kind == "rp2_scratch":
            w = machine.mem32[_RP2_SCRATCH0]
            sp = machine.mem32[_RP2_SCRATCH1]
        elif self._kind == "esp32_rtc":
            m = machine.RTC().memory()
            if len(m) >= 8:
                w = m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3]
                sp = m[4] << 24 | m[5] << 16 | m[6] << 8 | m[7]
        if w >> 16 != _MAGIC or sp > 0xFFFF:
            return None
        return w & 0xFFFF, sp

    def put(self, flags, setpoint=0):
        w = _MAGIC << 16 | flags
        sp = setpoint & 0xFFFF
        if self._kind == "rp2_scratch":
            machine.mem32[_RP2_SCRATCH1] = sp
            machine.mem32[_RP2_SCRATCH0] = w
        elif self._kind == "esp32_rtc":
            machine.RTC().memory(bytes((w >> 24 & 0xFF, w >> 16 & 0xFF, w >> 8 & 0xFF, w & 0xFF,
                                        0, 0, sp >> 8, sp & 0xFF)))
