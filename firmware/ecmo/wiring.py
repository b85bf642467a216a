# The composition root: the only module that reads the board file's pin map and makes the
# machine objects (Pin, PWM, ADC, I2C, Timer, WDT). Every driver gets the objects it needs,
# every loop the parts it needs; the rig (ecmo/rig.py) gets them all as one Parts.
# Order matters where noted: outputs are made at their safe level before anything else.
import machine
from machine import Pin, PWM, ADC, I2C, Timer, WDT
# the largest modules first: compiled from source, each needs room while the rest is small
from ecmo.safety.supervisor import Supervisor
from ecmo.loop import Loop
from ecmo import table as T
from ecmo.drivers import pins
from ecmo.drivers.analog import AnalogSensor, calibrated
from ecmo.drivers.pressure import HoneywellABP
from ecmo.drivers.flow import PulseFlow
from ecmo.drivers.bubble import DigitalBubble, AnalogBubble
from ecmo.drivers.pump import Pump
from ecmo.drivers.clamp import Clamp
from ecmo.drivers.estop import EStop
from ecmo.drivers.valve import PropValve
from ecmo.drivers.annunciator import Annunciator, TONE_HZ
from ecmo.control.pump_control import PumpControl
from ecmo.safety.alarms import Alarms
from ecmo.safety.trip import Trip
from ecmo.pumpmap import PumpMap
from ecmo.redundancy import Redundancy

# a datasheet-like fit for a board file without PUMP_MAP (docs/pumpmap.md)
_PUMP_MAP_DEFAULT = {"a": 28.0, "b": 2.6, "c": 0.6, "err_pct": 10}

# an uncalibrated ESP32 at ATTN_11DB with no ADC_U16_CAL in the board file: a straight line
# over the range the calibrated reading spans (0 counts ~142 mV .. full scale ~3.1 V); its error
# is the chip's reference error (+-6 %): the status line says "adc=u16-nominal"
_U16_NOMINAL = (0, 142, 65535, 3100)

_I2C_TIMEOUT_US = 2000   # a dead bus must cost the tick a couple of ms, not the port's 50 ms


# ---- one driver from its board entry (tests build single drivers with these too) ----
def counter(unit, pin, active_level):
    # a hardware counter of the input's edges toward its active level (ESP32: machine.Counter
    # on a PCNT unit, MicroPython 1.26+); None where the board names no unit. A board that
    # names one counts on it (the ESP32's soft IRQs can be lost), so a port without Counter is
    # refused at boot with the reason: running on, an air pulse lost with its IRQ would not stop
    # the pump (the outputs stay at early.py's safe levels)
    if unit is None:
        return None
    C = getattr(machine, "Counter", None)
    if C is None:
        raise RuntimeError("the board file names edge counter %d for %s but this MicroPython has "
                           "no machine.Counter: flash v1.26 or later (or take EDGE_COUNTERS out of "
                           "the board file, and lose the lost-IRQ protection)" % (unit, pin))
    return C(unit, pin, edge=C.RISING if active_level else C.FALLING)


def _unit(board, name):
    u = getattr(board, "EDGE_COUNTERS", None)
    return u.get(name) if u else None


def pump(spec, rpm_max, unit=None):
    # enable off and duty 0 before anything else: a reset must never start the pump by itself
    level = spec.get("enable_level", 1)
    en = Pin(spec["enable"], Pin.OUT, value=1 - level)
    pwm = PWM(Pin(spec["pwm"]), freq=spec["freq_hz"], duty_u16=0)
    tach = Pin(spec["tach"], Pin.IN, Pin.PULL_UP)
    return Pump(pwm, en, tach, rpm_max, spec["pulses_per_rev"], level,
                counter(unit, tach, 0))


def clamp(spec, closed=False):
    # the profile's safe state from the first write: VA closed (the pump is not running yet,
    # an open return line flows backwards), VV open (closing a line at power-up is itself a
    # hazard). early.py (main.py's first lines) made the pin so already; this keeps it there.
    level = spec.get("closed_level", 1)
    c = Clamp(Pin(spec["pin"], Pin.OUT, value=level if closed else 1 - level), level)
    c.closed = closed
    return c


