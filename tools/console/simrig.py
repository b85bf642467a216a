# `console --sim`: the simulated rig (tools/rigpty.py, the firmware on the MicroPython unix port in
# the simulated world) as a child process behind its pseudo-terminal; the console opens that path
# as it would a board's port. The child's own scratch flash is removed when it stops.
# `console --emu`: the same with the emulated Pico (tools/emu: the real rp2 image on rp2040js,
# the firmware deployed to it first, so it takes longer to come up).
import os
import subprocess
import sys
import tempfile
import time

from tools.rigpty import READY

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_S = 30.0


EMU_START_S = 300.0


def start(board="pico", profile="VA", seed=1):
    cmd = [sys.executable, "-m", "tools.rigpty", "--board", board, "--profile", profile,
           "--seed", str(seed)]
    return _start(cmd, READY, START_S, "the simulated rig")


def start_emu(profile="VA", seed=1):
    try:
        from tools.emu.__main__ import READY as EMU_READY
    except ImportError:
        raise SystemExit("console: the emulated Pico (tools/emu) is not in this checkout")
    cmd = [sys.executable, "-m", "tools.emu", "--profile", profile, "--seed", str(seed)]
    return _start(cmd, EMU_READY, EMU_START_S, "the emulated Pico")


def _start(cmd, ready, start_s, what):
    # its output goes to a file, not a pipe nobody drains later
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    t_end = time.monotonic() + start_s
    while time.monotonic() < t_end and proc.poll() is None:
        log.seek(0)
        for line in log.read().splitlines():
            if line.startswith(ready):
                return proc, line[len(ready):].strip()
        time.sleep(0.05)
    stop(proc)
    log.seek(0)
    raise SystemExit("console: %s did not start:\n%s" % (what, log.read()[-2000:]))


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
