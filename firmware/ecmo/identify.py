# Identifying the pump map on the rig (REPL side; imported only when used): the operator closes
# the return line part way with a clamp, `rig.identify()` sweeps the speed in RPM mode and keeps
# one averaged (speed, flow, head) point per step, then again at one or two other clamp
# positions; `rig.identify_fit()` fits the map to the points, with its error, and keeps it in the
# settings. The sweep runs from the tick (a few integer sums per tick, buffers made here), with
# the supervisor in charge as always: a point is kept only if every sensor was trusted for its
# whole averaging window.
from array import array
from time import ticks_diff
from micropython import const

_SETTLE_MS = const(3000)     # after each speed step: the motor lag and the flow settle
_AVG_MS = const(1000)        # then average this long
MAX_POINTS = 24
SPEEDS = (2000, 2500, 3000, 3500, 4000)


class Sweep:
    def __init__(self, rig):
        self.rig = rig
        self.rpm = array("i", [0] * MAX_POINTS)
        self.q = array("i", [0] * MAX_POINTS)
        self.h = array("i", [0] * MAX_POINTS)
        self.n = 0
        self.positions = 0
        self.active = False
        self.rejected = 0
        self._speeds = SPEEDS
        self._i = 0
        self._t0 = 0
        self._sum_r = 0
        self._sum_q = 0
        self._sum_h = 0
        self._k = 0
        self._ok = True
        self._restore = (0, 0, 0)     # mode and setpoints to come back to

    def start(self, speeds, now_ms):
        if self.active:
            raise ValueError("a sweep is running: rig.identify_status()")
        r = self.rig
        if r.sup.state != 1:
            raise ValueError("run the pump first (rig.run()): the sweep needs blood moving")
        sp = tuple(int(x) for x in (speeds or SPEEDS))
        if len(sp) < 2 or min(sp) < 1000 or max(sp) > r.board.RPM_MAX:
            raise ValueError("speeds: 2 or more, each 1000..%d rpm" % r.board.RPM_MAX)
        if self.n + len(sp) > MAX_POINTS:
            raise ValueError("no room for %d more points (%d kept): fit or reset first"
                             % (len(sp), self.n))
        self._restore = (r.control.mode, r.control.rpm_target, r.control.flow_target_mlpm)
        self._speeds = sp
        self._i = 0
        self._begin_step(now_ms)
        self.active = True

    def _begin_step(self, now_ms):
        r = self.rig
        r.control.set_mode(0, r.flow.value, r.sup.rpm_applied)   # RPM mode for the sweep
        r.control.rpm_target = self._speeds[self._i]
        self._t0 = now_ms
        self._sum_r = 0
        self._sum_q = 0
        self._sum_h = 0
        self._k = 0
        self._ok = True

    def tick(self, now_ms, _n):
        if not self.active:
            return
        dt = ticks_diff(now_ms, self._t0)
        if dt < _SETTLE_MS:
            return
        r = self.rig
        if dt < _SETTLE_MS + _AVG_MS:
            self._ok = self._ok and r.red.all_trusted() and r.sup.state == 1
            self._sum_r += r.pump.rpm
            self._sum_q += r.flow.value
            self._sum_h += r.p2.value - r.p1.value
            self._k += 1
            return
        k = self._k
        if self._ok and k:
            i = self.n
            self.rpm[i] = self._sum_r // k
            self.q[i] = self._sum_q // k
            self.h[i] = self._sum_h // k
            self.n = i + 1
        else:
            self.rejected += 1
        self._i += 1
        if self._i < len(self._speeds):
            self._begin_step(now_ms)
            return
        self.active = False
        self.positions += 1
        m, rpm, q = self._restore
        c = r.control
        c.rpm_target = rpm
        c.flow_target_mlpm = q
        c.set_mode(m, r.flow.value, r.sup.rpm_applied)

    def stop(self):
        if self.active:
            self._i = len(self._speeds)
            self._t0 -= _SETTLE_MS + _AVG_MS
            self._ok = False

    def status(self):
        if self.active:
            return "sweeping: step %d of %d (%d rpm), %d points kept" % (
                self._i + 1, len(self._speeds), self._speeds[self._i], self.n)
        return "idle: %d points from %d clamp positions (%d rejected)" % (
            self.n, self.positions, self.rejected)

    def points(self):
        return [(self.rpm[i], self.q[i], self.h[i]) for i in range(self.n)]


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
