# The centrifugal pump's head-flow-speed map, in integers for the tick (no floats, no allocation):
#   forward (Q >= 0):  H = a*w^2 + c*w*Q - b*Q^2      (w in krpm, Q in L/min, H in mmHg)
#   backflow (Q < 0):  H = a*w^2 + b*Q^2
# a is the shut-off head per krpm^2, b the fall with flow, c the flat top rotary pumps show at
# low flow; the form follows the affinity laws (H ~ w^2, Q ~ w). Coefficients come from the
# board file (a fit to the pump's datasheet curve) or from `rig.identify()` on the rig itself
# (docs/sensor-trust.md). err_pct is how far the map may be off in head: the checks built on it
# widen their tolerance by it and stop trusting the estimates beyond MAP_ERR_MAX_PCT.
from micropython import const

_K = const(16)                # coefficients are kept as 1/16 of 0.1 mmHg per unit
Q_MAX_MLPM = const(20000)     # search bounds for the flow estimate
Q_MIN_MLPM = const(-10000)
MAP_ERR_MAX_PCT = const(10)   # above this fit error the flow estimate does not replace a sensor
_MIN_SLOPE = const(30)        # 3 mmHg per L/min: flatter than this, head says little about flow
_WARM = const(32)             # flow_mlpm(): first bracket around the last answer, mL/min
_RPM_TOP = const(6000)        # the speed the map is clamped to: above every board's RPM_MAX
_SMALL = const(0x3FFFFFFF)    # a board's small ints: a larger intermediate is a long int (heap)


