# The oxygenator side, wired from the board's GAS dict: sweep flow sensor and valve, O2 cell,
# blood temperature, post-oxygenator saturation, the sweep (and blender) loops and the gas
# interlocks. rig.py builds one; the pump loop calls tick() every control tick after the pump.
from micropython import const
from ecmo.drivers.analog import AnalogSensor
from ecmo.drivers.ads1115 import ADS1115
from ecmo.drivers.gasflow import SFM3000
from ecmo.drivers.o2cell import O2Cell
from ecmo.drivers.thermistor import Thermistor
from ecmo.drivers.valve import PropValve
from ecmo.control.sweep import SweepControl, FiO2Control
from ecmo.safety.gas import GasSafety

_EVERY = const(10)     # gas loops at 10 Hz: valve, line and sensors respond in ~100 ms
COLUMNS = ("sweep_setpoint_lpm", "sweep_lpm", "fio2", "temp_c", "sat_post_pct")


class Gas:
    def __init__(self, rig, spec):
        b = rig.board
        self._rig = rig
        period_ms = 1000 // b.TICK_HZ
        self.every = spec.get("every", _EVERY)
        if not 1 <= self.every <= 10:
            # the sweep PID's gain bounds keep ki * e * dt below 2**30 for dt up to 10 ticks
            raise ValueError("GAS every must be 1..10 ticks, got %r" % (self.every,))
        self.step_ms = period_ms * self.every
        self._mv = getattr(b, "ADC_MV", False)
        self.ads = None
        if "ads1115" in spec:
            a = spec["ads1115"]
            self.ads = ADS1115(rig._bus(a["bus"]), a.get("addr", 0x48))
        f = spec["flow"]
        self.sweep = SFM3000(rig._bus(f["bus"]), f.get("addr", 0x40), f.get("offset", 32000),
                             f.get("scale", 140), f.get("limits_mlpm", (-1000, 15000)))
        o = spec["o2"]
        adc, mv = self._source(o)
        self.o2 = O2Cell(adc, o["cal"], o["rails"], 0, mv)
        t = spec["temp"]
        adc, mv = self._source(t)
        self.temp = Thermistor(adc, t["r25_ohm"], t["beta"], t["r_fixed_ohm"], t["raw_ref"],
                               t["rails"], mv)
        s = spec["sat_post"]
        adc, mv = self._source(s)
        self.sat = AnalogSensor(adc, s["cal"], s["rails"], s.get("limits", (-20, 1020)), 0, mv)
        v = spec["valve"]
        self.valve = PropValve(v["pin"], v.get("freq_hz", 1000))
        self.purge_u16 = v.get("purge_u16", 0)
        g = spec.get("sweep_pid", (100, 400, 0))
        self.control = SweepControl(g[0], g[1], g[2], v.get("crack_u16", 0),
                                    spec.get("sweep_ramp_mlpm_s", 5000))
        # FiO2: monitor only, unless the board has an air/O2 blender valve
        self.blender = None
        self.fio2_control = None
        bl = spec.get("blender")
        if bl:
            self.blender = PropValve(bl["pin"], bl.get("freq_hz", 1000))
            self.fio2_control = FiO2Control(bl.get("ki", 300))
        self.fio2_target_dpct = 1000    # ELSO: start at FiO2 1.0, then wean
        self.safety = GasSafety(rig.sup, rig.flow, self.sweep, self.o2, self.temp, self.sat,
                                rig.al, period_ms, self.step_ms)
        if self.ads is not None:
            self.ads.prime()
        # the saved sweep setpoint comes back after a reset; the cut holds it while blood is still
        sp = rig.settings.get("sweep_lpm", 0)
        if isinstance(sp, (int, float)) and not isinstance(sp, bool) and 0 <= sp <= 10:
            self.control.target_mlpm = int(sp * 1000)
        fi = rig.settings.get("fio2", 1.0)
        if isinstance(fi, (int, float)) and not isinstance(fi, bool) and 0.209 <= fi <= 1.0:
            self.set_fio2_dpct(int(fi * 1000 + 0.5))

    def _source(self, s):
        # an input is an ADC pin ("adc") or an ADS1115 channel ("ads", with its full scale)
        if "ads" in s:
            if self.ads is None:
                raise ValueError("GAS input %r needs an 'ads1115' entry" % (s,))
            return self.ads.channel(s["ads"], s.get("fsr_mv", 4096)), False
        return self._rig._adc(s["adc"]), self._mv

    def set_fio2_dpct(self, dpct):
        self.fio2_target_dpct = dpct
        if self.fio2_control is not None:
            self.fio2_control.target_dpct = dpct

    # ---- the tick: every pump tick; loops and slow signals every `every` ticks ----
    def tick(self, now_ms, n):
        sweep = self.sweep
        sweep.read()
        if self.ads is not None:
            self.ads.poll()
        step = n % self.every == 0
        c = self.control
        sf = self.safety
        was_cut = sf.cut
        if step:
            self.o2.read()
            self.temp.read()
            self.sat.read()
            if not was_cut:
                c.update(sweep.value, sweep.status == 0, self.step_ms)
        duty = sf.update(now_ms, c.target_mlpm, c.sp_mlpm, c.out_u16, self.purge_u16)
        if was_cut and not sf.cut:
            c.restart(sweep.value)
        self.valve.set(duty)
        if step:
            sf.slow(now_ms, duty > 0 and c.target_mlpm > 0, self.fio2_target_dpct)
            fc = self.fio2_control
            bl = self.blender
            if fc is not None and bl is not None:
                bl.set(fc.update(self.o2.value, self.o2.status == 0 and
                                           not self.o2.out_of_cal, self.step_ms))

    def cut(self):
        # bench halt / fail-safe: close the sweep valve (REPL side)
        self.valve.close()

    # ---- telemetry and REPL (allocate; never called from the tick) ----
    def columns(self):
        return COLUMNS

    def values(self):
        def v(sensor, fmt, div):
            return fmt % (sensor.value / div) if not sensor.status else ""   # invalid: empty, as the pump columns
        return ("%.2f" % (self.control.target_mlpm / 1000), v(self.sweep, "%.2f", 1000),
                v(self.o2, "%.3f", 1000), v(self.temp, "%.2f", 100), v(self.sat, "%.1f", 10))

    def status_line(self):
        c = self.control
        cols = self.values()
        return ("sweep sp=%s L/min flow=%s duty=%d%s FiO2=%s (target %.3f, %s%s) T=%s C "
                "SpostO2=%s %%" % (
                    cols[0], cols[1], self.valve.duty_u16, " CUT" if self.safety.cut else "",
                    cols[2], self.fio2_target_dpct / 1000,
                    "blender" if self.blender is not None else "monitor",
                    ", OUT OF CAL" if self.o2.out_of_cal else "", cols[3], cols[4]))
