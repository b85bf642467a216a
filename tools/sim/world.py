# The simulated hardware around the firmware: a Plant, the sensors that show its true values to
# the fake `machine` (ADC counts, I2C pressure parts, tach edges, bubble and e-stop pins), the
# faults injected into them, and the actuators read back from the pins. Runs under CPython and
# the MicroPython unix port. Reusable: the scenario runner, `make rig` and the benchmarks drive
# the same World; none of it reaches into the firmware, it only sets and reads `machine`.
#
# Stepping: World.step_ms() moves the world 1 ms: actuators in -> plant.step(1 ms) -> sensors
# out -> machine.sim_advance_us(1000), which fires the firmware's tick when it is due. The tick
# therefore sees the plant as it was at the end of the sub-step it falls in (<= 1 ms old).
import machine
from plant import Plant
from devices import HoneywellABP

SUB_US = 1000                  # plant sub-step and tach resolution: 1 ms
GAS_EVERY_MS = 10

# Sensor imperfections, chosen here (bench-grade parts, not from a datasheet):
# noise is one standard deviation in engineering units; offset is the largest calibration error
# drawn (uniformly, from the seed) for each part at power-up.
NOISE = {"p1": 0.5, "p2": 0.3, "p3": 0.3, "flow": 0.02}       # mmHg, L/min
OFFSET = {"p1": 1.0, "p2": 0.5, "p3": 0.5, "flow": 0.02}      # mmHg, L/min
NOISE_FAULT_X = 40             # a "noise" fault: 40x the normal noise (a loose shield, EMI)
OFFSET_FAULT = {"p1": -60.0, "p2": 60.0, "p3": 60.0, "flow": 1.5}   # mmHg, L/min
# A converter never shows a frozen value: even an ideal one dithers across its last code, so
# every part carries at least this much noise (standard deviation, in LSB of its converter),
# also with "noise": false. Without it the firmware's stuck checks (identical raw counts for
# 5 s) fire on an ideal rig, which no real part would do (issue 15).
FLOOR_LSB = 0.5

# "stuck": frozen, the input keeps the counts it showed last (a latched converter, a stuck
# bridge); "saturated" / "saturated_low": the part sits at the top / bottom of its output
# (analog: the amplifier's swing, 3.1 V on 3.3 V; ABP: 20 % beyond full scale, status good)
# "offset": the reading is shifted while the part still answers "ok" (a calibration lost, a
# zero drifted, a transducer dome moved): +OFFSET_FAULT in its units; only the cross-checks see it
ANALOG_FAULTS = ("open", "short", "stuck", "noise", "nan", "saturated", "saturated_low", "offset")
# "slow": the part stretches the clock, each read takes SLOW_READ_US (a tick overrun, H09)
ABP_FAULTS = ("i2c", "nack", "timeout", "stale", "diag", "stuck", "noise", "slow", "saturated",
              "saturated_low", "offset")
SLOW_READ_US = 12000
BUBBLE_FAULTS = ("open", "stuck", "short")
# tach "open": wire unplugged, no pulses while the rotor turns (H12); "stuck": the driver's
# speed output latched, it keeps pulsing at the speed it showed when the fault came
TACH_FAULTS = ("open", "stuck")
# the reservoir level (issue 17) on a board with LEVEL: an analog level fails as any analog
# part; a switch "open" is its wire cut (the input floats to its pull: "low")
LEVEL_SWITCH_FAULTS = ("open",)
LEVEL_NOISE_ML = 5.0        # an analog level sensor's noise (sloshing, ripples), chosen here
SENSORS = ("p1", "p2", "p3", "flow", "bubble", "tach", "level")


def fault_kinds(board, sensor):
    # what can go wrong with this sensor on this board (scenario validation asks the same)
    if sensor == "bubble":
        return BUBBLE_FAULTS
    if sensor == "tach":
        return TACH_FAULTS
    if sensor == "level":
        lv = getattr(board, "LEVEL", None)
        if lv is None:
            return ()
        return ANALOG_FAULTS if lv["kind"] == "analog" else LEVEL_SWITCH_FAULTS
    kind = board.SENSORS[sensor]["kind"]
    if kind == "analog":
        return ANALOG_FAULTS
    if kind == "abp":
        return ABP_FAULTS
    return ()


