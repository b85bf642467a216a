# TI ADS1115 16-bit I2C ADC: the gas side's analog inputs on a board short of ADC pins (Pico).
# One conversion per poll(), round-robin over the channels in use, so the tick never waits:
# poll() reads the conversion started last tick and starts the next channel's.
from micropython import const
from time import sleep_ms

# ADS1115 datasheet, Config register (8.6.3): OS | MUX | PGA | MODE | DR | COMP_QUE
_REG_CFG = const(0x01)
_OS_START = const(0x8000)
_MUX_AIN0_GND = const(0x4000)   # MUX 100..111: AINn against GND, n << 12 on top
_MODE_SINGLE = const(0x0100)
_DR_860SPS = const(0x00E0)      # 1.2 ms per conversion, well inside a 10 ms tick
_COMP_OFF = const(0x0003)
_PGA = {6144: 0, 4096: 1, 2048: 2, 1024: 3, 512: 4, 256: 5}   # full-scale mV -> PGA code


class _Channel:
    # What AnalogSensor expects from an ADC: read_u16() returns the last conversion of this
    # input in signed counts (full scale = fsr_mv), or None when the chip is not answering.
    # Not an exception: MicroPython appends a traceback to a re-raised instance on every raise,
    # which a silent chip would turn into a heap leak of ~50 B per read.
    def __init__(self, ads, i):
        self._ads = ads
        self._i = i

    def read_u16(self):
        a = self._ads
        if not a.ok or not a.valid[self._i]:
            return None
        return a.counts[self._i]


class ADS1115:
    def __init__(self, i2c, addr=0x48):
        self._i2c = i2c
        self._addr = addr
        self._ptr = bytearray(1)        # pointer byte: 0, the conversion register
        self._buf = bytearray(2)
        self._cfg = []                  # one 3-byte config write per channel, made once
        self.counts = []
        self.valid = []
        self._cur = -1                  # channel whose conversion is running
        self.ok = False
        self.faults = 0

    def channel(self, ain, fsr_mv=4096):
        if ain < 0 or ain > 3 or fsr_mv not in _PGA:
            raise ValueError("ADS1115 input 0..3, full scale one of %s mV" % sorted(_PGA))
        w = _OS_START | (_MUX_AIN0_GND + (ain << 12)) | (_PGA[fsr_mv] << 9) | _MODE_SINGLE | \
            _DR_860SPS | _COMP_OFF
        self._cfg.append(bytearray((_REG_CFG, w >> 8, w & 0xFF)))
        self.counts.append(0)
        self.valid.append(False)
        return _Channel(self, len(self._cfg) - 1)

    def prime(self):
        # construction time only (blocks a few ms): one conversion of every channel
        for _ in range(len(self._cfg)):
            self.poll()
            sleep_ms(2)
        self.poll()

    def poll(self):
        n = len(self._cfg)
        if not n:
            return
        c = self._cur
        try:
            if c >= 0:
                self._i2c.writeto(self._addr, self._ptr)
                self._i2c.readfrom_into(self._addr, self._buf)
                v = (self._buf[0] << 8) | self._buf[1]
                if v >= 0x8000:
                    v -= 0x10000
                self.counts[c] = v
                self.valid[c] = True
            c = c + 1 if c + 1 < n else 0
            self._i2c.writeto(self._addr, self._cfg[c])
            self._cur = c
            self.ok = True
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:
            self._cur = -1
            self.ok = False
            self.faults += 1
