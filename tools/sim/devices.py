# Byte-level I2C sensor models for the fake bus (machine.sim_i2c_attach). Each holds a settable
# physical value and a `fault` to inject. Runs under CPython and MicroPython. Protocols: the
# makers' datasheets (Honeywell ABP I2C, Sensirion SF06-LF and SFM3000), as summarised in the
# sources listed in docs/facts.md sections 1, 2 and 7.

_ENODEV = 19


SLF3S_CRC_INIT = 0xFF    # SF06-LF datasheet
SFM3000_CRC_INIT = 0x00  # Sensirion's SFM3000 CRC application note: starts at 0, not 0xFF


def crc8(data, init=SLF3S_CRC_INIT):
    # Sensirion CRC-8: poly 0x31, no reflection, no final XOR; init 0xFF: 0xBE 0xEF -> 0x92,
    # init 0x00: 0xBE 0xEF -> 0x13.
    crc = init
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _word(value, init=SLF3S_CRC_INIT):
    # 16-bit big-endian word followed by its CRC, the Sensirion read frame unit.
    hi = (value >> 8) & 0xFF
    lo = value & 0xFF
    return bytes((hi, lo, crc8((hi, lo), init)))


class _Device:
    faults = ()

    def __init__(self):
        self.fault = None
        self.writes = []    # every write, for tests that check the driver's commands

    def set_fault(self, kind):
        if kind is not None and kind not in self.faults:
            raise ValueError("fault kind")
        self.fault = kind

    def _check(self):
        if self.fault == "nack":
            raise OSError(_ENODEV)


# Honeywell ABP: 14-bit counts, 10 %..90 % transfer function (docs/facts.md §1).
ABP_OUT_MIN = 1638
ABP_OUT_MAX = 14746


def abp_counts(p_mmhg, pmin_mmhg, pmax_mmhg):
    c = ABP_OUT_MIN + (p_mmhg - pmin_mmhg) * (ABP_OUT_MAX - ABP_OUT_MIN) / (pmax_mmhg - pmin_mmhg)
    return _clamp(int(round(c)), 0, 0x3FFF)


class HoneywellABP(_Device):
    faults = ("stale", "diag", "nack")
    ADDR = 0x28

    def __init__(self, pmin_mmhg, pmax_mmhg):
        _Device.__init__(self)
        self.pmin_mmhg = pmin_mmhg
        self.pmax_mmhg = pmax_mmhg
        self.pressure_mmhg = 0.0
        self.temp_c = 25.0

    def write(self, data):
        self._check()
        self.writes.append(bytes(data))    # the ABP takes no commands; record and ignore

    def read(self, n):
        self._check()
        status = {"stale": 2, "diag": 3}.get(self.fault, 0)
        c = abp_counts(self.pressure_mmhg, self.pmin_mmhg, self.pmax_mmhg)
        t11 = _clamp(int(round((self.temp_c + 50) * 2047 / 200)), 0, 2047)
        frame = bytes((status << 6 | c >> 8, c & 0xFF, t11 >> 3, (t11 & 7) << 5))
        return frame[:n]


class SensirionSLF3S(_Device):
    # SF06-LF liquid flow; flow in the part's unit (ml/min for scale 500), docs/facts.md §2.
    faults = ("crc", "nack", "air")
    ADDR = 0x08
    CMD_START_WATER = 0x3608
    CMD_START_IPA = 0x3615
    CMD_STOP = 0x3FF9

    def __init__(self, scale=500):
        _Device.__init__(self)
        self.scale = scale
        self.flow = 0.0
        self.temp_c = 25.0
        self.air = False
        self.high_flow = False
        self.measuring = False

    def write(self, data):
        self._check()
        data = bytes(data)
        self.writes.append(data)
        if len(data) >= 2:
            cmd = data[0] << 8 | data[1]
            if cmd in (self.CMD_START_WATER, self.CMD_START_IPA):
                self.measuring = True
            elif cmd == self.CMD_STOP:
                self.measuring = False

    def read(self, n):
        self._check()
        if not self.measuring:
            raise OSError(_ENODEV)    # no measurement running: the sensor does not ACK reads
        flow = _clamp(int(round(self.flow * self.scale)), -32768, 32767)
        temp = _clamp(int(round(self.temp_c * 200)), -32768, 32767)
        flags = (1 if (self.air or self.fault == "air") else 0) | (2 if self.high_flow else 0)
        frame = bytearray(_word(flow & 0xFFFF) + _word(temp & 0xFFFF) + _word(flags))
        if self.fault == "crc":
            frame[2] ^= 0xFF
        return bytes(frame[:n])


class SensirionSFM3000(_Device):
    # Gas mass flow for the sweep line; flow in slm, docs/facts.md §7.
    faults = ("crc", "nack")
    ADDR = 0x40
    CMD_START = 0x1000

    def __init__(self, offset=32000, scale=140):
        _Device.__init__(self)
        self.offset = offset
        self.scale = scale
        self.flow_slm = 0.0
        self.measuring = False

    def write(self, data):
        self._check()
        data = bytes(data)
        self.writes.append(data)
        if len(data) >= 2 and (data[0] << 8 | data[1]) == self.CMD_START:
            self.measuring = True

    def read(self, n):
        self._check()
        if not self.measuring:
            raise OSError(_ENODEV)
        raw = _clamp(int(round(self.flow_slm * self.scale + self.offset)), 0, 65535)
        frame = bytearray(_word(raw, SFM3000_CRC_INIT))
        if self.fault == "crc":
            frame[2] ^= 0xFF
        return bytes(frame[:n])


class Canned(_Device):
    # Replays one fixed frame: an allocation-free stand-in for allocation measurements
    # (the device models above build a new frame per read, which the firmware never sees on a board).
    def __init__(self, frame):
        _Device.__init__(self)
        self.frame = bytes(frame)

    def write(self, data):
        pass

    def read(self, n):
        return self.frame


def can_all(machine):
    # swap every attached I2C device for a Canned one replaying its current frame
    for bus, addr, dev in machine.sim_i2c_devices():
        if not isinstance(dev, Canned):
            machine.sim_i2c_attach(bus, addr, Canned(dev.read(16)))


class ADS1115(_Device):
    # TI ADS1115 16-bit ADC: inputs in volts (`volts[n]`, AIN n to GND); a config write with OS=1
    # converts the selected input at its PGA full scale, the conversion register returns it.
    faults = ("nack",)
    ADDR = 0x48
    FSR_V = (6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256)

    def __init__(self):
        _Device.__init__(self)
        self.volts = [0.0, 0.0, 0.0, 0.0]
        self.pointer = 0
        self.config = 0x8583      # power-on default
        self.conversion = 0
        self.conversions = 0

    def write(self, data):
        # no `writes` log: the driver writes every tick and the record would grow without end
        self._check()
        if len(data) >= 1:
            self.pointer = data[0] & 3
        if len(data) >= 3 and self.pointer == 1:
            self.config = data[1] << 8 | data[2]
            if self.config & 0x8000:
                mux = (self.config >> 12) & 7
                fsr = self.FSR_V[(self.config >> 9) & 7]
                v = self.volts[mux - 4] if mux >= 4 else 0.0
                self.conversion = _clamp(int(round(v / fsr * 32768)), -32768, 32767)
                self.conversions += 1

    def read(self, n):
        self._check()
        if self.pointer == 0:
            w = self.conversion & 0xFFFF
        else:
            w = self.config & 0x7FFF | 0x8000    # OS reads 1: conversion done
        return bytes((w >> 8, w & 0xFF))[:n]
