# Analytical redundancy: the circuit ties the sensors together, so no single one is trusted alone.
#   R1 pump:       P2 - P1 = H(rpm, Q)        (pumpmap.py)       sees P1, P2, flow, tach
#   R2 membrane:   P2 - P3 = Rm * Q           (Rm learned here)  sees P2, P3, flow
#   order:         P2 >= P3 while blood flows forward
# A sensor that breaks one relation is suspect; which one is a majority call: P1 is only in R1,
# P3 only in R2 (and R2 also breaks when the membrane clots, so R2 alone names nobody), flow
# and P2 are in both, and they break them with the same sign (flow) or opposite signs (P2).
# Estimates are anchored: a bias learnt while every sensor is trusted takes up what the map gets
# wrong at the operating point, so a map that is off by 20 % is still close near where the rig
# runs. Only the first second of trusted running after boot is an unjudged seed (learnt fast,
# tau ~0.3 s); after it the anchors learn slowly (tau ~5 s) and never while a relation is
# broken, so a fault that comes after a stop, a reset or low flow is not learnt as the anchor.
# A restart settles 1 s before the relations judge again. The "map fits this circuit" flag,
# once set, stays set (one tick with a bad reading must not switch the cross-checks off). A
# slow sensor drift (slower than the anchor) is taken up and is not caught here.
# The speed the relations use is checked on its own: a tach frozen while the command moved,
# or one the map says the circuit does not run at (the command's speed fits, the tach's does
# not) is `tach_bad` (TACH at once, the supervisor), and then the relations name nobody.
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

_DEB_TICKS = const(50)          # a relation broken this long (0.5 s at the command) names a
                                # suspect: counts 2 a tick with the motor at its command, 1 away
_SEED_TICKS = const(100)        # the unjudged seed: the first 1 s of trusted running after boot
_SEED_SHIFT = const(5)          # ... learnt fast: 1/32 per tick, tau ~0.3 s
_SETTLE_TICKS = const(100)      # after a stop, low flow or an invalid reading: 1 s unjudged
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
_TF_RPM = const(8)              # tach frozen: within 8 rpm + 5 % of where it was ...
_TF_TICKS = const(100)          # ... for 1 s
_TF_MOVED = const(50)           # ... while the command sat away from that reading by twice
                                # the band for 0.5 s in a row (a healthy motor follows in ~0.3 s)
