# The fault campaign's quick tier (issue 21): a small fixed sample judged by the shared criteria
# (tools/sim/criteria.py), the same verdicts from the local process pool and from a local Dask
# cluster of two workers, a failing case reproduced through `make sim`'s path, resume and
# shards, and the criteria themselves on hand-made telemetry (they must be able to fail).
import json
import os
import subprocess
import sys

import pytest

from tools.campaign import matrix, pool, report
from tools.sim import criteria

ROOT = matrix.ROOT


def _by_id(results):
    return {r["id"]: r for r in results}


def _key(r):
    # what must not depend on where a case ran
    return (r["failed"], json.dumps(r["verdict"], sort_keys=True), r["error"])


@pytest.fixture(scope="module")
def quick():
    cases = matrix.quick()
    return cases, _by_id(pool.run_local(cases, 2))


def test_quick_tier_runs_and_judges_every_criterion(quick):
    cases, res = quick
    assert set(res) == set(c["id"] for c in cases)
    for r in res.values():
        assert r["error"] is None, (r["id"], r["error"])
        assert set(r["verdict"]) == set(criteria.IDS), r["id"]
    judged = set(k for r in res.values() for k in criteria.IDS if r["verdict"][k]["judged"])
    assert judged == set(criteria.IDS)
    # the interlocks the fixed sample exercises hold on the plant's true values
    for cid in ("pico-VA-nofault-volume_loss--", "pico-VA-nofault-air--",
                "pico-VV-nofault-estop--", "esp32-VA-nofault-occlusion_arterial--"):
        assert res[cid]["failed"] == [], (cid, res[cid]["verdict"])
    assert res["pico-VA-p1.open-none-during"]["verdict"]["sensor_silent"]["judged"]
    assert not res["pico-VA-p1.open-none-during"]["verdict"]["sensor_silent"]["fail"]
    # a blind bubble detector lets the air through: the campaign must see it
    blind = res["esp32-VA-bubble.stuck-air-before"]
    assert "air_to_patient" in blind["failed"] and "sensor_silent" in blind["failed"]


def test_dask_cluster_of_two_workers_gives_the_process_pool_results(quick):
    distributed = pytest.importorskip("distributed")
    cases, local = quick
    sub = [c for c in cases][:6]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        got = _by_id(pool.run_dask(sub, cluster.scheduler_address))
    assert set(got) == set(c["id"] for c in sub)
    for c in sub:
        assert _key(got[c["id"]]) == _key(local[c["id"]]), c["id"]


