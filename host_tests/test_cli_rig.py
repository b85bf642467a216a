# #16 on the simulated rig behind its pty (as a board would be): deploy refuses a board
# mismatch, monitor records a run with its metadata, the README's tuning session line by line,
# and autotune on the rig agrees with --sim. Every wait is bounded.
import json
import os
import re
import select
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "micropython")),
                                reason="micropython not in the venv: run `make venv`")


def _cli(args, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "tools.cli"] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture
def rig(tmp_path, request):
    board = getattr(request, "param", "pico")
    p = subprocess.Popen([sys.executable, "-m", "tools.cli", "rig", "--board", board, "--settings",
                          str(tmp_path / "flash" / "settings.json")], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        r, _, _ = select.select([p.stdout], [], [], 15)
        assert r, "the simulated rig printed nothing"
        line = p.stdout.readline()
        assert line.startswith("ecmo-rig simulated rig on "), line
        yield line.split()[-1], tmp_path
    finally:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def _mp(port, code):
    r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", port, "resume", "exec", code],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("rig", ["esp32"], indirect=True)
def test_h23_deploy_refuses_a_pico_build_for_an_esp32(rig):
    port, tmp = rig
    r = _cli(["deploy", "--port", port, "--board", "pico", "--build", str(tmp / "build")])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "board mismatch" in r.stderr and "--board esp32" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp / "flash" / "board.py").exists()          # nothing was copied
    assert not (tmp / "build").exists()                       # nor built


