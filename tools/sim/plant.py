# Hydraulic plant of the simulated rig: pump motor, ECMO circuit, patient (VA or VV) and air.
# Host side, floats allowed; runs unchanged under CPython 3.11 and the MicroPython unix port.
#
# Units: flow Q in L/min, pressure in mmHg, volume in mL, time in s, pump speed w in krpm.
# The published figures behind the coefficients, with their sources, are in docs/simulation.md
# (its realism table is checked against this model by host_tests/test_realism.py, `make
# realism`) and docs/facts.md; figures chosen here say so.
#
# Motor (BLDC speed-loop time constant not published for these drives: a first-order lag):
#   rpm_cmd = duty_u16/65535 * rpm_max if enabled else 0
#   d(rpm)/dt = (rpm_cmd - rpm)/tau,  tau = tau_s when enabled, tau_coast_s when not
#   revolutions += rpm/60 * dt        (the harness turns this into tach edges)
#
# Pump head, affinity-consistent:
#   Q >= 0:  H = a*w^2 + c*w*Q - b*Q^2
#   Q <  0:  H = a*w^2 + b_rev*Q^2    (backflow through a slow or stopped impeller meets a
#                                      quadratic resistance; H rises, so the curve keeps falling)
#
# Circuit, one flow Q through drainage -> pump -> oxygenator -> return:
#   drainage  dP_d = m_col*m_occ_v*(k1d*Q + k2d*Q*|Q|)
#   oxygenator dP_o = clot*r_oxy*Q
#   return    dP_r = m_occ_a*m_clamp*(k1r*Q + k2r*Q*|Q|)
#   L*dQ/dt = H - dP_d - dP_o - dP_r - (P_return - P_source)
#     VA: P_source = CVP, P_return = MAP.  VV: both are CVP, so MAP does not load the pump.
#   Occlusion of a fraction f of the lumen: m_occ = 1/(1-f)^2 (orifice loss ~ 1/area^2),
#   capped at closed_mult; a closed clamp multiplies the return line by closed_mult.
#   Stepped linearly implicit (one Newton step of implicit Euler per sub-step), so a closed
#   line (resistance x1e6) or a collapsed cannula stays stable at 2 ms.
#
# Suction (Starling-resistor-like inlet collapse), x = venous volume above unstressed:
#   m_col = 1 + (collapse_ml / max(x, collapse_floor_ml))^4
#   negligible at normal filling (x ~ 1 L), steep once x falls to a few hundred mL.
#
# Patient (two compartments, volumes integrated explicitly; slow next to the flow):
#   CVP = x/cv  (x >= 0),  x/(cv*collapsed_frac) (x < 0: emptied veins, pressure falls fast)
#   MAP = (V_a - V0_a)/ca
#   Q_svr   = (MAP - CVP)/svr                         arterial -> venous
#   Q_heart = heart_lpm * clamp(CVP/heart_preload_mmhg, 0, 1)   venous -> arterial
#             (preload-limited so a drained heart cannot pump the veins below empty)
#   VA: dV_v/dt = Q_svr - Q_heart - Q,  dV_a/dt = Q_heart + Q - Q_svr
#   VV: the pump drains and returns to the venous pool, so Q leaves both out.
#
# Reported pressures are static: P1 = CVP - dP_d(q*), P2 = P1 + H(q*), P3 = P2 - dP_o(Q),
# where q* solves H - drops - (P_return - P_source) = 0 for the present speed, lines and
# patient (Newton, warm-started). Pressures therefore respond at once and the flow follows with
# the inertance lag (~0.1 s). Why not the pressures at the flowing Q plus L*dQ/dt: a rigid pipe
# with inertance alone shows water-hammer spikes of thousands of mmHg when a clamp shuts, which
# real tubing compliance (not modelled) absorbs. At steady state q* = Q.
#
# Venous reservoir (issue 17; off unless reservoir_ml is set): an open hard-shell reservoir
# between the drainage line and the pump. The patient drains into it by gravity (the siphon
# head: patient above the reservoir), q_in solving m_col*m_occ_v*(k1d*q + k2d*q^2) = CVP +
# siphon_mmhg (0 when that is <= 0); the pump draws from it through a short inlet line (a fifth
# of the drainage line's terms). The level head V_r/area (cmH2O, x0.7355 mmHg x density) is the
# pump's source pressure; VA returns against MAP, VV against CVP. dV_r/dt = q_in - Q; the patient
# loses q_in (not Q) from the venous side. A reservoir run down to reservoir_dry_ml loses its
# prime into the pump: the inlet resistance rises as (dry/V_r)^4, so the flow falls to nothing
# (air into the pump, which the model does not carry further: the criteria judge the level).
#
# Air: a bubble is a slug of volume v at tubing position s (mL of circuit volume downstream of
# the drainage cannula tip); ds/dt = Q. The detector sits at detector_ml (drainage tubing +
# pump prime + oxygenator prime; 3/8" tubing holds 71.3 mL/m), the clamp det_to_clamp_m
# further on. air_at_detector is True after each step() in which some part of a slug crossed
# the detector, so even a 1 uL bubble shows for at least one step. A slug reaching the
# clamp is removed: trapped if the clamp is closed, else counted in air_to_patient_ul.
#
# Equilibrium at the reference points (default VA, computed by this model; host_tests):
#   3000 rpm -> 3.70 L/min, head 223 mmHg (P1 -41, P2 182, P3 164, MAP 68, CVP 8.0)
#   4000 rpm -> 5.27 L/min, head 388 mmHg (P1 -87, P2 301, P3 276, MAP 88, CVP 7.8)
#   The two published points (RotaFlow 3000 rpm/4 L/min/250 mmHg, CentriMag 4000 rpm/5 L/min/352
#   mmHg) are from different pumps and no falling affinity curve meets both: 250 at
#   (3000, 4) implies >= 444 at (4000, 5.33). The fit splits the difference, ~ +-11 % on head,
#   -7 %/+5 % on flow.