def test_a_failing_case_reproduces_with_make_sim(quick, tmp_path):
    _, res = quick
    r = res["esp32-VA-bubble.stuck-air-before"]
    path = report.write_failures([r], str(tmp_path / "fail"))[r["id"]]
    out = tmp_path / "sim"
    p = subprocess.run([sys.executable, "-m", "tools.sim", path, "--out", str(out), "--quiet",
                        "--no-plot"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    v = criteria.judge_csv(json.load(open(path)), str(out / "telemetry.csv"))
    assert criteria.failed(v) == r["failed"]
    assert v["air_to_patient"]["value"] == r["verdict"]["air_to_patient"]["value"]


def _cli(args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tools.campaign"] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_shards_split_the_cases_and_a_second_call_resumes(quick, tmp_path):
    ids = [_cli(["--tier", "full", "--sample", "20", "--list"] + s).stdout.split()
           for s in (["--shard", "1/3"], ["--shard", "2/3"], ["--shard", "3/3"], [])]
    assert sorted(ids[0] + ids[1] + ids[2]) == sorted(ids[3]) and len(set(ids[3])) == len(ids[3])
    assert all(ids[:3])
    # resume: the runs already in OUT (same firmware, same scenario) are not made again
    cases, res = quick
    out = tmp_path / "c"
    out.mkdir()
    fw = pool.firmware_hash()
    with open(out / "results.jsonl", "w") as f:
        for c in cases[2:]:
            f.write(json.dumps(dict(res[c["id"]], fw=fw)) + "\n")
        f.write('{"cut short by a kill\n')
    p = _cli(["--tier", "quick", "--out", str(out)])
    assert p.returncode == 0, p.stderr
    assert "8 already done, 2 to run" in p.stdout, p.stdout
    rep = open(out / "report.md").read()
    assert "| air_to_patient:" in rep and "## Failures" in rep
    assert os.path.getsize(out / "heatmap.png") > 5000
    fails = os.listdir(out / "failures")
    assert "esp32-VA-bubble.stuck-air-before.json" in fails
    bad = _cli(["--shard", "0/2"])
    assert bad.returncode == 2 and "shard" in bad.stderr and "Traceback" not in bad.stderr


def test_matrix_is_read_from_the_world_and_every_case_is_a_valid_scenario():
    sys.path.insert(0, os.path.join(ROOT, "tools", "sim"))
    import world
    import scenario as SC
    import board_pico
    pico = matrix.sensor_faults("pico")
    for s in world.SENSORS:
        for k in world.fault_kinds(board_pico, s):
            assert (s, k) in pico
    cases = matrix.matrix() + matrix.sample(20)
    assert len(set(c["id"] for c in cases)) == len(cases)
    for c in cases[::37] + cases[-20:]:
        SC.validate(matrix.scenario(c))        # raises ScenarioError on a bad one
    assert matrix.scenario(cases[5]) == matrix.scenario(dict(cases[5]))


# ---- the criteria on made-up telemetry: each one can fail ----
COLS = criteria.COLUMNS


def _rows(n, **over):
    # n rows at 10 ms: running, 4 L/min, ordinary pressures; over: column -> value or f(t)
    base = {"state": "run", "alarms": "", "sweep_setpoint_lpm": "3.00", "true_flow_lpm": 4.0,
            "true_p1_mmhg": -40.0, "true_p2_mmhg": 200.0, "true_p3_mmhg": 180.0,
            "true_rpm": 3000.0, "true_air_to_patient_ul": 0.0, "true_sweep_lpm": 3.0,
            "true_sat_post_pct": 99.0}
    out = []
    for i in range(n):
        t = 0.01 * (i + 1)
        r = []
        for c in COLS:
            v = over.get(c, base.get(c))
            if callable(v):
                v = v(t)
            r.append("%.3f" % t if c == "t_s" else str(v))
        out.append(r)
    return out


def _judge(rows, profile="VA", events=()):
    sc = {"profile": profile, "run": True, "events": list(events)}
    return criteria.judge_rows(sc, COLS, rows)


def test_criteria_pass_a_quiet_run():
    assert criteria.failed(_judge(_rows(500))) == []


def test_criteria_each_fail_on_their_own_hazard():
    assert criteria.failed(_judge(_rows(300, true_p1_mmhg=lambda t: -160.0 if t > 1 else -40.0))) \
        == ["suction"]
    short = _rows(300, true_p1_mmhg=lambda t: -160.0 if 1 < t < 1.4 else -40.0)
    assert criteria.failed(_judge(short)) == []
    assert criteria.failed(_judge(_rows(300, true_p3_mmhg=450.0))) == ["p3_high"]
    assert "p2_high" in criteria.failed(_judge(_rows(300, true_p2_mmhg=470.0)))
    assert criteria.failed(_judge(_rows(100, true_air_to_patient_ul=0.5))) == ["air_to_patient"]
    retro = _rows(300, true_flow_lpm=-0.5, alarms="RETROGRADE")
    assert "retrograde" in criteria.failed(_judge(retro))
    assert "retrograde" not in criteria.failed(_judge(retro, profile="VV"))
    silent = _rows(500, true_flow_lpm=0.5)
    assert criteria.failed(_judge(silent)) == ["flow_lost_silent"]
    assert criteria.failed(_judge(_rows(500, true_flow_lpm=0.5, alarms="LOW_FLOW"))) == []
    stopped = _rows(300, true_rpm=0.0, true_flow_lpm=3.0)
    assert criteria.failed(_judge(stopped)) == ["pump_stopped"]
    estop = _rows(300, true_rpm=0.0, true_flow_lpm=3.0, state="stop", alarms="ESTOP")
    assert criteria.failed(_judge(estop, events=[{"t": 0.0, "do": "estop"}])) == []


def test_false_high_alarm_and_silent_sensor_fault():
    v = _judge(_rows(200, alarms=lambda t: "SUCTION_CRIT" if t > 1 else ""))
    assert criteria.failed(v) == ["false_high"] and "SUCTION_CRIT" in v["false_high"]["detail"]
    true_one = _rows(200, alarms=lambda t: "SUCTION_CRIT" if t > 1 else "",
                     true_p1_mmhg=lambda t: -155.0 if t > 0.9 else -40.0)
    assert "false_high" not in criteria.failed(_judge(true_one))
    fault = [{"t": 0.5, "do": "sensor_fault", "sensor": "p1", "kind": "open"}]
    assert criteria.failed(_judge(_rows(800), events=fault)) == ["sensor_silent"]
    seen = _rows(800, alarms=lambda t: "SENSOR_P1" if t > 0.6 else "")
    assert criteria.failed(_judge(seen, events=fault)) == []
    late = _rows(800, alarms=lambda t: "SENSOR_P1" if t > 7.0 else "")
    assert criteria.failed(_judge(late, events=fault)) == ["sensor_silent"]
    # too short to be seen: not judged
    v = _judge(_rows(300), events=fault)
    assert not v["sensor_silent"]["judged"]


def test_recheck_takes_one_failure_of_each_kind_first(quick, tmp_path):
    from tools.campaign.__main__ import recheck_cases
    cases, res = quick
    d = tmp_path / "old"
    d.mkdir()
    fake = dict(res["pico-VA-nofault-air--"])
    twin = dict(fake, id="pico-VA-nofault-air--twin", failed=["air_to_patient"])
    fake["failed"] = ["air_to_patient"]
    with open(d / "results.jsonl", "w") as f:
        for r in list(res.values()) + [twin]:
            r = fake if r["id"] == fake["id"] else r
            f.write(json.dumps(r) + "\n")
    got = recheck_cases(str(d))
    failing = [r for r in list(res.values()) + [twin] if r["failed"] or r["id"] == fake["id"]]
    assert len(got) == len(failing)
    # the twin (same kind of failure as the air case) comes after every first of its kind
    ids = [c["id"] for c in got]
    assert ids[-1] == "pico-VA-nofault-air--"


def test_the_plant_is_judged_while_the_firmware_does_not_tick():
    # h11: the tick timer dies at 8 s and the watchdog resets 2 s later: no telemetry rows in
    # between, but the judge gets a row of true values every tick period all the same
    sc = json.load(open(os.path.join(ROOT, "examples", "h11_watchdog.json")))
    p = subprocess.run(pool.runtime_cmd("cpython"), input=json.dumps(sc), capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    out = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith(pool.MARK)][-1]
                     [len(pool.MARK):])
    n = sc["duration_s"] * 100
    assert out["ticks"] < n * 0.95 and out["rows"] >= n * 0.99, (out["ticks"], out["rows"])
    assert criteria.failed(out["verdict"]) == []
