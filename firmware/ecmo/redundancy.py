# Analytical redundancy: the circuit ties the sensors together, so no single one is trusted alone.
#   R1 pump:       P2 - P1 = H(rpm, Q)        (pumpmap.py)       sees P1, P2, flow, tach
#   R2 membrane:   P2 - P3 = Rm * Q           (Rm learned here)  sees P2, P3, flow
#   order:         P2 >= P3 while blood flows forward
# A sensor that breaks one relation is suspect; which one is a majority call: P1 is only in R1,
# P3 only in R2 (and R2 also breaks when the membrane clots, so R2 alone names nobody), flow
# and P2 are in both, and they break them with the same sign (flow) or opposite signs (P2).
# Estimates are anchored: while every sensor is trusted, a slow bias (tau ~5 s) takes up what
# the map gets wrong at the operating point, so a map that is off by 20 % is still close near
# where the rig runs; a slow sensor drift is taken up the same way and is not caught here.
# Also here: the substitutes the interlocks use when a pressure or the flow is not trusted, and
# a short history of the speed applied while everything was trusted (the fault fallback).
# Integers only, nothing allocated per tick.
from micropython import const
from array import array
from ecmo.pumpmap import PumpMap

P1 = const(1)        # suspect bits
P2 = const(2)
P3 = const(4)
FLOW = const(8)
SUSPECT_NAMES = ((P1, "p1"), (P2, "p2"), (P3, "p3"), (FLOW, "flow"))

_DEB_TICKS = const(50)          # a relation broken this long (0.5 s) names a suspect
_WARM_TICKS = const(500)        # 5 s of trusted running before the relations are checked
_BIAS_SHIFT = const(9)          # anchor filter: 1/512 per tick, tau ~5 s at 100 Hz
_RM_SHIFT = const(11)           # membrane resistance filter, tau ~20 s
_RM_K = const(10000)            # resistance in 0.01 mmHg per L/min (0.1 mmHg * 1000 mL / 10)
_Q_MIN_MLPM = const(800)        # below this neither relation says much
_Q_TOL_MLPM = const(400)        # flow disagreement: 0.4 L/min + 6 % (+ the map's error share)
_ORDER_TOL_DMMHG = const(100)   # P3 above P2 by more than 10 mmHg at forward flow
_HIST = const(16)               # speed history: one sample per 100 ms, 1.6 s
_HIST_EVERY = const(10)
_BACK = const(10)               # fall back to the speed of >= 1 s ago: older than any detection
_TACH_TOL_RPM = const(300)
_STEADY_RPM = const(50)         # tach within 50 rpm + 2 % of the command: the motor is settled


