# The host CLI's own paths (CPython): delegation of sim/rig/bench with their options, the
# Makefile targets, one-line errors instead of tracebacks, deploy's build-folder guard, plot
# tables read from the firmware, and the simulator's private flash folder.
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(args, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "tools.cli"] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_sim_with_scenario_and_out(tmp_path):
    # the README's command: the Makefile passes --scenario/--out through `tools.cli sim`
    out = tmp_path / "step"
    r = subprocess.run(["make", "-s", "sim", "SCENARIO=examples/step.json", "OUT=%s" % out],
                       cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (out / "telemetry.csv").stat().st_size > 0
    assert (out / "plot.png").exists()


@pytest.mark.parametrize("cmd,expect", [("sim", "--scenario"), ("rig", "--settings"),
                                        ("bench", "--quick")])
def test_delegated_commands_take_their_own_options(cmd, expect):
    r = _cli([cmd, "--help"])
    assert r.returncode == 0, r.stderr
    assert expect in r.stdout


def _one_line_error(r):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_missing_and_empty_csv_are_errors_not_tracebacks(tmp_path):
    _one_line_error(_cli(["plot", str(tmp_path / "missing.csv")]))
    empty = tmp_path / "empty.csv"
    empty.write_text("t_s,flow_lpm,rpm\n")
    r = _cli(["plot", str(empty), "-o", str(tmp_path / "empty.png")])
    _one_line_error(r)
    assert "no telemetry rows" in r.stderr
    assert not (tmp_path / "empty.png").exists()


def test_monitor_on_a_missing_port_is_one_line(tmp_path):
    _one_line_error(_cli(["monitor", "--port", str(tmp_path / "nonexist"), "--seconds", "1"]))


def test_autotune_without_oscillation_is_one_line():
    r = _cli(["autotune", "--sim", "--seconds", "0.3"])
    _one_line_error(r)
    assert "did not oscillate" in r.stderr


def test_deploy_refuses_to_empty_a_folder_it_did_not_make(tmp_path):
    keep = tmp_path / "precious.txt"
    keep.write_text("keep me")
    r = _cli(["deploy", "--board", "pico", "--dry-run", "--build", str(tmp_path)], timeout=120)
    assert r.returncode != 0 and "refusing" in r.stderr, r.stdout + r.stderr
    assert keep.read_text() == "keep me"


def test_deploy_reuses_a_folder_it_marked(tmp_path):
    out = tmp_path / "b"
    for _ in range(2):      # the second run finds its own marker and may empty the folder
        r = _cli(["deploy", "--board", "esp32", "--dry-run", "--build", str(out)], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    assert (out / ".ecmo-deploy-build").exists() and (out / "ecmo" / "rig.mpy").exists()


def test_deploy_without_port_stops_before_building(tmp_path):
    out = tmp_path / "never"
    r = _cli(["deploy", "--build", str(out)])
    assert r.returncode != 0 and "--port" in r.stderr
    assert not out.exists()


def test_plot_reads_priorities_and_limits_from_the_firmware():
    from tools.sim import plot
    prio = plot.alarm_priorities()
    assert prio["AIR"] == 3 and prio["SUCTION_WARN"] == 2 and prio["SENSOR_P2"] == 1
    assert plot.default_limits("VA")["p1_warn_dmmhg"] == -1000
    assert plot.default_limits("VV")["flow_low_mlpm"] == 1000


def test_sim_without_out_dir_uses_a_private_flash_and_removes_it():
    code = ("import sys; sys.path.insert(0, 'tools/sim'); import run, os\n"
            "a = run.Sim({'name': 'a', 'duration_s': 0.05}, progress=False)\n"
            "b = run.Sim({'name': 'b', 'duration_s': 0.05}, progress=False)\n"
            "assert a.settings_path != b.settings_path\n"
            "d = os.path.dirname(a.settings_path); a.run()\n"
            "print(d, os.path.exists(d))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    d, exists = r.stdout.split()[-2:]
    assert "ecmo_sim_flash_" in d and exists == "False"
