# The centrifugal pump's head-flow-speed map, in integers for the tick (no floats, no allocation):
#   forward (Q >= 0):  H = a*w^2 + c*w*Q - b*Q^2      (w in krpm, Q in L/min, H in mmHg)
#   backflow (Q < 0):  H = a*w^2 + b*Q^2
# a is the shut-off head per krpm^2, b the fall with flow, c the flat top rotary pumps show at
# low flow; the form follows the affinity laws (H ~ w^2, Q ~ w). Coefficients come from the
# board file (a fit to the pump's datasheet curve) or from `rig.identify()` on the rig itself
# (docs/pumpmap.md). err_pct is how far the map may be off in head: the checks built on it
# widen their tolerance by it and stop trusting the estimates beyond MAP_ERR_MAX_PCT.
from micropython import const

_K = const(16)                # coefficients are kept as 1/16 of 0.1 mmHg per unit
Q_MAX_MLPM = const(20000)     # search bounds for the flow estimate
Q_MIN_MLPM = const(-10000)
MAP_ERR_MAX_PCT = const(10)   # above this fit error the flow estimate does not replace a sensor
_MIN_SLOPE = const(30)        # 3 mmHg per L/min: flatter than this, head says little about flow


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
        self.a = float(a)
        self.b = float(b)
        self.c = float(c)
        self.err_pct = int(err_pct + 0.5)
        self._a = int(a * 10 * _K + 0.5)
        self._b = int(b * 10 * _K + 0.5)
        self._c = int(c * 10 * _K + 0.5)

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
        elif rpm > 10000:
            rpm = 10000
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
        # flow that makes this head at this speed (bisection on the branch that is monotone);
        # at or above the shut-off head it is the backflow branch
        h0 = self.head_dmmhg(rpm, 0)
        if head_dmmhg >= h0:
            lo = Q_MIN_MLPM
            hi = 0
        else:
            lo = self.peak_mlpm(rpm)
            hi = Q_MAX_MLPM
        # head falls with q on [lo, hi]: find q with head(q) == head_dmmhg
        for _ in range(16):
            mid = (lo + hi) >> 1
            if self.head_dmmhg(rpm, mid) > head_dmmhg:
                lo = mid
            else:
                hi = mid
        return (lo + hi) >> 1

    def informative(self, rpm, q_mlpm):
        # True where head says enough about flow for a flow estimate or a flow cross-check
        return rpm >= 1000 and self.slope(rpm, q_mlpm) >= _MIN_SLOPE

    def rpm_for(self, q_mlpm, head_dmmhg, rpm_max):
        # speed that makes `head` at `q` (feed-forward): bisection, head rises with speed
        lo = 0
        hi = rpm_max
        if self.head_dmmhg(hi, q_mlpm) < head_dmmhg:
            return hi
        for _ in range(14):
            mid = (lo + hi) >> 1
            if self.head_dmmhg(mid, q_mlpm) < head_dmmhg:
                lo = mid
            else:
                hi = mid
        return hi


def fit(points):
    # Least-squares fit of H = a*w^2 + c*w*Q - b*Q^2 to [(rpm, q_mlpm, head_dmmhg), ...]
    # (REPL side, floats). Returns (a, b, c, err_pct): err_pct is the RMS head residual in % of
    # the mean head. Raises ValueError when the points cannot pin the three coefficients down.
    pts = [p for p in points if p[1] >= 0]
    if len(pts) < 4:
        raise ValueError("need at least 4 points with forward flow, got %d" % len(pts))
    # normal equations for x = (a, c, b) with rows (w^2, w*Q, -Q^2)
    m = [[0.0] * 3 for _ in range(3)]
    v = [0.0] * 3
    for rpm, q, h in pts:
        w = rpm / 1000.0
        ql = q / 1000.0
        row = (w * w, w * ql, -ql * ql)
        hm = h / 10.0
        for i in range(3):
            v[i] += row[i] * hm
            for j in range(3):
                m[i][j] += row[i] * row[j]
    x = _solve3(m, v)
    if x is None:
        raise ValueError("points do not pin down the map: sweep the speed at 2-3 clamp positions")
    a, c, b = x
    if c < 0:
        # a rising top is not what a centrifugal pump shows: refit with c = 0
        m2 = [[m[0][0], m[0][2]], [m[2][0], m[2][2]]]
        det = m2[0][0] * m2[1][1] - m2[0][1] * m2[1][0]
        if abs(det) < 1e-9:
            raise ValueError("points do not pin down the map")
        a = (v[0] * m2[1][1] - m2[0][1] * v[2]) / det
        b = (m2[0][0] * v[2] - m2[1][0] * v[0]) / det
        c = 0.0
    ss = 0.0
    hs = 0.0
    for rpm, q, h in pts:
        w = rpm / 1000.0
        ql = q / 1000.0
        e = a * w * w + c * w * ql - b * ql * ql - h / 10.0
        ss += e * e
        hs += h / 10.0
    if hs <= 0 or a <= 0 or b <= 0:
        raise ValueError("fit gives a pump that does not make head: check the points")
    err = 100.0 * (ss / len(pts)) ** 0.5 / (hs / len(pts))
    return a, b, c, err


def _solve3(m, v):
    # Gaussian elimination with partial pivoting on a 3x3 system; None if singular
    a = [m[i][:] + [v[i]] for i in range(3)]
    for col in range(3):
        piv = max(range(col, 3), key=lambda r: abs(a[r][col]))
        if abs(a[piv][col]) < 1e-9:
            return None
        a[col], a[piv] = a[piv], a[col]
        for r in range(3):
            if r != col:
                f = a[r][col] / a[col][col]
                for k in range(col, 4):
                    a[r][k] -= f * a[col][k]
    return [a[i][3] / a[i][i] for i in range(3)]
