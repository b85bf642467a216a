# Gas and heat side of the simulated rig: sweep flow through the proportional valve, O2 and CO2
# exchange across the membrane, blood temperature from a heat balance, the O2-cell lag, and the
# fakes the firmware reads. Host side, floats allowed; runs under CPython and MicroPython.
# Figures and their sources: docs/simulation.md. Units: flow L/min, FiO2 a fraction,
# temperature degC, saturation %, PO2/PCO2 mmHg, time s.
#
# Valve (normally closed proportional solenoid on wall gas):
#   x = (duty/65535 - crack) / (1 - crack), clamped 0..1
#   q_ss = q_max * supply * x**1.3       (supply 1.0 healthy, 0.0 after supply_lost)
#   dq/dt = (q_ss - q)/tau_valve
#
# Oxygen: the blood path of the oxygenator is N_SEG well-mixed cells in series (its prime
# volume), moved along by the blood flow; each cell's O2 content relaxes towards the content
# at the fibres' PO2:  dC/dt = k_o2 * membrane * (C(PgO2) - C)
# with C(PO2) = 1.34*Hb*S(PO2) + 0.003*PO2 (mL O2/dL), S from Severinghaus' dissociation curve
# and PO2 back from C (Newton). Content, not PO2, is what diffuses (haemoglobin carries it). Blood that does not move keeps its oxygen: nothing in the
# oxygenator consumes it, so a stopped pump does not desaturate the oxygenator.
# Gas side: the fibres hold gas_ml of gas in two halves in series, fed by the sweep at FiO2;
# uptake depletes them (a lost sweep desaturates the blood once the fibres are empty of O2).
# PgO2 = F * 713 mmHg (760 less water vapour at 37 degC). Blood and gas run counter-current.
# The saturation monitor sits at the oxygenator outlet and sees the last cell.
#
# CO2 (truth only, no sensor reads it): a counter-current exchanger between the blood's CO2
# capacity rate Qb*k_co2_content and the sweep's sweep/713 (mL CO2/min per mmHg), membrane
# conductance dm_co2: VCO2 = eff(NTU, Cr) * Cmin * PCO2_pre, PCO2_post = PCO2_pre - VCO2/Cb.
#
# Heat: two nodes. The circuit's blood and hardware (c_circuit_j_per_k, the thermistor sees it)
# and the patient or the bath (c_patient_j_per_k). The flowing blood couples them; the heater's
# exchanger pulls the circuit node towards the heater setpoint; the circuit loses heat to the
# room (ua_circuit) and to the sweep (water evaporating into dry gas); the patient makes
# metabolic heat and loses some to the room (ua_patient). With the heater off an adult patient
# cools over hours, not minutes.
# O2 cell: first-order lag tau_cell (galvanic T90 ~10..15 s); `sensitivity` drifts it.
from math import exp, log

SUPPLY_LOST = "supply_lost"
VALVE_STUCK = "valve_stuck"
SENSOR = "sensor"
O2_CELL = "o2_cell"
FAULTS = (SUPPLY_LOST, VALVE_STUCK, SENSOR, O2_CELL)

DRY_GAS_MMHG = 713.0     # 760 mmHg less 47 mmHg water vapour at 37 degC
HUFNER_ML_PER_G = 1.34   # O2 bound per g of haemoglobin
O2_SOL = 0.003           # mL O2 per dL blood per mmHg, dissolved
N_SEG = 6                # cells along the blood path
C_BLOOD_J_PER_KG_K = 3600.0
EVAP_W_PER_LPM = 1.76    # 44 mg/L of water to saturate dry gas at 37 degC x 2.4 kJ/g


def sat_frac(po2):
    # Severinghaus 1979, eq. 1: fractional saturation from PO2 (mmHg), 37 degC, pH 7.4
    if po2 <= 0.0:
        return 0.0
    u = po2 * (po2 * po2 + 150.0)
    return u / (u + 23400.0)