class PumpMap:
    def __init__(self, a, b, c=0.0, err_pct=10):
        self.set(a, b, c, err_pct)

    def set(self, a, b, c=0.0, err_pct=10):
        # REPL/boot side: floats are fine here; the tick only sees the integers
        for name, v in (("a", a), ("b", b), ("c", c), ("err_pct", err_pct)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
                raise ValueError("pump map %s must be a number, got %r" % (name, v))
        if not (1 <= a <= 100) or not (0.1 <= b <= 50) or not (0 <= c <= 20):
            raise ValueError("pump map out of bounds: a 1..100 mmHg/krpm^2, b 0.1..50 "
                             "mmHg/(L/min)^2, c 0..20 mmHg/(krpm*L/min)")
        if not (0 <= err_pct <= 100):
            raise ValueError("pump map err_pct must be 0..100")
        ia = int(a * 10 * _K + 0.5)
        ib = int(b * 10 * _K + 0.5)
        ic = int(c * 10 * _K + 0.5)
        # the tick's integer formulas at their clamps (speed, the flow search's range) must stay
        # small ints on a board: a long int is an allocation, refused in the locked tick
        R, Q, N = _RPM_TOP, Q_MAX_MLPM, -Q_MIN_MLPM
        w = max(((ia * R + ic * Q) // 1000) * R, (ib * Q // 1000) * Q, (ib * N // 1000) * N,
                2 * ib * Q, ic * R, ia * R)
        if w > _SMALL or ic * R // (2 * ib) > Q:
            raise ValueError("pump map too steep for the firmware's integers (a %s, b %s, c %s): "
                             "its head at %d RPM and %d mL/min does not fit" % (a, b, c, R, Q))
        self.a = float(a)             # only now: a refused map leaves the old one whole
        self.b = float(b)
        self.c = float(c)
        self.err_pct = int(err_pct + 0.5)
        self._a = ia
        self._b = ib
        self._c = ic
        self._q = 0                   # flow_mlpm()'s last answer: where the next search starts

    @property
    def good(self):
        # good enough to stand in for the flow sensor (flow mode continues on the estimate)
        return self.err_pct <= MAP_ERR_MAX_PCT

    def head_dmmhg(self, rpm, q_mlpm):
        # pump head (P2 - P1) at this speed and flow, 0.1 mmHg
        if q_mlpm > Q_MAX_MLPM:
            q_mlpm = Q_MAX_MLPM
        elif q_mlpm < Q_MIN_MLPM:
            q_mlpm = Q_MIN_MLPM
        if rpm < 0:
            rpm = 0
        elif rpm > _RPM_TOP:
            rpm = _RPM_TOP
        if q_mlpm >= 0:
            t = (self._a * rpm + self._c * q_mlpm) // 1000
            h = t * rpm // 1000 - (self._b * q_mlpm // 1000) * q_mlpm // 1000
        else:
            h = (self._a * rpm // 1000) * rpm // 1000 + (self._b * -q_mlpm // 1000) * -q_mlpm // 1000
        return h // _K

    def peak_mlpm(self, rpm):
        # flow at the top of the forward curve; below it head barely depends on flow
        return self._c * rpm // (2 * self._b)

    def slope(self, rpm, q_mlpm):
        # |dH/dQ| in 0.1 mmHg per L/min at this point (how much head says about flow)
        if q_mlpm < 0:
            s = 2 * self._b * -q_mlpm // 1000
        else:
            s = 2 * self._b * q_mlpm // 1000 - self._c * rpm // 1000
        return (s if s > 0 else -s) // _K

    def flow_mlpm(self, rpm, head_dmmhg):
        # Flow that makes this head at this speed, on the branch that is monotone (at or above
        # the shut-off head: backflow). Once a tick (ecmo/redundancy.py): the answer of the
        # 16-step bisection of the whole branch, found near the last answer instead. The head
        # formula is written out (no call per step) on 16x the head, compared with one bound:
        # head_dmmhg(rpm, q) > T  <=>  h16(q) > 16*T + 15 (floor division by _K). A bracket of
        # _WARM mL/min around the last answer is checked, widened 4x until it holds, then
        # bisected to 1 mL/min: 2 + 5 evaluations at a steady operating point instead of 17.
        if rpm < 0:
            rpm = 0
        elif rpm > _RPM_TOP:
            rpm = _RPM_TOP
        a = self._a * rpm
        b = self._b
        c = self._c
        t16 = head_dmmhg * _K + _K - 1
        h = (a // 1000) * rpm // 1000            # 16x the shut-off head (q = 0)
        if h > t16:
            fwd = True
            lo0 = c * rpm // (2 * b)             # peak_mlpm(): head falls with q beyond it
            hi0 = Q_MAX_MLPM
        else:
            fwd = False
            lo0 = Q_MIN_MLPM
            hi0 = 0
            a = h                                # the backflow formula's constant part
        # head falls with q on [lo0, hi0]: lo with head > T, hi with head <= T (lo0 and hi0
        # themselves are never judged, as in the bisection)
        q = self._q
        if q <= lo0:
            q = lo0 + 1
        elif q >= hi0:
            q = hi0 - 1
        d = _WARM
        if fwd:
            h = ((a + c * q) // 1000) * rpm // 1000 - (b * q // 1000) * q // 1000
        else:
            h = a + (b * -q // 1000) * -q // 1000
        if h > t16:
            lo = q
            while True:
                hi = lo + d
                if hi >= hi0:
                    hi = hi0
                    break
                if fwd:
                    h = ((a + c * hi) // 1000) * rpm // 1000 - (b * hi // 1000) * hi // 1000
                else:
                    h = a + (b * -hi // 1000) * -hi // 1000
                if h <= t16:
                    break
                lo = hi
                d <<= 2
        else:
            hi = q
            while True:
                lo = hi - d
                if lo <= lo0:
                    lo = lo0
                    break
                if fwd:
                    h = ((a + c * lo) // 1000) * rpm // 1000 - (b * lo // 1000) * lo // 1000
                else:
                    h = a + (b * -lo // 1000) * -lo // 1000
                if h > t16:
                    break
                hi = lo
                d <<= 2
        while hi - lo > 1:
            q = (lo + hi) >> 1
            if fwd:
                h = ((a + c * q) // 1000) * rpm // 1000 - (b * q // 1000) * q // 1000
            else:
                h = a + (b * -q // 1000) * -q // 1000
            if h > t16:
                lo = q
            else:
                hi = q
        self._q = lo
        return lo

    def informative(self, rpm, q_mlpm):
        # True where head says enough about flow for a flow estimate or a flow cross-check
        return rpm >= 1000 and self.slope(rpm, q_mlpm) >= _MIN_SLOPE