def _pulled_in(pin_id, active_level):
    # pulled toward the active level: a cut wire reads as air / pressed
    return Pin(pin_id, Pin.IN, Pin.PULL_UP if active_level else Pin.PULL_DOWN)


def estop(spec, on_stop, cut=None, unit=None):
    level = spec.get("active_level", 1)
    pin = _pulled_in(spec["pin"], level)
    return EStop(pin, level, on_stop, cut, counter(unit, pin, level))


def digital_bubble(spec, on_air, cut=None, unit=None):
    level = spec.get("active_level", 1)
    pin = _pulled_in(spec["pin"], level)
    return DigitalBubble(pin, level, on_air, cut, counter(unit, pin, level))


def pulse_flow(spec, tick_ms):
    # an open-collector turbine output needs a pull-up
    return PulseFlow(Pin(spec["pin"], Pin.IN, Pin.PULL_UP), spec.get("pulses_per_l", 450),
                     tick_ms=tick_ms)


def valve(spec):
    # normally closed: duty 0 before anything else
    return PropValve(PWM(Pin(spec["pin"]), freq=spec.get("freq_hz", 1000), duty_u16=0))


def annunciator(buzzer_pin, led_pin, led_level=1):
    return Annunciator(PWM(Pin(buzzer_pin), freq=TONE_HZ, duty_u16=0),
                       Pin(led_pin, Pin.OUT, value=1 - led_level), led_level)


def pump_map(d):
    # a PumpMap from its dict (board file or settings); raises on a bad one
    return PumpMap(d["a"], d["b"], d.get("c", 0.0), d.get("err_pct", 10))


class Parts:
    # what the rig is made of (Wiring.build makes them, in a safe order)
    def __init__(self, pump, clamp_out, p1, p2, p3, flow, control, trip, bubble, estop, al,
                 sup, ann, gas, red, pump_map_board, loop, level=None):
        self.pump = pump
        self.clamp_out = clamp_out
        self.p1 = p1
        self.p2 = p2
        self.p3 = p3
        self.flow = flow
        self.control = control
        self.trip = trip
        self.bubble = bubble
        self.estop = estop
        self.al = al
        self.sup = sup
        self.ann = ann
        self.gas = gas        # the Oxygenator, or None on a board without GAS
        self.red = red        # analytical redundancy on the pump map (ecmo/redundancy.py)
        self.pump_map_board = pump_map_board
        self.loop = loop
        self.level = level    # the reservoir level sensor, or None (board without LEVEL)


