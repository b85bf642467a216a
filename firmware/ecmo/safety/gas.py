# Gas-side interlocks: the oxygenator's sweep, FiO2, blood temperature and saturation. Like the
# pump supervisor it sees every reading with its validity and the controller's request, and has
# the last word on the sweep valve. It only ever cuts sweep for one hazard (gas crossing into
# stagnant blood); every other gas hazard alarms, because sweep is the patient's gas exchange.
# Limits live in profiles.LIMITS beside the pump's, so rig.limit(), profile() and save() carry
# them; set_profile() puts them on the pump supervisor, where this reads them.
from micropython import const
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import RUN

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
_CAP = const(30000)                # counters stop here: no overflow, no allocation


def _count(n, cond):
    return (n + 1 if n < _CAP else n) if cond else 0


class GasSafety:
    def __init__(self, sup, blood_flow, sweep, o2, temp, sat, alarms, period_ms, step_ms):
        self.sup = sup               # pump supervisor: state, trip, limits
        self.blood = blood_flow
        self.sweep = sweep
        self.o2 = o2
        self.temp = temp
        self.sat = sat
        self.alarms = alarms
        self.period_ms = period_ms   # pump tick: sweep checks run every tick
        self.step_ms = step_ms       # gas step: the slow signals are checked every step
        self.cut = False             # sweep held at its purge because blood is not moving
        self.lost = False
        self._low_n = 0
        self._ok_n = 0
        self._lost_n = 0
        self._high_n = 0
        self._sens_n = 0
        self._fio2_n = 0
        self._temp_n = 0
        self._sat_n = 0
        self._moving_n = 0           # gas steps blood has been moving without a break

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
        s = self.sup
        al = self.alarms
        q = self.blood.value
        q_ok = self.blood.status == 0
        moving = self.blood_moving()
        self._low_n = _count(self._low_n, not moving or (q_ok and q < s.sweep_blood_min_mlpm))
        if target_mlpm <= 0:
            self.cut = False                 # no sweep asked for: nothing to cut
        elif not self.cut:
            # stopped pump: at once; measured low flow: after the debounce (2 ticks by default)
            if not moving or self._low_n >= s.debounce_ticks:
                self.cut = True
                self._ok_n = 0
        else:
            # released only on a flow that is seen: an invalid reading could hide a dead circuit
            back = moving and q_ok and q >= s.sweep_blood_min_mlpm + _BLOOD_HYST_MLPM
            self._ok_n = _count(self._ok_n, back)
            if self._ok_n * self.period_ms >= _RESTORE_MS:
                self.cut = False
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
            (not f_ok or f.value * 100 < want * s.sweep_lost_pct)
        self._lost_n = _count(self._lost_n, lost)
        self.lost = self._lost_n * self.period_ms >= s.sweep_lost_ms
        al.set(A.SWEEP_LOST, self.lost, now_ms)
        # sweep high: more gas than asked for, also while closed or cut (valve stuck open)
        high = f_ok and f.value * 100 > want * s.sweep_high_pct + _SWEEP_HIGH_MARGIN_MLPM * 100
        self._high_n = _count(self._high_n, high)
        al.set(A.SWEEP_HIGH, self._high_n * self.period_ms >= _SWEEP_HIGH_MS, now_ms)
        return out

    def slow(self, now_ms, sweeping, fio2_target_dpct):
        # every gas step: FiO2, temperature, saturation and sensor validity
        s = self.sup
        al = self.alarms
        dt = self.step_ms
        o2 = self.o2
        t = self.temp
        sat = self.sat
        bad = self.sweep.status != 0 or o2.status != 0 or t.status != 0 or sat.status != 0
        self._sens_n = _count(self._sens_n, bad)
        al.set(A.SENSOR_GAS, self._sens_n * dt >= _SENSOR_MS, now_ms)

        off = o2.value - fio2_target_dpct
        dev = sweeping and o2.status == 0 and (off > s.fio2_tol_dpct or -off > s.fio2_tol_dpct)
        self._fio2_n = _count(self._fio2_n, dev)
        al.set(A.FIO2, o2.out_of_cal or self._fio2_n * dt >= _FIO2_MS, now_ms)

        tv = t.value
        self._temp_n = _count(self._temp_n, t.status == 0 and
                              (tv < s.temp_low_cdegc or tv > s.temp_high_cdegc))
        al.set(A.TEMP, self._temp_n * dt >= _TEMP_MS, now_ms)

        # only meaningful while blood passes the membrane
        self._moving_n = _count(self._moving_n, self.blood_moving())
        low = sat.status == 0 and not self.cut and self._moving_n * dt >= _SAT_HOLD_MS and \
            sat.value < s.sat_post_low_dpct
        self._sat_n = _count(self._sat_n, low)
        al.set(A.SAT_LOW, self._sat_n * dt >= _SAT_MS, now_ms)
