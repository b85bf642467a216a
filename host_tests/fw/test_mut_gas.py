# safety/gas.py to the count (mutation run, docs/mutation.md): the H15 sweep-cut conditions
# term by term, its release with hysteresis and hold, SWEEP_LOST / SWEEP_HIGH boundaries, the
# slow checks (sensor, FiO2, temperature, saturation) at their limits. GasSafety is driven
# through its own face with stub parts: 10 ms pump ticks, 100 ms gas steps.
from ecmo.safety import alarms as A
from ecmo.safety.gas import GasSafety
from ecmo.safety.supervisor import RUN, STOP


class _R:
    def __init__(self, value=0, status=0):
        self.value = value
        self.status = status
        self.out_of_cal = False


class _Pump:
    def __init__(self):
        self.enabled = True
        self.rpm = 2500


class _Sup:
    def __init__(self, profile="VA"):
        self.profile = profile
        self.state = RUN
        self.tripped = False
        self.pump = _Pump()
        self.rpm_applied = 2500


class _Al:
    def __init__(self):
        self.on = {}
        self.flags = bytearray(64)     # bit 0: present (the gas side calls set() on a change)

    def set(self, code, on, now):
        self.on[code] = bool(on)
        self.flags[code] = 1 if on else 0


class World:
    def __init__(self, profile="VA"):
        self.sup = _Sup(profile)
        self.blood = _R(4000)
        self.sweep = _R(2000)
        self.o2 = _R(1000)
        self.temp = _R(3700)
        self.sat = _R(990)
        self.al = _Al()
        self.g = GasSafety(self.sup, self.blood, self.sweep, self.o2, self.temp, self.sat,
                           self.al, 10, 100)
        self.t = 0

    def tick(self, n=1, target=2000, sp=2000, req=30000, purge=1000):
        out = None
        for _ in range(n):
            self.t += 10
            out = self.g.update(self.t, target, sp, req, purge)
        return out

    def step(self, n=1, sweeping=True, fio2=1000):
        for _ in range(n):
            self.t += 100
            self.g.slow(self.t, sweeping, fio2)

    def alarm(self, code):
        return self.al.on.get(code, False)


def test_healthy_world_passes_the_request_and_raises_nothing():
    w = World()
    assert w.tick(400) == 30000 and not w.g.cut and not w.g.lost
    w.step(400)
    for code in (A.SWEEP_NO_BLOOD, A.SWEEP_LOST, A.SWEEP_HIGH, A.SENSOR_GAS, A.FIO2, A.TEMP,
                 A.SAT_LOW):
        assert not w.alarm(code), A.NAMES[code]


def test_blood_moving_needs_every_term():
    for spoil in ("state", "tripped", "enabled", "applied"):
        w = World()
        assert w.g.blood_moving()
        if spoil == "state":
            w.sup.state = STOP
        elif spoil == "tripped":
            w.sup.tripped = True
        elif spoil == "enabled":
            w.sup.pump.enabled = False
        else:
            w.sup.rpm_applied = 0
        assert not w.g.blood_moving(), spoil
        assert w.tick() == 1000 and w.g.cut, spoil      # a stopped pump cuts at once
        assert w.alarm(A.SWEEP_NO_BLOOD)


def test_blood_moving_with_an_invalid_flow_rests_on_the_tach():
    w = World()
    w.blood.status = 3
    assert w.g.blood_moving()          # invalid flow, tach turning: still moving
    w.sup.pump.rpm = 0
    assert not w.g.blood_moving()      # invalid flow and a dead tach: not shown to move
    w.blood.status = 0
    assert w.g.blood_moving()          # a valid flow alone shows it (a dead tach is not enough)


def test_low_measured_flow_cuts_after_the_debounce_and_not_at_the_limit():
    w = World()
    w.blood.value = 500                # exactly the limit: not low
    assert w.tick(50) == 30000 and not w.g.cut
    w.blood.value = 499
    assert w.tick() == 30000 and not w.g.cut    # debounce 20 ms = 2 ticks
    assert w.tick() == 1000 and w.g.cut
    assert w.alarm(A.SWEEP_NO_BLOOD)


def test_cut_never_raises_the_duty_above_the_request():
    w = World()
    w.sup.state = STOP
    assert w.tick(req=500, purge=1000) == 500 and w.g.cut
    assert w.tick(req=1000, purge=1000) == 1000


