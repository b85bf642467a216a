# Gas side of the simulated rig: sweep flow through the proportional valve, membrane O2/CO2
# transfer, O2-cell lag, blood temperature with a heater, and the fakes the firmware reads.
# Host side, floats allowed; runs under CPython and the MicroPython unix port.
#
# Units: flow in L/min, FiO2 as a fraction, temperature in degC, saturation in %, time in s.
# All figures are chosen here (bench placeholders), except where docs/facts.md is cited.
#
# Valve (normally closed proportional solenoid on wall gas):
#   x = (duty/65535 - crack) / (1 - crack), clamped 0..1
#   q_ss = q_max * supply * x**1.3       (supply 1.0 healthy, 0.0 after supply_lost)
#   dq/dt = (q_ss - q)/tau_valve
# Membrane, O2 (mL O2/min):
#   capacity = k_o2 * membrane * fio2 * sweep/(sweep + sweep_half)   (membrane 1.0 new, 0 clotted)
#   demand   = Qb * Hb[g/L] * 1.34 * (1 - S_pre)                     (to saturate the blood fully)
#   S_post_ss = S_pre + (1 - S_pre) * (1 - exp(-2*capacity/demand)); S_post lags with tau_sat
# Membrane, CO2:  pCO2_post = pCO2_pre * exp(-k_co2 * membrane * sweep / max(Qb, 0.2))
# Temperature: dT/dt = (T_target - T)/tau, T_target = heater setpoint (heater on) or room.
# O2 cell: first-order lag tau_cell (galvanic T90 ~10..15 s); `sensitivity` drifts it.
from math import exp

SUPPLY_LOST = "supply_lost"
VALVE_STUCK = "valve_stuck"
SENSOR = "sensor"
O2_CELL = "o2_cell"
FAULTS = (SUPPLY_LOST, VALVE_STUCK, SENSOR, O2_CELL)


class GasModel:
    def __init__(self, fio2=1.0, temp_c=37.0, room_c=22.0, heater_c=37.0):
        self.q_max_lpm = 15.0       # valve fully open on 50 psi wall gas
        self.crack = 0.25           # fraction of duty before the valve opens
        self.tau_valve_s = 0.08
        self.k_o2 = 600.0           # mL O2/min at FiO2 1.0, adult membrane (rated 400-500 at 5-7 L/min)
        self.sweep_half_lpm = 0.5
        self.hb_gpl = 120.0         # Hb 12 g/dL
        self.s_pre = 0.70           # venous saturation into the oxygenator
        self.tau_sat_s = 5.0
        self.pco2_pre_mmhg = 46.0
        self.k_co2 = 0.45
        self.tau_cell_s = 5.0
        self.tau_heat_s = 300.0
        self.tau_loss_s = 900.0
        self.room_c = room_c
        self.heater_c = heater_c    # None: heater off, blood drifts to room
        self.membrane = 1.0
        self.supply = 1.0
        self.stuck = False
        self.sensor_fault = False
        self.sensitivity = 1.0      # O2 cell output relative to new (o2_cell fault: drifts low)
        self._fio2 = fio2
        self.blender = False        # True: FiO2 follows the blender valve duty
        self._duty = 0
        self._q = 0.0
        self._cell = fio2
        self._t = temp_c
        self._qb = 0.0
        self._sat = 100.0 * self._sat_ss(3.0, 3.0)    # a primed circuit already running
        self.t_s = 0.0

    # ---- scenario verbs ----
    def set_fio2(self, fraction):
        if not 0.21 <= fraction <= 1.0:
            raise ValueError("fio2 fraction 0.21..1.0")
        self._fio2 = fraction

    def gas_fault(self, kind):
        # kind None clears every gas fault
        if kind is None:
            self.supply = 1.0
            self.stuck = False
            self.sensor_fault = False
            self.sensitivity = 1.0
        elif kind == SUPPLY_LOST:
            self.supply = 0.0
        elif kind == VALVE_STUCK:
            self.stuck = True
        elif kind == SENSOR:
            self.sensor_fault = True
        elif kind == O2_CELL:
            self.sensitivity = 0.8
        else:
            raise ValueError("gas fault kind: one of %s or None" % (FAULTS,))

    def membrane_failure(self, fraction):
        # fraction of the membrane lost (clot, plasma leak): 0 new .. 1 no exchange
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("membrane failure fraction 0..1")
        self.membrane = 1.0 - fraction

    def set_heater(self, temp_c):
        self.heater_c = temp_c

    # ---- time ----
    def step(self, dt_s, valve_duty_u16, blood_flow_lpm, blend_duty_u16=None):
        if not self.stuck:
            self._duty = valve_duty_u16
        x = (self._duty / 65535.0 - self.crack) / (1.0 - self.crack)
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        q_ss = self.q_max_lpm * self.supply * x ** 1.3
        self._q += (q_ss - self._q) * _lag(dt_s, self.tau_valve_s)
        if blend_duty_u16 is not None and self.blender:
            self._fio2 = 0.209 + 0.791 * blend_duty_u16 / 65535.0
        self._qb = blood_flow_lpm if blood_flow_lpm > 0 else 0.0
        self._cell += (self._fio2 - self._cell) * _lag(dt_s, self.tau_cell_s)
        self._sat += (100.0 * self._sat_ss(self._q, self._qb) - self._sat) * _lag(dt_s, self.tau_sat_s)
        target = self.heater_c if self.heater_c is not None else self.room_c
        tau = self.tau_heat_s if self.heater_c is not None else self.tau_loss_s
        self._t += (target - self._t) * _lag(dt_s, tau)
        self.t_s += dt_s

    def _sat_ss(self, sweep, qb):
        cap = self.k_o2 * self.membrane * self._fio2 * sweep / (sweep + self.sweep_half_lpm)
        demand = max(qb, 0.05) * self.hb_gpl * 1.34 * (1.0 - self.s_pre)
        return self.s_pre + (1.0 - self.s_pre) * (1.0 - exp(-2.0 * cap / demand))

    # ---- truth ----
    @property
    def sweep_lpm(self):
        return self._q

    @property
    def fio2(self):
        return self._fio2

    @property
    def fio2_cell(self):
        # what the O2 cell reports (lagged, times its sensitivity)
        return self._cell * self.sensitivity

    @property
    def temp_c(self):
        return self._t

    @property
    def sat_post_pct(self):
        return self._sat

    @property
    def pco2_post_mmhg(self):
        return self.pco2_pre_mmhg * exp(-self.k_co2 * self.membrane * self._q / max(self._qb, 0.2))


