# Test helpers for the bench console (tools/console): a headless Chromium from the distribution's
# packages (installed here where it is missing and this is a Debian/Ubuntu machine run as root,
# as on CI), driven by Playwright with that executable (Playwright's own browser download is not
# used), and `ecmo console` started as a child process and stopped again by its id.
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENS = os.path.join(ROOT, "out", "console-tests")
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _found():
    for p in CHROMIUM:
        if os.path.exists(p):
            return p
    return None


def chromium():
    # the browser's path, installing Debian's package first where that can be done; else skip
    path = _found()
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("no Chromium and no way to install it here (needs root and apt-get)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if p.returncode:
            pytest.skip("could not install Chromium (%s): %s" % (" ".join(cmd), p.stderr[-300:]))
    path = _found()
    if not path:
        pytest.skip("apt-get installed no chromium executable")
    return path


def launch(pw):
    # --no-sandbox: the tests run as root on CI, where Chromium's sandbox refuses to start
    return pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def descendants(pid):
    out = []
    for c in _children(pid):
        out.append(c)
        out += descendants(c)
    return out


class Console:
    # `python -m tools.cli console ARGS` with the web port chosen by the system; .url once ready
    def __init__(self, args, tmp_path, timeout=60):
        self.log_path = os.path.join(str(tmp_path), "console-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "console", "--http-port",
                                      "0"] + list(args), cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.url = None
        self.token_line = None
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end and self.proc.poll() is None:
            text = self.text()
            for line in text.splitlines():
                if line.startswith("ecmo console on "):
                    self.url = line.split()[3]
                if "#token=" in line:
                    self.token_line = line
            if self.url:
                break
            time.sleep(0.05)
        if not self.url:
            out = self.text()
            self.stop()
            raise AssertionError("console did not start:\n" + out)
        self.kids = descendants(self.proc.pid)     # the simulated rig, for the link-loss test

    def text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        kids = descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.terminate()          # SIGTERM: the console stops its simulated rig itself
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in kids:                   # anything it left behind, by id
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def wait_until(fn, timeout, step=0.05):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()
