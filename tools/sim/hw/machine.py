# Fake `machine` for host tests and the simulator: same API the firmware uses, plus sim_* controls.
# Runs under CPython and the MicroPython unix port (a machine.py on sys.path shadows the built-in).
# Constants follow the rp2 port (micropython-rp2-stubs 1.29).

# Only the reset causes every port has: rp2 defines just these two (its machine.reset() reboots
# through the watchdog, so it reads back as WDT_RESET). ESP32's others are left out on purpose,
# so firmware that relies on them fails here as it would on a Pico.
PWRON_RESET = 1
WDT_RESET = 3

_ENODEV = 19    # errno the ports raise when an I2C address does not ACK
_ETIMEDOUT = 110

_FREQ_HZ = 125000000


class SimWatchdogReset(BaseException):
    # BaseException so a firmware `except Exception` cannot swallow a reset, as on a board.
    pass


class SimHardReset(BaseException):
    pass


class _World:
    def __init__(self, reset_cause):
        self.now_us = 0
        self.reset_cause = reset_cause
        self.pins = {}
        self.adcs = {}
        self.buses = {}      # bus id -> {addr: device}
        self.faults = {}     # bus id * 256 + addr -> 'nack' | 'timeout' (int key: lookups allocate nothing)
        self.pwms = {}
        self.timers = []     # active Timer objects
        self.seq = 0         # creation order breaks ties between timers due at the same time
        self.wdt = _WdtState()
        self.irq_state = 0
        self.freq = _FREQ_HZ
        self.pending = []    # pin IRQs that arrived while interrupts were masked
        self.retained = {}   # mem32 words and RTC memory: survive a reset, not a power cycle
        self.rtc_mem = b""


_w = None    # the current world; made at the end of the module, once every class exists


def sim_reset(reset_cause=PWRON_RESET):
    # A new world: nothing attached, clock at 0.
    global _w
    _w = _World(reset_cause)
    _PORT[0] = "rp2"


def sim_reboot(reset_cause=WDT_RESET):
    # The chip restarts but the outside world stays: keep ADC values, I2C devices, pin drive levels.
    global _w
    old = _w
    _w = _World(reset_cause)
    _w.now_us = old.now_us
    _w.adcs = old.adcs
    _w.buses = old.buses
    _w.faults = old.faults
    if reset_cause != PWRON_RESET:      # a power cycle loses what a reset keeps
        _w.retained = old.retained
        _w.rtc_mem = old.rtc_mem
    for pid in old.pins:
        st = _PinState(pid)
        st.driven = old.pins[pid].driven
        _w.pins[pid] = st


def sim_now_us():
    return _w.now_us


def _next_timer():
    best = None
    for t in _w.timers:
        if best is None or t._due_us < best._due_us or (
                t._due_us == best._due_us and t._seq < best._seq):
            best = t
    return best


def sim_spend_us(us):
    # Time spent computing inside a callback (a slow tick): the clock moves, no timer fires.
    _w.now_us += us


def sim_advance_us(us):
    # Move virtual time forward, running due timers in time order with the clock set to each due
    # time. Callback exceptions propagate so tests see firmware bugs.
    if us < 0:
        raise ValueError("negative time step")
    target = _w.now_us + us
    while True:
        w = _w
        t = _next_timer()
        due = t._due_us if t is not None else None
        wdt_due = w.wdt.deadline_us()
        if wdt_due is not None and wdt_due <= target and (due is None or wdt_due < due):
            w.now_us = wdt_due
            w.wdt.expired = True
            raise SimWatchdogReset()
        if due is None or due > target:
            break
        if due > w.now_us:
            w.now_us = due
        if t._mode == Timer.PERIODIC:
            t._due_us = due + t._period_us
        else:
            t._stop()
        t._fire()
        if _w is not w:
            return    # the callback reset the world
    if _w.now_us < target:
        _w.now_us = target


# ---------------------------------------------------------------- Pin

class _PinState:
    def __init__(self, pid):
        self.id = pid
        self.mode = -1
        self.pull = None
        self.latch = 0
        self.driven = None       # external level, None = nobody drives it
        self.irq_handler = None
        self.irq_trigger = 0
        self.irq_hard = False
        self.irq_pin = None      # Pin object handed to the handler

    @property
    def level(self):
        if self.mode == Pin.OUT:
            return self.latch
        if self.mode == Pin.OPEN_DRAIN and self.latch == 0:
            return 0
        if self.driven is not None:
            return self.driven
        return 1 if self.pull == Pin.PULL_UP else 0

    def drive(self, level):
        # Outside world sets the line; None releases it to the pull resistor.
        old = self.level
        self.driven = None if level is None else (1 if level else 0)
        self._edge(old)

    def _edge(self, old):
        new = self.level
        if new == old or self.irq_handler is None:
            return
        want = Pin.IRQ_RISING if new else Pin.IRQ_FALLING
        if self.irq_trigger & want:
            if _w.irq_state:
                # interrupts masked (disable_irq): the edge stays pending until enable_irq
                _w.pending.append((self.irq_handler, self.irq_pin))
            else:
                self.irq_handler(self.irq_pin)


