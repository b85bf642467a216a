# Fake `machine` for host tests and the simulator: the API the firmware uses, as strict as the
# rp2 or esp32 port of MicroPython v1.28.0 (sim_port picks one; rp2 by default). The chip behind
# it (clock, alarms, scheduler, interrupts, peripheral state) is simchip.py; the sim_* names at
# the end are the test and world controls, not part of any port.
# Runs under CPython and the MicroPython unix port (a machine.py on sys.path shadows the built-in).
import simchip as _c

PWRON_RESET = _c.PWRON_RESET
WDT_RESET = _c.WDT_RESET
# rp2 defines only the two above (its machine.reset() reboots through the watchdog, so it reads
# back as WDT_RESET); esp32 adds HARD_RESET, DEEPSLEEP_RESET and SOFT_RESET, set by sim_port.
_ESP32_RESETS = (("HARD_RESET", 2), ("DEEPSLEEP_RESET", 4), ("SOFT_RESET", 5))

_ENODEV = 19    # errno esp32 raises when an I2C address does not ACK (ESP_ERR_... -> ENODEV)
_EIO = 5        # rp2's: ports/rp2/machine_i2c.c maps any pico-sdk error but a timeout to EIO
                # (host_tests/fw/conform.py, checked on the real port in the emulator)
_ETIMEDOUT = 110
_EOPNOTSUPP = 95    # esp32 check_esp_err(ESP_ERR_NOT_SUPPORTED), ports/esp32/mphalport.c


def _esp32():
    return _c.W.port == "esp32"


def _nack():
    return _ENODEV if _esp32() else _EIO


def _pin_id(p):
    return p._id if isinstance(p, Pin) else p


# ---------------------------------------------------------------- Pin

class _PinIRQ:
    def __init__(self, st):
        self._st = st

    def flags(self):
        return 0

    def trigger(self, *args):
        return self._st.irq_trigger


class Pin:
    IN = _c.IN
    OUT = _c.OUT
    OPEN_DRAIN = _c.OPEN_DRAIN
    ALT = 3
    PULL_UP = _c.PULL_UP
    PULL_DOWN = _c.PULL_DOWN
    IRQ_FALLING = _c.IRQ_FALLING
    IRQ_RISING = _c.IRQ_RISING

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self._id = id
        self._st = _c.pin_state(id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        st = self._st
        if st is not _c.W.pins.get(self._id):    # a Pin made before a reset: rebind
            st = self._st = _c.pin_state(self._id)
        old = st.level
        if value is not None:
            st.latch = 1 if value else 0
        if mode != -1:
            if _esp32() and mode != Pin.IN and 34 <= self._id <= 39:
                raise ValueError("pin can only be input")    # GPIO34..39 (machine_pin.c)
            st.mode = mode
            # a pin mode takes the pin back from a PWM slice (rp2: gpio_set_function SIO; esp32:
            # the GPIO matrix): early.py's first drive after a soft reset that left it running
            pw = _c.W.pwms.get(self._id)
            if pw is not None:
                pw.active = False
        if pull != -1:
            # esp32 GPIO34..39 have no pull resistors: the request does nothing
            if not (_esp32() and 34 <= self._id <= 39):
                st.pull = pull
        st.edge(old)

    def value(self, x=None):
        if x is None:
            return self._st.level
        st = self._st
        old = st.level
        st.latch = 1 if x else 0
        st.edge(old)

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def _high(self):
        self.value(1)

    def _low(self):
        self.value(0)

    def toggle(self):
        self.value(0 if self._st.latch else 1)

    def mode(self, mode=None):
        if mode is None:
            return self._st.mode
        self.init(mode)

    def pull(self, pull=None):
        if pull is None:
            return self._st.pull
        self.init(-1, pull)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=None):
        if hard is not None and _esp32():
            # esp32's Pin.irq takes handler, trigger, wake: its handlers are always soft
            raise TypeError("unexpected keyword argument 'hard'")
        st = self._st
        st.irq_handler = handler
        st.irq_trigger = trigger
        st.irq_hard = bool(hard)
        st.irq_pin = self
        return _PinIRQ(st)

    def __repr__(self):
        return "Pin(%r)" % (self._id,)


# ---------------------------------------------------------------- ADC

# esp32 ATTN_11DB through its factory calibration (ports/esp32/adc.c read_uv): 0 V reads about
# 142 mV (issue #20: the line-fitting offset) and the input saturates near 3.1 V.
_ESP32_UV_FLOOR = 142000
_ESP32_UV_CEIL = 3100000


