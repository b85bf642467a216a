# The simulated rig behind a pty (`make rig`), driven with the real mpremote and with
# `monitor`, as a board would be. Every wait is bounded; assertions check content, not timing.
import csv
import os
import select
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _exe(name):
    p = os.path.join(BIN, name)
    return p if os.path.exists(p) else None


pytestmark = pytest.mark.skipif(_exe("micropython") is None or _exe("mpremote") is None,
                                reason="micropython/mpremote not in the venv: run `make venv`")


@pytest.fixture(scope="module")
def rig_port(tmp_path_factory):
    d = tmp_path_factory.mktemp("simrig")
    p = subprocess.Popen([sys.executable, "-m", "tools.rigpty", "--settings", str(d / "settings.json")],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        r, _, _ = select.select([p.stdout], [], [], 10)
        assert r, "rigpty printed nothing in 10 s"
        line = p.stdout.readline()
        assert line.startswith("ecmo-rig simulated rig on "), line
        yield line.split()[-1], d
    finally:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


def _mpremote(port, code):
    r = subprocess.run([_exe("mpremote"), "connect", port, "resume", "exec", code], cwd=ROOT,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_mpremote_exec_status(rig_port):
    out = _mpremote(rig_port[0], "rig.status()")
    assert out.startswith("standby VA rpm sp=2000 rpm"), out


def test_mpremote_error_is_reported(rig_port):
    r = subprocess.run([_exe("mpremote"), "connect", rig_port[0], "resume", "exec", "rig.set_flow(99)"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "ValueError: flow_lpm must be a number in [0, 8.0]" in r.stdout + r.stderr


def test_set_flow_with_mpremote_and_read_it_back_from_telemetry(rig_port, tmp_path):
    port = rig_port[0]
    _mpremote(port, "rig.mode('flow'); rig.set_flow(3.5); rig.run()")
    row = _mpremote(port, "print(rig.telemetry_header()); print(rig.telemetry_row())").split()
    d = dict(zip(row[0].split(","), row[1].split(",")))
    assert d["flow_setpoint_lpm"] == "3.500" and d["state"] == "run"
    out = tmp_path / "mon.csv"
    r = subprocess.run([sys.executable, "-m", "tools.cli", "monitor", "--port", port, "--seconds", "2",
                        "--rate", "20", "--csv", str(out)], cwd=ROOT, capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) >= 5
    assert {row["flow_setpoint_lpm"] for row in rows} == {"3.500"}
    assert rows[-1]["state"] == "run" and rows[-1]["control"] == "flow"
    t = [float(row["t_s"]) for row in rows]
    assert t == sorted(t)
    # monitor switched telemetry off again on leaving
    assert _mpremote(port, "print(rig.telemetry())").strip() == "0"


def test_monitor_passes_typed_lines_to_the_repl(rig_port):
    port = rig_port[0]
    r = subprocess.run([sys.executable, "-m", "tools.cli", "monitor", "--port", port, "--seconds", "1.5",
                        "--rate", "10"], cwd=ROOT, input="", capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "telemetry rows" in r.stdout


def test_deploy_dry_run_lists_files_and_hashes():
    r = subprocess.run([sys.executable, "-m", "tools.cli", "deploy", "--board", "esp32", "--dry-run",
                        "--build", os.path.join(ROOT, "build", "test-dry-run")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "xtensawin" in r.stdout and "ecmo/rig.mpy" in r.stdout and "board.py" in r.stdout
    assert "main.py" in r.stdout and "dry run" in r.stdout


def test_autotune_sim_proposes_gains():
    r = subprocess.run([sys.executable, "-m", "tools.cli", "autotune", "--sim", "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    import json
    res = json.loads(r.stdout.strip().splitlines()[-1])
    kp, ki, kd = res["gains"]
    assert 0 < kp <= 5000 and 0 < ki <= 2000 and kd == 0 and res["pu_s"] > 0
