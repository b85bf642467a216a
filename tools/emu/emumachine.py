# The simulated world's view of the emulated chip: the sim_* half of the fake `machine`
# (tools/sim/hw/machine.py) that tools/sim/world.py and gas_model.py use, backed by an
# emulated RP2040 (tools/emu/link.py) instead of the fake. Installed as `machine` in
# sys.modules before world.py is imported, so the World runs unchanged: it sets ADC inputs
# and drives pins, its I2C device models answer the chip's transactions, and it reads the
# enable, clamp and PWM duty the real MicroPython port produces.
PWRON_RESET = 1
WDT_RESET = 3
_ENODEV = 19


class SimWatchdogReset(BaseException):
    pass


class SimHardReset(BaseException):
    pass


_chip = None
_now_us = [0]
_delay_us = [0]      # bus time a device spent inside the transaction being answered
_buses = {}
_faults = {}
_pins = {}
_adcs = {}
_pwms = {}


def bind(chip):
    global _chip
    _chip = chip
    _now_us[0] = int(chip.now_us)


def sim_port(name):
    if name != "rp2":
        raise ValueError("the emulator is an RP2040: no %s port" % name)


class _Adc:
    # an RP2040 ADC input: the World sets read_u16 counts, the chip's converter gets 12 bits
    def __init__(self, pid):
        self.ch = pid - 26 if pid >= 26 else pid
        self._u16 = 0
        self.uv = None

    @property
    def u16(self):
        return self._u16

    @u16.setter
    def u16(self, v):
        if not isinstance(v, int):
            v = 0       # a NaN fault has no meaning on a real converter: it reads 0 here
        if v != self._u16:
            self._u16 = v
            _chip.adc(self.ch, v >> 4)


def sim_adc(pid):
    st = _adcs.get(pid)
    if st is None:
        st = _adcs[pid] = _Adc(pid)
    return st


class _Pin:
    def __init__(self, pid):
        self.id = pid
        self.driven = None
        self._sent = False

    def drive(self, level):
        lv = None if level is None else (1 if level else 0)
        if lv != self.driven or not self._sent:
            self.driven = lv
            self._sent = True
            _chip.pin(self.id, lv)

    @property
    def level(self):
        v = _chip.out.get(self.id)
        if v is not None:
            return v
        return self.driven if self.driven is not None else 0


def sim_pin(pid):
    st = _pins.get(pid)
    if st is None:
        st = _pins[pid] = _Pin(pid)
    return st


class _Pwm:
    def __init__(self, pid):
        self.id = pid

    @property
    def duty_u16(self):
        d = _chip.pwm.get(self.id)
        return d if d is not None else 0

    @property
    def active(self):
        return _chip.pwm.get(self.id) is not None


def sim_pwm(pin):
    st = _pwms.get(pin)
    if st is None:
        st = _pwms[pin] = _Pwm(pin)
    return st


def sim_i2c_attach(bus, addr, device):
    _buses.setdefault(bus, {})[addr] = device


def sim_i2c_detach(bus, addr):
    _buses.get(bus, {}).pop(addr, None)


def sim_i2c_devices():
    return [(b, a, d) for b in _buses for a, d in _buses[b].items()]


def sim_i2c_fault(bus, addr, kind):
    if kind is None:
        _faults.pop(bus * 256 + addr, None)
    elif kind in ("nack", "timeout"):
        _faults[bus * 256 + addr] = kind
    else:
        raise ValueError("fault kind: None, 'nack' or 'timeout'")


class I2cAnswers:
    # what the chip's I2C controllers reach: the devices attached above. A read transaction
    # gets the device's whole frame (the chip clocks out as many bytes as it wants; past the
    # frame the idle bus reads 0xFF). A "timeout" fault is a NACK here: the real bus would
    # stretch the clock until the port's timeout, which the emulated controller cannot show.
    def connect(self, bus, addr, rd):
        _delay_us[0] = 0
        dev = _buses.get(bus, {}).get(addr)
        if dev is None or _faults.get(bus * 256 + addr) is not None:
            return False, b"", 0
        # a part stretching the clock (the World's "slow" fault): the chip's transaction
        # completes that much later on its own clock, and the port's own timeout decides what
        # that means; the World is not stepped here (it goes on in lockstep with the chip, so
        # the tach's pulses keep their times: stepped inside this call they came all at once)
        st = getattr(dev, "stretch_us", 0)
        if not rd:
            return True, b"", st
        try:
            data = bytes(dev.read(16))
        except OSError:
            return False, b"", 0
        return True, data, st + _delay_us[0]

    def write(self, bus, addr, data):
        dev = _buses.get(bus, {}).get(addr)
        if dev is not None:
            try:
                dev.write(data)
            except OSError:
                pass


def sim_now_us():
    return _now_us[0]


def sim_advance_us(us):
    if us < 0:
        raise ValueError("negative time step")
    _now_us[0] += us
    if us:
        _chip.run_until(_now_us[0])


def sim_spend_us(us):
    # a device holding the bus (World's "slow" fault): the chip's transaction waits that long
    _delay_us[0] += us
    _now_us[0] += us