def test_cut_releases_after_flow_above_limit_plus_hysteresis_held_one_second():
    w = World()
    w.sup.state = STOP
    w.tick()
    assert w.g.cut
    w.sup.state = RUN
    w.blood.value = 699                # 500 + 200 hysteresis not reached
    w.tick(300)
    assert w.g.cut
    w.blood.value = 700
    w.tick(99)
    assert w.g.cut                     # 1 s = 100 ticks held
    w.tick()
    assert not w.g.cut and not w.alarm(A.SWEEP_NO_BLOOD)
    assert w.tick() == 30000


def test_cut_release_restarts_its_hold_after_a_gap_and_never_on_an_invalid_flow():
    w = World()
    w.sup.state = STOP
    w.tick()
    w.sup.state = RUN
    w.blood.value = 4000
    w.tick(60)
    w.blood.status = 3                 # a gap: invalid reading
    w.tick(300)
    assert w.g.cut
    w.blood.status = 0
    w.tick(99)
    assert w.g.cut
    w.tick()
    assert not w.g.cut


def test_a_cut_restarts_the_release_hold_from_zero():
    w = World()
    w.sup.state = STOP
    w.tick()
    w.sup.state = RUN
    w.tick(100)
    assert not w.g.cut
    w.sup.state = STOP
    w.tick()
    assert w.g.cut
    w.sup.state = RUN
    w.tick(99)
    assert w.g.cut
    w.tick()
    assert not w.g.cut


def test_no_sweep_asked_for_is_never_cut():
    w = World()
    w.sup.state = STOP
    w.tick()
    assert w.g.cut
    assert w.tick(target=0, sp=0, req=0) == 0 and not w.g.cut
    assert not w.alarm(A.SWEEP_NO_BLOOD)
    w.tick(target=0, sp=0, req=0)
    assert not w.g.cut


def test_sweep_lost_below_half_the_setpoint_after_its_time():
    w = World()                        # VA: 50 %, 3000 ms = 300 ticks
    w.sweep.value = 1000               # exactly half: not lost
    w.tick(400)
    assert not w.g.lost and not w.alarm(A.SWEEP_LOST)
    w.sweep.value = 999
    w.tick(299)
    assert not w.g.lost
    w.tick()
    assert w.g.lost and w.alarm(A.SWEEP_LOST)
    w.sweep.value = 1500
    w.tick()
    assert not w.g.lost and not w.alarm(A.SWEEP_LOST)


def test_sweep_lost_when_its_sensor_fails_and_not_while_cut_or_off():
    w = World("VV")                    # VV: 2000 ms = 200 ticks
    w.sweep.status = 4
    w.tick(199)
    assert not w.g.lost
    w.tick()
    assert w.g.lost
    w2 = World()
    w2.sweep.value = 0
    w2.tick(400, target=0, sp=0, req=0)
    assert not w2.g.lost
    w2.sup.state = STOP
    w2.tick(400)
    assert w2.g.cut and not w2.g.lost


def test_sweep_high_above_150_percent_plus_margin_after_three_seconds():
    w = World()
    w.sweep.value = 3300               # 2000 * 150 % + 300: exactly at the limit
    w.tick(400)
    assert not w.alarm(A.SWEEP_HIGH)
    w.sweep.value = 3301
    w.tick(299)
    assert not w.alarm(A.SWEEP_HIGH)
    w.tick()
    assert w.alarm(A.SWEEP_HIGH)


def test_sweep_high_while_cut_counts_against_zero_and_not_on_an_invalid_reading():
    w = World()
    w.sup.state = STOP
    w.sweep.value = 301
    w.tick(300)
    assert w.g.cut and w.alarm(A.SWEEP_HIGH)
    w2 = World()
    w2.sup.state = STOP
    w2.sweep.value = 300
    w2.tick(400)
    assert not w2.alarm(A.SWEEP_HIGH)
    w3 = World()
    w3.sweep.value = 9000
    w3.sweep.status = 2
    w3.tick(400)
    assert not w3.alarm(A.SWEEP_HIGH)


def test_sensor_gas_after_300_ms_of_any_invalid_gas_sensor():
    for name in ("sweep", "o2", "temp", "sat"):
        w = World()
        getattr(w, name).status = 1
        w.step(2)
        assert not w.alarm(A.SENSOR_GAS), name
        w.step()
        assert w.alarm(A.SENSOR_GAS), name
        getattr(w, name).status = 0
        w.step()
        assert not w.alarm(A.SENSOR_GAS), name