def po2_of_sat(s):
    # Severinghaus 1979, eq. 2: the inverse
    if s <= 0.0:
        return 0.0
    if s > 0.99999:
        s = 0.99999
    return exp(0.385 * log(s / (1.0 - s)) + 3.32 - 1.0 / (72.0 * s) - 0.17 * s ** 6)


class GasModel:
    def __init__(self, fio2=1.0, temp_c=37.0, room_c=22.0, heater_c=37.0):
        self.q_max_lpm = 15.0       # valve fully open on 50 psi wall gas
        self.crack = 0.25           # fraction of duty before the valve opens
        self.tau_valve_s = 0.08
        # blood into the oxygenator: the ISO 7199 test blood (Hb 12 g/dL, SvO2 65 %, PCO2 45)
        self.hb_gdl = 12.0
        self.s_pre = 0.65
        self.pco2_pre_mmhg = 45.0
        # membrane: blood-side transfer is limited by the boundary layer, where haemoglobin
        # carries the O2 (facilitated diffusion), so each cell's O2 content relaxes towards the
        # content it would have at the gas' PO2, at k_o2_per_min (chosen): 4 L/min of test
        # blood with 4 L/min of air leaves near 98 %, on O2 near 550 mmHg; 7 L/min on O2
        # (an adult lung's top rated flow) still leaves above 95 %.
        # dm_co2 puts the exhaust near the blood's PCO2 at V/Q 1
        self.k_o2_per_min = 60.0
        self.dm_co2 = 20.0          # mL CO2 / (min mmHg)
        self.k_co2_content = 0.006  # mL CO2 / (mL blood mmHg), slope of the CO2 content curve
        self.oxy_ml = 250.0         # blood-side prime (as the plant's oxy_prime_ml)
        self.gas_ml = 100.0         # gas inside the fibres
        self.tau_cell_s = 5.0
        # heat (docs/simulation.md): adult 70 kg at 3.47 kJ/(kg K); 80 W basal; a covered
        # patient in balance at 37 degC in a 22 degC room without the circuit
        self.c_patient_j_per_k = 70.0 * 3470.0
        self.metabolic_w = 80.0
        self.ua_patient_w_per_k = 80.0 / 15.0
        self.c_circuit_j_per_k = 2600.0     # ~0.55 L of blood plus tubing and housings
        self.ua_circuit_w_per_k = 2.5       # ~0.25 m2 exposed at ~10 W/(m2 K)
        self.ua_heater_w_per_k = 150.0      # heat exchanger, blood side
        self.room_c = room_c
        self.heater_c = heater_c    # None: heater off
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
        self._tc = temp_c           # circuit blood, what the thermistor sees
        self._tp = temp_c           # patient or bath
        self._qb = 0.0
        # a primed circuit that has recirculated with gas on: blood and fibres in equilibrium
        self._fg = [fio2, fio2]     # O2 fraction in the fibres: gas inlet half, outlet half
        p = fio2 * DRY_GAS_MMHG
        self._p_out = p             # PO2 of the outlet cell (only it is seen), from its content
        self._p_fresh = True
        self._c = [self._content(p)] * N_SEG
        self.vo2_mlpm = 0.0
        self._co2_at = None
        self._key = None
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

    def blood_temp(self, temp_c):
        # a bolus of cold (or warm) fluid mixed through: patient and circuit at this temperature
        self._tc = float(temp_c)
        self._tp = float(temp_c)

    # the scenario runner sets the blood temperature through this name
    @property
    def _t(self):
        return self._tc

    @_t.setter
    def _t(self, temp_c):
        self.blood_temp(temp_c)

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
        self.oxygen_step(dt_s, self._qb, self._q)
        self.heat_step(dt_s, blood_flow_lpm, self._q)
        self.t_s += dt_s

    def oxygen_step(self, dt_s, qb_lpm, sweep_lpm):
        # split so that no cell is more than a third replaced and the fibres' gas turns over
        # less than a tenth per sub-step
        v = self.oxy_ml / N_SEG
        move = qb_lpm * 1000.0 / 60.0 * dt_s / v
        turn = sweep_lpm * 1000.0 / 60.0 * dt_s / (0.5 * self.gas_ml)
        n = int(3.0 * move) + int(10.0 * turn) + 1
        h = dt_s / n
        key = (self.s_pre, self.hb_gdl, self.k_o2_per_min * self.membrane * h)
        if key != self._key:        # the venous content and the per-step decay, when they change
            self._key = key
            self._c_in = self._content(po2_of_sat(self.s_pre))
            self._decay = exp(-key[2] / 60.0)
        for _ in range(n):
            self._o2_sub(h, qb_lpm, sweep_lpm, v)

    def _o2_sub(self, h, qb, sweep, v):
        c = self._c
        f = qb * 1000.0 / 60.0 * h / v
        if f > 0.0:
            c_in = self._c_in
            i = N_SEG - 1
            while i > 0:
                c[i] += f * (c[i - 1] - c[i])
                i -= 1
            c[0] += f * (c_in - c[0])
        # exchange, counter-current: the blood's outlet half meets the fresh gas
        decay = self._decay
        half = N_SEG // 2
        taken = [0.0, 0.0]
        c_eq = (self._content(self._fg[0] * DRY_GAS_MMHG),
                self._content(self._fg[1] * DRY_GAS_MMHG))
        for i in range(N_SEG):
            j = 0 if i >= half else 1
            cn = c_eq[j] - (c_eq[j] - c[i]) * decay
            taken[j] += v * (cn - c[i])
            c[i] = cn
        self._p_fresh = False
        h_min = h / 60.0
        self.vo2_mlpm = (taken[0] + taken[1]) / h_min
        # the fibres: gas in at FiO2, through the inlet half, then the outlet half
        g = self._fg
        sw = sweep * 1000.0 * h_min
        vg = 0.5 * self.gas_ml
        g0 = g[0] + (sw * (self._fio2 - g[0]) - taken[0]) / vg
        g1 = g[1] + (sw * (g[0] - g[1]) - taken[1]) / vg
        g[0] = 0.0 if g0 < 0.0 else 1.0 if g0 > 1.0 else g0
        g[1] = 0.0 if g1 < 0.0 else 1.0 if g1 > 1.0 else g1
        if qb > 0.05:
            self._co2_at = (qb, sweep)      # PCO2 follows the last flowing state

    def heat_step(self, dt_s, blood_flow_lpm, sweep_lpm=0.0):
        # circuit node implicit (stable for any dt), then the patient or bath node
        qb = blood_flow_lpm if blood_flow_lpm > 0 else -blood_flow_lpm
        g = qb * 1.06 / 60.0 * C_BLOOD_J_PER_KG_K          # W/K carried by the blood
        hx = self.ua_heater_w_per_k if self.heater_c is not None else 0.0
        t_set = self.heater_c if self.heater_c is not None else 0.0
        ua = self.ua_circuit_w_per_k
        cc = self.c_circuit_j_per_k
        tc = (cc * self._tc + dt_s * (g * self._tp + hx * t_set + ua * self.room_c
                                      - EVAP_W_PER_LPM * sweep_lpm)) \
            / (cc + dt_s * (g + hx + ua))
        tp = self._tp
        cp = self.c_patient_j_per_k
        tp += dt_s * (g * (tc - tp) + self.metabolic_w
                      - self.ua_patient_w_per_k * (tp - self.room_c)) / (cp + dt_s * g)
        self._tc = tc
        self._tp = tp

    # ---- blood chemistry ----
    def _content(self, po2):
        # mL O2 per mL blood
        return (HUFNER_ML_PER_G * self.hb_gdl * sat_frac(po2) + O2_SOL * po2) * 0.01

    def _dcontent(self, po2):
        if po2 < 0.01:
            po2 = 0.01
        u = po2 * (po2 * po2 + 150.0)
        ds = 23400.0 * (3.0 * po2 * po2 + 150.0) / ((u + 23400.0) * (u + 23400.0))
        return (HUFNER_ML_PER_G * self.hb_gdl * ds + O2_SOL) * 0.01

    def _po2_of(self, c, guess):
        # Newton on the monotonic content curve, warm-started at the cell's last PO2
        p = guess if guess > 0.5 else 0.5
        for _ in range(12):
            e = self._content(p) - c
            if -1e-8 < e < 1e-8:
                break
            pn = p - e / self._dcontent(p)
            p = pn if pn > 0.5 * p else 0.5 * p
        return p

    def _pco2_post(self, qb, sweep):
        cb = qb * 1000.0 * self.k_co2_content        # mL CO2/min per mmHg, blood
        cg = sweep * 1000.0 / DRY_GAS_MMHG           # ... gas
        if cg <= 0.0:
            return self.pco2_pre_mmhg
        cmin = cb if cb < cg else cg
        cr = cmin / (cg if cb < cg else cb)
        ntu = self.dm_co2 * self.membrane / cmin
        if cr > 0.999:
            eff = ntu / (1.0 + ntu)
        else:
            e = exp(-ntu * (1.0 - cr))
            eff = (1.0 - e) / (1.0 - cr * e)
        vco2 = eff * cmin * self.pco2_pre_mmhg
        return self.pco2_pre_mmhg - vco2 / cb

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
        return self._tc

    @property
    def patient_temp_c(self):
        return self._tp

    @property
    def po2_post_mmhg(self):
        if not self._p_fresh:
            self._p_out = self._po2_of(self._c[N_SEG - 1], self._p_out)
            self._p_fresh = True
        return self._p_out

    @property
    def sat_post_pct(self):
        return 100.0 * sat_frac(self.po2_post_mmhg)

    @property
    def pco2_post_mmhg(self):
        if self._co2_at is None:
            return self.pco2_pre_mmhg
        return self._pco2_post(self._co2_at[0], self._co2_at[1])

    @property
    def vco2_mlpm(self):
        qb = self._qb
        return (self.pco2_pre_mmhg - self.pco2_post_mmhg) * qb * 1000.0 * self.k_co2_content


