# Gas-side interlocks: the oxygenator's sweep, FiO2, blood temperature and saturation. Like the
# pump supervisor it sees every reading with its validity and the controller's request, and has
# the last word on the sweep valve. It only ever cuts sweep for one hazard (gas crossing into
# stagnant blood); every other gas hazard alarms, because sweep is the patient's gas exchange.
# Its limits live in profiles.LIMITS beside the pump's (GAS_LIMITS), so rig.limit(), profile()
# and save() carry them; set_limits() takes its own share. Times become counts once, there.
from micropython import const
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import RUN
from ecmo.safety.profiles import defaults
from ecmo.safety.held import held, counters, ms_to_ticks

_BLOOD_HYST_MLPM = const(200)      # blood back above the cut level + this before sweep returns
_RESTORE_MS = const(1000)          # ... held this long: the pump has really restarted
_SWEEP_HIGH_MARGIN_MLPM = const(300)
_SWEEP_HIGH_MS = const(3000)
_SENSOR_MS = const(300)            # a gas sensor invalid this long raises SENSOR_GAS
_FIO2_MS = const(30000)            # a galvanic cell settles in 10..15 s (T90) after a change
_TEMP_MS = const(2000)
_SAT_MS = const(5000)
# Saturation after the membrane needs blood through it and the sweep taking effect (the monitor
# and the oxygenator lag ~5 s): SAT_LOW counts only once blood has moved this long without a
# break, so every start-up does not raise a latched HIGH alarm. A sweep never started still
# alarms, 10 s + 5 s after the pump starts.
_SAT_HOLD_MS = const(10000)

# counter slots (safety/held.py); the first four count pump ticks, the rest gas steps
_C_LOW = const(0)        # blood flow too low for gas exchange
_C_OK = const(1)         # blood back (releases the cut)
_C_LOST = const(2)
_C_HIGH = const(3)
_C_SENSOR = const(4)
_C_FIO2 = const(5)
_C_TEMP = const(6)
_C_SAT = const(7)
_C_MOVING = const(8)     # blood moving without a break (SAT_LOW waits for it)
_C_COUNT = const(9)