class Wiring:
    def __init__(self, board):
        self.board = board
        self.period_ms = 1000 // board.TICK_HZ
        self._i2c = {}
        self.adc_mode = "mv" if getattr(board, "ADC_MV", False) else "u16"
        self._u16cal = None

    # ---- buses and inputs ----
    def bus(self, n):
        if n not in self._i2c:
            c = self.board.I2C[n]
            self._i2c[n] = I2C(n, scl=Pin(c["scl"]), sda=Pin(c["sda"]), freq=c["freq"],
                               timeout=c.get("timeout_us", _I2C_TIMEOUT_US))
        return self._i2c[n]

    def adc(self, pin):
        adc = ADC(Pin(pin))
        att = getattr(self.board, "ADC_ATTEN", None)
        if att is not None:
            adc.atten(att)
        if self.adc_mode == "mv" and not calibrated(adc):
            # an ESP32 without ADC calibration: the whole chip, decided at the first input
            cal = getattr(self.board, "ADC_U16_CAL", None)
            self.adc_mode = "u16-cal" if cal else "u16-nominal"
            self._u16cal = cal or _U16_NOMINAL
        return adc

    def u16cal(self):
        # the two-point calibration a read_u16 fallback uses, or None (read_uv / plain u16)
        return self._u16cal

    def sensor(self, spec):
        k = spec["kind"]
        if k == "analog":
            adc = self.adc(spec["adc"])
            return AnalogSensor(adc, spec["cal"], spec["rails"], spec["limits"],
                                spec.get("stuck_ticks", 0), getattr(self.board, "ADC_MV", False),
                                spec.get("jitter", 0), self._u16cal)
        if k == "abp":
            return HoneywellABP(self.bus(spec["bus"]), spec["addr"], spec["pmin_dmmhg"],
                                spec["pmax_dmmhg"], spec.get("frozen_ticks", 50),
                                spec.get("jitter", 40))
        if k == "pulse":
            return pulse_flow(spec, self.period_ms)
        raise ValueError("unknown sensor kind %r" % k)

    def level(self, spec):
        # the reservoir level (ecmo/drivers/level.py): (driver, is_switch)
        k = spec["kind"]
        if k == "switch":
            from ecmo.drivers.level import LevelSwitch
            a = spec.get("active_level", 1)
            return LevelSwitch(_pulled_in(spec["pin"], a), a), True
        if k == "analog":
            # no stuck check: a reservoir level may stand still for minutes
            return AnalogSensor(self.adc(spec["adc"]), spec["cal"], spec["rails"],
                                spec["limits"], 0, getattr(self.board, "ADC_MV", False), 0), False
        raise ValueError("LEVEL kind must be 'switch' or 'analog', got %r" % (k,))

    # ---- timers ----
    def tick_timer(self):
        return Timer(self.board.TIMER_ID)

    def telemetry_timer(self):
        return Timer(getattr(self.board, "TELEMETRY_TIMER_ID", -1))

    def watchdog(self):
        ms = getattr(self.board, "WDT_TIMEOUT_MS", 0)
        return WDT(timeout=ms) if ms else None

    # ---- the whole rig ----
    def build(self, retain, profile="VA"):
        b = self.board
        pins.forget()          # the pin handlers the loop re-arms: this rig's only
        pmp = pump(b.PUMP, b.RPM_MAX, _unit(b, "tach"))
        clp = clamp(b.CLAMP, profile == "VA")
        s = b.SENSORS
        p1 = self.sensor(s["p1"])
        p2 = self.sensor(s["p2"])
        p3 = self.sensor(s["p3"])
        flow = self.sensor(s["flow"])
        control = PumpControl(T.default("kp"), T.default("ki"), T.default("kd"), b.RPM_MAX)
        control.set_servo_gains(T.default("servo_kp"), T.default("servo_ki"),
                                T.default("servo_kd"))
        lvl, lvl_switch = self.level(b.LEVEL) if hasattr(b, "LEVEL") else (None, False)
        # the trip exists before the IRQ inputs so their handlers stop the pump at once
        trip = Trip(pmp, clp, retain)
        bc = b.BUBBLE
        if bc["kind"] == "digital":
            bub = digital_bubble(bc, trip.air_cb, pmp.cut, _unit(b, "bubble"))
        else:
            bub = AnalogBubble(self.sensor(bc["sensor"]), bc["threshold"],
                               bc.get("air_above", True), trip.air_cb)
        est = estop(b.ESTOP, trip.estop_cb, pmp.cut, _unit(b, "estop"))
        al = Alarms()
        # the pump map (board file: a datasheet fit; settings: identified on the rig) and the
        # cross-checks built on it; the flow loop's feed-forward uses the same estimate
        pm = getattr(b, "PUMP_MAP", None) or _PUMP_MAP_DEFAULT
        red = Redundancy(p1, p2, p3, flow, pmp, pump_map(pm))
        # its substitutes and names feed the interlocks (issue 11)
        sup = Supervisor(trip, bub, est, p1, p2, p3, flow, al, profile, b.RPM_MAX,
                         self.period_ms, red, lvl, lvl_switch, control)
        ann = annunciator(b.BUZZER, b.LED)
        # the oxygenator side is optional per board: its own loop runs from the pump tick
        gas = self.oxygenator(b.GAS, sup, flow, al) if hasattr(b, "GAS") else None
        control.feed_forward(red)
        control.sources(red)
        sensors = (p1, p2, p3, flow, bub, est) + ((lvl,) if lvl is not None else ())
        loop = Loop(sensors, pmp, control, sup, al, ann, self.period_ms,
                    aux=(gas,) if gas is not None else (), red=red)
        return Parts(pmp, clp, p1, p2, p3, flow, control, trip, bub, est, al, sup, ann, gas,
                     red, pm, loop, lvl)

    def oxygenator(self, spec, sup, blood_flow, alarms):
        # imported here: a board without GAS never loads the oxygenator's code
        from ecmo.safety.gas import GasSafety          # the largest first (see the top)
        from ecmo.control.sweep import SweepControl, FiO2Control
        from ecmo.oxygenator import Oxygenator, EVERY
        from ecmo.drivers.ads1115 import ADS1115
        from ecmo.drivers.gasflow import SFM3000
        from ecmo.drivers.o2cell import O2Cell
        from ecmo.drivers.thermistor import Thermistor
        every = spec.get("every", EVERY)
        if not 1 <= every <= 10:
            # the sweep PID's gain bounds keep ki * e * dt below 2**30 for dt up to 10 ticks
            raise ValueError("GAS every must be 1..10 ticks, got %r" % (every,))
        step_ms = self.period_ms * every
        mv = getattr(self.board, "ADC_MV", False)
        ads = None
        if "ads1115" in spec:
            a = spec["ads1115"]
            ads = ADS1115(self.bus(a["bus"]), a.get("addr", 0x48))

        def source(s):
            # an input is an ADC pin ("adc") or an ADS1115 channel ("ads", with its full scale)
            if "ads" in s:
                if ads is None:
                    raise ValueError("GAS input %r needs an 'ads1115' entry" % (s,))
                return ads.channel(s["ads"], s.get("fsr_mv", 4096)), False
            return self.adc(s["adc"]), mv

        f = spec["flow"]
        sweep = SFM3000(self.bus(f["bus"]), f.get("addr", 0x40), f.get("offset", 32000),
                        f.get("scale", 140), f.get("limits_mlpm", (-1000, 15000)))
        o = spec["o2"]
        adc, amv = source(o)
        o2 = O2Cell(adc, o["cal"], o["rails"], 0, amv)
        t = spec["temp"]
        adc, amv = source(t)
        temp = Thermistor(adc, t["r25_ohm"], t["beta"], t["r_fixed_ohm"], t["raw_ref"],
                          t["rails"], amv)
        s = spec["sat_post"]
        adc, amv = source(s)
        sat = AnalogSensor(adc, s["cal"], s["rails"], s.get("limits", (-20, 1020)), 0, amv)
        if self._u16cal is not None:
            # an ESP32 without ADC calibration: the gas side's board inputs read through it too
            # (an ADS1115 channel has its own reference and is left alone)
            for sensor, src in ((o2, o), (temp._ch, t), (sat, s)):
                if "ads" not in src:
                    sensor.use_u16(self._u16cal)
        v = spec["valve"]
        sweep_valve = valve(v)
        g = spec.get("sweep_pid", (100, 400, 0))
        control = SweepControl(g[0], g[1], g[2], v.get("crack_u16", 0),
                               spec.get("sweep_ramp_mlpm_s", 5000))
        # FiO2: monitor only, unless the board has an air/O2 blender valve
        blender = None
        fio2_control = None
        bl = spec.get("blender")
        if bl:
            blender = valve(bl)
            fio2_control = FiO2Control(bl.get("ki", 300))
        safety = GasSafety(sup, blood_flow, sweep, o2, temp, sat, alarms, self.period_ms, step_ms)
        return Oxygenator(every, step_ms, ads, sweep, o2, temp, sat, sweep_valve,
                          v.get("purge_u16", 0), control, blender, fio2_control, safety)
