# A word that survives a reset but not a power cycle: the operator's live intent (running or
# not, VA or VV, control mode and setpoint, a latched air/e-stop stop, unsaved changes) and
# whether the coming reset was asked for. It tells an unexpected reset (watchdog, crash) from a
# deliberate one on every port (on rp2 machine.reset() itself reboots through the watchdog, so
# reset_cause() cannot), and lets the rig come back as it was running, not as it was last saved.
# Never on flash (a flash write blocks interrupts, the air IRQ with them).
#   rp2:   watchdog SCRATCH0..1 (RP2040 datasheet 4.7: scratch registers persist through the
#          watchdog reset; the SDK's watchdog_reboot uses SCRATCH4..7 only)
#   esp32: RTC slow memory (machine.RTC().memory())
# One 32-bit word holds magic, flags and setpoint, so a reset can never tear them apart; the
# second holds the sweep setpoint and the pressure / zero-flow mode byte (mode()). The
# magic keeps the top two bits clear: rp2's mem32 returns a signed int, and a word below 2**30
# stays a small int (no allocation when the tick sets a flag).
import machine
from micropython import const

_RP2_SCRATCH0 = const(0x4005800C)   # WATCHDOG_BASE 0x40058000 + SCRATCH0 offset 0x0c
_RP2_SCRATCH1 = const(0x40058010)
_MAGIC = const(0x2A)                 # bits 31..24 of the main word
_MAGIC_SWEEP = const(0x15)           # bits 31..24 of the sweep word
RUN = const(1)                       # the operator wants the pump running
ASKED = const(2)                     # the next reset was asked for (deploy, halt, rig.reboot())
VA = const(4)                        # the live profile is VA (else VV)
FLOW = const(8)                      # the live control mode is flow (else RPM)
STOP_AIR = const(16)                 # a latched air stop not yet released
STOP_ESTOP = const(32)               # a latched e-stop stop not yet released
DIRTY = const(64)                    # live settings differ from the saved ones
CLAMP = const(128)                   # the operator has the return line clamped (weaning)
_NO_SWEEP = const(0xFFFF)            # the sweep field when the rig has no gas side


class Retained:
    def __init__(self, kind):
        if kind not in ("rp2_scratch", "esp32_rtc", None):
            raise ValueError("retain kind: 'rp2_scratch', 'esp32_rtc' or None")
        self._kind = kind
        self._rtc = machine.RTC() if kind == "esp32_rtc" else None
        # ESP32: reading RTC memory makes a new bytes object, so add() (the tick's and the
        # IRQ's, which may run with the heap locked: ecmo/loop.py) works on the words this
        # object last read or wrote (it is the rig's only writer) and writes them from a
        # preallocated buffer
        self._buf = bytearray(8)
        self._cw = 0
        self._cs = 0
        if self._rtc is not None:
            self._words()

    def _words(self):
        if self._kind == "rp2_scratch":
            return machine.mem32[_RP2_SCRATCH0], machine.mem32[_RP2_SCRATCH1]
        rtc = self._rtc
        w = s = 0
        if rtc is not None:
            m = rtc.memory()
            if len(m) >= 8:
                w = m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3]
                s = m[4] << 24 | m[5] << 16 | m[6] << 8 | m[7]
            self._cw = w
            self._cs = s
        return w, s

    def _write(self, w, s):
        if self._kind == "rp2_scratch":
            machine.mem32[_RP2_SCRATCH1] = s
            machine.mem32[_RP2_SCRATCH0] = w
        elif self._rtc is not None:
            b = self._buf
            b[0] = w >> 24 & 0xFF
            b[1] = w >> 16 & 0xFF
            b[2] = w >> 8 & 0xFF
            b[3] = w & 0xFF
            b[4] = s >> 24 & 0xFF
            b[5] = s >> 16 & 0xFF
            b[6] = s >> 8 & 0xFF
            b[7] = s & 0xFF
            self._rtc.memory(b)
            self._cw = w
            self._cs = s

    def get(self):
        # (flags, setpoint, sweep_mlpm or None), or None if nothing valid survived (power-on,
        # never written); setpoint is mL/min in flow mode, RPM in RPM mode (mode() for the others)
        w, s = self._words()
        if w >> 24 != _MAGIC:
            return None
        sweep = s & 0xFFFF if s >> 24 == _MAGIC_SWEEP else None
        return w >> 16 & 0xFF, w & 0xFFFF, None if sweep == _NO_SWEEP else sweep

    def mode(self):
        # the mode byte of the second word: 0, or the pressure / zero-flow mode (bits 0-1) and
        # the mode it returns to (bits 2-3); 0 when nothing valid survived
        w, s = self._words()
        if w >> 24 != _MAGIC or s >> 24 != _MAGIC_SWEEP:
            return 0
        return s >> 16 & 0xFF

    def put(self, flags, setpoint, sweep_mlpm=None, mode=0):
        w = _MAGIC << 24 | (flags & 0xFF) << 16 | (setpoint & 0xFFFF)
        sw = _NO_SWEEP if sweep_mlpm is None else sweep_mlpm & 0xFFFF
        self._write(w, _MAGIC_SWEEP << 24 | (mode & 0xFF) << 16 | sw)

    def add(self, flag):
        # From the air / e-stop IRQ (safety/trip.py), or the tick's poll of those pins: a read
        # and a store of small ints, nothing allocated (rp2: a hard IRQ; both ports: a tick
        # runs with the heap locked).
        if self._kind == "rp2_scratch":
            w = machine.mem32[_RP2_SCRATCH0]
            if w >> 24 == _MAGIC:
                machine.mem32[_RP2_SCRATCH0] = w | flag << 16
            return
        w = self._cw
        if w >> 24 == _MAGIC:
            self._write(w | flag << 16, self._cs)