_TF_MIN_RPM = const(500)        # below this the tach may rightly read nothing
_TC_TICKS = const(100)          # the command steady 1 s: the map judges the tach's speed
_AW = const(64)                 # head and flow kept over the tach's window (ticks, power of 2)
_AW_MASK = const(63)
_A_OFS = const(40000)           # added to head (0.1 mmHg) and flow (mL/min): sums stay >= 0
# Running sums wrap here (differences over a window are exact). 2^29, not 2^30: a board's small
# ints end at 2^30 - 1, and a sum just under that plus one more tick's value made a long int,
# a heap allocation in the tick once per wrap (~4 min at 4 L/min; found on the emulated Pico with
# the heap locked around the tick). Public: the target test presets the sums next to it.
SUM_WRAP = const(0x1FFFFFFF)


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
        self._seed = 0           # seed ticks learnt (the first second of trusted running)
        self._settle = 0         # trusted ticks since the last stop, low flow or invalid reading
        self.anchored = False    # the anchors are seeded and the map fits: estimates may stand in
        self.fits = False        # the map describes this circuit (its anchor inside the map's
                                 # error); once set it stays set (set_map() starts again)
        # the tach's own checks (tach_bad): frozen while the command moved; the map fits the
        # command's speed and not the tach's
        self.tach_bad = False
        self._tf_ref = 0         # tach reading the frozen window started at
        self._tf_n = 0           # ticks the tach stayed within its band
        self._tf_m = 0           # ticks in a row the command sat away from that reading
        self._tc_cmd = 0         # command the steady window started at
        self._tc_s = 0           # ticks it stayed there
        self._tc_n = 0           # ticks the map fitted the command's speed and not the tach's
        self._n1 = 0
        self._n2 = 0
        self._n3 = 0
        # The tach's speed is its mean over a window (the ESP32's pulse counter: 32 pulses, up to
        # 0.5 s at 2000 rpm; the pin IRQ: one tick), while head and flow are read now. R1 and the
        # map's flow compare the tach's speed with head and flow averaged over the same window:
        # running sums per tick, the window's mean a difference of two (nothing allocated)
        self._ah = array("i", [0] * _AW)
        self._aq = array("i", [0] * _AW)
        self._ai = 0
        self._h_last = 0
        self._q_last = 0
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
        self.p2_low = False      # p2_g is P3: a lower bound of P2, so it cannot see P2 high
        self.p3_g = 0
        self.p3_g_ok = False
        self.q_g = 0
        self.q_g_ok = False
        self.q_est = False       # q_g is the map's estimate, not the flow sensor

    def set_map(self, pmap):
        m = self.map
        if m is not None and m.a == pmap.a and m.b == pmap.b and m.c == pmap.c and \
                m.err_pct == pmap.err_pct:
            return               # the same map again (settings loaded): the anchors still hold
        self.map = pmap
        self._seed = 0           # new map: seed the anchors again before judging anyone
        self.anchored = False
        self.fits = False

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

    def _tach_frozen(self, t, c):
        # check 1: the tach stays within 8 rpm + 5 % of where it was for 1 s while the command
        # sat away from that reading by twice the band for 0.5 s in a row (a healthy motor
        # follows a command within a few tenths of a second, its tach with it)
        ref = self._tf_ref
        tol = _TF_RPM + ref * 5 // 100
        d = t - ref
        if d > tol or d < -tol:
            self._tf_ref = t      # it moved: alive, a new window from here
            self._tf_n = 0
            self._tf_m = 0
            self._tc_n = 0
            return False
        if self._tf_n < _TF_TICKS:
            self._tf_n += 1
        e = c - ref
        if self.pump.enabled and c >= _TF_MIN_RPM and (e > 2 * tol or e < -2 * tol):
            if self._tf_m < _TF_MOVED:
                self._tf_m += 1
        elif self._tf_n < _TF_TICKS or self._tf_m < _TF_MOVED:
            self._tf_m = 0        # not (yet) frozen: the command's move must be one stretch
        return self._tf_n >= _TF_TICKS and self._tf_m >= _TF_MOVED

    def _tach_fit(self, raw, rpm, head, q, tol):
        # check 2: with the command steady 1 s and the tach away from it, the map (anchored)
        # fits the command's speed and not the tach's: the motor runs where it was told, the
        # tach shows something else (latched inside the 300 rpm + 20 % of H12)
        m = self.map
        c = self.pump.rpm_cmd
        t = self.pump.rpm
        band = _TF_RPM + c * 5 // 100
        d = c - self._tc_cmd
        if d > band or d < -band:
            self._tc_cmd = c
            self._tc_s = 0
            return
        if self._tc_s < _TC_TICKS:
            self._tc_s += 1
            return
        d = t - c
        if -band <= d <= band or not (m.informative(c, q) and m.informative(t, q)):
            self._tc_n = 0
            return
        qb = self._qb >> 4
        qt = (raw if rpm == t else m.flow_mlpm(t, head)) + qb - q
        qc = (raw if rpm == c else m.flow_mlpm(c, head)) + qb - q
        if -tol <= qc <= tol and (qt > tol or qt < -tol):
            if self._tc_n < _DEB_TICKS:
                self._tc_n += 1
        else:
            self._tc_n = 0

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
        c = self.pump.rpm_cmd
        self.tach_bad = self._tach_frozen(self.pump.rpm, c) or self._tc_n >= _DEB_TICKS
        tach = self._tach_ok() and not self.tach_bad
        rpm = self.pump.rpm if tach else c
        self.rpm = rpm
        q = fl.value
        # head and flow over the tach's window (the last valid one held through an invalid tick)
        if p1ok and p2ok:
            self._h_last = p2.value - p1.value
        if qok:
            self._q_last = q
        i = self._ai
        j = (i + 1) & _AW_MASK
        self._ah[j] = (self._ah[i] + self._h_last + _A_OFS) & SUM_WRAP
        self._aq[j] = (self._aq[i] + self._q_last + _A_OFS) & SUM_WRAP
        self._ai = j
        head = p2.value - p1.value
        q1 = q                   # the flow R1 compares with the map's (the window's mean)
        wn = self.pump.win
        rf = rpm                 # _tach_fit may reuse raw (only when it is on the heads now)
        if tach and rpm == self.pump.rpm and 1 < wn < _AW:
            rf = -1
            i = (j - wn) & _AW_MASK
            head = ((self._ah[j] - self._ah[i]) & SUM_WRAP) // wn - _A_OFS
            q1 = ((self._aq[j] - self._aq[i]) & SUM_WRAP) // wn - _A_OFS
        # R1 estimates
        if p1ok and p2ok:
            raw = m.flow_mlpm(rpm, head)
            qm = raw + (self._qb >> 4)
            self.q_map = qm
            self.q_map_ok = tach and running and self.anchored and m.informative(rpm, qm) and \
                not self.suspect & (P1 | P2)
        else:
            raw = 0
            self.q_map_ok = False
        qa = q if qok and not self.suspect & FLOW else self.q_map
        rm = self._rm16 >> 4
        self.rm = rm
        if p2ok and (qok or self.q_map_ok):
            pe_raw = p2.value - m.head_dmmhg(rpm, qa)
            self.p1_est = pe_raw + (self._pb >> 4)
            self.p1_est_ok = tach and running and self.anchored and not self.suspect & P2
        else:
            pe_raw = 0
            self.p1_est_ok = False
        if not self.p1_est_ok and rm > 0 and p3ok and not self.suspect & P3 and tach and \
                running and self.anchored:
            # two sensors out, P1 and P2 or P1 and flow: the membrane (R2, learnt while all
            # was trusted) stands in for the second, P2 = P3 + Rm*Q or Q = (P2 - P3) / Rm, so
            # suction is still watched (a frozen P1 and P2 held the speed while a drainage
            # occlusion took the true P1 to -200 mmHg for 13 s). A clot raises Rm: the P2 so
            # found is then low and so is the P1 (errs towards a suction back-off); the flow so
            # found is high, so it is capped at the last valid flow and its tolerance (a held
            # speed does not raise the flow), or the head would read low and the P1 high
            qt = qok and not self.suspect & FLOW
            p2t = p2ok and not self.suspect & P2
            if qt and not p2t:
                self.p1_est = p3.value + rm * q // _RM_K - m.head_dmmhg(rpm, q) + (self._pb >> 4)
                self.p1_est_ok = True
            elif p2t and not qt:
                qm = (p2.value - p3.value) * _RM_K // rm
                cap = self._q_last + self._tol(self._q_last)
                if qm > cap:
                    qm = cap
                self.p1_est = p2.value - m.head_dmmhg(rpm, qm) + (self._pb >> 4)
                self.p1_est_ok = True
        # P2 the other way round, P1 + H(rpm, Q), for the pre-oxygenator limits behind a clot
        # when P2 is not trusted (P3, the other bound, falls behind a clot). Its anchor is P1's
        # with the sign turned: P2 - (P1 + H) = -(P1 - (P2 - H))
        if p1ok and qok and not self.suspect & FLOW:
            self.p2_est = p1.value + m.head_dmmhg(rpm, q) - (self._pb >> 4)
            self.p2_est_ok = tach and running and self.anchored and not self.suspect & P1
        else:
            self.p2_est_ok = False
        # R2 estimate
        if p2ok and p3ok and rm > 0:
            self.q_mem = (p2.value - p3.value) * _RM_K // rm
        every = p1ok and p2ok and p3ok and qok and running and q > _Q_MIN_MLPM
        if not every or not tach:
            self._settle = 0
            self._n1 = 0
            self._n2 = 0
            self._n3 = 0
            if not (p1ok and p2ok and p3ok and qok) or self.tach_bad:
                # an invalid sensor is named by its own status; a bad speed names nobody
                self.suspect = 0
            if every and self.tach_bad:
                self._tach_fit(raw, rf, p2.value - p1.value, q, self._tol(q))
            self._history(rpm_applied)
            return
        # tolerance on the smallest of the three flows (a reading that is off must not widen
        # its own tolerance): 0.4 L/min + 6 % + the map's error share
        qs = q if q < self.q_map else self.q_map
        if rm > 0 and self.q_mem < qs:
            qs = self.q_mem
        tol = self._tol(qs)
        e1 = q1 - self.q_map
        e2 = q - self.q_mem if rm > 0 else 0
        self.r1_res = e1
        self.r2_res = e2
        b1 = m.informative(rpm, q) and (e1 > tol or e1 < -tol)
        b2 = rm > 0 and (e2 > tol or e2 < -tol)
        b3 = p3.value > p2.value + _ORDER_TOL_DMMHG
        seeding = self._seed < _SEED_TICKS
        # the motor at its command: the static relations hold best (during a speed change
        # they hold least well: those ticks count half)
        d = rpm - c
        steady = -_STEADY_RPM - c // 50 < d < _STEADY_RPM + c // 50
        # anchors learn while every sensor is trusted and the motor is at its command: in the
        # seed whatever the relations say (it is what they are seeded with), after it only
        # while they hold, so a fault is not learnt away
        if self.suspect == 0 and steady and (seeding or not (b1 or b2 or b3)):
            sh = _SEED_SHIFT if seeding else _BIAS_SHIFT
            self._qb += ((q1 - raw) * 16 - self._qb) >> sh
            self._pb += ((p1.value - pe_raw) * 16 - self._pb) >> sh
            r = (p2.value - p3.value) * _RM_K // q
            if self._rm16 == 0:
                self._rm16 = r * 16
            else:
                self._rm16 += (r * 16 - self._rm16) >> (_SEED_SHIFT if seeding else _RM_SHIFT)
            # The map fits this circuit if what the anchor had to take up stays inside the
            # map's own error budget and the operating point is on its forward branch. If it
            # does not (a wrong map, another pump, readings no circuit makes), the relations
            # judge nobody and no estimate stands in for a sensor: the plain RPM hold beats a
            # bad model. Judged while learning only, and once it fits after the seed it stays
            # so: one tick of a bad reading (a clamp released) must not switch the checks off.
            if seeding or not self.fits:
                qb = self._qb >> 4
                lim = _Q_TOL_MLPM + q * m.err_pct // 100
                self.fits = raw > 0 and -lim <= qb <= lim
            if seeding:
                self._seed += 1
                if self._seed >= _SEED_TICKS:
                    self.anchored = self.fits
        if self._settle < _SETTLE_TICKS:
            self._settle += 1
        if seeding or self._settle < _SETTLE_TICKS or not self.fits:
            self.anchored = self.fits and not seeding
            self._n1 = 0
            self._n2 = 0
            self._n3 = 0
            if not self.fits:
                self.suspect = 0
            self._history(rpm_applied)
            return
        self.anchored = True
        self._tach_fit(raw, rf, p2.value - p1.value, q, tol)
        w = 2 if steady else 1
        self._n1 = (self._n1 + w if self._n1 < 250 else self._n1) if b1 else 0
        self._n2 = (self._n2 + w if self._n2 < 250 else self._n2) if b2 else 0
        self._n3 = (self._n3 + w if self._n3 < 250 else self._n3) if b3 else 0
        s = 0
        f1 = self._n1 >= 2 * _DEB_TICKS
        f2 = self._n2 >= 2 * _DEB_TICKS
        if f1 and f2:
            s = FLOW if (e1 > 0) == (e2 > 0) else P2
        elif f1:
            s = P1
        if self.suspect & FLOW and (s == 0 and (b1 or b2) or s == P1 and b2):
            # a flow reading named stays named while a relation it is in is still broken (and
            # not R1 alone, P1's pattern): the counts start from 0 after every settle (a speed
            # the tach did not follow, a stop), and the first judged tick cleared it, so the
            # loop went back to the offset reading (true flow 0.5 L/min at a 2.0 setpoint)
            s = FLOW
        if s & (P1 | P2) and (not steady or self._tf_m > 0):
            # P1 and P2 are named from the pump relation only with the motor at its command
            # and a tach that followed the command's last move (a speed the tach shows wrong
            # breaks R1 as a P1 or P2 error would); one named before stays named
            s = (s & ~(P1 | P2)) | (self.suspect & s & (P1 | P2))
        if self._n3 >= 2 * _DEB_TICKS and not s & P2:
            # P3 above P2 with blood going forward: one of the two is wrong, and P3 is the one
            # the over-pressure check reads, so it is the one not to trust
            s |= P3
        self.suspect = s
        self._history(rpm_applied)

    def _tol(self, qs):
        if qs < 0:
            qs = 0
        return _Q_TOL_MLPM + qs // 16 + qs * self.map.err_pct // 400

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
        low = False
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
            # P3 alone: a high P3 still means a high P2, but a clot raises P2 while P3 falls
            # behind it, so the supervisor also holds the speed (it may not push against it)
            self.p2_g = p3.value
            self.p2_g_ok = True
            low = True
        else:
            self.p2_g_ok = False
        if low != self.p2_low:
            self.p2_low = low          # (on a change only: an attribute store costs ~20 us)
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
