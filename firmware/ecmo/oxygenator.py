# The oxygenator side: sweep flow sensor and valve, O2 cell, blood temperature, post-oxygenator
# saturation, the sweep (and blender) loops and the gas interlocks. ecmo/wiring.py builds the
# parts from the board's GAS dict; the pump loop calls tick() every control tick after the pump.
from micropython import const
from ecmo.telemetry import fixed, reading, rounded

EVERY = const(10)      # gas loops at 10 Hz: valve, line and sensors respond in ~100 ms
# The gas step's work is spread over its ticks (each tick pays a share, not one tick all of it:
# the whole tick's p99 was the step's tick). Tick k of the step (n % every):
_K_TEMP = const(1)     # 1: the thermistor read
_K_SAT = const(2)      # 2: the saturation read
_K_SENSORS = const(3)  # 3: gas sensor validity (SENSOR_GAS) and the FiO2 alarm
_K_PATIENT = const(4)  # 4: temperature and saturation alarms (TEMP, SAT_LOW)
# 0 keeps the O2 read, the sweep loop and the FiO2 loop, as before. So the slow alarms are
# judged 30-40 ms after their step's start (their debounces are 0.3 s to 30 s, counted in
# steps as before); the sweep interlocks (GasSafety.update) still run every tick.
COLUMNS = ("sweep_setpoint_lpm", "sweep_lpm", "fio2", "temp_c", "sat_post_pct")


class Oxygenator:
    # ads: the ADS1115 to poll each tick, or None; sweep, o2, temp, sat: sensors; valve and
    # blender: PropValves (blender None: FiO2 monitor only) with their loops; safety: GasSafety
    def __init__(self, every, step_ms, ads, sweep, o2, temp, sat, valve, purge_u16, control,
                 blender, fio2_control, safety):
        self.every = every
        self.step_ms = step_ms
        self.ads = ads
        self.sweep = sweep
        self.o2 = o2
        self.temp = temp
        self.sat = sat
        self.valve = valve
        self.purge_u16 = purge_u16
        self.control = control
        self.blender = blender
        self.fio2_control = fio2_control
        self.safety = safety
        self.fio2_target_dpct = 1000    # ELSO: start at FiO2 1.0, then wean
        self._spread = every > _K_PATIENT   # else the whole step on its first tick
        if ads is not None:
            ads.prime()

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
        k = n % self.every
        step = k == 0
        spread = self._spread
        c = self.control
        sf = self.safety
        was_cut = sf.cut
        if step:
            self.o2.read()
            if not spread:
                self.temp.read()
                self.sat.read()
            if not was_cut:
                c.update(sweep.value, sweep.status == 0, self.step_ms)
        elif k == _K_TEMP:
            self.temp.read()
        elif k == _K_SAT:
            self.sat.read()
        duty = sf.update(now_ms, c.target_mlpm, c.sp_mlpm, c.out_u16, self.purge_u16)
        if was_cut and not sf.cut:
            c.restart(sweep.value)
        self.valve.set(duty)
        if not spread:
            if step:
                sf.slow(now_ms, duty > 0 and c.target_mlpm > 0, self.fio2_target_dpct)
        elif k == _K_SENSORS:
            sf.slow_sensors(now_ms, duty > 0 and c.target_mlpm > 0, self.fio2_target_dpct)
        elif k == _K_PATIENT:
            sf.slow_patient(now_ms)
        if step:
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
        # the COLUMNS as text from the integers (telemetry: no floats, the same on every runtime)
        return (fixed(rounded(self.control.target_mlpm, 10), 2), reading(self.sweep, 2, 10),
                reading(self.o2, 3), reading(self.temp, 2), reading(self.sat, 1))

    def status_line(self):
        c = self.control
        cols = self.values()
        return ("sweep sp=%s L/min flow=%s duty=%d%s FiO2=%s (target %s, %s%s) T=%s C "
                "SpostO2=%s %%" % (
                    cols[0], cols[1], self.valve.duty_u16, " CUT" if self.safety.cut else "",
                    cols[2], fixed(self.fio2_target_dpct, 3),
                    "blender" if self.blender is not None else "monitor",
                    ", OUT OF CAL" if self.o2.out_of_cal else "", cols[3], cols[4]))