class Redundancy:
    def __init__(self, p1, p2, p3, flow, pump, pmap=None):
        self.p1 = p1
        self.p2 = p2
        self.p3 = p3
        self.flow = flow
        self.pump = pump
        self.map = pmap if pmap is not None else PumpMap(28.0, 2.6, 0.6, 10)
        self.suspect = 0         # bits above: named by the relations
        self.q_map = 0           # flow from speed and head (anchored), mL/min
        self.q_map_ok = False    # ... usable now (P1, P2, tach trusted, head informative)
        self.q_mem = 0           # flow from the membrane drop and the learned resistance
        self.p1_est = 0          # P1 from P2, flow and speed (anchored), 0.1 mmHg
        self.p1_est_ok = False
        self.p2_est = 0          # P2 from P1, flow and speed (the same anchor), 0.1 mmHg
        self.p2_est_ok = False
        self.rm = 0              # membrane resistance, 0.01 mmHg per L/min (learned)
        self.r1_res = 0          # last residuals (mL/min), for telemetry and tests
        self.r2_res = 0
        self.rpm = 0             # speed the relations used (tach, or the command)
        self._qb = 0             # anchors x16: flow bias (mL/min), P1 bias (0.1 mmHg)
        self._pb = 0
        self._rm16 = 0
        self._warm = 0
        self.anchored = False    # the anchors have learnt (5 s trusted): the estimates may stand in
        self.fits = False        # the map describes this circuit (its anchor inside the map's error)
        self._n1 = 0
        self._n2 = 0
        self._n3 = 0
        self._hist = array("i", [0] * _HIST)
        self._hist_ok = bytearray(_HIST)
        self._hi = 0
        self._ht = 0
        self._was_trusted = True
        self.fallback_rpm = -1   # speed to fall back to while untrusted (-1: none known)
        # substitutes for the interlocks, set by guards() (value and whether it may be used)
        self.p1_g = 0
        self.p1_g_ok = False
        self.p2_g = 0
        self.p2_g_ok = False
        self.p3_g = 0
        self.p3_g_ok = False
        self.q_g = 0
        self.q_g_ok = False
        self.q_est = False       # q_g is the map's estimate, not the flow sensor

    def set_map(self, pmap):
        self.map = pmap
        self._warm = 0           # new map: re-learn the anchors before judging anyone
        self.anchored = False

    def suspects(self):
        # REPL side: the names of the sensors the relations point at now
        return [n for b, n in SUSPECT_NAMES if self.suspect & b]

    def all_trusted(self):
        # every sensor an interlock needs is valid and no relation points at it
        return self.p1.status == 0 and self.p2.status == 0 and self.p3.status == 0 and \
            self.flow.status == 0 and self.suspect == 0

    def _tach_ok(self):
        p = self.pump
        d = p.rpm - p.rpm_cmd
        if d < 0:
            d = -d
        return d <= _TACH_TOL_RPM + p.rpm_cmd // 5

    # ---- the tick ----
    def update(self, running, rpm_applied):
        m = self.map
        p1 = self.p1
        p2 = self.p2
        p3 = self.p3
        fl = self.flow
        p1ok = p1.status == 0
        p2ok = p2.status == 0
        p3ok = p3.status == 0
        qok = fl.status == 0
        tach = self._tach_ok()
        rpm = self.pump.rpm if tach else self.pump.rpm_cmd
        self.rpm = rpm
        q = fl.value
        # R1 estimates
        if p1ok and p2ok:
            raw = m.flow_mlpm(rpm, p2.value - p1.value)
            qm = raw + (self._qb >> 4)
            self.q_map = qm
            self.q_map_ok = tach and running and self.anchored and m.informative(rpm, qm) and \
                not self.suspect & (P1 | P2)
        else:
            raw = 0
            self.q_map_ok = False
        qa = q if qok and not self.suspect & FLOW else self.q_map
        if p2ok and (qok or self.q_map_ok):
            pe_raw = p2.value - m.head_dmmhg(rpm, qa)
            self.p1_est = pe_raw + (self._pb >> 4)
            self.p1_est_ok = tach and running and self.anchored and not self.suspect & P2
        else:
            pe_raw = 0
            self.p1_est_ok = False
        # P2 the other way round, P1 + H(rpm, Q), for the pre-oxygenator limits behind a clot
        # when P2 is not trusted (P3, the other bound, falls behind a clot). Its anchor is P1's
        # with the sign turned: P2 - (P1 + H) = -(P1 - (P2 - H))
        if p1ok and qok and not self.suspect & FLOW:
            self.p2_est = p1.value + m.head_dmmhg(rpm, q) - (self._pb >> 4)
            self.p2_est_ok = tach and running and self.anchored and not self.suspect & P1
        else:
            self.p2_est_ok = False
        # R2 estimate
        rm = self._rm16 >> 4
        self.rm = rm
        if p2ok and p3ok and rm > 0:
            self.q_mem = (p2.value - p3.value) * _RM_K // rm
        every = p1ok and p2ok and p3ok and qok and tach and running and q > _Q_MIN_MLPM
        if not every:
            self._warm = 0
            self._n1 = 0
            self._n2 = 0
            self._n3 = 0
            if not (p1ok and p2ok and p3ok and qok):
                self.suspect = 0      # an invalid sensor is named by its own status
            self._history(rpm_applied)
            return
        # tolerance on the smallest of the three flows (a reading that is off must not widen
        # its own tolerance): 0.4 L/min + 6 % + the map's error share
        qs = q if q < self.q_map else self.q_map
        if rm > 0 and self.q_mem < qs:
            qs = self.q_mem
        if qs < 0:
            qs = 0
        tol = _Q_TOL_MLPM + qs // 16 + qs * m.err_pct // 400
        e1 = q - self.q_map
        e2 = q - self.q_mem if rm > 0 else 0
        self.r1_res = e1
        self.r2_res = e2
        b1 = m.informative(rpm, q) and (e1 > tol or e1 < -tol)
        b2 = rm > 0 and (e2 > tol or e2 < -tol)
        b3 = p3.value > p2.value + _ORDER_TOL_DMMHG
        warm = self._warm >= _WARM_TICKS
        # anchors learn while every sensor is trusted, the relations hold (or are still being
        # learnt) and the motor is at its command (during a speed change the static relations
        # hold least well); never while a relation is broken, so a fault is not learnt away
        c = self.pump.rpm_cmd
        d = rpm - c
        if self.suspect == 0 and not (warm and (b1 or b2 or b3)) and \
                -_STEADY_RPM - c // 50 < d < _STEADY_RPM + c // 50:
            self._qb += ((q - raw) * 16 - self._qb) >> _BIAS_SHIFT
            self._pb += ((p1.value - pe_raw) * 16 - self._pb) >> _BIAS_SHIFT
            r = (p2.value - p3.value) * _RM_K // q
            if self._rm16 == 0:
                self._rm16 = r * 16
            else:
                self._rm16 += (r * 16 - self._rm16) >> _RM_SHIFT
            # The map fits this circuit if what the anchor had to take up stays inside the
            # map's own error budget and the operating point is on its forward branch (judged
            # while learning only: a fault must not talk the map out of use). If it does not
            # (a wrong map, another pump, readings no circuit makes), the relations judge nobody
            # and no estimate stands in for a sensor: the plain RPM hold beats a bad model.
            qb = self._qb >> 4
            lim = _Q_TOL_MLPM + q * m.err_pct // 100
            self.fits = raw > 0 and -lim <= qb <= lim
        if not warm:
            self._warm += 1
            if self._warm >= _WARM_TICKS:
                self.anchored = self.fits
            self._history(rpm_applied)
            return
        if not self.fits:
            self.anchored = False
            self._n1 = 0
            self._n2 = 0
            self._n3 = 0
            self.suspect = 0
            self._history(rpm_applied)
            return
        self.anchored = True
        self._n1 = self._n1 + 1 if b1 and self._n1 < 255 else (self._n1 if b1 else 0)
        self._n2 = self._n2 + 1 if b2 and self._n2 < 255 else (self._n2 if b2 else 0)
        self._n3 = self._n3 + 1 if b3 and self._n3 < 255 else (self._n3 if b3 else 0)
        s = 0
        f1 = self._n1 >= _DEB_TICKS
        f2 = self._n2 >= _DEB_TICKS
        if f1 and f2:
            s = FLOW if (e1 > 0) == (e2 > 0) else P2
        elif f1:
            s = P1
        if self._n3 >= _DEB_TICKS and not s & P2:
            # P3 above P2 with blood going forward: one of the two is wrong, and P3 is the one
            # the over-pressure check reads, so it is the one not to trust
            s |= P3
        self.suspect = s
        self._history(rpm_applied)

    def _history(self, rpm_applied):
        # one sample every 100 ms of the speed applied and whether all was trusted then; on the
        # first untrusted tick pick the speed of >= 1 s ago (older than any detection delay)
        ok = self.all_trusted()
        if ok:
            self._was_trusted = True
            self.fallback_rpm = -1
        elif self._was_trusted:
            self._was_trusted = False
            self.fallback_rpm = self._pick()
        self._ht += 1
        if self._ht >= _HIST_EVERY:
            self._ht = 0
            i = self._hi
            self._hist[i] = rpm_applied
            self._hist_ok[i] = 1 if ok else 0
            self._hi = i + 1 if i + 1 < _HIST else 0

    def _pick(self):
        # newest trusted sample at least _BACK samples old; -1 if none
        i = self._hi - 1 - _BACK
        for _ in range(_HIST - _BACK):
            if i < 0:
                i += _HIST
            if self._hist_ok[i]:
                return self._hist[i]
            i -= 1
        return -1

    # ---- substitutes for the interlocks (value, ok) as attributes: no tuples per tick ----
    def guards(self):
        # P3 for over-pressure: P3; else P2, an upper bound of P3 at forward flow; else a P3
        # saturated high (the true value is at least full scale); else the estimate of P2
        p2 = self.p2
        p3 = self.p3
        if p3.status == 0 and not self.suspect & P3:
            self.p3_g = p3.value
            self.p3_g_ok = True
        elif p2.status == 0 and not self.suspect & P2:
            self.p3_g = p2.value
            self.p3_g_ok = True
        elif p3.sat > 0:
            self.p3_g = p3.value
            self.p3_g_ok = True
        elif self.p2_est_ok:
            self.p3_g = self.p2_est      # the estimate of P2 bounds P3 as P2 would
            self.p3_g_ok = True
        else:
            self.p3_g_ok = False
        # P2 for the pre-oxygenator limits: P2; else a P2 saturated high; else the pump-map
        # estimate from P1, flow and speed, or P3 (a lower bound) where that is higher
        p3t = p3.status == 0 and not self.suspect & P3
        if p2.status == 0 and not self.suspect & P2:
            self.p2_g = p2.value
            self.p2_g_ok = True
        elif p2.sat > 0:
            self.p2_g = p2.value
            self.p2_g_ok = True
        elif self.p2_est_ok:
            self.p2_g = p3.value if p3t and p3.value > self.p2_est else self.p2_est
            self.p2_g_ok = True
        elif p3t:
            self.p2_g = p3.value
            self.p2_g_ok = True
        else:
            self.p2_g_ok = False
        # P1 for suction: P1; else a P1 saturated low (at most the bottom of its range); else
        # the pump-map estimate from P2, flow and speed
        p1 = self.p1
        if p1.status == 0 and not self.suspect & P1:
            self.p1_g = p1.value
            self.p1_g_ok = True
        elif p1.sat < 0:
            self.p1_g = p1.value
            self.p1_g_ok = True
        elif self.p1_est_ok:
            self.p1_g = self.p1_est
            self.p1_g_ok = True
        else:
            self.p1_g_ok = False
        # flow: measured; else the map's estimate where the map is good enough (est = True)
        f = self.flow
        if f.status == 0 and not self.suspect & FLOW:
            self.q_g = f.value
            self.q_g_ok = True
            self.q_est = False
        elif self.q_map_ok and self.map.good:
            self.q_g = self.q_map
            self.q_g_ok = True
            self.q_est = True
        else:
            self.q_g_ok = False
            self.q_est = False