class Lcg:
    # Park-Miller minimal standard: the same sequence in CPython and MicroPython (products stay
    # below 2**62, a small int on the 64-bit unix port), so a seed replays the same noise.
    def __init__(self, seed):
        self.x = (int(seed) % 2147483646) + 1

    def uniform(self):
        self.x = self.x * 48271 % 2147483647
        return self.x / 2147483647.0

    def gauss(self):
        # triangular sum of two uniforms scaled to unit variance: cheap, bounded, near-normal
        return (self.uniform() + self.uniform() - 1.0) * 2.449489742783178


class _Analog:
    # an analog output wired to an ADC pin: value (engineering units) -> counts through the
    # board's two-point calibration, inverted; quantised like the part's converter
    def __init__(self, board, spec, scale, noise, offset, shift=0.0):
        self.adc = spec["adc"]
        self.shift = shift          # what an "offset" fault adds
        self.mv = getattr(board, "ADC_MV", False)
        ra, va, rb, vb = spec["cal"]
        self._ra = ra
        self._va = va
        self._k = (rb - ra) / (vb - va)
        self.scale = scale          # engineering unit -> firmware unit (x10 mmHg, x1000 L/min)
        # one converter step in engineering units: 1 mV (ESP32 read_uv) or one 12-bit code
        # (16 counts of read_u16, RP2040)
        lsb = (1.0 if self.mv else 16.0) / abs(self._k * scale)
        self.noise = noise if noise > FLOOR_LSB * lsb else FLOOR_LSB * lsb
        self.offset = offset
        self.fault = None
        self.raw = 0                # last counts (u16) or mV put on the pin

    def put(self, value, rng):
        f = self.fault
        st = machine.sim_adc(self.adc)
        if f == "stuck":
            return                  # the pin keeps whatever it showed last
        if f == "nan":
            if self.mv:
                st.uv = float("nan")
            else:
                st.u16 = float("nan")
            return
        sd = self.noise * (NOISE_FAULT_X if f == "noise" else 1)
        if f == "offset":
            value += self.shift
        v = (value + self.offset + sd * rng.gauss()) * self.scale
        raw = self._ra + (v - self._va) * self._k
        if self.mv:
            # ESP32 read_uv: factory-calibrated, 1 mV resolution after the driver's // 1000;
            # ATTN_11DB reads 0..~3.1 V
            if f == "open":
                raw = 0
            elif f == "short":
                raw = 3300
            elif f == "saturated":
                raw = 2500           # above the 2.4 V top of range, below the short rail
            elif f == "saturated_low":
                raw = 200
            mv = int(raw + 0.5) if raw > 0 else 0
            if mv > 3300:
                mv = 3300
            self.raw = mv
            st.uv = mv * 1000
        else:
            # RP2040: 12-bit converter, read_u16 scales it as (x << 4) | (x >> 8)
            if f == "open":
                raw = 0
            elif f == "short":
                raw = 65535
            elif f == "saturated":
                raw = 3.1 / 3.3 * 65535   # the in-amp's top swing: past range, below the rail
            elif f == "saturated_low":
                raw = 0.15 / 3.3 * 65535
            x = int(raw / 16.0 + 0.5) if raw > 0 else 0
            if x > 4095:
                x = 4095
            self.raw = (x << 4) | (x >> 8)
            st.u16 = self.raw


class _SlowBus:
    # wraps an I2C part so every transfer stretches the clock for stretch_us; the fake I2C
    # spends it (or its own timeout, then ETIMEDOUT) with `spend`, the world's: while the
    # firmware is blocked the plant goes on and the tach still pulses
    def __init__(self, dev, spend):
        self.dev = dev
        self.spend = spend
        self.stretch_us = SLOW_READ_US

    def write(self, data):
        return self.dev.write(data)

    def read(self, n):
        return self.dev.read(n)