MLPS_PER_LPM = 1000.0 / 60.0    # L/min -> mL/s

DEFAULTS = {
    # motor
    "rpm_max": 5000.0,          # board setting; RotaFlow / Cardiohelp top speed ~5000 rpm
    "tau_s": 0.3,               # spin-up lag, placeholder 0.2-0.5 s
    "tau_coast_s": 0.5,         # disabled: impeller coasts; set lower for a braking driver
    # pump H = a*w^2 + c*w*Q - b*Q^2 (w krpm, Q L/min, H mmHg), fitted here
    "pump_a": 28.0,             # mmHg/krpm^2: shut-off 252 mmHg at 3000 rpm, 448 at 4000
    "pump_b": 2.6,              # mmHg/(L/min)^2
    "pump_c": 0.6,              # mmHg/(krpm*L/min): flat top at low flow, as rotary pumps have
    "pump_b_rev": 2.6,          # backflow through the impeller, same as forward b
    # drainage: 23-25 Fr venous cannula + 3/8" line. 24 Fr drains >7.5 L/min at
    # -300 mmHg; here 300 mmHg at ~9.7 L/min, 56 mmHg at 4 L/min.
    "drain_k1": 2.0,            # mmHg/(L/min)
    "drain_k2": 3.0,            # mmHg/(L/min)^2
    # oxygenator, PMP membrane: 19 mmHg at 4 L/min, 24 at 5 (brief: 20-25 at 4-5; the only
    # published line found is for older CPB units, ~90 mmHg at 5 L/min: an upper bound)
    "oxy_r": 4.8,               # mmHg/(L/min)
    # return: 17 Fr arterial cannula + line. 17 Fr passes 6.0 L/min at 200 mmHg;
    # here 200 mmHg at ~5.5 L/min (the line adds some), 111 at 4 L/min.
    "ret_k1": 3.0,
    "ret_k2": 6.2,
    # blood inertance rho*l/A, ~3 m of 3/8" line plus cannulas, computed here:
    # 1060 kg/m3 * ~700 cm^-1 -> 0.56 mmHg*s^2/mL -> ~9 mmHg per (L/min)/s
    "inertance": 9.0,
    "closed_mult": 1.0e6,       # a closed clamp / fully occluded line: leaks ~1e-4 L/min
    # patient (adult textbook physiology, chosen here)
    "svr": 12.8,                # mmHg/(L/min) = 1024 dyn*s/cm^5; MAP 72 at 5 L/min total
    "cv_ml_per_mmhg": 120.0,    # systemic venous compliance
    "collapsed_frac": 0.1,      # compliance below unstressed volume, as a fraction of cv
    "ca_ml_per_mmhg": 1.5,      # systemic arterial compliance
    "v0_venous_ml": 2800.0,     # unstressed venous volume
    "v0_arterial_ml": 700.0,    # unstressed arterial volume
    "cvp0_mmhg": 8.0,           # starting CVP (brief: 5-10)
    "map0_mmhg": 72.0,          # starting MAP (brief: 65-75)
    "heart_lpm": None,          # native output at full preload; None -> 1.0 VA, 5.0 VV
    "heart_preload_mmhg": 5.0,  # CVP above which the heart gives its full output
    # inlet collapse (suction), chosen so that 800 mL lost at 4.5 L/min (x ~190 mL left)
    # pulls P1 to about -210 mmHg in VA, -170 in VV, at unchanged speed
    "collapse_ml": 320.0,
    "collapse_floor_ml": 10.0,  # caps m_col at ~1e5: the cannula is shut, not singular
    # inlet choke (chosen): beyond 150 mmHg of suction at the tip (Terumo's limit) each further
    # 10 mmHg of line drop adds 5 mmHg more, so flow plateaus (Kurusz et al., Perfusion 1999:
    # drainage flow plateaus at stronger suction)
    "choke_mmhg": 150.0,
    "choke_k": 0.05,            # 1/mmHg
    # air path: 3/8" ID = 71.3 mL/m
    "tube_ml_per_m": 71.3,
    "drain_tube_m": 1.5,        # cannula tip to pump inlet
    "pump_prime_ml": 30.0,      # centrifugal pump head (chosen)
    "oxy_prime_ml": 250.0,      # adult PMP oxygenator (chosen)
    "det_to_clamp_m": 0.2,      # detector to return clamp: ~0.2 s of warning at 4 L/min
    "detector_ml": None,        # None -> drain line + pump prime + oxygenator prime (~387 mL)
    # the drainage cannula's own volume ahead of the line: 23-25 Fr (~6.8 mm bore), ~55 cm
    "drain_cannula_ml": 20.0,
    # share of each slug's volume the oxygenator traps (hollow-fibre lungs hold back part of a
    # bubble load); 0 by default: every bubble reaches the detector, the hazard's worst case
    "oxy_trap_fraction": 0.0,
    # the fluid in the circuit: "blood", "water" (20 degC), "glycerol40" (40 % w/w glycerol in
    # water, 20 degC, a common blood analogue) or a viscosity in mPa*s (density of blood).
    # The coefficients above are fitted with blood; viscous (linear) drops scale with the
    # viscosity, inertial (quadratic) drops, pump head and inertance with the density.
    "fluid": "blood",
    # venous reservoir (chosen; None: no reservoir, the pump drains the patient directly)
    "reservoir_ml": None,       # volume at the start, mL (adult hard-shell reservoirs hold ~3 L)
    "reservoir_area_cm2": 150.0,  # cross-section: 1 L is 6.7 cm of level, 4.9 mmHg of head
    "siphon_mmhg": 20.0,        # gravity drainage head: the patient ~27 cm above the reservoir
    "reservoir_dry_ml": 30.0,   # the outlet draws air below this
    # integration
    "max_step_s": 0.002,        # sub-step; step(dt) splits longer dt
}

