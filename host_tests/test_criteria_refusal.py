# The shared criteria (tools/sim/criteria.py) and a start the firmware refused (issue 21): a
# refusal that shows its alarm and states the next step (H08's blind flow-mode start: SENSOR_FLOW,
# "use rig.mode('rpm')") is the firmware's answer, not "a pump stopped with no air or e-stop";
# one without both ("nothing to restart") still fails. The refusals come from the runner
# (Sim.errors); judge_csv reads them from the run's summary.json, so `make sim` on a campaign
# case's scenario gives the campaign's verdict.
import json
import os
import subprocess
import sys

from tools.campaign import matrix
from tools.sim import criteria

ROOT = matrix.ROOT
COLS = criteria.COLUMNS
BLIND = ("ValueError: run() refused: flow mode cannot start on an untrusted flow reading "
         "(SENSOR_FLOW, STUCK): use rig.mode('rpm') and rig.set_rpm(...)")


def _rows(n, alarms="SENSOR_FLOW", state="standby", rpm=0.0):
    # n rows at 10 ms of a pump that does not turn, the alarm column as given
    base = {"state": state, "alarms": alarms, "sweep_setpoint_lpm": "3.00", "true_flow_lpm": 0.0,
            "true_p1_mmhg": -5.0, "true_p2_mmhg": 10.0, "true_p3_mmhg": 8.0,
            "true_rpm": rpm, "true_air_to_patient_ul": 0.0, "true_sweep_lpm": 3.0,
            "true_sat_post_pct": 99.0}
    out = []
    for i in range(n):
        t = 0.01 * (i + 1)
        out.append(["%.3f" % t if c == "t_s" else str(base[c]) for c in COLS])
    return out


def _sc(verb="run"):
    # VV, flow mode, not running at boot, the flow sensor stuck; the operator starts at 1 s
    return {"profile": "VV", "run": False, "control": "flow", "flow_lpm": 4.0,
            "events": [{"t": 0.0, "do": "sensor_fault", "sensor": "flow", "kind": "stuck"},
                       {"t": 1.0, "do": verb}]}


def test_a_refused_start_with_its_alarm_and_next_step_is_not_a_stopped_pump():
    v = criteria.judge_rows(_sc(), COLS, _rows(500), [(1.0, "run", BLIND)])
    assert not v["pump_stopped"]["fail"], v["pump_stopped"]
    assert criteria.failed(v) == []


def test_without_the_refusal_the_same_run_is_a_stopped_pump():
    v = criteria.judge_rows(_sc(), COLS, _rows(500))
    assert criteria.failed(v) == ["pump_stopped"]


def test_a_refusal_without_an_alarm_or_a_next_step_still_counts():
    for msg in ("ValueError: nothing to restart: state is standby",
                "ValueError: run() refused: SENSOR_FLOW",             # no next step
                "ValueError: run() refused: try rig.mode('rpm')"):     # no alarm named
        v = criteria.judge_rows(_sc("restart" if "restart" in msg else "run"), COLS, _rows(500),
                                [(1.0, "restart" if "restart" in msg else "run", msg)])
        assert "pump_stopped" in criteria.failed(v), msg


def test_a_restart_from_standby_that_names_the_start_is_the_firmware_s_answer():
    # campaign sample0001/0005: run() refused (blind flow start, stated), then air, de-air, ack
    # and restart(): refused from standby with rig.run() as the next step; not a stopped pump
    msg = "ValueError: nothing to restart: state is standby; rig.run() starts the pump"
    v = criteria.judge_rows(_sc("restart"), COLS, _rows(500, alarms=""), [(1.0, "restart", msg)])
    assert criteria.failed(v) == [], v["pump_stopped"]


def test_the_alarm_named_must_be_shown():
    # the message names SENSOR_FLOW but the alarm column does not show it: not stated
    v = criteria.judge_rows(_sc(), COLS, _rows(500, alarms="POWER_ON"), [(1.0, "run", BLIND)])
    assert "pump_stopped" in criteria.failed(v)


def test_a_refusal_seen_after_its_event_on_rows_judged_live():
    # rows judged as they come (the regression tests, a small heap): the event's row may come
    # before the runner has refused it; the refusal is looked for on the rows after it
    refused = []
    j = criteria.Judge(_sc(), COLS, refused)
    for i, r in enumerate(_rows(500)):
        if i == 102:
            refused.append((1.0, "run", BLIND))
        j.row(r)
    assert criteria.failed(j.verdict()) == []


def test_the_next_step_accepted_means_the_pump_should_run_again():
    sc = _sc()
    sc["events"].append({"t": 2.0, "do": "run"})        # accepted, but the pump never turns
    v = criteria.judge_rows(sc, COLS, _rows(500), [(1.0, "run", BLIND)])
    assert criteria.failed(v) == ["pump_stopped"]


def test_judge_csv_reads_the_refusals_from_summary_json(tmp_path):
    with open(str(tmp_path / "telemetry.csv"), "w") as f:
        f.write(",".join(COLS) + "\n")
        for r in _rows(500):
            f.write(",".join(r) + "\n")
    csv = str(tmp_path / "telemetry.csv")
    assert criteria.failed(criteria.judge_csv(_sc(), csv)) == ["pump_stopped"]   # no summary
    with open(str(tmp_path / "summary.json"), "w") as f:
        json.dump({"errors": [[1.0, "run", BLIND]]}, f)
    assert criteria.failed(criteria.judge_csv(_sc(), csv)) == []


def test_make_sim_on_a_refused_campaign_case_gives_the_campaigns_verdict(tmp_path):
    # the H08 case: flow stuck, power cycle, run() refused naming SENSOR_FLOW and the next step;
    # the simulator writes the refusal to summary.json and judge_csv agrees with the campaign
    path = os.path.join(ROOT, "examples", "campaign", "regress",
                        "esp32-VV-flow.stuck-power_cycle-before.json")
    out = tmp_path / "sim"
    p = subprocess.run([sys.executable, "-m", "tools.sim", path, "--out", str(out), "--quiet",
                        "--no-plot"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    s = json.load(open(str(out / "summary.json")))
    assert any(e[1] == "run" and "SENSOR_FLOW" in e[2] for e in s["errors"]), s["errors"]
    sc = json.load(open(path))
    v = criteria.judge_csv(sc, str(out / "telemetry.csv"))
    assert criteria.failed(v) == [], [(k, v[k]["detail"]) for k in criteria.failed(v)]
    assert v["pump_stopped"]["value"] <= criteria.STOP_S, v["pump_stopped"]


def test_each_refusal_belongs_to_one_event():
    # the refused run and the accepted run of the next step at the same time stamp: the second
    # is not taken for refused (the pump meant to run, it does not: a failure)
    sc = _sc()
    sc["events"].append({"t": 1.0, "do": "run"})
    v = criteria.judge_rows(sc, COLS, _rows(500), [(1.0, "run", BLIND)])
    assert criteria.failed(v) == ["pump_stopped"]
    # ... and the same on rows judged live
    refused = []
    j = criteria.Judge(sc, COLS, refused)
    for i, r in enumerate(_rows(500)):
        if i == 102:
            refused.append((1.0, "run", BLIND))
        j.row(r)
    assert criteria.failed(j.verdict()) == ["pump_stopped"]
