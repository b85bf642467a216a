# Sweep gas mass-flow sensor: Sensirion SFM3000 on I2C (docs/facts.md §7). Value in mL/min (`_mlpm`).
from micropython import const
from ecmo.drivers.sensirion import word_ok, INIT_SFM3000
from ecmo.drivers.status import Reading, OK, BUS, CRC, STALE, RANGE

_SFM_START = const(0x1000)   # start continuous measurement; every read then returns the latest
_SFM_OFFSET = const(32000)   # SFM3000 datasheet: flow = (raw - offset) / scale
_SFM_SCALE_AIR = const(140)  # counts per slm for air/N2; O2 and mixtures have their own factor


class SFM3000(Reading):
    # limits_mlpm: outside them the reading is not a sweep flow (the part spans +/-200 slm, a
    # sweep line 0..10 L/min; a large reverse flow is not physical there).
    def __init__(self, i2c, addr=0x40, offset=_SFM_OFFSET, scale=_SFM_SCALE_AIR,
                 limits_mlpm=(-1000, 15000)):
        self._i2c = i2c
        self._addr = addr
        self._offset = offset
        self._scale = scale
        self._lo = limits_mlpm[0]
        self._hi = limits_mlpm[1]
        self._buf = bytearray(3)     # flow word + CRC
        self._cmd = bytearray((_SFM_START >> 8, _SFM_START & 0xFF))
        self._started = False
        self._fresh = False          # the first result after a start is not valid (datasheet)
        Reading.__init__(self, BUS)
        self.start()

    def start(self):
        try:
            self._i2c.writeto(self._addr, self._cmd)
            self._started = True
            self._fresh = True
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:
            self._started = False

    def read(self):
        if not self._started:
            self.start()   # power-cycled or unplugged: the command is needed again
            if not self._started:
                return self._fail(BUS)
        try:
            self._i2c.readfrom_into(self._addr, self._buf)
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:
            self._started = False
            return self._fail(BUS)
        if self._fresh:
            self._fresh = False
            return self._fail(STALE)
        b = self._buf
        if not word_ok(b, 0, INIT_SFM3000):    # CRC starts at 0x00 on this part
            return self._fail(CRC)
        raw = (b[0] << 8) | b[1]
        q = (raw - self._offset) * 1000 // self._scale   # |product| < 2**26
        if q < self._lo or q > self._hi:
            return self._fail(RANGE)
        self.value = q
        self.status = OK
        return OK