class GasSafety:
    def __init__(self, sup, blood_flow, sweep, o2, temp, sat, alarms, period_ms, step_ms):
        self.sup = sup               # pump supervisor: state, trip, applied speed
        self.blood = blood_flow
        self.sweep = sweep
        self.o2 = o2
        self.temp = temp
        self.sat = sat
        self.alarms = alarms
        self.period_ms = period_ms   # pump tick: sweep checks run every tick
        self.cut = False             # sweep held at its purge because blood is not moving
        self.lost = False
        self._n = counters(_C_COUNT)
        self._restore_n = ms_to_ticks(_RESTORE_MS, period_ms)
        self._high_n = ms_to_ticks(_SWEEP_HIGH_MS, period_ms)
        self._sensor_n = ms_to_ticks(_SENSOR_MS, step_ms)
        self._fio2_n = ms_to_ticks(_FIO2_MS, step_ms)
        self._temp_n = ms_to_ticks(_TEMP_MS, step_ms)
        self._sat_n = ms_to_ticks(_SAT_MS, step_ms)
        self._sat_hold_n = ms_to_ticks(_SAT_HOLD_MS, step_ms)
        self.set_limits(sup.profile, None)

    def set_limits(self, profile, limits):
        # this side's share of a limits dict (None: the profile's defaults)
        d = defaults(profile)
        if limits is not None:
            d.update(limits)
        self.sweep_blood_min_mlpm = d["sweep_blood_min_mlpm"]
        self.sweep_lost_pct = d["sweep_lost_pct"]
        self.sweep_lost_ms = d["sweep_lost_ms"]
        self.sweep_high_pct = d["sweep_high_pct"]
        self.fio2_tol_dpct = d["fio2_tol_dpct"]
        self.temp_low_cdegc = d["temp_low_cdegc"]
        self.temp_high_cdegc = d["temp_high_cdegc"]
        self.sat_post_low_dpct = d["sat_post_low_dpct"]
        self._deb_n = ms_to_ticks(d["debounce_ms"], self.period_ms)
        self._lost_n = ms_to_ticks(self.sweep_lost_ms, self.period_ms)

    def blood_moving(self):
        # pump running and commanded above zero, no latched stop, and something that shows it
        # turns: a valid flow reading (judged against its limit in update), or else the tach.
        # One failed sensor never cuts sweep by itself (fail operational: in VV that would be
        # hypoxaemia), and an invalid flow is never enough to call blood moving again (update)
        s = self.sup
        return s.state == RUN and not s.tripped and s.pump.enabled and s.rpm_applied > 0 \
            and (self.blood.status == 0 or s.pump.rpm > 0)

    def update(self, now_ms, target_mlpm, sp_mlpm, req_u16, purge_u16):
        # every pump tick; returns the valve duty to apply
        al = self.alarms
        c = self._n
        q = self.blood.value
        q_ok = self.blood.status == 0
        moving = self.blood_moving()
        low = held(c, _C_LOW, not moving or (q_ok and q < self.sweep_blood_min_mlpm), self._deb_n)
        if target_mlpm <= 0:
            self.cut = False                 # no sweep asked for: nothing to cut
        elif not self.cut:
            # stopped pump: at once; measured low flow: after the debounce (2 ticks by default)
            if not moving or low:
                self.cut = True
                c[_C_OK] = 0
        else:
            # released only on a flow that is seen: an invalid reading could hide a dead circuit
            back = moving and q_ok and q >= self.sweep_blood_min_mlpm + _BLOOD_HYST_MLPM
            if held(c, _C_OK, back, self._restore_n):
                self.cut = False
        fl = al.flags      # set() only where the presence bit (alarms._F_PRESENT, 1) changes
        if self.cut != fl[A.SWEEP_NO_BLOOD] & 1:
            al.set(A.SWEEP_NO_BLOOD, self.cut, now_ms)
        out = req_u16
        if self.cut and out > purge_u16:
            out = purge_u16

        # sweep lost: far below its setpoint, or its flow cannot be seen (valve stuck closed,
        # supply lost, sensor fault). The ramped setpoint keeps a setpoint step from alarming.
        f = self.sweep
        f_ok = f.status == 0
        want = 0 if self.cut else sp_mlpm
        lost = target_mlpm > 0 and not self.cut and \
            (not f_ok or f.value * 100 < want * self.sweep_lost_pct)
        self.lost = held(c, _C_LOST, lost, self._lost_n)
        if self.lost != fl[A.SWEEP_LOST] & 1:
            al.set(A.SWEEP_LOST, self.lost, now_ms)
        # sweep high: more gas than asked for, also while closed or cut (valve stuck open)
        high = f_ok and f.value * 100 > want * self.sweep_high_pct + _SWEEP_HIGH_MARGIN_MLPM * 100
        v = held(c, _C_HIGH, high, self._high_n)
        if v != fl[A.SWEEP_HIGH] & 1:
            al.set(A.SWEEP_HIGH, v, now_ms)
        return out

    def slow(self, now_ms, sweeping, fio2_target_dpct):
        # every gas step: FiO2, temperature, saturation and sensor validity (the oxygenator
        # calls the two halves on two ticks of the step: ecmo/oxygenator.py)
        self.slow_sensors(now_ms, sweeping, fio2_target_dpct)
        self.slow_patient(now_ms)

    def slow_sensors(self, now_ms, sweeping, fio2_target_dpct):
        # every gas step: gas sensor validity and FiO2
        al = self.alarms
        c = self._n
        o2 = self.o2
        t = self.temp
        sat = self.sat
        bad = self.sweep.status != 0 or o2.status != 0 or t.status != 0 or sat.status != 0
        fl = al.flags      # set() only on a change of the presence bit
        v = held(c, _C_SENSOR, bad, self._sensor_n)
        if v != fl[A.SENSOR_GAS] & 1:
            al.set(A.SENSOR_GAS, v, now_ms)

        off = o2.value - fio2_target_dpct
        dev = sweeping and o2.status == 0 and (off > self.fio2_tol_dpct or -off > self.fio2_tol_dpct)
        dev = held(c, _C_FIO2, dev, self._fio2_n)
        v = o2.out_of_cal or dev
        if v != fl[A.FIO2] & 1:
            al.set(A.FIO2, v, now_ms)

    def slow_patient(self, now_ms):
        # every gas step: blood temperature and post-oxygenator saturation
        al = self.alarms
        c = self._n
        t = self.temp
        sat = self.sat
        fl = al.flags
        tv = t.value
        out = t.status == 0 and (tv < self.temp_low_cdegc or tv > self.temp_high_cdegc)
        v = held(c, _C_TEMP, out, self._temp_n)
        if v != fl[A.TEMP] & 1:
            al.set(A.TEMP, v, now_ms)

        # only meaningful while blood passes the membrane
        moved = held(c, _C_MOVING, self.blood_moving(), self._sat_hold_n)
        low = sat.status == 0 and not self.cut and moved and sat.value < self.sat_post_low_dpct
        v = held(c, _C_SAT, low, self._sat_n)
        if v != fl[A.SAT_LOW] & 1:
            al.set(A.SAT_LOW, v, now_ms)
