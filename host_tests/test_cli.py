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


# ---------------------------------------------------------------- #16: a bench user's day
def _relay_on(model, sp, bias, d=300, eps=0.05, seconds=40.0, dt=0.05):
    # the relay at the telemetry row rate on a known plant
    from tools import autotune as T
    r = T.Relay(sp, bias, d, eps)
    u = [bias]

    def ctl(i, q):
        u[0] = r.update(i * dt, q)
        return u[0]
    model.response(ctl, dt, int(seconds / dt), q_start=sp)
    return r


# (k (L/min)/RPM, tau s, dead time s): fast, slow, very slow, dead-time dominated plants
PLANTS = [(0.0025, 0.5, 0.3), (0.0025, 3.0, 0.2), (0.002, 6.0, 0.3), (0.003, 1.0, 1.0),
          (0.002, 0.2, 0.8)]


@pytest.mark.parametrize("k,tau,theta", PLANTS)
def test_autotune_never_proposes_gains_that_do_not_settle_on_the_true_plant(k, tau, theta):
    from tools import autotune as T
    true = T.FOPDT(k, tau, theta, q0=3.5, u0=2800)
    res_relay = _relay_on(true, 3.5, 2800)
    res = res_relay.result()
    model = T.fit(res_relay, res)
    g, m, how = T.propose(model, res["ku"], res["pu_s"], "tl-pi", 3.5)
    if g is not None:
        on_true = T.step_metrics(T.step_on(true, g, 3.5))
        assert T.passes(on_true), (g, how, on_true)


def test_autotune_old_rule_fails_where_the_check_finds_settling_gains():
    # a plant where the bare Tyreus-Luyben gains never settle (the integral is far too slow):
    # what autotune proposes instead settles on the true plant
    from tools import autotune as T
    true = T.FOPDT(0.0025, 0.5, 0.3, q0=3.5, u0=2800)
    relay = _relay_on(true, 3.5, 2800)
    res = relay.result()
    old = T.gains(res["ku"], res["pu_s"], "tl-pi")
    assert not T.passes(T.step_metrics(T.step_on(true, old, 3.5)))
    g, _m, how = T.propose(T.fit(relay, res), res["ku"], res["pu_s"], "tl-pi", 3.5)
    assert g is not None and g != old, how
    assert T.passes(T.step_metrics(T.step_on(true, g, 3.5)))


def test_autotune_sim_proposes_only_checked_gains_and_states_the_check():
    r = _cli(["autotune", "--sim", "--json"], timeout=120)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    assert "must settle within" in r.stdout
    import json
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert 500 < res["ku"] < 5000, res        # the simulated rig's plant, not the bare plant's
    if res["gains"] is not None:
        assert res["settling_s"] <= 5.0 and res["overshoot_pct"] <= 10.0, res
        assert "proposed (" in r.stdout
    else:
        assert "no proposal" in r.stdout and "proposed (" not in r.stdout


def test_plot_refuses_a_csv_that_is_not_telemetry(tmp_path):
    bad = tmp_path / "prices.csv"
    bad.write_text("date,price\n2026-01-01,3\n")
    r = _cli(["plot", str(bad)])
    _one_line_error(r)
    assert "not a telemetry CSV" in r.stderr and "t_s" in r.stderr
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 50)
    _one_line_error(_cli(["plot", str(binary)]))


def _monitor_csv(path, t0=0.0, alarms_at=None):
    lines = ["# ecmo-rig telemetry recorded by `ecmo monitor`", "# board: pico",
             "# firmware: 0.1.0", "# start_utc: 2026-12-02T01:00:00.000+00:00",
             "wall_utc,t_s,state,profile,control,flow_setpoint_lpm,flow_lpm,rpm,duty,p1_mmhg,"
             "p2_mmhg,p3_mmhg,dp_mmhg,bubble,clamp_closed,alarms"]
    for i in range(50):
        al = "P3_HIGH" if alarms_at and i >= alarms_at else ""
        lines.append("x,%.3f,run,VA,flow,3.500,3.4,2800,36000,-40,170,150,20,0,0,%s" % (t0 + i * 0.1, al))
    path.write_text("\n".join(lines) + "\n")


def test_plot_reads_a_monitor_csv_makes_folders_and_marks_alarm_onsets(tmp_path):
    from tools.sim import plot
    src = tmp_path / "bench run.csv"
    _monitor_csv(src, alarms_at=20)
    rows, meta = plot.read(str(src))
    assert meta["board"] == "pico" and len(rows) == 50
    evs, kind = plot.events_of(str(tmp_path), rows, [float(r["t_s"]) for r in rows])
    assert evs == [(2.0, "P3_HIGH")] and kind == "alarm onsets"
    assert plot._title(str(src), str(tmp_path), meta).startswith("bench run (pico, 0.1.0")
    out = tmp_path / "new" / "deeper" / "p.png"
    r = _cli(["plot", str(src), "-o", str(out)])
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10000