class _Abp:
    # Honeywell ABP on its own I2C bus; bus-level faults go through the fake machine.I2C
    def __init__(self, board, spec, noise, offset, spend, shift=0.0):
        self.bus = spec["bus"]
        self.shift = shift
        self.addr = spec["addr"]
        self.spend = spend
        self.dev = HoneywellABP(spec["pmin_dmmhg"] / 10.0, spec["pmax_dmmhg"] / 10.0)
        # 14-bit part, 10..90 % of 2**14 counts over its span
        lsb = (spec["pmax_dmmhg"] - spec["pmin_dmmhg"]) / 10.0 / 13107.2
        self.noise = noise if noise > FLOOR_LSB * lsb else FLOOR_LSB * lsb
        self.offset = offset
        self.fault = None

    def attach(self):
        dev = _SlowBus(self.dev, self.spend) if self.fault == "slow" else self.dev
        machine.sim_i2c_attach(self.bus, self.addr, dev)

    def put(self, value, rng):
        f = self.fault
        if f == "stuck":
            return
        d = self.dev
        if f == "saturated":
            d.pressure_mmhg = d.pmax_mmhg + 0.2 * (d.pmax_mmhg - d.pmin_mmhg)
            return
        if f == "saturated_low":
            d.pressure_mmhg = d.pmin_mmhg - 0.02 * (d.pmax_mmhg - d.pmin_mmhg)
            return
        sd = self.noise * (NOISE_FAULT_X if f == "noise" else 1)
        if f == "offset":
            value += self.shift
        d.pressure_mmhg = value + self.offset + sd * rng.gauss()

    def set_fault(self, kind):
        slow = (kind == "slow") != (self.fault == "slow")
        self.fault = kind
        if slow:
            self.attach()
        bus = kind if kind in ("nack", "timeout") else ("nack" if kind == "i2c" else None)
        machine.sim_i2c_fault(self.bus, self.addr, bus)
        self.dev.set_fault(kind if kind in ("stale", "diag") else None)


