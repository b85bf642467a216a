# Blood flow sensors, values in mL/min (`_mlpm`; side-line SLF3S in uL/min):
# analog output (clamp-on ultrasonic), turbine pulses (pin IRQ), Sensirion SLF3S on I2C (side line only).
from micropython import const
from machine import Pin
from ecmo.drivers import pins
from time import ticks_ms, ticks_diff
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.sensirion import word_ok
from ecmo.drivers.status import Reading, OK, BUS, CRC, STALE

_MASK30 = const(0x3FFFFFFF)  # IRQ counters wrap inside the small-int range
_SLF_START_WATER = const(0x3608)  # SF06-LF continuous measurement, water calibration
_SLF_STOP = const(0x3FF9)


class PulseFlow(Reading):
    # Turbine (Hall) flow meter: F(Hz) = k * Q(L/min); YF-S201 k = 7.5 (450 pulses/L, docs/facts.md §2).
    # Counts edges in a hard IRQ; flow is pulses over a sliding window of `window_ticks` ticks.
    # A turbine cannot see direction: it never reports retrograde flow.
    # pin: an input with its pull-up (open-collector output)
    def __init__(self, pin, pulses_per_l=450, window_ticks=50, tick_ms=10):
        self._ppl = pulses_per_l
        self._ring = bytearray(window_ticks)  # pulses per tick; < 256 at any real flow
        self._i = 0
        self._sum = 0
        self._count = 0
        self._last = 0
        # mL/min per pulse-in-window, times ppl: 60 s * 1000 mL / window
        self._k = 60000 * 1000 // (window_ticks * tick_ms)
        Reading.__init__(self)
        self._pin = pin
        pins.irq(self._pin, self._irq, Pin.IRQ_FALLING)

    def _irq(self, _pin):
        # not (c + 1) & mask: at 2^30 - 1 that sum is a long int on a board, a MemoryError in
        # this hard IRQ (a 1 kHz turbine gets there in 12 days)
        c = self._count
        self._count = c + 1 if c < _MASK30 else 0

    def read(self):
        n = self._count
        d = (n - self._last) & _MASK30
        self._last = n
        if d > 255:
            d = 255
        i = self._i
        self._sum += d - self._ring[i]
        self._ring[i] = d
        self._i = i + 1 if i + 1 < len(self._ring) else 0
        self.value = self._sum * self._k // self._ppl
        return OK


class SLF3S(Reading):
    # Sensirion SF06-LF liquid flow sensor (docs/facts.md §2). A microflow part (+/-40 mL/min for the
    # 1300F): it fits a side/purge line, never the main 4-5 L/min circuit. Value in uL/min.
    def __init__(self, i2c, addr=0x08, scale=500):
        self._i2c = i2c
        self._addr = addr
        self._scale = scale          # raw counts per mL/min
        self._buf = bytearray(9)     # flow+CRC, temperature+CRC, flags+CRC
        self._cmd = bytearray(2)
        Reading.__init__(self, BUS)
        self.temp_cdegc = 0
        self.air = False
        self._started = False
        self.start()

    def _command(self, code):
        self._cmd[0] = code >> 8
        self._cmd[1] = code & 0xFF
        self._i2c.writeto(self._addr, self._cmd)

    def start(self):
        try:
            self._command(_SLF_START_WATER)
            self._started = True
        except OSError:
            self._started = False

    def stop(self):
        try:
            self._command(_SLF_STOP)
        except OSError:
            pass
        self._started = False

    def read(self):
        if not self._started:
            self.start()  # the sensor may have been power-cycled: restart measurement
            if not self._started:
                return self._fail(BUS)
            return self._fail(STALE)  # first result comes 12 ms after start
        try:
            self._i2c.readfrom_into(self._addr, self._buf)
        except MemoryError:   # refused in a locked tick (loop.py): the tick's error
            raise
        except Exception:
            self._started = False
            return self._fail(BUS)
        b = self._buf
        if not (word_ok(b, 0) and word_ok(b, 3) and word_ok(b, 6)):
            return self._fail(CRC)
        raw = (b[0] << 8) | b[1]
        if raw >= 0x8000:
            raw -= 0x10000
        t = (b[3] << 8) | b[4]
        if t >= 0x8000:
            t -= 0x10000
        self.value = raw * 1000 // self._scale
        self.temp_cdegc = t // 2      # raw / 200 degC = raw / 2 centi-degC
        self.air = bool(b[7] & 1)     # flags bit 0: air in line
        self.status = OK
        return OK