def test_sim_plot_marks_the_scenario_events(tmp_path):
    from tools.sim import plot
    (tmp_path / "events.json").write_text('[{"t": 8.0, "do": "volume_loss", "ml": 800}]')
    evs, kind = plot.events_of(str(tmp_path), [], [])
    assert evs == [(8.0, "volume_loss ml=800")] and kind == "scenario events"


def test_monitor_refuses_to_overwrite_a_csv(tmp_path):
    old = tmp_path / "run.csv"
    old.write_text("precious\n")
    r = _cli(["monitor", "--port", str(tmp_path / "nonexist"), "--csv", str(old)])
    _one_line_error(r)
    assert "exists" in r.stderr and "--overwrite" in r.stderr
    assert old.read_text() == "precious\n"


def test_missing_port_says_no_such_port_and_nothing_else(tmp_path):
    for cmd in (["deploy", "--port"], ["monitor", "--port"], ["autotune", "--bias", "2800", "--port"]):
        r = _cli(cmd + [str(tmp_path / "ttyACM9")])
        _one_line_error(r)
        assert "no such port" in r.stderr, r.stderr
        assert "import" not in r.stderr and "it may be in use" not in r.stderr


def test_deploy_dry_run_without_a_board_has_no_default(tmp_path):
    r = _cli(["deploy", "--dry-run", "--build", str(tmp_path / "b")])
    _one_line_error(r)
    assert "--board" in r.stderr and not (tmp_path / "b").exists()


def test_h23_deploy_board_matching():
    from tools import deploy
    pico = {"platform": "rp2", "machine": "Raspberry Pi Pico with RP2040"}
    esp = {"platform": "esp32", "machine": "Generic ESP32 module with ESP32"}
    s3 = {"platform": "esp32", "machine": "ESP32S3 module with ESP32S3"}
    pico2 = {"platform": "rp2", "machine": "Raspberry Pi Pico2 with RP2350"}
    assert deploy.match(pico) == "pico" and deploy.match(esp) == "esp32"
    assert deploy.match(s3) is None and deploy.match(pico2) is None
    with pytest.raises(SystemExit, match="board mismatch.*--board esp32"):
        deploy.choose_board("pico", esp, "/dev/ttyUSB0")
    with pytest.raises(SystemExit, match="not one this firmware has a board file for"):
        deploy.choose_board(None, s3, "/dev/ttyUSB0")
    assert deploy.choose_board(None, pico, "/dev/ttyACM0") == "pico"


def test_serial_code_has_no_select():
    # Windows has no select() for serial ports or the console: the host tools use pyserial's
    # timeouts and a thread for typed lines (the pty tests run that same code on Linux)
    import ast
    for name in ("monitor.py", "autotune.py", "ports.py", "deploy.py", "cli.py"):
        tree = ast.parse(open(os.path.join(ROOT, "tools", name)).read())
        mods = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names} | {n.module for n in ast.walk(tree)
                                     if isinstance(n, ast.ImportFrom)}
        assert "select" not in mods and "termios" not in mods, name


def test_status_line_has_units():
    from tools.monitor import status_line
    row = {"state": "run", "profile": "VA", "control": "flow", "flow_setpoint_lpm": "3.500",
           "flow_lpm": "3.487", "rpm": "2861", "p1_mmhg": "-42.1", "p2_mmhg": "", "p3_mmhg": "152",
           "dp_mmhg": "", "alarms": "", "temp_c": "37.00"}
    s = status_line(row)
    assert "flow 3.487 L/min" in s and "2861 rpm" in s and "mmHg" in s and "T 37.00 degC" in s
    assert "P2 ?" in s, s


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_help_lists_the_targets():
    r = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for t in ("sim", "test", "test-fast", "monitor", "plot", "deploy", "autotune", "bench"):
        assert "make %s " % t in r.stdout, t


def test_new_commands_register_in_one_line():
    from tools import cli
    for name, (mod, text) in cli.DELEGATED.items():
        assert mod.startswith("tools.") and text


def test_bench_verdict_marks_each_target_and_explains_a_long_max():
    from tools.bench import verdict
    rows = [{"name": "tick.max_us", "value": 14556.0, "unit": "us", "runtime": "micropython"},
            {"name": "alloc.pid_update_bytes_per_call", "value": 0.0, "unit": "B/call",
             "runtime": "micropython"},
            {"name": "alloc.read_p1_analog_bytes_per_call", "value": 16.0, "unit": "B/call",
             "runtime": "micropython"},
            {"name": "latency.air_ticks", "value": 0, "unit": "ticks", "runtime": "cpython"}]
    text = verdict.render(rows)
    lines = {ln.split()[0]: ln for ln in text.splitlines() if ln and ln[0].isalpha()}
    assert "MISS" in lines["tick.max_us"] and "[1]" in lines["tick.max_us"]
    assert "MISS" in lines["alloc.*_per_call"]          # the worst of the two
    assert "PASS" in lines["latency.air_ticks"]
    assert "1 of 3 targets met." in text and "preempted" in text
