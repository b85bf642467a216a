# Issue 17 on the simulated rig: the examples' true-value outcomes (the "Must show" list), the
# reservoir in the plant, and the scenario fields and verbs of the new modes. The firmware side
# of H31-H33 is host_tests/fw/test_modes.py (both runtimes).
import concurrent.futures
import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(ROOT, "tools", "sim")
if SIM not in sys.path:
    sys.path.insert(0, SIM)
import plant  # noqa: E402
import scenario as SC  # noqa: E402

EXAMPLES = ("h31_reservoir_draining.json", "h32_zero_flow_weaning.json",
            "h33_pressure_servo_volume_loss.json")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    base = tmp_path_factory.mktemp("modes")

    def one(name):
        out = base / name[:-5]
        p = subprocess.run([sys.executable, "-m", "tools.sim", os.path.join("examples", name),
                            "--out", str(out), "--quiet", "--no-plot"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (name, p.stdout[-2000:], p.stderr[-2000:])
        with open(out / "telemetry.csv") as f:
            return name, list(csv.DictReader(f))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return dict(ex.map(one, EXAMPLES))


def _alarms(rs):
    out = set()
    for r in rs:
        if r["alarms"]:
            out |= set(r["alarms"].split("|"))
    return out


def test_h33_example_servo_holds_p1_within_10_mmhg_through_a_volume_loss(rows):
    rs = rows["h33_pressure_servo_volume_loss.json"]
    p1 = [float(r["true_p1_mmhg"]) for r in rs if float(r["t_s"]) >= 10.0]
    assert max(abs(p + 50.0) for p in p1) <= 10.0, (min(p1), max(p1))
    assert min(float(r["true_p1_mmhg"]) for r in rs) > -150.0 + 50.0
    assert not [a for a in _alarms(rs) if a.startswith("SUCTION")]
    # the servo gave up flow to hold P1: the flow at the end is well below the start
    q = [float(r["true_flow_lpm"]) for r in rs]
    assert q[-1] < q[1100] - 1.0
    assert all(r["control"] == "pressure" for r in rs if float(r["t_s"]) > 3.1)


def test_h32_example_zero_flow_mode_holds_net_flow_within_0_2_while_the_heart_changes(rows):
    rs = rows["h32_zero_flow_weaning.json"]
    q = [float(r["true_flow_lpm"]) for r in rs if float(r["t_s"]) >= 14.0]
    assert max(abs(x) for x in q) <= 0.2, (min(q), max(q))
    al = _alarms(rs)
    assert "RETROGRADE" not in al and "ZERO_FLOW" not in al, al
    # the heart did change, and the speed followed it
    rpm = dict((round(float(r["t_s"])), int(r["rpm"])) for r in rs)
    assert rpm[30] > rpm[17] + 100 and rpm[44] < rpm[30] - 50, (rpm[17], rpm[30], rpm[44])


def test_h31_example_reservoir_slows_the_pump_before_it_runs_dry(rows):
    rs = rows["h31_reservoir_draining.json"]
    v = [float(r["true_reservoir_ml"]) for r in rs]
    assert min(v) > 300.0, min(v)
    low = next(float(r["t_s"]) for r in rs if "LEVEL_LOW" in r["alarms"])
    after = [int(r["rpm"]) for r in rs if low + 4.0 <= float(r["t_s"]) <= low + 6.0]
    assert max(after) < 2200            # slowed from 2700 RPM
    assert min(int(r["rpm"]) for r in rs if float(r["t_s"]) > 5) >= 1450    # VA floor
    al = _alarms(rs)
    assert not al & {"AIR", "SUCTION_CRIT", "RETROGRADE", "LEVEL_CRIT"}, al


# ---- the reservoir in the plant ----
def _run(pl, rpm, seconds):
    d = pl.rpm_to_duty(rpm)
    for _ in range(int(seconds / 0.002)):
        pl.step(0.002, d, True, False)


@pytest.mark.parametrize("profile", ["VA", "VV"])
def test_reservoir_volume_is_conserved_and_drains_when_the_pump_outruns_the_siphon(profile):
    pl = plant.Plant(profile, {"reservoir_ml": 1500.0})
    total = pl.v_venous_ml + pl.v_arterial_ml + pl.v_reservoir_ml
    _run(pl, 3000, 20.0)
    assert abs(pl.v_venous_ml + pl.v_arterial_ml + pl.v_reservoir_ml - total) < 1.0
    assert pl.v_reservoir_ml < 1300.0 and pl.flow_lpm > pl.q_in
    # P1 is the level head less the short inlet line: near zero, not the drainage's suction
    assert -30.0 < pl.p1_mmhg < 10.0


def test_a_dry_reservoir_stops_the_flow_and_pulls_p1_down():
    pl = plant.Plant("VV", {"reservoir_ml": 300.0})
    _run(pl, 3500, 40.0)
    assert pl.v_reservoir_ml < 40.0
    assert pl.p1_mmhg < -50.0


def test_no_reservoir_leaves_the_plant_as_it_was():
    a = plant.Plant("VA")
    _run(a, 3000, 5.0)
    assert a.reservoir_ml is None and abs(a.flow_lpm - 3.70) < 0.05


def test_set_heart_ramps():
    pl = plant.Plant("VA")
    pl.set_heart(3.0, over_s=2.0)
    _run(pl, 2000, 1.0)
    assert 1.8 < pl.params["heart_lpm"] < 2.2
    _run(pl, 2000, 1.5)
    assert pl.params["heart_lpm"] == 3.0


# ---- scenario fields ----
def _bad(d):
    with pytest.raises(SC.ScenarioError) as e:
        SC.validate(dict({"name": "x", "duration_s": 1}, **d), gas=False)
    return e.value.field


def test_scenario_validates_the_new_fields_and_verbs():
    assert _bad({"reservoir": {"ml": -1}}) == "reservoir.ml"
    assert _bad({"reservoir": {"ml": 100, "sensor": "float"}}) == "reservoir.sensor"
    assert _bad({"reservoir": {"ml": 100, "size": 1}}) == "reservoir.size"
    assert _bad({"reservoir": {}}) == "reservoir.ml"
    assert _bad({"control": "servo"}) == "control"
    assert _bad({"events": [{"t": 0, "do": "set_p1", "mmhg": -400}]}) == "events[0].mmhg"
    assert _bad({"events": [{"t": 0, "do": "set_heart", "lpm": 20}]}) == "events[0].lpm"
    assert _bad({"events": [{"t": 0, "do": "sensor_fault", "sensor": "level",
                             "kind": "open"}]}) == "events[0].kind"
    assert _bad({"reservoir": {"ml": 100, "sensor": "switch"},
                 "events": [{"t": 0, "do": "sensor_fault", "sensor": "level",
                             "kind": "stuck"}]}) == "events[0].kind"
    ok = SC.validate({"name": "x", "duration_s": 1, "control": "zero",
                      "reservoir": {"ml": 800, "sensor": "switch"},
                      "events": [{"t": 0, "do": "sensor_fault", "sensor": "level", "kind": "open"},
                                 {"t": 0, "do": "set_heart", "lpm": 4, "over_s": 10}]}, gas=False)
    assert ok["reservoir"] == {"ml": 800, "sensor": "switch", "switch_ml": 500}


# ---- the servo is autotunable: ecmo autotune --loop p1 ----
def test_autotune_p1_loop_proposes_checked_servo_gains_in_bounds():
    p = subprocess.run([sys.executable, "-m", "tools.cli", "autotune", "--sim", "--loop", "p1",
                        "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "RPM per mmHg" in p.stdout and "rig.servo_gains(" in p.stdout
    r = json.loads(p.stdout.strip().splitlines()[-1])
    kp, ki, kd = r["gains"]
    assert 0 < kp <= 50 and 0 < ki <= 50 and 0 <= kd <= 5
    assert r["settling_s"] is not None and r["settling_s"] <= 5.0 and r["overshoot_pct"] <= 10.0
