# A word that survives a reset but not a power cycle: the operator's run/standby intent, and
# whether the coming reset was asked for. It tells an unexpected reset (watchdog, crash) from a
# deliberate one on every port: on rp2 machine.reset() itself reboots through the watchdog, so
# reset_cause() alone cannot. Written only on operator actions, never from the tick; no flash
# write (which would block interrupts, and so the air IRQ, for tens of ms).
#   rp2:   watchdog SCRATCH0 (RP2040 datasheet 4.7: scratch registers persist through the
#          watchdog reset; the SDK's watchdog_reboot uses SCRATCH4..7 only)
#   esp32: RTC slow memory (machine.RTC().memory())
import machine
from micropython import const

_RP2_SCRATCH0 = const(0x4005800C)   # WATCHDOG_BASE 0x40058000 + SCRATCH0 offset 0x0c
_MAGIC = const(0xEC30)               # upper 16 bits: this word was written by us
RUN = const(1)                       # the operator wants the pump running
ASKED = const(2)                     # the next reset was asked for (deploy, halt, rig.reboot())


class Retained:
    def __init__(self, kind):
        if kind not in ("rp2_scratch", "esp32_rtc", None):
            raise ValueError("retain kind: 'rp2_scratch', 'esp32_rtc' or None")
        self._kind = kind

    def get(self):
        # the flag bits, or None if nothing valid survived (power-on, or never written)
        w = 0
        if self._kind == "rp2_scratch":
            w = machine.mem32[_RP2_SCRATCH0]
        elif self._kind == "esp32_rtc":
            m = machine.RTC().memory()
            if len(m) >= 4:
                w = m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3]
        if w >> 16 != _MAGIC:
            return None
        return w & 0xFFFF

    def put(self, flags):
        w = _MAGIC << 16 | flags
        if self._kind == "rp2_scratch":
            machine.mem32[_RP2_SCRATCH0] = w
        elif self._kind == "esp32_rtc":
            machine.RTC().memory(bytes((w >> 24 & 0xFF, w >> 16 & 0xFF, w >> 8 & 0xFF, w & 0xFF)))