# name: (viscosity mPa*s, density kg/m3). Blood: Hct ~40 %, 37 degC, high shear (3-4 mPa*s in
# textbooks). Water at 20 degC: 1.00 mPa*s, 998 kg/m3 (steam tables). Glycerol 40 % w/w at
# 20 degC: 3.72 mPa*s, 1099 kg/m3 (Segur and Oberstar, Ind Eng Chem 1951;43:2117).
FLUIDS = {"blood": (3.5, 1060.0), "water": (1.0, 998.0), "glycerol40": (3.72, 1099.0)}


def fluid_props(fluid):
    # (viscosity mPa*s, density kg/m3) of a fluid name or a viscosity number
    if isinstance(fluid, str):
        if fluid not in FLUIDS:
            raise ValueError("fluid must be one of %s or a viscosity in mPa*s, got %r"
                             % (", ".join(sorted(FLUIDS)), fluid))
        return FLUIDS[fluid]
    if isinstance(fluid, bool) or not isinstance(fluid, (int, float)) or not 0.3 <= fluid <= 100:
        raise ValueError("fluid viscosity must be 0.3..100 mPa*s, got %r" % (fluid,))
    return (float(fluid), FLUIDS["blood"][1])


def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


class Plant:
    def __init__(self, profile="VA", params=None):
        if profile not in ("VA", "VV"):
            raise ValueError("profile must be 'VA' or 'VV'")
        self.profile = profile
        self.params = dict(DEFAULTS)
        if params:
            for k in params:
                if k not in DEFAULTS:
                    raise KeyError(k)
                self.params[k] = params[k]
        if self.params["heart_lpm"] is None:
            # VA: weak native heart; VV: the heart carries the whole cardiac output.
            self.params["heart_lpm"] = 1.0 if profile == "VA" else 5.0
        p = self.params
        # inputs
        self.duty_u16 = 0
        self.enable = False
        self.clamp_closed = False
        # state
        self._rpm = 0.0
        self._q = 0.0
        self._qstar = 0.0           # static flow the pressures are computed at
        self.revolutions = 0.0
        self.v_venous_ml = p["v0_venous_ml"] + p["cvp0_mmhg"] * p["cv_ml_per_mmhg"]
        self.v_arterial_ml = p["v0_arterial_ml"] + p["map0_mmhg"] * p["ca_ml_per_mmhg"]
        self.time_s = 0.0
        self.reservoir = p["reservoir_ml"] is not None
        self.v_reservoir_ml = float(p["reservoir_ml"]) if self.reservoir else 0.0
        self.q_in = 0.0             # patient -> reservoir, L/min (reservoir only)
        self._src = 0.0             # the pump loop's source pressure (CVP, or the level head)
        self._heart_rate = 0.0      # L/min per s while set_heart ramps
        self._heart_to = 0.0
        # events
        self.clot_factor = 1.0
        self.occ_venous = 0.0
        self.occ_arterial = 0.0
        self._bleed_ml_s = 0.0      # pending volume change rate (volume_loss/gain over time)
        self._bleed_left_ml = 0.0
        # air
        self.bubbles = []           # [front_ml, volume_ml(, past the oxygenator)]
        self.air_at_detector = False
        self.air_detected_count = 0     # slugs that have crossed the detector
        self.air_to_patient_ul = 0.0
        self.air_trapped_ul = 0.0
        self.air_oxy_trapped_ul = 0.0   # held back by the oxygenator (oxy_trap_fraction)
        self.air_removed_ul = 0.0
        self._fresh = False         # pressures cached for the current state
        self.apply_params()

    # ---- configuration -------------------------------------------------------------------
    def apply_params(self):
        # Copy params into attributes the sub-step reads; call after editing self.params.
        p = self.params
        mu, rho = fluid_props(p["fluid"])
        tf = p["oxy_trap_fraction"]
        if isinstance(tf, bool) or not isinstance(tf, (int, float)) or not 0.0 <= tf <= 1.0:
            raise ValueError("oxy_trap_fraction must be 0..1, got %r" % (tf,))
        rm = mu / FLUIDS["blood"][0]
        rd = rho / FLUIDS["blood"][1]
        self._a = p["pump_a"] * rd
        self._b = p["pump_b"] * rd
        self._c = p["pump_c"] * rd
        self._brev = p["pump_b_rev"] * rd
        self._k1d = p["drain_k1"] * rm
        self._k2d = p["drain_k2"] * rd
        self._k1r = p["ret_k1"] * rm
        self._k2r = p["ret_k2"] * rd
        self._oxy_r = p["oxy_r"] * rm
        self._rd = rd
        self._inertance = p["inertance"] * rd
        self._m_occ_v = self._occ_mult(self.occ_venous)
        self._m_occ_a = self._occ_mult(self.occ_arterial)
        if p["detector_ml"] is None:
            self.detector_ml = (p["drain_cannula_ml"] + p["drain_tube_m"] * p["tube_ml_per_m"]
                                + p["pump_prime_ml"] + p["oxy_prime_ml"])
        else:
            self.detector_ml = p["detector_ml"]
        # a slug is trapped (in part) as its front passes the middle of the oxygenator
        self.trap_ml = self.detector_ml - 0.5 * p["oxy_prime_ml"]
        self.clamp_ml = self.detector_ml + p["det_to_clamp_m"] * p["tube_ml_per_m"]
        self._fresh = False

    def set_param(self, name, value):
        if name not in DEFAULTS:
            raise KeyError(name)
        self.params[name] = value
        self.apply_params()

    def _occ_mult(self, fraction):
        cap = self.params["closed_mult"]
        if fraction >= 1.0:
            return cap
        m = 1.0 / ((1.0 - fraction) * (1.0 - fraction))
        return m if m < cap else cap

    # ---- events --------------------------------------------------------------------------
    def volume_loss(self, ml, over_s=0.0):
        self._volume_change(-ml, over_s)

    def volume_gain(self, ml, over_s=0.0):
        self._volume_change(ml, over_s)

    def _volume_change(self, ml, over_s):
        # A later call replaces a pending gradual change.
        if over_s <= 0.0:
            self.v_venous_ml += ml
            self._fresh = False
        else:
            self._bleed_ml_s = ml / over_s
            self._bleed_left_ml = abs(ml)

    def set_heart(self, lpm, over_s=0.0):
        # the native heart's output at full preload, L/min (a weaning trial: the heart
        # recovers, an inotrope takes effect), at once or as a ramp over over_s
        lpm = float(lpm)
        if over_s <= 0.0:
            self.params["heart_lpm"] = lpm
            self._heart_rate = 0.0
        else:
            self._heart_rate = (lpm - self.params["heart_lpm"]) / over_s
        self._heart_to = lpm

    def occlusion(self, line, fraction):
        # Fraction of the lumen closed, 0..1; 1 is a full occlusion. Replaces the last value.
        fraction = _clip(fraction, 0.0, 1.0)
        if line == "venous":
            self.occ_venous = fraction
        elif line == "arterial":
            self.occ_arterial = fraction
        else:
            raise ValueError("line must be 'venous' or 'arterial'")
        self.apply_params()

    def clot(self, factor):
        # Absolute, not cumulative: oxygenator resistance = oxy_r * factor; clot(1.0) clears.
        self.clot_factor = factor
        self._fresh = False

    def bubble(self, volume_ul, at_m=0.0):
        # at_m: metres of 3/8" tubing downstream of the drainage cannula tip.
        self.bubbles.append([at_m * self.params["tube_ml_per_m"], volume_ul / 1000.0])
        if self.bubbles[-1][0] >= self.trap_ml:
            self.bubbles[-1].append(True)       # already past the oxygenator

    def deair(self):
        # The perfusionist vents the line: every slug still in the circuit is gone.
        for b in self.bubbles:
            self.air_removed_ul += b[1] * 1000.0
        self.bubbles = []

    # ---- model terms ---------------------------------------------------------------------
    def _venous_mmhg(self, x):
        p = self.params
        if x >= 0.0:
            return x / p["cv_ml_per_mmhg"]
        return x / (p["cv_ml_per_mmhg"] * p["collapsed_frac"])

    def _terms(self, q):
        # Circuit terms at flow q: returns (imbalance, sum of incremental resistances d/dq of
        # the drops and of -H) and keeps (cvp, H, dP_d, dP_o) on self for the pressure outputs.
        p = self.params
        w = self._rpm * 0.001
        aq = q if q >= 0.0 else -q
        if q >= 0.0:
            h = (self._a * w + self._c * q) * w - self._b * q * q
            rh = 2.0 * self._b * q - self._c * w
            if rh < 0.0:
                rh = 0.0
        else:
            h = self._a * w * w + self._brev * q * q
            rh = 2.0 * self._brev * aq
        x = self.v_venous_ml - p["v0_venous_ml"]
        cvp = self._venous_mmhg(x)
        if self.reservoir:
            # the pump draws from the reservoir: its level head, a short inlet line
            src = self.level_head_mmhg
            vr = self.v_reservoir_ml
            dry = p["reservoir_dry_ml"]
            r = dry / (vr if vr > 1.0 else 1.0)
            r = r * r
            md = 0.2 * (1.0 + r * r)
            dd = md * (self._k1d + self._k2d * aq) * q
            rd = md * (self._k1d + 2.0 * self._k2d * aq)
        else:
            src = cvp
            xf = p["collapse_floor_ml"]
            r = p["collapse_ml"] / (x if x > xf else xf)
            r = r * r
            md = (1.0 + r * r) * self._m_occ_v
            dd = md * (self._k1d + self._k2d * aq) * q
            rd = md * (self._k1d + 2.0 * self._k2d * aq)
            # the vein drawn onto the cannula (a Starling resistor): once the suction at the tip
            # passes choke_mmhg, further suction mostly chokes the inlet, so the flow plateaus
            e = dd - cvp - p["choke_mmhg"]
            if e > 0.0:
                dd += p["choke_k"] * e * e
                rd += 2.0 * p["choke_k"] * e * rd
        ro = self._oxy_r * self.clot_factor
        do = ro * q
        mr = self._m_occ_a
        if self.clamp_closed:
            mr = mr * p["closed_mult"]
        dr = mr * (self._k1r + self._k2r * aq) * q
        rr = mr * (self._k1r + 2.0 * self._k2r * aq)
        if self.profile == "VA":
            dpat = (self.v_arterial_ml - p["v0_arterial_ml"]) / p["ca_ml_per_mmhg"] - src
        else:
            dpat = cvp - src            # 0 without a reservoir: both cannulas in the venous pool
        imb = h - dd - do - dr - dpat
        rsum = rh + rd + ro + rr
        self._src = src
        self._t = (cvp, h, dd, do)
        return imb, rsum

    def _drain_in(self, cvp):
        # gravity drainage patient -> reservoir, L/min (>= 0)
        p = self.params
        rhs = cvp + p["siphon_mmhg"]
        if rhs <= 0.0:
            return 0.0
        x = self.v_venous_ml - p["v0_venous_ml"]
        xf = p["collapse_floor_ml"]
        r = p["collapse_ml"] / (x if x > xf else xf)
        r = r * r
        md = (1.0 + r * r) * self._m_occ_v
        a = md * self._k2d
        b = md * self._k1d
        if a <= 0.0:
            return rhs / b if b > 0.0 else 0.0
        return (-b + (b * b + 4.0 * a * rhs) ** 0.5) / (2.0 * a)

    @property
    def level_head_mmhg(self):
        p = self.params
        v = self.v_reservoir_ml if self.v_reservoir_ml > 0.0 else 0.0
        return v / p["reservoir_area_cm2"] * 0.7355 * self._rd

    @property
    def reservoir_ml(self):
        return self.v_reservoir_ml if self.reservoir else None

    # ---- time ----------------------------------------------------------------------------
    def step(self, dt_s, duty_u16=None, enable=None, clamp_closed=None):
        # Inputs given as None keep their last value. dt_s is split into sub-steps <= max_step_s.
        if duty_u16 is not None:
            self.duty_u16 = duty_u16
        if enable is not None:
            self.enable = bool(enable)
        if clamp_closed is not None:
            self.clamp_closed = bool(clamp_closed)
        hmax = self.params["max_step_s"]
        n = int(dt_s / hmax)
        if n * hmax < dt_s - 1e-12:
            n += 1
        if n < 1:
            n = 1
        h = dt_s / n
        air = False
        for _ in range(n):
            if self._substep(h):
                air = True
        self.air_at_detector = air
        self._fresh = False

    def _substep(self, dt):
        p = self.params
        # motor: implicit Euler of the lag, stable for any dt, ~exp(-dt/tau) for dt << tau
        if self.enable:
            target = self.duty_u16 * p["rpm_max"] / 65535.0
            tau = p["tau_s"]
        else:
            target = 0.0
            tau = p["tau_coast_s"]
        self._rpm += (target - self._rpm) * dt / (tau + dt)
        self.revolutions += self._rpm * dt / 60.0
        # circuit flow: L*(q1 - q0)/dt = imb + (-rsum)*(q1 - q0)
        q0 = self._q
        imb, rsum = self._terms(q0)
        q1 = q0 + dt * imb / (self._inertance + dt * rsum)
        self._q = q1
        # patient
        if self._heart_rate != 0.0:
            h = p["heart_lpm"] + self._heart_rate * dt
            if (self._heart_rate > 0.0) == (h >= self._heart_to):
                h = self._heart_to
                self._heart_rate = 0.0
            p["heart_lpm"] = h
        cvp = self._t[0]
        mapp = (self.v_arterial_ml - p["v0_arterial_ml"]) / p["ca_ml_per_mmhg"]
        q_svr = (mapp - cvp) / p["svr"]
        q_heart = p["heart_lpm"] * _clip(cvp / p["heart_preload_mmhg"], 0.0, 1.0)
        q_art_in = q_heart - q_svr
        if self.profile == "VA":
            q_art_in += q1
        dv = q_art_in * MLPS_PER_LPM * dt
        self.v_arterial_ml += dv
        self.v_venous_ml -= dv
        if self.reservoir:
            # the patient drains into the reservoir, the pump empties it (VA: into the arteries,
            # counted above; VV: back into the veins)
            qi = self._drain_in(cvp)
            self.q_in = qi
            vin = qi * MLPS_PER_LPM * dt
            vout = q1 * MLPS_PER_LPM * dt
            self.v_venous_ml -= vin
            # VA: the arterial gain above came out of the veins; VV: the return goes into them
            self.v_venous_ml += vout
            self.v_reservoir_ml += vin - vout
        if self._bleed_left_ml > 0.0:
            d = self._bleed_ml_s * dt
            ad = d if d >= 0.0 else -d
            if ad > self._bleed_left_ml:
                d = self._bleed_left_ml if d > 0.0 else -self._bleed_left_ml
                ad = self._bleed_left_ml
            self.v_venous_ml += d
            self._bleed_left_ml -= ad
        self.time_s += dt
        # air
        if not self.bubbles:
            return False
        return self._move_air(q1 * MLPS_PER_LPM * dt)

    def _move_air(self, ds):
        det = self.detector_ml
        air = False
        keep = []
        trap = self.params["oxy_trap_fraction"]
        for b in self.bubbles:
            s0 = b[0]
            s1 = s0 + ds
            if s1 < 0.0:
                s1 = 0.0            # pushed back to the cannula tip, stays in the circuit
            if s1 >= self.trap_ml and len(b) == 2:
                b.append(True)      # trapped once, as it passes the fibres
                held = b[1] * trap
                b[1] -= held
                self.air_oxy_trapped_ul += held * 1000.0
                if b[1] <= 0.0:
                    continue        # all of it held back: nothing reaches the detector
            lo = s0 if s0 < s1 else s1
            hi = s1 if s1 > s0 else s0
            # the slug spans [front - volume, front]; it touched the detector during this step
            if hi >= det and lo - b[1] <= det:
                if s0 < det <= s1:
                    self.air_detected_count += 1
                air = True
            if s1 >= self.clamp_ml:
                if self.clamp_closed:
                    self.air_trapped_ul += b[1] * 1000.0
                else:
                    self.air_to_patient_ul += b[1] * 1000.0
                continue
            b[0] = s1
            keep.append(b)
        self.bubbles = keep
        return air

    # ---- outputs -------------------------------------------------------------------------
    def _pressures(self):
        # Static pressures at the flow q* the circuit is settling to (see the header): Newton
        # on imbalance(q*) = 0, warm-started at the last q*, a few iterations once settled.
        if self._fresh:
            return
        q = self._qstar
        for _ in range(40):
            imb, rsum = self._terms(q)
            if -1e-3 < imb < 1e-3:          # mmHg
                break
            dq = imb / rsum
            if dq > 2.0:
                dq = 2.0        # the quadratic terms are flat at q = 0: damp the first leaps
            elif dq < -2.0:
                dq = -2.0
            q += dq
        else:
            self._terms(q)      # not converged in 40: report the last iterate consistently
        self._qstar = q
        cvp, h, dd, do = self._t
        self._p1 = self._src - dd
        self._p2 = self._p1 + h
        # The membrane drop is taken at the flowing Q while Q is still rising towards q*: a
        # resistor sees the flow through it, and dP/Q is what the firmware's clot check divides
        # (issue 4: at q* the ratio swung by the inertance lag on every start and step and
        # raised false CLOT alarms). While Q is falling towards q* (a clot or an occlusion
        # onset) it is taken at q*: the new resistance times the old, faster flow took P3 far
        # below anything the circuit can show (-260 mmHg at a clot onset, issue 15), where the
        # tubing's compliance holds P3 near its static value. Equal at steady state.
        q = self._q
        if (q > 0.0) == (self._qstar > 0.0) and abs(self._qstar) < abs(q):
            q = self._qstar
        self._p3 = self._p2 - self._oxy_r * self.clot_factor * q
        self._fresh = True

    @property
    def rpm(self):
        return self._rpm

    @property
    def flow_lpm(self):
        return self._q

    @property
    def p1_mmhg(self):
        self._pressures()
        return self._p1

    @property
    def p2_mmhg(self):
        self._pressures()
        return self._p2

    @property
    def p3_mmhg(self):
        self._pressures()
        return self._p3

    @property
    def dp_mmhg(self):
        self._pressures()
        return self._p2 - self._p3

    @property
    def head_mmhg(self):
        self._pressures()
        return self._p2 - self._p1

    @property
    def venous_volume_ml(self):
        return self.v_venous_ml

    @property
    def cvp_mmhg(self):
        return self._venous_mmhg(self.v_venous_ml - self.params["v0_venous_ml"])

    @property
    def map_mmhg(self):
        p = self.params
        return (self.v_arterial_ml - p["v0_arterial_ml"]) / p["ca_ml_per_mmhg"]

    def pump_head_mmhg(self, rpm, q_lpm):
        # the pump curve alone (for comparison with published H-Q points)
        w = rpm * 0.001
        if q_lpm >= 0.0:
            return (self._a * w + self._c * q_lpm) * w - self._b * q_lpm * q_lpm
        return self._a * w * w + self._brev * q_lpm * q_lpm

    def line_drop_mmhg(self, line, q_lpm):
        # drainage or return line drop at q_lpm, unoccluded, with the present fluid
        aq = q_lpm if q_lpm >= 0.0 else -q_lpm
        if line == "venous":
            return (self._k1d + self._k2d * aq) * q_lpm
        if line == "arterial":
            return (self._k1r + self._k2r * aq) * q_lpm
        raise ValueError("line must be 'venous' or 'arterial'")

    def rpm_to_duty(self, rpm):
        # Convenience for tests and scenarios: the duty that commands this speed.
        return int(rpm * 65535.0 / self.params["rpm_max"] + 0.5)


def _bench(seconds=60.0, dt_s=0.001, read_every=10):
    # Speed check: `micropython tools/sim/plant.py` or `python3 tools/sim/plant.py`.
    # Reads the pressures every read_every steps, as a 100 Hz loop over 1 ms steps would.
    import time
    ticks = hasattr(time, "ticks_ms")
    t0 = time.ticks_ms() if ticks else time.perf_counter()
    pl = Plant("VA")
    duty = pl.rpm_to_duty(3000)
    n = int(seconds / dt_s)
    for i in range(n):
        pl.step(dt_s, duty, True, False)
        if i % read_every == 0:
            pl.p1_mmhg
    el = time.ticks_diff(time.ticks_ms(), t0) / 1000.0 if ticks else time.perf_counter() - t0
    print("%d steps of %g ms in %.2f s: %d steps/s; Q %.2f L/min P2 %.1f mmHg"
          % (n, dt_s * 1000.0, el, int(n / el), pl.flow_lpm, pl.p2_mmhg))


if __name__ == "__main__":
    _bench()
