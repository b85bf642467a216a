# The pump map in integers (ecmo/pumpmap.py) against the simulated pump (tools/sim/plant.py),
# and its fit from identification points (ecmo/identify.py).
import plant
from ecmo.pumpmap import PumpMap
from ecmo.identify import fit


def _steady(rpm, occ):
    pl = plant.Plant("VA")
    pl.occlusion("arterial", occ)
    d = pl.rpm_to_duty(rpm)
    for _ in range(600):
        pl.step(0.01, d, True, False)
    return pl


def test_head_matches_the_curve_in_integers():
    m = PumpMap(28.0, 2.6, 0.6)
    # 28*16 + 0.6*4*5 - 2.6*25 = 448 + 12 - 65 = 395 mmHg
    assert abs(m.head_dmmhg(4000, 5000) - 3950) <= 2
    assert abs(m.head_dmmhg(3000, 0) - 2520) <= 2
    assert m.head_dmmhg(3000, -1000) > m.head_dmmhg(3000, 0)    # backflow meets resistance


def test_flow_estimate_within_3pct_from_1_to_6_lpm_with_the_right_map():
    m = PumpMap(28.0, 2.6, 0.6)
    seen = []
    for occ in (0.0, 0.5, 0.65):
        for rpm in (2000, 3000, 4000, 4500):
            pl = _steady(rpm, occ)
            q = pl.flow_lpm * 1000
            est = m.flow_mlpm(int(pl.rpm), int(pl.head_mmhg * 10))
            seen.append(q)
            assert abs(est - q) <= 0.03 * q + 30, (occ, rpm, q, est)
    assert min(seen) < 1100 and max(seen) > 6000


def test_a_map_20pct_off_is_far_off_unanchored():
    # the reason the estimate is anchored (ecmo/redundancy.py) and never stands in for the flow
    # sensor unless the map is good: head 20 % high reads as 1.3..3.7 L/min more flow
    m = PumpMap(28.0 * 1.2, 2.6 * 1.2, 0.6 * 1.2, 20)
    pl = _steady(3000, 0.0)
    est = m.flow_mlpm(int(pl.rpm), int(pl.head_mmhg * 10))
    assert est - pl.flow_lpm * 1000 > 1000
    assert not m.good


def test_fit_recovers_the_pump_from_sweeps_at_three_clamp_positions():
    pts = []
    for occ in (0.0, 0.3, 0.6):
        for rpm in (2000, 2500, 3000, 3500, 4000):
            pl = _steady(rpm, occ)
            pts.append((int(pl.rpm), int(pl.flow_lpm * 1000), int(pl.head_mmhg * 10)))
    a, b, c, err = fit(pts)
    assert abs(a - 28.0) < 0.3 and abs(b - 2.6) < 0.1 and abs(c - 0.6) < 0.15, (a, b, c)
    assert err < 1.0


def test_fit_refuses_points_that_cannot_pin_the_map():
    try:
        fit([(3000, 3000, 2000)] * 3)
        assert False
    except ValueError:
        pass
    try:
        fit([(3000, 3000, 2000)] * 5)     # one point repeated: singular
        assert False
    except ValueError:
        pass


def test_map_bounds_are_checked():
    for bad in ((0, 2.6, 0.6), (28, -1, 0.6), (28, 2.6, float("nan")), (28, "x", 0)):
        try:
            PumpMap(bad[0], bad[1], bad[2])
            assert False, bad
        except ValueError:
            pass
