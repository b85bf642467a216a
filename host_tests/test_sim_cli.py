# The simulator's host path (python -m tools.sim: validate, micropython runner, plot) over every
# examples/*.json, in parallel; and malformed scenarios -> exit code 2 naming the field.
import concurrent.futures
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".json"))
REQUIRED = ("t_s,state,profile,control,flow_setpoint_lpm,flow_lpm,rpm,duty,p1_mmhg,p2_mmhg,"
            "p3_mmhg,dp_mmhg,bubble,clamp_closed,alarms").split(",")
TRUE = ("true_flow_lpm", "true_p1_mmhg", "true_p3_mmhg")


def _cli(args, timeout=120):
    return subprocess.run([sys.executable, "-m", "tools.sim"] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("sim")
    def one(name):
        out = base / name[:-5]
        return name, out, _cli([os.path.join("examples", name), "--out", str(out), "--quiet"])
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        return list(ex.map(one, EXAMPLES))


def test_examples_cover_every_hazard_with_a_scenario():
    import re
    text = open(os.path.join(ROOT, "docs", "hazards.md")).read()
    for path in re.findall(r"`(examples/[^`]+\.json)`", text):
        assert os.path.exists(os.path.join(ROOT, path)), path
    # Hazards of the host tools (sections headed "host side" or "Host tools": the console, deploy)
    # have no circuit to simulate; their own tests cover them. Every rig hazard needs a scenario.
    ids = set()
    for section in re.split(r"^(?=## )", text, flags=re.M):
        heading = section.split("\n", 1)[0]
        if not re.search(r"host side|host tools", heading, re.I):
            ids |= set(re.findall(r"^\| (H\d\d) \|", section, re.M))
    have = set(n[:3].upper() for n in EXAMPLES if re.match(r"h\d\d_", n))
    assert ids <= have, sorted(ids - have)


def test_every_example_runs_with_exact_header_and_plot(runs):
    for name, out, p in runs:
        assert p.returncode == 0, (name, p.stdout[-2000:], p.stderr[-2000:])
        with open(out / "telemetry.csv") as f:
            header = f.readline().strip().split(",")
            rows = f.readlines()
        n = len(REQUIRED)
        assert header[:n] == REQUIRED, (name, header)
        assert [c for c in header if c in TRUE] == list(TRUE)
        assert all(c.startswith("true_") for c in header[header.index("true_flow_lpm"):])
        sc = json.load(open(os.path.join(ROOT, "examples", name)))
        # one row per 10 ms tick (h09 overruns, h10/h11 hang until the watchdog: fewer ticks)
        slow = name[:3] in ("h09", "h10", "h11")
        assert len(rows) >= sc["duration_s"] * 100 * (0.75 if slow else 0.95), \
            (name, len(rows))
        assert (out / "plot.png").stat().st_size > 20000, name
        assert "summary" in p.stdout


def test_every_example_fails_only_the_criteria_it_declares(runs):
    # the shared safety criteria (tools/sim/criteria.py, also the fault campaign's judge) on
    # the plant's true values of each example run
    from tools.sim import criteria
    for name, out, p in runs:
        assert p.returncode == 0, name
        sc = json.load(open(os.path.join(ROOT, "examples", name)))
        v = criteria.judge_csv(sc, str(out / "telemetry.csv"))
        expected = sorted(criteria.EXAMPLES.get(name, {}))
        assert sorted(criteria.failed(v)) == expected, (name, [(k, v[k]["detail"])
                                                               for k in criteria.failed(v)])


def test_header_is_the_same_in_both_runtimes(tmp_path):
    heads = []
    for rt in ("micropython", "cpython"):
        out = tmp_path / rt
        p = _cli(["examples/h12_tach.json", "--out", str(out), "--runtime", rt, "--no-plot",
                  "--quiet"])
        assert p.returncode == 0, p.stderr
        heads.append(open(out / "telemetry.csv").readline())
    assert heads[0] == heads[1]


BAD = [
    ({"name": "x"}, "duration_s"),
    ({"name": "x", "duration_s": 10, "profile": "AV"}, "profile"),
    ({"name": "x", "duration_s": 10, "flow_lpm": "fast"}, "flow_lpm"),
    ({"name": "x", "duration_s": 10, "colour": 1}, "colour"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 1, "do": "explode"}]}, "events[0].do"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 11, "do": "ack"}]}, "events[0].t"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 1, "do": "set_flow"}]}, "events[0].lpm"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 1, "do": "set_flow", "lpm": 3},
                                                 {"t": 2, "do": "bubble", "volume_ul": "big"}]},
     "events[1].volume_ul"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 1, "do": "sensor_fault", "sensor": "p1",
                                                 "kind": "crc"}]}, "events[0].kind"),
    ({"name": "x", "duration_s": 10, "events": [{"t": 1, "do": "ack", "now": True}]},
     "events[0].now"),
]


@pytest.mark.parametrize("doc,field", BAD, ids=[f for _, f in BAD])
def test_malformed_scenario_exits_2_naming_the_field(tmp_path, doc, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    p = _cli([str(path), "--out", str(tmp_path / "out")], timeout=30)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert field in p.stderr, p.stderr


def test_not_json_exits_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{name: ")
    p = _cli([str(path)], timeout=30)
    assert p.returncode == 2 and "JSON" in p.stderr