class World:
    def __init__(self, board, profile="VA", seed=1, plant_params=None, noise=True):
        self.board = board
        # the fake machine shows this board's port quirks (ESP32: Pin.irq takes no hard=)
        machine.sim_port("esp32" if board.ARCH == "xtensawin" else "rp2")
        params = {"rpm_max": float(board.RPM_MAX)}
        if plant_params:
            for k in plant_params:
                params[k] = plant_params[k]
        self.plant = Plant(profile, params)
        self.rng = Lcg(seed)
        s = board.SENSORS
        off = {}
        for name in ("p1", "p2", "p3", "flow"):
            # drawn in a fixed order so a seed gives each part the same calibration error
            off[name] = OFFSET[name] * (2.0 * self.rng.uniform() - 1.0) if noise else 0.0
        nz = NOISE if noise else {"p1": 0.0, "p2": 0.0, "p3": 0.0, "flow": 0.0}
        sh = OFFSET_FAULT
        self.p1 = _Analog(board, s["p1"], 10.0, nz["p1"], off["p1"], sh["p1"])
        self.flow = _Analog(board, s["flow"], 1000.0, nz["flow"], off["flow"], sh["flow"])
        self.p2 = _Abp(board, s["p2"], nz["p2"], off["p2"], self._spend, sh["p2"])
        self.p3 = _Abp(board, s["p3"], nz["p3"], off["p3"], self._spend, sh["p3"])
        self.bubble_fault = None
        self.tach_fault = None
        # the reservoir level sensor, when the board has one (and the plant a reservoir)
        self.level = None            # an _Analog, or None
        self.level_switch = None     # (pin id, active level, the level in mL it sits at)
        self.level_fault = None      # the switch's fault
        self._level_rng = Lcg(seed + 104729)   # its own stream: the others' noise unchanged
        lv = getattr(board, "LEVEL", None)
        if lv is not None:
            if lv["kind"] == "analog":
                self.level = _Analog(board, lv, 1.0, LEVEL_NOISE_ML if noise else 0.0, 0.0, 300.0)
            else:
                self.level_switch = (lv["pin"], lv.get("active_level", 1), lv.get("sim_at_ml", 500))
        self._tach_rev = 0.0        # "stuck" tach: revolutions it shows, at the latched speed
        self._tach_rpm = 0.0
        self.estop_pressed = False
        pc = board.PUMP
        self._ppr = pc["pulses_per_rev"]
        self._en_level = pc.get("enable_level", 1)
        self._closed_level = board.CLAMP.get("closed_level", 1)
        self._air_level = board.BUBBLE.get("active_level", 1)
        self._stop_level = board.ESTOP.get("active_level", 1)
        self._pulses = 0            # tach pulses emitted so far
        self.air_first_us = None    # when air first reached the detector (None: never)
        self.air_us = []            # start time of every air episode at the detector
        self._air_prev = False
        # the oxygenator (tools/sim/gas_model.py) when the board has a gas side: stepped every
        # GAS_EVERY_MS (its fastest lag is the valve's 80 ms), its parts on the fake buses
        self.gas = None
        self.gas_dev = None
        self._gas_rng = Lcg(seed + 7919)    # its own stream: the pressure noise stays as it was
        if hasattr(board, "GAS"):
            import gas_model
            self.gas = gas_model.GasModel()
        self._gas_ms = 0
        self.on_ms = None           # the runner's hook: world events due, even inside a tick
        self.attach()

    # ---- wiring ----
    def attach(self):
        # Put the outside world on a fresh machine (after machine.sim_reset). A reboot
        # (machine.sim_reboot) keeps it, so only rebind() is needed then.
        self.p2.attach()
        self.p3.attach()
        self.p2.set_fault(self.p2.fault)
        self.p3.set_fault(self.p3.fault)
        if self.gas is not None:
            import gas_model
            self.gas_dev = gas_model.GasDevices(machine, self.board, self._gas_rng, FLOOR_LSB)
            self.gas_dev.follow(self.gas)
        self.rebind()
        # the board's resistors that hold the outputs while the chip boots (ESP32: its GPIOs
        # float after a reset; README "ESP32 wiring"): they stay through every reboot
        pulls = getattr(self.board, "BOOT_PULLS", None) or {}
        for pid in pulls:
            machine.sim_pin(pid).ext_pull = pulls[pid]
        self._tach.drive(1)         # open-collector output idles high
        self._drive_air(False)
        self.set_estop(self.estop_pressed)
        self.refresh()

    def rebind(self):
        # pin states are per machine world: look them up again after a reset or reboot
        b = self.board
        self._tach = machine.sim_pin(b.PUMP["tach"])
        self._en = machine.sim_pin(b.PUMP["enable"])
        self._clamp = machine.sim_pin(b.CLAMP["pin"])
        self._bubble = machine.sim_pin(b.BUBBLE["pin"])
        self._estop = machine.sim_pin(b.ESTOP["pin"])
        self._pwm_pin = b.PUMP["pwm"]
        self._level_pin = machine.sim_pin(self.level_switch[0]) if self.level_switch else None

    # ---- actuators, as the fake machine shows them ----
    def duty_u16(self):
        st = machine.sim_pwm(self._pwm_pin)   # the firmware may make a new PWM after a reboot
        return st.duty_u16 if st.active else 0

    def enabled(self):
        return self._en.level == self._en_level

    def clamp_closed(self):
        return self._clamp.level == self._closed_level

    # ---- time ----
    def step_ms(self, n=1):
        # n sub-steps of 1 ms; firmware timers fire inside machine.sim_advance_us
        for _ in range(n):
            self._sub_step(machine.sim_advance_us)

    def _spend(self, us):
        # The firmware is blocked inside a tick (a slow bus) for `us`: around a real board the
        # circuit goes on and the tach IRQ still arrives on time, so step the world with the
        # clock moving but no timer firing (there is no tick to fire: we are inside it).
        while us > 0:
            self._sub_step(machine.sim_spend_us)
            us -= SUB_US

    def _sub_step(self, advance):
        pl = self.plant
        rev0 = pl.revolutions
        pl.step(0.001, self.duty_u16(), self.enabled(), self.clamp_closed())
        if self.on_ms is not None:
            self.on_ms()
        self._drive_air(pl.air_at_detector)
        self.refresh()
        if self.gas is not None:
            self._gas_ms += 1
            if self._gas_ms >= GAS_EVERY_MS:
                self._gas_ms = 0
                g = self.gas_dev
                self.gas.step(GAS_EVERY_MS / 1000.0, g.valve_duty(), pl.flow_lpm,
                              g.blend_duty())
                g.follow(self.gas)
        done = self._emit_tach(rev0, pl.revolutions, advance)
        advance(SUB_US - done)

    def _emit_tach(self, rev0, rev1, advance):
        # The Hall output falls once per pulse, at the microsecond the rotor passes (linear
        # within the sub-step), so the firmware's period timing sees a clean speed rather than
        # a 1 ms grid. Returns the microseconds of the sub-step already advanced.
        if self.tach_fault == "stuck":
            # the pin shows a rotor at the latched speed, whatever the real one does
            self._tach_rev += self._tach_rpm / 60000.0
            rev0 = self._tach_rev - self._tach_rpm / 60000.0
            rev1 = self._tach_rev
        else:
            self._tach_rev = rev1
        n = int(rev1 * self._ppr)
        if self.tach_fault == "open":
            self._pulses = n        # the rotor turns, nothing reaches the pin (pull-up: high)
            return 0
        done = 0
        drev = rev1 - rev0
        pin = self._tach
        while self._pulses < n:
            self._pulses += 1
            at = int((self._pulses / self._ppr - rev0) / drev * SUB_US) if drev > 0 else 0
            if at > SUB_US:
                at = SUB_US
            if at > done:
                advance(at - done)
                done = at
            pin.drive(0)
            pin.drive(1)
        return done

    def _drive_air(self, air):
        if air and not self._air_prev:
            now = machine.sim_now_us()
            self.air_us.append(now)
            if self.air_first_us is None:
                self.air_first_us = now
        self._air_prev = air
        f = self.bubble_fault
        if f == "stuck":
            air = False             # a blind detector: air passes unseen
        elif f == "short":
            air = True              # reads air whatever is in the line
        if f == "open":
            self._bubble.drive(None)    # wire cut: the input floats to its pull
        else:
            self._bubble.drive(self._air_level if air else 1 - self._air_level)

    def refresh(self):
        # sensors show the plant's present values
        pl = self.plant
        rng = self.rng
        self.p1.put(pl.p1_mmhg, rng)
        self.flow.put(pl.flow_lpm, rng)
        self.p2.put(pl.p2_mmhg, rng)
        self.p3.put(pl.p3_mmhg, rng)
        if self.level is not None or self._level_pin is not None:
            v = pl.v_reservoir_ml if pl.reservoir else 3000.0   # no reservoir in the plant: full
            if self.level is not None:
                self.level.put(v, self._level_rng)
            elif self.level_fault == "open":
                self._level_pin.drive(None)
            else:
                pin, act, at = self.level_switch
                self._level_pin.drive(act if v < at else 1 - act)

    # ---- the operator's hands and the faults ----
    def set_estop(self, pressed):
        self.estop_pressed = bool(pressed)
        self._estop.drive(self._stop_level if pressed else 1 - self._stop_level)

    def sensor_fault(self, sensor, kind):
        # kind None clears the fault (sensor_ok)
        if sensor == "bubble":
            if kind is not None and kind not in BUBBLE_FAULTS:
                raise ValueError("bubble fault must be one of %s" % ", ".join(BUBBLE_FAULTS))
            self.bubble_fault = kind
            self._drive_air(self._air_prev)
            return
        if sensor == "tach":
            if kind is not None and kind not in TACH_FAULTS:
                raise ValueError("tach fault must be one of %s" % ", ".join(TACH_FAULTS))
            self._tach_rpm = self.plant.rpm
            self._tach_rev = self.plant.revolutions
            self._pulses = int(self._tach_rev * self._ppr)   # no burst when the fault changes
            self.tach_fault = kind
            return
        if sensor == "level" and self.level is None:
            if kind is not None and kind not in fault_kinds(self.board, sensor):
                raise ValueError("level fault must be one of %s"
                                 % (", ".join(fault_kinds(self.board, sensor)) or "(no level sensor)"))
            self.level_fault = kind
            self.refresh()
            return
        s = getattr(self, sensor)
        if kind is not None and kind not in fault_kinds(self.board, sensor):
            raise ValueError("%s fault must be one of %s"
                             % (sensor, ", ".join(fault_kinds(self.board, sensor))))
        if isinstance(s, _Abp):
            s.set_fault(kind)
        else:
            s.fault = kind
            if kind is None and s.mv:
                machine.sim_adc(s.adc).uv = 0   # back to a number before the next put
        self.refresh()

    # ---- true values, for telemetry and summaries ----
    TRUE_COLUMNS = ("true_flow_lpm", "true_p1_mmhg", "true_p3_mmhg", "true_p2_mmhg", "true_rpm",
                    "true_cvp_mmhg", "true_map_mmhg", "true_venous_ml", "true_air_to_patient_ul",
                    "true_reservoir_ml")

    GAS_TRUE_COLUMNS = ("true_sweep_lpm", "true_fio2", "true_temp_c", "true_sat_post_pct")

    def true_columns(self):
        if self.gas is None:
            return self.TRUE_COLUMNS
        return self.TRUE_COLUMNS + self.GAS_TRUE_COLUMNS

    def true_row(self):
        pl = self.plant
        s = "%.3f,%.1f,%.1f,%.1f,%.0f,%.1f,%.1f,%.0f,%.1f" % (
            pl.flow_lpm, pl.p1_mmhg, pl.p3_mmhg, pl.p2_mmhg, pl.rpm, pl.cvp_mmhg, pl.map_mmhg,
            pl.venous_volume_ml, pl.air_to_patient_ul)
        # the reservoir's volume (empty: the plant has none)
        s += ",%.0f" % pl.v_reservoir_ml if pl.reservoir else ","
        g = self.gas
        if g is not None:
            s += ",%.2f,%.3f,%.2f,%.1f" % (g.sweep_lpm, g.fio2, g.temp_c, g.sat_post_pct)
        return s