def _lag(dt, tau):
    return dt / tau if dt < tau else 1.0


class GasDevices:
    # The gas-side hardware the firmware reads, on the fake machine, per the board's GAS dict:
    # an SFM3000 on I2C, an ADS1115 (Pico) or ADC pins (ESP32) for O2, temperature and saturation.
    # `show(...)` writes physical values as the signals those parts would produce, exactly;
    # `follow(model)` does the same with floor_lsb converter steps of dither when given an rng
    # (a real converter never shows a frozen value).
    def __init__(self, machine, board, rng=None, floor_lsb=0.0):
        import devices
        self.m = machine
        self.board = board
        self.rng = rng
        self.floor_lsb = floor_lsb
        self._dither = 0.0
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

    def _lsb(self):
        # one converter step, in units of the next _put's raw: a count (ADS1115), 1 mV
        # (ESP32 read_uv), 16 counts of read_u16 (RP2040 12 bits)
        if self._dither == 0.0:
            return 0.0
        return self._dither * self.rng.gauss()

    def _put(self, s, raw):
        # raw in the board's calibration unit -> the signal at that input
        if "ads" in s:
            raw += self._lsb()
            self.ads.volts[s["ads"]] = raw * s.get("fsr_mv", 4096) / 32768000.0
        elif getattr(self.board, "ADC_MV", False):
            raw += self._lsb()
            self.m.sim_adc(s["adc"]).uv = int(raw * 1000)
        else:
            raw += 16.0 * self._lsb()
            self.m.sim_adc(s["adc"]).u16 = int(raw)

    def show(self, sweep_lpm=None, fio2=None, temp_c=None, sat_pct=None, sensor_fault=None):
        g = self.spec
        if sensor_fault is not None:
            self.sfm.set_fault("crc" if sensor_fault else None)
        if sweep_lpm is not None:
            self.sfm.flow_slm = sweep_lpm + self._lsb() / g["flow"].get("scale", 140)
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
        if self.rng is not None:
            self._dither = self.floor_lsb
        self.show(model.sweep_lpm, model.fio2_cell, model.temp_c, model.sat_post_pct,
                  model.sensor_fault)
        self._dither = 0.0
