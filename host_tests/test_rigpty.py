# The simulated rig behind a pty (`make rig`), driven with the real mpremote and with
# `monitor`, as a board would be. Every wait is bounded; assertions check content, not timing.
# Each test gets a rig of its own (a fresh board and world): no test depends on another's state.
import csv
import os
import select
import signal
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


def _start_rig(args):
    p = subprocess.Popen([sys.executable, "-m", "tools.cli", "rig"] + args,
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    r, _, _ = select.select([p.stdout], [], [], 10)
    assert r, "rigpty printed nothing in 10 s"
    line = p.stdout.readline()
    assert line.startswith("ecmo-rig simulated rig on "), line
    return p, line.split()[-1]


def _stop(p):
    if p.poll() is None:
        p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


@pytest.fixture
def rig_port(tmp_path):
    p, port = _start_rig(["--settings", str(tmp_path / "settings.json")])
    try:
        yield port, tmp_path
        assert p.poll() is None, "the simulated rig died"
    finally:
        _stop(p)


def _row(port, code=""):
    # run code, then one telemetry row as a dict (and the rig's virtual time in s)
    out = _mpremote(port, code + "\nimport machine; print(machine.sim_now_us()); "
                    "print(rig.telemetry_header()); print(rig.telemetry_row())").split()
    return dict(zip(out[-2].split(","), out[-1].split(","))), int(out[-3]) / 1e6


def _wait_row(port, cond, what, wall_s=30):
    # poll until cond(row, t) holds; bounded by wall time, the condition checks content only
    deadline = time.monotonic() + wall_s
    while True:
        row, t = _row(port)
        if cond(row, t):
            return row
        assert time.monotonic() < deadline, "%s: not within %d s; last %r" % (what, wall_s, row)
        time.sleep(0.2)


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
    with open(out) as f:       # after the "# key: value" header lines monitor writes (#16)
        rows = list(csv.DictReader(ln for ln in f if not ln.startswith("#")))
    assert len(rows) >= 5
    assert {row["flow_setpoint_lpm"] for row in rows} == {"3.500"}
    assert rows[-1]["state"] == "run" and rows[-1]["control"] == "flow"
    t = [float(row["t_s"]) for row in rows]
    assert t == sorted(t)
    # monitor switched telemetry off again on leaving
    assert _mpremote(port, "print(rig.telemetry())").strip() == "0"


def test_monitor_passes_typed_lines_to_the_repl(rig_port):
    port = rig_port[0]
    r = subprocess.run([sys.executable, "-m", "tools.cli", "monitor", "--port", port, "--seconds", "2",
                        "--rate", "10"], cwd=ROOT, input="print(12345*2)\n", capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "telemetry rows" in r.stdout
    assert "24690" in r.stdout, r.stdout


def test_rig_runs_the_shared_world_sensors_healthy_and_pump_follows(rig_port):
    # the world of tools/sim/world.py: noisy sensors (never STUCK), the gas side's parts attached
    port = rig_port[0]
    _mpremote(port, "rig.set_rpm(2500); rig.run()")
    _, t0 = _row(port)
    row = _wait_row(port, lambda r, t: t >= t0 + 5, "5 s of rig time")
    assert row["state"] == "run" and row["flow_lpm"] and float(row["flow_lpm"]) > 1.0, row
    assert row["p1_mmhg"] and row["p2_mmhg"] and row["p3_mmhg"], row
    assert not [a for a in row["alarms"].split("|") if a.startswith("SENSOR")], row
    assert "sweep_lpm" in row, "the pico board has the gas side"
    duty = int(row["duty"])
    _mpremote(port, "rig.set_rpm(3200)")
    _wait_row(port, lambda r, t: int(r["duty"]) > duty, "duty after set_rpm(3200)")
    status = _mpremote(port, "rig.status()")
    assert "SENSOR" not in status, status


def test_reboot_restarts_the_simulated_board_in_standby(rig_port):
    port = rig_port[0]
    _mpremote(port, "rig.set_rpm(2500); rig.run()")
    _mpremote(port, "rig.reboot()")           # planned: standby, no alarm, the rig lives on
    out = _mpremote(port, "rig.status(); import machine; print(machine.reset_cause())")
    assert out.startswith("standby "), out
    assert "WDT_RESET" not in out, out
    # an unplanned machine.reset() (mpremote's own `reset`): alarm, and VA resumes the pump
    _mpremote(port, "rig.run()")
    r = subprocess.run([_exe("mpremote"), "connect", port, "resume", "reset"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    out = _mpremote(port, "rig.status()")
    assert out.startswith("run ") and "WDT_RESET" in out, out


def test_deploy_to_the_simulated_rig_verifies_and_resets(rig_port):
    port, flash = rig_port
    r = subprocess.run([sys.executable, "-m", "tools.cli", "deploy", "--port", port, "--build",
                        str(flash.parent / "build")], cwd=ROOT, capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "files verified" in r.stdout and "resetting" in r.stdout
    assert (flash / "ecmo" / "rig.mpy").exists() and (flash / "board.py").exists()
    out = _mpremote(port, "rig.status()")
    assert out.startswith("standby ") and "WDT_RESET" not in out, out


def test_ctrl_c_ends_the_rig_with_exit_0(tmp_path):
    p, _ = _start_rig(["--settings", str(tmp_path / "settings.json")])
    try:
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0, p.stdout.read()
    finally:
        _stop(p)


def test_default_flash_is_a_fresh_temporary_folder_removed_at_exit():
    p, _ = _start_rig([])
    try:
        flash = None
        for _ in range(5):
            line = p.stdout.readline()
            if "simulated flash" in line:
                flash = line.split(": ", 1)[1].strip()
                break
        assert flash and os.path.isdir(flash) and "ecmo-simrig-" in flash, line
    finally:
        _stop(p)
    assert not os.path.exists(flash)


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