def test_fio2_mismatch_beyond_the_tolerance_either_way_after_30_s():
    for off in (51, -51):
        w = World()
        w.o2.value = 1000 + off
        w.step(299)
        assert not w.alarm(A.FIO2), off
        w.step()
        assert w.alarm(A.FIO2), off
    for off in (50, -50):
        w = World()
        w.o2.value = 1000 + off
        w.step(400)
        assert not w.alarm(A.FIO2), off
    w = World()
    w.o2.value = 500
    w.step(400, sweeping=False)
    assert not w.alarm(A.FIO2)          # no sweep: nothing to compare
    w.o2.status = 1
    w.step(400)
    assert not w.alarm(A.FIO2)          # an invalid cell is SENSOR_GAS, not a mismatch


def test_fio2_out_of_calibration_alarms_at_once():
    w = World()
    w.o2.out_of_cal = True
    w.step()
    assert w.alarm(A.FIO2)


def test_temperature_outside_its_band_after_two_seconds_only_when_valid():
    for tv, alarm in ((3499, True), (3500, False), (3850, False), (3851, True)):
        w = World()
        w.temp.value = tv
        w.step(19)
        assert not w.alarm(A.TEMP), tv
        w.step()
        assert w.alarm(A.TEMP) == alarm, tv
    w = World()
    w.temp.value = 2000
    w.temp.status = 1
    w.step(40)
    assert not w.alarm(A.TEMP)


def test_saturation_low_waits_for_blood_moving_ten_seconds_then_five():
    w = World()
    w.sat.value = 949
    w.step(99 + 49)
    assert not w.alarm(A.SAT_LOW)
    w.step()
    assert w.alarm(A.SAT_LOW)
    w2 = World()
    w2.sat.value = 950                  # at the limit: not low
    w2.step(300)
    assert not w2.alarm(A.SAT_LOW)


def test_saturation_low_not_while_cut_stopped_or_invalid():
    w = World()
    w.sat.value = 900
    w.step(100)                         # blood moved 10 s
    w.sup.state = STOP
    w.tick()                            # the cut
    w.step(100)
    assert not w.alarm(A.SAT_LOW)
    w2 = World()
    w2.sat.value = 900
    w2.sat.status = 1
    w2.step(300)
    assert not w2.alarm(A.SAT_LOW)


def test_set_limits_takes_its_share_and_the_profile_defaults():
    w = World()
    w.g.set_limits("VA", {"sweep_blood_min_mlpm": 1000, "debounce_ms": 50})
    assert w.g.sweep_blood_min_mlpm == 1000
    w.blood.value = 999
    w.tick(4)
    assert not w.g.cut
    w.tick()
    assert w.g.cut
    w.g.set_limits("VV", None)
    assert w.g.sweep_lost_ms == 2000 and w.g.sweep_blood_min_mlpm == 500


def test_one_rpm_is_moving_blood():
    # the smallest command and the smallest tach reading count: "above zero", not "above one"
    w = World()
    w.sup.rpm_applied = 1
    assert w.g.blood_moving()
    w.sup.rpm_applied = 0
    assert not w.g.blood_moving()
    w = World()
    w.blood.status = 3                    # invalid flow: the tach decides
    w.sup.pump.rpm = 1
    assert w.g.blood_moving()
    w.sup.pump.rpm = 0
    assert not w.g.blood_moving()


def test_a_sweep_of_one_ml_per_min_is_a_sweep_asked_for():
    # cut on a stopped pump, and lost when its sensor fails: 1 mL/min is already a setpoint
    w = World()
    w.sup.state = STOP
    assert w.tick(1, target=1, sp=1) == 1000 and w.g.cut and w.alarm(A.SWEEP_NO_BLOOD)
    w = World()
    w.sweep.status = 3
    w.tick(300, target=1, sp=1)
    assert w.g.lost and w.alarm(A.SWEEP_LOST)


def test_no_sweep_asked_for_is_never_lost_even_with_its_sensor_failed():
    w = World()
    w.sweep.status = 3
    w.tick(300, target=0, sp=0)
    assert not w.g.lost and not w.alarm(A.SWEEP_LOST)


def test_a_new_gas_supervisor_has_lost_nothing():
    w = World()
    assert w.g.lost is False and w.g.cut is False