def _lag(dt, tau):
    return dt / tau if dt < tau else 1.0


class GasDevices:
    # The gas-side hardware the firmware reads, on the fake machine, per the board's GAS dict:
    # an SFM3000 on I2C, an ADS1115 (Pico) or ADC pins (ESP32) for O2, temperature and saturation.
    # `show(...)` writes physical values as the signals those parts would produce.
    def __init__(self, machine, board):
        import devices
        self.m = machine
        self.board = board
        g = board.GAS
        self.spec = g
        f = g["flow"]
        self.sfm = devices.SensirionSFM3000(f.get("offset", 32000), f.get("scale", 140))
        machine.sim_i2c_attach(f["bus"], f.get("addr", 0x40), self.sfm)
        self.ads = None
        if "ads1115" in g:
            self.ads = devices.ADS1115()
            machine.sim_i2c_attach(g["ads1115"]["bus"], g["ads1115"].get("addr", 0x48), self.ads)
        self.sensor_fault = False

    def valve_duty(self):
        return self.m.sim_pwm(self.spec["valve"]["pin"]).duty_u16

    def blend_duty(self):
        b = self.spec.get("blender")
        return self.m.sim_pwm(b["pin"]).duty_u16 if b else None

    def _put(self, s, raw):
        # raw in the board's calibration unit -> the signal at that input
        if "ads" in s:
            self.ads.volts[s["ads"]] = raw * s.get("fsr_mv", 4096) / 32768000.0
        elif getattr(self.board, "ADC_MV", False):
            self.m.sim_adc(s["adc"]).uv = int(raw * 1000)
        else:
            self.m.sim_adc(s["adc"]).u16 = int(raw)

    def show(self, sweep_lpm=None, fio2=None, temp_c=None, sat_pct=None, sensor_fault=None):
        g = self.spec
        if sensor_fault is not None:
            self.sfm.set_fault("crc" if sensor_fault else None)
        if sweep_lpm is not None:
            self.sfm.flow_slm = sweep_lpm
        if fio2 is not None:
            c = g["o2"]["cal"]
            self._put(g["o2"], c[0] + (fio2 * 1000 - c[1]) * (c[2] - c[0]) / (c[3] - c[1]))
        if temp_c is not None:
            t = g["temp"]
            r = t["r25_ohm"] * exp(t["beta"] * (1.0 / (temp_c + 273.15) - 1.0 / 298.15))
            self._put(t, t["raw_ref"] * r / (r + t["r_fixed_ohm"]))
        if sat_pct is not None:
            c = g["sat_post"]["cal"]
            self._put(g["sat_post"], c[0] + (sat_pct * 10 - c[1]) * (c[2] - c[0]) / (c[3] - c[1]))

    def follow(self, model):
        # the model's truth onto the signals (call after model.step)
        self.show(model.sweep_lpm, model.fio2_cell, model.temp_c, model.sat_post_pct,
                  model.sensor_fault)