class ADC:
    # Keyed by the number given (or the Pin's id); the fake does no channel<->GPIO mapping.
    # rp2 has only CORE_TEMP; esp32's constants (ports/esp32/machine_adc.c) are set by sim_port.
    CORE_TEMP = 4

    def __init__(self, pin, atten=None):
        self._id = _pin_id(pin)
        self._st = _c.adc_state(self._id)
        if atten is not None:
            self._esp32_only("atten")
            self._st.atten = atten

    def _esp32_only(self, name):
        if not _esp32():
            raise AttributeError("'ADC' object has no attribute '%s'" % name)

    def _pin_uv(self):
        st = self._st
        if st.floating:
            # an open input with no pull: it wanders over the range (no usable reading)
            return 300000 + (_c.W.rng.next() % 2700000)
        if st.uv is not None:
            return st.uv
        if isinstance(st.u16, int):
            return st.u16 * 3300000 // 65535
        return st.u16

    def read_u16(self):
        st = self._st
        if _esp32() and (st.floating or st.uv is not None):
            # esp32 at 11 dB: the raw conversion scaled to 16 bits (ports/esp32/machine_adc.c
            # mp_machine_adc_read_u16: raw << 4 | raw >> 8 at 12 bits); raw 0 sits at ~142 mV
            # and full scale at ~3.1 V: the typical line read_uv's calibration undoes
            v = self._pin_uv()
            if not isinstance(v, int):
                return v
            u = (v - _ESP32_UV_FLOOR) * 65535 // (_ESP32_UV_CEIL - _ESP32_UV_FLOOR)
            return 0 if u < 0 else 65535 if u > 65535 else u
        if st.floating:
            return self._pin_uv() * 65535 // 3300000
        return st.u16    # a test may store a non-int: drivers must survive garbage

    def _read_uv(self):
        q = _c.W.quirks
        if "no_adc_cal" in q:
            # a chip without burned-in calibration: adc_cali_create_scheme_line_fitting fails
            raise OSError(_EOPNOTSUPP)
        v = self._pin_uv()
        if "adc_cal" in q and isinstance(v, int):
            if v < _ESP32_UV_FLOOR:
                v = _ESP32_UV_FLOOR
            elif v > _ESP32_UV_CEIL:
                v = _ESP32_UV_CEIL
        return v

    def _read(self):
        u = self.read_u16()
        return u >> 4 if isinstance(u, int) else u

    def _atten(self, a):
        self._st.atten = a

    def _width(self, w):
        if not 9 <= w <= 12:
            raise ValueError("invalid bit-width")
        self._st.width = w


# esp32-only ADC methods (rp2's ADC has read_u16 alone, ports/rp2/machine_adc.c)
_ESP32_ADC_METHODS = (("read_uv", ADC._read_uv), ("read", ADC._read), ("atten", ADC._atten),
                      ("width", ADC._width))
_ESP32_ADC = (("ATTN_0DB", 0), ("ATTN_2_5DB", 1), ("ATTN_6DB", 2), ("ATTN_11DB", 3),
              ("WIDTH_9BIT", 9), ("WIDTH_10BIT", 10), ("WIDTH_11BIT", 11), ("WIDTH_12BIT", 12))


# ---------------------------------------------------------------- I2C

