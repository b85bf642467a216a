# The baseline tick: the same job as ecmo.loop.Loop.tick (read P1/P2/P3/flow/bubble/e-stop/tach,
# check the limits, PID to a flow setpoint, drive pump and clamp, alarms, annunciator, a record
# of the tick), written the straightforward way: floats in engineering units, limits and alarms
# in dicts, attribute lookups everywhere, a new record dict and fresh bytes every tick.
# Same fake hardware, same pins, same gains. Not firmware; only the benchmarks use it.
import machine
from time import ticks_ms, ticks_us, ticks_diff


class NaiveRig:
    def __init__(self, board, i2c_class):
        self.board = board
        s = board.SENSORS
        self.cal = {k: s[k].get("cal") for k in s}
        self.adc = {"p1": machine.ADC(s["p1"]["adc"]), "flow": machine.ADC(s["flow"]["adc"])}
        self.i2c = {"p2": i2c_class(0), "p3": i2c_class(1)}
        self.pwm = machine.PWM(machine.Pin(board.PUMP["pwm"]), freq=20000, duty_u16=0)
        self.enable = machine.Pin(board.PUMP["enable"], machine.Pin.OUT, value=0)
        self.clamp = machine.Pin(board.CLAMP["pin"], machine.Pin.OUT, value=0)
        self.bubble = machine.Pin(board.BUBBLE["pin"], machine.Pin.IN)
        self.estop = machine.Pin(board.ESTOP["pin"], machine.Pin.IN)
        self.tach = machine.Pin(board.PUMP["tach"], machine.Pin.IN)
        self.led = machine.Pin(board.LED, machine.Pin.OUT, value=0)
        self.buzzer = machine.PWM(machine.Pin(board.BUZZER), freq=880, duty_u16=0)
        self.limits = {"p1_warn": -100.0, "p1_crit": -150.0, "p3_warn": 300.0, "p3_crit": 400.0,
                       "dp_max": 60.0, "flow_low": 1.5, "flow_retro": -0.1, "rpm_min": 1500.0}
        self.gains = {"kp": 400.0, "ki": 800.0, "kd": 0.0}
        self.setpoint_lpm = 4.0
        self.rpm_max = float(board.RPM_MAX)
        self.state = {"integral": 0.0, "last_flow": None, "rpm": 0.0, "cap": self.rpm_max,
                      "stopped": False, "pulses": 0, "t_pulse": ticks_us(), "measured_rpm": 0.0}
        self.alarms = {}
        self.priority = {"air": 3, "estop": 3, "suction_warn": 2, "suction_crit": 3,
                         "pressure_warn": 2, "pressure_crit": 3, "clot": 2, "low_flow": 2,
                         "sensor": 2}
        self.history = []
        self.flow_mlpm = 0
        self.last = None

    def claim_irqs(self):
        self.tach.irq(handler=self._tach, trigger=machine.Pin.IRQ_FALLING)
        self.bubble.irq(handler=self._stop, trigger=machine.Pin.IRQ_RISING)
        self.estop.irq(handler=self._stop, trigger=machine.Pin.IRQ_RISING)

    def _tach(self, pin):
        self.state["pulses"] += 1

    def _stop(self, pin):
        self.state["stopped"] = True
        self.pwm.duty_u16(0)
        self.enable.value(0)
        self.clamp.value(1)

    def convert(self, name, raw):
        ra, va, rb, vb = self.cal[name]
        return (va + (raw - ra) * (vb - va) / (rb - ra)) / 10.0

    def abp(self, name):
        try:
            data = self.i2c[name].readfrom(0x28, 2)
        except OSError:
            return None
        if data[0] >> 6:
            return None
        counts = ((data[0] & 0x3F) << 8) | data[1]
        return -517.1 + (counts - 1638) * 1034.2 / (14746 - 1638)

    def tick(self):
        t0 = ticks_us()
        now = ticks_ms()
        r = {}
        r["p1"] = self.convert("p1", self.adc["p1"].read_u16())
        r["flow"] = self.convert("flow", self.adc["flow"].read_u16()) / 100.0
        r["p2"] = self.abp("p2")
        r["p3"] = self.abp("p3")
        r["air"] = self.bubble.value() == 1
        r["estop"] = self.estop.value() == 1
        st = self.state
        dt_us = ticks_diff(ticks_us(), st["t_pulse"])
        st["t_pulse"] = ticks_us()
        st["measured_rpm"] = st["pulses"] * 60.0e6 / (dt_us * 2) if dt_us > 0 else 0.0
        st["pulses"] = 0
        # safety
        lim = self.limits
        al = {}
        al["air"] = r["air"]
        al["estop"] = r["estop"]
        if r["air"] or r["estop"]:
            st["stopped"] = True
        al["suction_warn"] = r["p1"] < lim["p1_warn"]
        al["suction_crit"] = r["p1"] < lim["p1_crit"]
        al["pressure_warn"] = r["p3"] is not None and r["p3"] > lim["p3_warn"]
        al["pressure_crit"] = r["p3"] is not None and r["p3"] > lim["p3_crit"]
        al["clot"] = r["p2"] is not None and r["p3"] is not None and \
            r["p2"] - r["p3"] > lim["dp_max"]
        al["low_flow"] = r["flow"] < lim["flow_low"]
        al["sensor"] = r["p2"] is None or r["p3"] is None
        for k in al:
            if al[k] and not self.alarms.get(k):
                self.history.append((now, k))
                if len(self.history) > 64:
                    self.history.pop(0)
        self.alarms = al
        # PID on floats, dt in seconds
        dt = 0.01
        g = self.gains
        err = self.setpoint_lpm - r["flow"]
        st["integral"] += err * dt
        d = 0.0
        if st["last_flow"] is not None:
            d = -(r["flow"] - st["last_flow"]) / dt
        st["last_flow"] = r["flow"]
        rpm = g["kp"] * err + g["ki"] * st["integral"] + g["kd"] * d
        if al["suction_crit"] or al["pressure_crit"]:
            st["cap"] = max(0.0, st["rpm"] - 2000.0 * dt)
        elif not (al["suction_warn"] or al["pressure_warn"]):
            st["cap"] = min(self.rpm_max, st["cap"] + 300.0 * dt)
        rpm = min(rpm, st["cap"], self.rpm_max)
        rpm = max(rpm, lim["rpm_min"])
        if (rpm >= self.rpm_max and err > 0) or (rpm <= lim["rpm_min"] and err < 0):
            st["integral"] -= err * dt          # simple anti-windup: stop integrating at a limit
        if st["stopped"]:
            rpm = 0.0
        st["rpm"] = rpm
        self.pwm.duty_u16(int(rpm / self.rpm_max * 65535))
        self.enable.value(0 if st["stopped"] else 1)
        self.clamp.value(1 if st["stopped"] else 0)
        # annunciator
        active = [k for k in al if al[k]]
        top = max([self.priority[k] for k in active]) if active else 0
        period = {0: 1000, 1: 1000, 2: 1600, 3: 500}[top]
        self.led.value(1 if top and (now % period) < period / 2 else 0)
        self.buzzer.duty_u16(32768 if top == 3 and (now % 1000) < 200 else 0)
        # the tick's record
        r["rpm"] = rpm
        r["alarms"] = active
        r["tick_us"] = ticks_diff(ticks_us(), t0)
        self.last = r
        self.flow_mlpm = int(r["flow"] * 1000)