def _pin_state(pid):
    st = _w.pins.get(pid)
    if st is None:
        st = _PinState(pid)
        _w.pins[pid] = st
    return st


def sim_pin(pid):
    return _pin_state(pid)


class _PinIRQ:
    def __init__(self, st):
        self._st = st

    def flags(self):
        return 0

    def trigger(self, *args):
        return self._st.irq_trigger


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self._id = id
        self._st = _pin_state(id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        st = self._st
        old = st.level
        if value is not None:
            st.latch = 1 if value else 0
        if mode != -1:
            st.mode = mode
        if pull != -1:
            st.pull = pull
        st._edge(old)

    def value(self, x=None):
        if x is None:
            return self._st.level
        st = self._st
        old = st.level
        st.latch = 1 if x else 0
        st._edge(old)

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

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
        if hard is not None and _PORT[0] == "esp32":
            raise TypeError("extra keyword arguments given")   # as the ESP32 port does
        st = self._st
        st.irq_handler = handler
        st.irq_trigger = trigger
        st.irq_hard = hard
        st.irq_pin = self
        return _PinIRQ(st)

    def __repr__(self):
        return "Pin(%r)" % (self._id,)


def _pin_id(p):
    return p._id if isinstance(p, Pin) else p


# ---------------------------------------------------------------- ADC

class _AdcState:
    def __init__(self, pid):
        self.id = pid
        self.u16 = 0
        self.uv = None    # None: derive from u16 over 0..3.3 V
        self.atten = None
        self.width = None


def sim_adc(pid):
    pid = _pin_id(pid)
    st = _w.adcs.get(pid)
    if st is None:
        st = _AdcState(pid)
        _w.adcs[pid] = st
    return st


class ADC:
    # Keyed by the number given (or the Pin's id); the fake does no channel<->GPIO mapping.
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 0
    WIDTH_10BIT = 1
    WIDTH_11BIT = 2
    WIDTH_12BIT = 3
    CORE_TEMP = 4

    def __init__(self, pin, atten=None):
        self._id = _pin_id(pin)
        self._st = sim_adc(self._id)
        if atten is not None:
            self._st.atten = atten

    def read_u16(self):
        return self._st.u16    # a test may store a non-int: drivers must survive garbage

    def read_uv(self):
        st = self._st
        if st.uv is not None:
            return st.uv
        if isinstance(st.u16, int):
            return st.u16 * 3300000 // 65535
        return st.u16

    def read(self):
        u = self._st.u16
        return u >> 4 if isinstance(u, int) else u

    def atten(self, a):
        self._st.atten = a

    def width(self, w):
        self._st.width = w


# ---------------------------------------------------------------- I2C

def sim_i2c_attach(bus, addr, device):
    b = _w.buses.get(bus)
    if b is None:
        b = {}
        _w.buses[bus] = b
    b[addr] = device


def sim_i2c_detach(bus, addr):
    b = _w.buses.get(bus)
    if b and addr in b:
        del b[addr]


def sim_i2c_devices():
    # [(bus, addr, device)] attached now
    out = []
    for bus in _w.buses:
        for addr in _w.buses[bus]:
            out.append((bus, addr, _w.buses[bus][addr]))
    return out


def sim_i2c_fault(bus, addr, kind):
    if kind is None:
        if bus * 256 + addr in _w.faults:
            del _w.faults[bus * 256 + addr]
    elif kind in ("nack", "timeout"):
        _w.faults[bus * 256 + addr] = kind
    else:
        raise ValueError("fault kind: None, 'nack' or 'timeout'")


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self._id = id
        self.scl = scl
        self.sda = sda
        self.freq = freq

    def init(self, scl=None, sda=None, freq=400000, timeout=50000):
        self.freq = freq

    def deinit(self):
        pass

    def _dev(self, addr):
        # the read path allocates nothing, so the firmware's own allocation can be measured
        f = _w.faults.get(self._id * 256 + addr)
        if f == "timeout":
            raise OSError(_ETIMEDOUT)
        bus = _w.buses.get(self._id)
        dev = bus.get(addr) if bus is not None else None
        if dev is None or f == "nack":
            raise OSError(_ENODEV)
        return dev

    def scan(self):
        out = []
        for addr in _w.buses.get(self._id, {}):
            if _w.faults.get(self._id * 256 + addr) is None:
                out.append(addr)
        out.sort()
        return out

    def readfrom_into(self, addr, buf, stop=True):
        data = self._dev(addr).read(len(buf))
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
        self._dev(addr).write(buf)
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

class _PwmState:
    def __init__(self, pid):
        self.id = pid
        self.freq = 0
        self.duty_u16 = 0
        self.active = False


def sim_pwm(pin):
    pid = _pin_id(pin)
    st = _w.pwms.get(pid)
    if st is None:
        st = _PwmState(pid)
        _w.pwms[pid] = st
    return st


class PWM:
    def __init__(self, dest, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self._st = sim_pwm(dest)
        self._st.active = True
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
        if value is None:
            return self._st.freq
        if not isinstance(value, int) or value <= 0:
            raise ValueError("freq out of range")
        self._st.freq = value

    def duty_u16(self, value=None):
        if value is None:
            return self._st.duty_u16
        if not isinstance(value, int) or value < 0 or value > 65535:
            raise ValueError("duty_u16 must be int 0..65535")
        self._st.duty_u16 = value

    def duty_ns(self, value=None):
        # high time in ns; kept as duty_u16 of the period, like the ports do
        period_ns = 1000000000 // self._st.freq if self._st.freq else 0
        if value is None:
            return self._st.duty_u16 * period_ns // 65535
        if not isinstance(value, int) or value < 0 or (period_ns and value > period_ns):
            raise ValueError("duty_ns out of range")
        self._st.duty_u16 = value * 65535 // period_ns if period_ns else 0


# ---------------------------------------------------------------- Timer

class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, mode=PERIODIC, freq=None, period=None, tick_hz=1000,
                 callback=None, hard=None):
        self._id = id
        self._active = False
        self._mode = mode
        self._period_us = 0
        self._due_us = 0
        self._seq = 0
        self._callback = None
        self.hard = hard
        if freq is not None or period is not None or callback is not None:
            self.init(mode=mode, freq=freq, period=period, tick_hz=tick_hz, callback=callback,
                      hard=hard)

    def init(self, mode=PERIODIC, freq=None, period=None, tick_hz=1000, callback=None,
             hard=None):
        self._stop()
        if freq is not None:
            if freq <= 0:
                raise ValueError("freq must be > 0")
            period_us = int(1000000 // freq)
        elif period is not None:
            period_us = int(period * 1000000 // tick_hz)
        else:
            period_us = 1000000    # rp2 default: 1 Hz
        if period_us <= 0:
            raise ValueError("period too short")
        if self._id != -1:
            # A hardware timer id is one peripheral: a second object with that id takes it over.
            for t in list(_w.timers):
                if t._id == self._id:
                    t._stop()
        self._mode = mode
        self._period_us = period_us
        self._callback = callback
        self.hard = hard
        self._due_us = _w.now_us + period_us
        _w.seq += 1
        self._seq = _w.seq
        self._active = True
        _w.timers.append(self)

    def _stop(self):
        if self._active:
            self._active = False
            if self in _w.timers:
                _w.timers.remove(self)

    def deinit(self):
        self._stop()

    def _fire(self):
        if self._callback is not None:
            self._callback(self)


def sim_timers():
    return list(_w.timers)


# ---------------------------------------------------------------- WDT

class _WdtState:
    def __init__(self):
        self.timeout_ms = None    # None: watchdog not started
        self.last_feed_us = 0
        self.expired = False

    def deadline_us(self):
        if self.timeout_ms is None or self.expired:
            return None
        return self.last_feed_us + self.timeout_ms * 1000


def sim_wdt():
    return _w.wdt


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("timeout")
        st = _w.wdt
        st.timeout_ms = timeout
        st.last_feed_us = _w.now_us

    def feed(self):
        _w.wdt.last_feed_us = _w.now_us


# ---------------------------------------------------------------- misc

class _Mem32:
    # machine.mem32: only what the firmware touches (scratch words) is modelled, as plain storage
    def __getitem__(self, addr):
        # signed, as rp2 returns it (extmod/machine_mem.c makes a signed int)
        v = _w.retained.get(addr, 0)
        return v - (1 << 32) if v & 0x80000000 else v

    def __setitem__(self, addr, value):
        _w.retained[addr] = value & 0xFFFFFFFF


mem32 = _Mem32()


class RTC:
    # ESP32 RTC memory survives resets (not power cycles); the clock itself is not modelled
    def __init__(self, id=0):
        pass

    def memory(self, data=None):
        if data is None:
            return _w.rtc_mem
        if len(data) > 2048:
            raise ValueError("RTC memory is 2048 bytes")
        _w.rtc_mem = bytes(data)


def reset_cause():
    return _w.reset_cause


def reset():
    raise SimHardReset()


def soft_reset():
    raise SimHardReset()


def disable_irq():
    s = _w.irq_state
    _w.irq_state = s + 1
    return s


def enable_irq(state):
    _w.irq_state = state
    while not _w.irq_state and _w.pending:
        handler, pin = _w.pending.pop(0)
        handler(pin)


_PORT = ["rp2"]


def sim_port(name):
    # which port's quirks the fake shows: "rp2" (default) or "esp32" (Pin.irq takes no hard=)
    if name not in ("rp2", "esp32"):
        raise ValueError("port: 'rp2' or 'esp32'")
    _PORT[0] = name


def sim_irqs_enabled():
    # True unless the firmware is inside disable_irq() .. enable_irq()
    return _w.irq_state == 0


def unique_id():
    return b"\xe6\x60\x58\x38\x83\x1c\x27\x2d"


def freq(hz=None):
    if hz is None:
        return _w.freq
    _w.freq = hz


def idle():
    pass


def lightsleep(ms=None):
    if ms is not None:
        sim_advance_us(ms * 1000)


_w = _World(PWRON_RESET)
