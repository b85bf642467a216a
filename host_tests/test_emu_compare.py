# tools/emu/compare.py's judge: the rules that say whether the emulated Pico did what the unix
# port did (the runs themselves: test_emu.py, when the image is given).
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "boards"))

from tools.emu import compare as C  # noqa: E402
import board_pico  # noqa: E402


def _rows(dt, n, clamp_at=None, flow=4.0, alarms_at=None, p3=150.0):
    rows = []
    for i in range(n):
        t = i * dt
        closed = "1" if t < 0.5 or (clamp_at is not None and t >= clamp_at) else "0"
        al = "AIR" if alarms_at is not None and t >= alarms_at else ""
        rows.append({"t_s": "%.3f" % t, "clamp_closed": closed, "alarms": al,
                     "true_flow_lpm": "%.3f" % flow, "true_p1_mmhg": "-30.0",
                     "true_p2_mmhg": "170.0", "true_p3_mmhg": "%.1f" % p3})
    return rows


def _summary(alarms, boots=1, air=0.0, edges=None):
    s = {"alarms_first_s": alarms, "boots": [[0, "power-on"]] * boots,
         "air_to_patient_ul": air, "errors": []}
    if edges is not None:
        s["pin_edges"] = list(edges)
    return s


def _edges(close_at):
    pin, lv = board_pico.CLAMP["pin"], board_pico.CLAMP["closed_level"]
    return [[pin, lv, 100000, 0], [pin, 1 - lv, 500000, 0], [pin, lv, int(close_at * 1e6), 0]]


def test_the_same_run_is_the_same():
    h = _rows(0.01, 2000, clamp_at=12.0, alarms_at=12.0)
    t = _rows(0.1, 200, clamp_at=12.0, alarms_at=12.0)
    d = C.judge(_summary([["AIR", 12.0]]), _summary([["AIR", 12.05]], edges=_edges(12.005)),
                h, t, board_pico)
    assert d["differ"] == [], d
    assert d["clamp_s"] == [12.0, 12.005]


def test_an_alarm_only_one_side_shows_differs():
    h = _rows(0.01, 2000)
    t = _rows(0.1, 200)
    d = C.judge(_summary([]), _summary([["CLOT", 9.0]]), h, t, board_pico)
    assert "alarms" in d["differ"] and d["alarms_target_only"] == ["CLOT"]


def test_an_alarm_late_by_more_than_the_tolerance_differs():
    h = _rows(0.01, 2000, alarms_at=10.0)       # the host's times come from its rows
    t = _rows(0.1, 200)
    d = C.judge(_summary([["AIR", 10.0]]), _summary([["AIR", 10.0 + C.ALARM_S + 0.05]]), h, t,
                board_pico)
    assert any(x.startswith("alarm times") for x in d["differ"]), d


def test_a_clamp_closed_later_on_the_chip_differs():
    h = _rows(0.01, 2000, clamp_at=12.0)
    t = _rows(0.1, 200, clamp_at=12.2)
    d = C.judge(_summary([]), _summary([], edges=_edges(12.0 + C.CLAMP_S + 0.02)), h, t,
                board_pico)
    assert "clamp" in d["differ"], d


def test_a_true_pressure_apart_differs_and_the_start_up_does_not_count():
    h = _rows(0.01, 2000)
    t = _rows(0.1, 200, p3=150.0 + C.PRESS_MMHG + 5)
    d = C.judge(_summary([]), _summary([]), h, t, board_pico)
    assert "true_p3_mmhg p95" in d["differ"], d
    # different before COMPARE_FROM_S only (the chip boots later): the same
    t2 = _rows(0.1, 200)
    for r in t2:
        if float(r["t_s"]) < C.COMPARE_FROM_S:
            r["true_flow_lpm"] = "0.0"
    d = C.judge(_summary([]), _summary([]), h, t2, board_pico)
    assert d["differ"] == [], d


def test_an_alarm_shown_again_later_is_compared_where_the_chip_could_see_it():
    # POWER_ON at boot (before the chip's first row) and again after a power cycle at 10 s
    h = _rows(0.01, 2000)
    h[0]["alarms"] = "POWER_ON"
    for r in h:
        if float(r["t_s"]) >= 10.0:
            r["alarms"] = "POWER_ON"
    t = _rows(0.1, 200)[8:]
    d = C.judge(_summary([["POWER_ON", 0.0]]), _summary([["POWER_ON", 10.05]]), h, t, board_pico)
    assert d["differ"] == [] and abs(d["alarm_dt_s"]["POWER_ON"] - 0.05) < 1e-6, d


def test_an_alarm_the_host_cleared_before_the_chips_first_row_is_left_out():
    h = _rows(0.01, 2000)
    h[0]["alarms"] = "POWER_ON"
    t = _rows(0.1, 200)[8:]          # the chip's rows start at 0.8 s
    d = C.judge(_summary([["POWER_ON", 0.0]]), _summary([]), h, t, board_pico)
    assert d["differ"] == [] and d["alarms_before_target_rows"] == ["POWER_ON"], d


def test_a_chip_run_without_rows_differs():
    h = _rows(0.01, 2000)
    d = C.judge(_summary([]), _summary([]), h, _rows(0.1, 50), board_pico)   # up to 4.9 s only
    assert any(x.startswith("no rows") for x in d["differ"]), d


def test_a_start_up_alarm_the_chip_shows_at_its_own_start_is_not_a_difference():
    h = _rows(0.01, 2000)
    h[0]["alarms"] = "POWER_ON"
    t = _rows(0.1, 200)[8:]
    t[0]["alarms"] = "POWER_ON"
    d = C.judge(_summary([["POWER_ON", 0.0]]), _summary([["POWER_ON", 0.8]]), h, t, board_pico)
    assert d["differ"] == [] and d["alarms_before_target_rows"] == ["POWER_ON"], d
