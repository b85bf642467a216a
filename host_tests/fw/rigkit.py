# A bench around a Rig for firmware tests: healthy sensors on the Pico pin map, an ideal motor
# that follows its command and pulses the tach, and helpers to set pressures and flow.
# No hydraulics: tests set the readings they need (the simulator in tools/sim has the plant).
import fwtmp
import machine
import board_pico as board
from devices import HoneywellABP
from ecmo.rig import Rig

SUB_US = 1000          # the world moves in 1 ms steps between ticks


def u16_for(spec, value):
    # invert the board's two-point calibration: engineering value -> ADC counts
    ra, va, rb, vb = spec["cal"]
    return ra + (value - va) * (rb - ra) // (vb - va)


class Bench:
    def __init__(self, profile="VA", start=True, settings_path=fwtmp.path("settings.json"),
                 keep_settings=False):
        self._adc = {}        # ADC id -> counts; real ADCs are noisy, so ticks() adds 1 LSB dither
        sp = board.SENSORS["p2"]
        self.p2 = HoneywellABP(sp["pmin_dmmhg"] / 10, sp["pmax_dmmhg"] / 10)
        self.p3 = HoneywellABP(sp["pmin_dmmhg"] / 10, sp["pmax_dmmhg"] / 10)
        self._abp = {}        # device -> pressure set; ticks() adds one count of dither too
        machine.sim_i2c_attach(0, 0x28, self.p2)
        machine.sim_i2c_attach(1, 0x28, self.p3)
        if not keep_settings:   # a reboot keeps the world as it was
            machine.sim_pin(board.ESTOP["pin"]).drive(0)     # NC e-stop closed: not pressed
            machine.sim_pin(board.BUBBLE["pin"]).drive(0)    # liquid at the detector
            machine.sim_pin(board.PUMP["tach"]).drive(1)
        self.set(p1=-40, p2=220, p3=190, flow=0.0)
        if not keep_settings:
            from ecmo import settings as S
            S.clear_latch(settings_path)     # a stop latch left on "flash" by an earlier test
            try:
                import os
                os.remove(settings_path)
            except OSError:
                pass
        self.gas = self._gas_world()
        self.rig = Rig(board, settings_path)
        if profile is not None and profile != "VA":
            self.rig.profile(profile)
        self.motor = True     # ideal motor: tach follows the command
        self._n = 0
        self._rev = 0.0
        self._tach_level = 1
        if start:
            self.rig.start()

    def _gas_world(self):
        # the oxygenator's parts on board.GAS, healthy: sweep 0, FiO2 1.0, 37 degC, SaO2 99 %
        # (tools/sim/gas_model.py; gas tests move them with self.gas.show(...))
        if not hasattr(board, "GAS"):
            return None
        import gas_model
        g = gas_model.GasDevices(machine, board)
        g.show(sweep_lpm=0.0, fio2=1.0, temp_c=37.0, sat_pct=99.0)
        return g

    def set(self, p1=None, p2=None, p3=None, flow=None):
        s = board.SENSORS
        if p1 is not None:
            self._put(s["p1"]["adc"], u16_for(s["p1"], int(p1 * 10)))
        if p2 is not None:
            self._abp[self.p2] = p2
            self.p2.pressure_mmhg = p2
        if p3 is not None:
            self._abp[self.p3] = p3
            self.p3.pressure_mmhg = p3
        if flow is not None:
            self._put(s["flow"]["adc"], u16_for(s["flow"], int(flow * 1000)))

    def _put(self, adc, u16):
        self._adc[adc] = u16
        machine.sim_adc(adc).u16 = u16

    def frozen(self, dev):
        # the part keeps answering good status with the same counts (tests of frozen sensors)
        self._abp.pop(dev, None)

    def raw(self, name, u16):
        # an exact raw value, no dither (rails, garbage)
        adc = board.SENSORS[name]["adc"]
        self._adc.pop(adc, None)
        machine.sim_adc(adc).u16 = u16

    def ticks(self, n=1):
        # advance n control periods, pulsing the tach like a motor at the commanded speed
        pump = self.rig.pump
        ppr = board.PUMP["pulses_per_rev"]
        pin = machine.sim_pin(board.PUMP["tach"])
        for i in range(n * 10):
            if i % 10 == 0:
                self._n += 1
                for adc in self._adc:
                    machine.sim_adc(adc).u16 = self._adc[adc] + (self._n & 1)
                for dev in self._abp:     # ~1 count of the ABP (0.12 mmHg): never frozen
                    dev.pressure_mmhg = self._abp[dev] + 0.12 * (self._n & 1)
            done = 0
            if self.motor and pump.enabled and pump.rpm_cmd > 0:
                # each edge at the microsecond it falls due: a 1 ms grid would read 3000 rpm
                # as 2727 or 3333 (the cross-checks on the pump map need the real speed)
                step = pump.rpm_cmd * ppr / 60000.0
                self._rev += step
                while self._rev >= 1.0:
                    self._rev -= 1.0
                    at = SUB_US - int(self._rev / step * SUB_US)
                    if at > done:
                        machine.sim_advance_us(at - done)
                        done = at
                    pin.drive(0)
                    pin.drive(1)
            machine.sim_advance_us(SUB_US - done)

    def air(self, present):
        machine.sim_pin(board.BUBBLE["pin"]).drive(1 if present else 0)

    def estop(self, pressed):
        machine.sim_pin(board.ESTOP["pin"]).drive(1 if pressed else 0)

    def duty(self):
        return machine.sim_pwm(board.PUMP["pwm"]).duty_u16

    def enabled(self):
        return machine.sim_pin(board.PUMP["enable"]).level == board.PUMP["enable_level"]

    def clamp_closed(self):
        return machine.sim_pin(board.CLAMP["pin"]).level == board.CLAMP["closed_level"]

    def running(self, rpm=2500, settle=400):
        self.rig.set_rpm(rpm)
        self.rig.run()
        self.ticks(settle)
