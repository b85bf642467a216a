# A bench around a Rig on the ESP32 board file with the fake `machine` behaving like the esp32
# port (issue #20): soft pin IRQs on the 8-slot scheduler queue, read_uv's calibration offset
# and saturation, floating unpulled inputs, the board's pulls from BOOT_PULLS, 100 k pull-downs
# on the analog inputs (an unplugged sensor reads 0 V at the pin). Healthy sensors at mid-range,
# an ideal motor that pulses the tach, and a blocking C call during which the world goes on.
import fwtmp
import machine
import board_esp32 as board
from devices import HoneywellABP
from ecmo.rig import Rig

SETTINGS = fwtmp.path("esp32kit.json")


def esp32(quirks=("adc_cal", "float")):
    machine.sim_port("esp32")
    for q in quirks:
        machine.sim_quirk(q)


def mv_for(spec, value):
    ra, va, rb, vb = spec["cal"]
    return ra + (value - va) * (rb - ra) // (vb - va)


def fit_pulls():
    # the board's resistors (README "ESP32 wiring"): they stay through every reset
    for pid in board.BOOT_PULLS:
        machine.sim_pin(pid).ext_pull = board.BOOT_PULLS[pid]


class Bench:
    def __init__(self, profile="VA", start=True, keep=False, board_mod=None):
        self.b = b = board_mod or board
        self._mv = {}
        if not keep:
            fit_pulls()
            machine.sim_pin(b.ESTOP["pin"]).drive(0)
            machine.sim_pin(b.BUBBLE["pin"]).drive(0)
            machine.sim_pin(b.PUMP["tach"]).drive(1)
            self.p2 = HoneywellABP(-517.1, 517.1)
            self.p3 = HoneywellABP(-517.1, 517.1)
            machine.sim_i2c_attach(0, 0x28, self.p2)
            machine.sim_i2c_attach(1, 0x28, self.p3)
            self.p2.pressure_mmhg = 220
            self.p3.pressure_mmhg = 190
            from ecmo import settings as S
            S.clear_latch(SETTINGS)
            try:
                import os
                os.remove(SETTINGS)
            except OSError:
                pass
        self.set(p1=-40, flow=0.0)
        self.rig = Rig(b, SETTINGS)
        if profile is not None and profile != self.rig.settings["profile"]:
            self.rig.profile(profile)
        self._n = 0
        self._rev = 0.0
        if start:
            self.rig.start()

    def set(self, p1=None, flow=None):
        s = self.b.SENSORS
        if p1 is not None:
            self._mv[s["p1"]["adc"]] = mv_for(s["p1"], int(p1 * 10))
        if flow is not None:
            self._mv[s["flow"]["adc"]] = mv_for(s["flow"], int(flow * 1000))
        for adc in self._mv:
            machine.sim_adc(adc).uv = self._mv[adc] * 1000

    def unplug(self, name, pulldown=True):
        # the sensor's plug out: with the board's pull-down the pin sits at 0 V, without one
        # it floats
        adc = self.b.SENSORS[name]["adc"]
        self._mv.pop(adc, None)
        st = machine.sim_adc(adc)
        st.uv = 0
        st.floating = not pulldown

    def world_ms(self):
        # one millisecond of the world: dither on the analog inputs, tach edges at their times
        pump = self.rig.pump
        self._n += 1
        if self._n % 10 == 0:
            d = (self._n // 10) & 1
            for adc in self._mv:
                machine.sim_adc(adc).uv = (self._mv[adc] + d * 2) * 1000
            if hasattr(self, "p2"):       # ~1 count of the ABP: never frozen
                self.p2.pressure_mmhg = 220 + 0.12 * d
                self.p3.pressure_mmhg = 190 + 0.12 * d
        pin = machine.sim_pin(self.b.PUMP["tach"])
        done = 0
        if pump.enabled and pump.rpm_cmd > 0:
            step = pump.rpm_cmd * self.b.PUMP["pulses_per_rev"] / 60000.0
            self._rev += step
            while self._rev >= 1.0:
                self._rev -= 1.0
                at = 1000 - int(self._rev / step * 1000)
                if at > done:
                    yield at - done
                    done = at
                pin.drive(0)
                pin.drive(1)
        yield 1000 - done

    def ms(self, n=1):
        for _ in range(n):
            for us in self.world_ms():
                machine.sim_advance_us(us)

    def ticks(self, n=1):
        self.ms(10 * n)

    def blocked(self, ms, during=None):
        # one blocking C call of `ms` milliseconds (a flash write, a UART write into a full
        # buffer): interrupts arrive and soft handlers queue, none runs; the world goes on.
        # during(i) is called at each millisecond i (a test drives its air pulse from it).
        def call():
            for i in range(ms):
                if during is not None:
                    during(i)
                for us in self.world_ms():
                    machine.sim_spend_us(us)
        machine.sim_c_call(call)

    def air(self, present):
        machine.sim_pin(self.b.BUBBLE["pin"]).drive(1 if present else 0)

    def estop(self, pressed):
        machine.sim_pin(self.b.ESTOP["pin"]).drive(1 if pressed else 0)

    def enabled(self):
        return machine.sim_pin(self.b.PUMP["enable"]).level == self.b.PUMP["enable_level"]

    def clamp_closed(self):
        return machine.sim_pin(self.b.CLAMP["pin"]).level == self.b.CLAMP["closed_level"]

    def duty(self):
        return machine.sim_pwm(self.b.PUMP["pwm"]).duty_u16

    def running(self, rpm=2500, settle=300):
        self.rig.set_rpm(rpm)
        self.rig.run()
        self.ticks(settle)