class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self._id = id
        self.scl = scl
        self.sda = sda
        self.freq = freq
        self.timeout = timeout

    def init(self, scl=None, sda=None, freq=400000, timeout=50000):
        self.freq = freq
        self.timeout = timeout

    def _stretch(self, dev):
        # Clock stretching (the World's "slow" part: dev.stretch_us, dev.spend) and a bus a part
        # still holds: the transfer waits at most the I2C timeout, then fails with ETIMEDOUT, as
        # rp2's does (pico-sdk's i2c_*_timeout_us; found on the emulated Pico: a part stretching
        # 12 ms on a 2 ms timeout was a timeout there and a 12 ms read here, tools/emu/compare.py
        # h09). A part that stretched past the timeout keeps SCL low for the rest of its stretch:
        # a transfer to another part on that bus meanwhile waits or times out too.
        w = _c.W
        t = self.timeout
        h = w.i2c_held.get(self._id)
        if h is not None:
            left = h[0] - w.now_us
            if left > 0:
                if left > t:
                    h[1](t)
                    raise OSError(_ETIMEDOUT)
                h[1](left)
            del w.i2c_held[self._id]
        st = getattr(dev, "stretch_us", 0)
        if st:
            if st > t:
                dev.spend(t)
                w.i2c_held[self._id] = [w.now_us + st - t, dev.spend]
                raise OSError(_ETIMEDOUT)
            dev.spend(st)

    def deinit(self):
        pass

    def _dev(self, addr):
        # the device of one transfer, after its faults and any clock stretching (_stretch); the
        # read path allocates nothing, so the firmware's own allocation can be measured
        w = _c.W
        f = w.faults.get(self._id * 256 + addr)
        if f == "timeout":
            raise OSError(_ETIMEDOUT)
        bus = w.buses.get(self._id)
        dev = bus.get(addr) if bus is not None else None
        if dev is None or f == "nack":
            raise OSError(_nack())
        if w.i2c_held or hasattr(dev, "stretch_us"):
            self._stretch(dev)
        return dev

    def scan(self):
        w = _c.W
        out = []
        for addr in w.buses.get(self._id, {}):
            if w.faults.get(self._id * 256 + addr) is None:
                out.append(addr)
        out.sort()
        return out

    def readfrom_into(self, addr, buf, stop=True):
        dev = self._dev(addr)
        try:
            data = dev.read(len(buf))
        except OSError as e:      # a device model's NACK (devices.py raises ENODEV)
            raise OSError(_nack()) if e.args and e.args[0] == _ENODEV else e
        n = len(data)
        for i in range(len(buf)):
            buf[i] = data[i] if i < n else 0xFF    # idle bus reads high
        return None

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto(self, addr, buf, stop=True):
        # the buffer itself, as a board's driver sends it (no copy: a copy would allocate);
        # the device models copy what they keep
        dev = self._dev(addr)
        try:
            dev.write(buf)
        except OSError as e:
            raise OSError(_nack()) if e.args and e.args[0] == _ENODEV else e
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        data = b"".join(bytes(v) for v in vector)
        return self.writeto(addr, data, stop)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, memaddr.to_bytes(addrsize // 8, "big"), False)
        self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, memaddr.to_bytes(addrsize // 8, "big") + bytes(buf))


SoftI2C = I2C


# ---------------------------------------------------------------- PWM

def _esp32_duty_bits(freq):
    # LEDC: the widest duty that fits 80 MHz / freq, at most the 16-bit interface
    # (ports/esp32/machine_pwm.c find_suitable_duty_resolution)
    bits = 0
    while bits < 16 and (80000000 // freq) >> (bits + 1):
        bits += 1
    return bits


class PWM:
    def __init__(self, dest, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self._id = _pin_id(dest)
        self._st = _c.pwm_state(self._id)
        self._st.active = True
        self._ns = None          # duty asked in ns: kept through a frequency change (rp2)
        self._u16 = None
        self.init(freq, duty_u16, duty_ns)

    def init(self, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self._st.active = True
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)
        if duty_ns is not None:
            self.duty_ns(duty_ns)

    def deinit(self):
        self._st.active = False

    def freq(self, value=None):
        st = self._st
        if value is None:
            return st.freq
        if not isinstance(value, int) or value <= 0:
            raise ValueError("freq out of range")
        st.freq = value
        if not _esp32():
            # rp2: both channels of a slice share one counter and so one frequency; the other
            # channel takes the new one silently (ports/rp2/machine_pwm.c mp_machine_pwm_freq_set)
            w = _c.W
            s = _c.rp2_slice(self._id)
            w.slices[s] = value
            other = self._id ^ 1
            ost = w.pwms.get(other)
            if ost is not None and ost.active and ost.freq and ost.freq != value:
                w.clashes.append((other, ost.freq, value))
                ost.freq = value
        self._reapply()

    def _reapply(self):
        # a duty given in ns stays in ns across a frequency change, as on both ports
        if self._ns is not None:
            self.duty_ns(self._ns)
        elif self._u16 is not None:
            self.duty_u16(self._u16)

    def duty_u16(self, value=None):
        st = self._st
        if value is None:
            return st.duty_u16
        if not isinstance(value, int) or value < 0 or value > 65535:
            raise ValueError("duty_u16 must be int 0..65535")
        self._u16 = value
        self._ns = None
        st.duty_u16 = self._hw(value)

    def _hw(self, u16):
        # esp32 keeps only the LEDC resolution's top bits (machine_pwm.c apply_duty/get_duty_u16)
        if not _esp32() or not self._st.freq:
            return u16
        bits = _esp32_duty_bits(self._st.freq)
        d = 65536 if u16 == 65535 else u16
        d = (d >> (16 - bits)) << (16 - bits)
        return 65535 if d >= 65536 else d

    def duty_ns(self, value=None):
        # high time in ns; kept as duty_u16 of the period, like the ports do
        st = self._st
        period_ns = 1000000000 // st.freq if st.freq else 0
        if value is None:
            return st.duty_u16 * period_ns // 65535
        if not isinstance(value, int) or value < 0 or (period_ns and value > period_ns):
            raise ValueError("duty_ns out of range")
        self._ns = value
        self._u16 = None
        st.duty_u16 = self._hw(value * 65535 // period_ns if period_ns else 0)


# ---------------------------------------------------------------- Timer

class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=None, mode=PERIODIC, freq=None, period=None, tick_hz=1000,
                 callback=None, hard=None):
        if _esp32():
            # hardware timers 0..3 (ports/esp32/machine_timer.c: id required, < 4)
            if id is None:
                raise TypeError("function missing 1 required positional arguments")
            if not isinstance(id, int) or id < 0 or id > 3:
                raise ValueError("invalid Timer number")
        elif id is not None and id != -1:
            raise ValueError("Timer doesn't exist")    # rp2: only the soft timer -1
        self._id = -1 if id is None else id
        self._active = False
        self._mode = mode
        self._period_us = 0
        self._due_us = 0
        self._seq = 0
        self._callback = None
        self.hard = False
        if freq is not None or period is not None or callback is not None:
            self.init(mode=mode, freq=freq, period=period, tick_hz=tick_hz, callback=callback,
                      hard=hard)

    def init(self, mode=PERIODIC, freq=None, period=None, tick_hz=1000, callback=None,
             hard=None):
        if hard and _esp32():
            raise ValueError("hard Timers are not implemented")
        self._stop()
        if freq is not None:
            if freq <= 0:
                raise ValueError("freq must be > 0")
            period_us = int(1000000 // freq)
        elif period is not None:
            period_us = int(period * 1000000 // tick_hz)
        else:
            period_us = 0xFFFFFFFF * 1000    # rp2's default period: 0xffffffff ms
        if period_us < 1:
            period_us = 1
        w = _c.W
        if self._id != -1:
            # a hardware timer id is one peripheral: a second object with that id takes it over
            for t in list(w.timers):
                if t._id == self._id:
                    t._stop()
        self._mode = mode
        self._period_us = period_us
        self._callback = callback
        self.hard = bool(hard)
        self._due_us = w.now_us + period_us
        w.seq += 1
        self._seq = w.seq
        self._active = True
        w.timers.append(self)

    def _stop(self):
        if self._active:
            self._active = False
            if self in _c.W.timers:
                _c.W.timers.remove(self)

    def deinit(self):
        self._stop()


# ---------------------------------------------------------------- UART

class UART:
    # A UART whose TX ring (esp32: 128 bytes, as the issue measured the REPL's) drains at the
    # baud rate; a write that does not fit blocks the caller until it does: the scheduler waits.
    def __init__(self, id, baudrate=115200, txbuf=128, **kw):
        self._id = id
        self.baudrate = baudrate
        self._txbuf = txbuf
        self._queued = 0          # bytes in the ring at _t_us
        self._t_us = _c.W.now_us
        self.sent = bytearray()

    def _drain(self):
        now = _c.W.now_us
        gone = (now - self._t_us) * self.baudrate // 10000000     # 10 bits a byte
        if gone:
            self._queued = self._queued - gone if gone < self._queued else 0
            self._t_us = now
        elif not self._queued:
            self._t_us = now

    def write(self, buf):
        self._drain()
        n = len(buf)
        over = self._queued + n - self._txbuf
        if over > 0:
            _c.spend_us(over * 10000000 // self.baudrate)
            self._drain()
        self._queued += n
        self.sent.extend(buf)
        return n

    def any(self):
        return 0

    def read(self, n=None):
        return None


# ---------------------------------------------------------------- Counter (esp32)

class _Counter:
    # machine.Counter of ports/esp32/modules/machine.py on esp32.PCNT (ports/esp32/esp32_pcnt.c):
    # one singleton per unit id 0..7 (PCNT_UNIT_MAX on the ESP32), counting the source pin's
    # rising and/or falling edges in hardware, so nothing is lost to the scheduler; value(v)
    # returns the count and sets it. rp2 has no Counter (set by sim_port).
    RISING = 1
    FALLING = 2
    UP = 1          # PCNT_COUNT_INC
    DOWN = 2        # PCNT_COUNT_DEC

    def __new__(cls, unit_id, *args, **kw):
        if not isinstance(unit_id, int) or unit_id < 0 or unit_id >= 8:
            raise ValueError("invalid id")
        self = _c.W.counters.get(unit_id)
        if self is None:
            self = object.__new__(cls)
            self._src = None
            _c.W.counters[unit_id] = self
        return self

    def __init__(self, unit_id, src=None, edge=RISING, direction=UP, filter_ns=0):
        self._unit = unit_id
        if src is None:
            if self._src is None:
                raise TypeError("Counter needs a source pin")
            return      # the existing singleton as it is (machine.py: no args, no re-init)
        if self._src is not None:
            self._src.counters.remove(self)
        self._src = _c.pin_state(_pin_id(src))
        self._src.counters.append(self)
        self._edges = edge
        self._step = -1 if direction == _Counter.DOWN else 1
        self._n = 0

    def _edge(self, level):
        if self._edges & (_Counter.RISING if level else _Counter.FALLING):
            self._n += self._step

    def init(self, *args, **kw):
        self.__init__(self._unit, *args, **kw)

    def deinit(self):
        if self._src is not None:
            self._src.counters.remove(self)
            self._src = None

    def value(self, value=None):
        if self._src is None:
            raise RuntimeError("not initialised")
        n = self._n
        if value is not None:
            self._n = value
        return n


# ---------------------------------------------------------------- WDT, memory, misc

class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("timeout")
        st = _c.W.wdt
        st.timeout_ms = timeout
        st.last_feed_us = _c.W.now_us

    def feed(self):
        _c.W.wdt.last_feed_us = _c.W.now_us


class _Mem32:
    # machine.mem32: only what the firmware touches (scratch words) is modelled, as plain storage
    def __getitem__(self, addr):
        # signed, as rp2 returns it (extmod/machine_mem.c makes a signed int)
        v = _c.W.retained.get(addr, 0)
        return v - (1 << 32) if v & 0x80000000 else v

    def __setitem__(self, addr, value):
        _c.W.retained[addr] = value & 0xFFFFFFFF


mem32 = _Mem32()


class RTC:
    # ESP32 RTC memory survives resets (not power cycles); the clock itself is not modelled
    def __init__(self, id=0):
        pass

    def _memory(self, data=None):
        if data is None:
            return _c.W.rtc_mem
        if len(data) > 2048:
            raise ValueError("RTC memory is 2048 bytes")
        _c.W.rtc_mem = bytes(data)


_ESP32_RTC_METHODS = (("memory", RTC._memory),)    # rp2's RTC keeps the time only
_RP2_PIN_METHODS = (("high", Pin._high), ("low", Pin._low))   # esp32's Pin has on/off only


def reset_cause():
    return _c.W.reset_cause


def reset():
    raise _c.SimHardReset()


def soft_reset():
    raise _c.SimSoftReset()


def disable_irq():
    return _c.disable_irq()


def enable_irq(state):
    _c.enable_irq(state)


def unique_id():
    return b"\xe6\x60\x58\x38\x83\x1c\x27\x2d"


def freq(hz=None):
    if hz is None:
        return _c.W.freq
    _c.W.freq = hz


def idle():
    pass


def lightsleep(ms=None):
    if ms is not None:
        _c.advance_us(ms * 1000)


# ---------------------------------------------------------------- sim_*: test and world controls

SimWatchdogReset = _c.SimWatchdogReset
SimHardReset = _c.SimHardReset
SimSoftReset = _c.SimSoftReset
sim_now_us = None      # bound below (one function, no wrapper: called in every tick)


def _now():
    return _c.W.now_us


sim_now_us = _now
sim_advance_us = _c.advance_us
sim_spend_us = _c.spend_us
sim_pin = _c.pin_state
sim_soft_reset = _c.soft_reset
sim_release_heap = _c.release_heap
SIM_BOOT_US = _c.BOOT_US
SIM_LOAD_US = _c.LOAD_US


def sim_reset(reset_cause=PWRON_RESET):
    # a new chip and world, rp2 unless sim_port says otherwise
    _c.reset(reset_cause)
    sim_port("rp2")


def sim_reboot(reset_cause=WDT_RESET):
    _c.reboot(reset_cause)


_PORT = ["rp2"]    # read by tools/deploy.py's board check: the port this fake imitates


def sim_port(name):
    # which port the fake is: "rp2" (default) or "esp32"; the port-only names follow it
    _c.set_port(name)
    _PORT[0] = name
    if name == "esp32":
        # the port as it is: read_uv's offset and saturation, unpulled inputs floating
        _c.W.quirks["adc_cal"] = True
        _c.W.quirks["float"] = True
    g = globals()
    for k, v in _ESP32_RESETS:
        if name == "esp32":
            g[k] = v
        elif k in g:
            del g[k]
    for k, v in _ESP32_ADC + _ESP32_ADC_METHODS:
        if name == "esp32":
            setattr(ADC, k, v)
        elif hasattr(ADC, k):
            delattr(ADC, k)
    _only(RTC, _ESP32_RTC_METHODS, name == "esp32")
    if name == "esp32":
        g["Counter"] = _Counter
    elif "Counter" in g:
        del g["Counter"]
    _only(Pin, _RP2_PIN_METHODS, name == "rp2")


def _only(cls, pairs, present):
    for k, v in pairs:
        if present:
            setattr(cls, k, v)
        elif hasattr(cls, k):
            delattr(cls, k)


def sim_quirk(name, on=True):
    # esp32 behaviours: "adc_cal" and "float" are on from sim_port("esp32") (the port as it
    # is, issue #20); sim_quirk(name, False) turns one off, "no_adc_cal" is opt-in:
    #   "adc_cal" read_uv offset and saturation, "no_adc_cal" uncalibrated chip (OSError),
    #   "float" unpulled inputs read noise
    if name not in ("adc_cal", "no_adc_cal", "float"):
        raise ValueError("quirk: adc_cal, no_adc_cal or float")
    if on:
        _c.W.quirks[name] = True
    elif name in _c.W.quirks:
        del _c.W.quirks[name]


def sim_port_name():
    return _c.W.port


def sim_adc(pid):
    return _c.adc_state(_pin_id(pid))


def sim_pwm(pin):
    return _c.pwm_state(_pin_id(pin))


def sim_pwm_clashes():
    # rp2 PWM pins whose frequency was changed by their slice partner: (pin, had, got)
    return list(_c.W.clashes)


def sim_sched():
    # the scheduler queue: (now queued, deepest so far, calls dropped)
    w = _c.W
    return w.q_len, w.q_max, w.dropped


def sim_schedule(func, arg):
    # micropython.schedule on the fake chip's queue
    if not _c.schedule(func, arg):
        raise RuntimeError("schedule queue full")
    _c.run_pending()


def sim_c_call(func, *args):
    # run func as one blocking C call would: interrupts arrive (hard handlers run, soft ones
    # queue), nothing scheduled runs before the next bytecode (the next machine call here)
    w = _c.W
    w.sched_lock += 1
    try:
        return func(*args)
    finally:
        w.sched_lock -= 1


def sim_i2c_attach(bus, addr, device):
    w = _c.W
    b = w.buses.get(bus)
    if b is None:
        b = {}
        w.buses[bus] = b
    b[addr] = device


def sim_i2c_detach(bus, addr):
    b = _c.W.buses.get(bus)
    if b and addr in b:
        del b[addr]


def sim_i2c_devices():
    # [(bus, addr, device)] attached now
    out = []
    buses = _c.W.buses
    for bus in buses:
        for addr in buses[bus]:
            out.append((bus, addr, buses[bus][addr]))
    return out


def sim_i2c_fault(bus, addr, kind):
    faults = _c.W.faults
    if kind is None:
        if bus * 256 + addr in faults:
            del faults[bus * 256 + addr]
    elif kind in ("nack", "timeout"):
        faults[bus * 256 + addr] = kind
    else:
        raise ValueError("fault kind: None, 'nack' or 'timeout'")


def sim_timers():
    return list(_c.W.timers)


def sim_wdt():
    return _c.W.wdt


def sim_irqs_enabled():
    # True unless the firmware is inside disable_irq() .. enable_irq()
    return _c.W.irq_state == 0


def sim_in_callback():
    # inside a scheduled call, a hard handler or a blocking C call of the fake chip
    return _c.W.sched_lock > 0


def sim_in_hard_irq():
    return _c.W.hard_lock > 0


def sim_irq_uncaught():
    # the exceptions hard pin handlers raised since the world was made (each disabled its pin)
    return list(_c.W.irq_uncaught)


sim_port("rp2")