@pytest.mark.parametrize("rig", ["esp32"], indirect=True)
def test_deploy_without_board_deploys_what_the_board_is(rig):
    port, tmp = rig
    r = _cli(["deploy", "--port", port, "--build", str(tmp / "build")], timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "board on %s: esp32" % port in r.stdout and "xtensawin" in r.stdout
    text = (tmp / "flash" / "board.py").read_text()
    assert 'NAME = "esp32"' in text


def test_monitor_csv_has_metadata_wall_clock_and_echoes_typed_lines_once(rig):
    port, tmp = rig
    out = tmp / "runs" / "run1.csv"
    r = _cli(["monitor", "--port", port, "--seconds", "2", "--csv", str(out)],
             input="print(12345*2)\n", timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("print(12345*2)") == 0 and r.stdout.count("24690") == 1, r.stdout
    head = out.read_text().splitlines()
    meta = dict(ln[2:].split(": ", 1) for ln in head if ln.startswith("# ") and ": " in ln)
    assert meta["board"] == "pico" and meta["platform"] == "rp2"
    assert re.match(r"\d+\.\d+\.\d+", meta["firmware"]) and re.match(r"[0-9a-f]{8}$",
                                                                     meta["settings_crc32"])
    assert meta["start_utc"].startswith("20")
    cols = [ln for ln in head if not ln.startswith("#")][0].split(",")
    assert cols[:2] == ["wall_utc", "t_s"]
    # a second run onto the same file is refused, the first recording kept
    before = out.read_text()
    r = _cli(["monitor", "--port", port, "--seconds", "1", "--csv", str(out)], timeout=30)
    assert r.returncode == 1 and "--overwrite" in r.stderr
    assert out.read_text() == before
    # and `ecmo plot` reads it back
    r = _cli(["plot", str(out)])
    assert r.returncode == 0, r.stderr
    assert (tmp / "runs" / "plot.png").exists()


def _session_lines():
    text = open(os.path.join(ROOT, "README.md")).read()
    block = text.split("A tuning session at the board's REPL", 1)[1].split("```", 2)[1]
    return [ln[4:].split("  #", 1)[0].strip() for ln in block.splitlines() if ln.startswith(">>> ")]


class Repl:
    # the friendly REPL over the pty, one line at a time, as someone typing it would
    def __init__(self, port):
        import serial
        self.s = serial.Serial(port, 115200, timeout=0.1)
        self.s.write(b"\x03\r\n")
        self.read_until_prompt()

    def read_until_prompt(self, wall_s=10):
        buf = b""
        t_end = time.monotonic() + wall_s
        # telemetry rows may follow the prompt once rig.telemetry(10) ran
        while b">>> " not in buf and time.monotonic() < t_end:
            buf += self.s.read(4096)
        assert b">>> " in buf, buf[-500:]
        return buf.decode("utf-8", "replace")

    def line(self, code):
        self.s.write(code.encode() + b"\r\n")
        return self.read_until_prompt()


def test_readme_tuning_session_line_by_line(rig):
    port, _tmp = rig
    lines = _session_lines()
    assert any("set_sweep" in ln for ln in lines), "the session starts the sweep gas"
    repl = Repl(port)
    outputs = {}
    for code in lines:
        out = repl.line(code)
        outputs[code] = out
        assert "Traceback" not in out and "Error" not in out, (code, out)
        time.sleep(1.0)                         # someone typing
    assert "status()" in outputs[lines[0]]        # help() answered
    time.sleep(5)
    repl.line("rig.telemetry(0)")        # rows would break mpremote's raw-REPL replies
    repl.s.close()
    st = _mp(port, "rig.status(); print(rig.log(30))")
    assert st.startswith("run VA flow sp=3.50 L/min"), st
    raised = set(re.findall(r"'(\w+)', 'raised'", st)) - {"POWER_ON"}
    assert not raised, "the README session raised %s:\n%s" % (sorted(raised), st)


def test_autotune_on_the_rig_agrees_with_sim(rig):
    port, _tmp = rig
    sim = _cli(["autotune", "--sim", "--json"])
    res_sim = json.loads(sim.stdout.strip().splitlines()[-1])
    _mp(port, "rig.set_rpm(2871); rig.run()")
    time.sleep(3)
    r = _cli(["autotune", "--port", port, "--bias", "2871", "--json"], timeout=90)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    res_rig = json.loads(r.stdout.strip().splitlines()[-1])
    ratio = res_rig["ku"] / res_sim["ku"]
    assert 0.75 < ratio < 1.33, (res_rig, res_sim)
    assert abs(res_rig["pu_s"] - res_sim["pu_s"]) < 0.35 * res_sim["pu_s"], (res_rig, res_sim)


def test_mip_install_of_a_board_package_gives_a_board_that_runs(rig):
    # `mpremote mip install --target . mip-pico.json` (the README's command, from the local
    # file here; github:<you>/ecmo-rig/mip-pico.json on a board): firmware, main.py and the
    # board file as board.py land; then that flash alone boots (CPython + the fake machine)
    port, tmp = rig
    flash = tmp / "flash"
    r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", port, "resume", "mip",
                        "install", "--target", ".", "mip-pico.json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'NAME = "pico"' in (flash / "board.py").read_text()
    assert (flash / "main.py").exists() and (flash / "ecmo" / "safety" / "supervisor.py").exists()
    code = ("import sys, os; sys.path.insert(0, %r); sys.path.insert(0, %r)\n"
            "import hostshim; hostshim.install(); import machine; machine.sim_reset()\n"
            "g = {'__name__': '__main__'}; exec(open('main.py').read(), g)\n"
            "import ecmo; assert ecmo.__file__.startswith(os.getcwd()), ecmo.__file__\n"
            "print('STATUS', g['rig'].status_line())\n"
            % (str(flash), os.path.join(ROOT, "tools", "sim", "hw")))
    r = subprocess.run([sys.executable, "-c", code], cwd=flash, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ecmo-rig on pico" in r.stdout and "STATUS standby" in r.stdout, r.stdout


def test_repl_tracebacks_look_like_a_boards_and_status_prints_once(rig):
    port, _tmp = rig
    r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", port, "resume", "exec",
                        "rig.set_flow(99)"], capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert "ValueError: flow_lpm must be a number" in out, out
    assert 'File "ecmo/rig.py"' in out, out
    assert "rigboot.py" not in out and "/../" not in out and "tools/sim" not in out, out
    repl = Repl(port)
    text = repl.line("rig.status()")
    repl.s.close()
    assert text.count("standby VA") == 1, text


def test_zero_on_the_simulated_rig_lands_on_its_flash_and_survives_a_reboot(rig):
    # #12 on the pty rig: the REPL's zero waits on the running tick (sleep at the REPL), the
    # offsets are written to the board's flash at once and come back after a reset
    port, tmp = rig
    out = _mp(port, "print(rig.zero('all')); print(rig.zero('flow')); rig.status()")
    assert "'p1':" in out and "'flow':" in out and "zero=p1,p2,p3,flow" in out, out
    saved = json.loads((tmp / "flash" / "settings.json").read_text())["payload"]
    assert sorted(saved["zero"]) == ["flow", "p1", "p2", "p3"], saved["zero"]
    r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", port, "resume", "exec",
                        "rig.reboot()"], capture_output=True, text=True, timeout=20)
    t_end = time.monotonic() + 20
    out = ""
    while time.monotonic() < t_end:
        time.sleep(1)
        try:
            out = _mp(port, "rig.status(); print(rig.calibration()['p1']['offset'])")
            break
        except AssertionError:
            continue
    assert "zero=p1,p2,p3,flow" in out and str(saved["zero"]["p1"][0]) in out, out
    with pytest.raises(AssertionError, match="pump runs"):
        _mp(port, "rig.set_rpm(2500); rig.run(); import time; time.sleep(1); rig.zero('p1')")
