# pytest plugin: every test_* function in host_tests/fw/test_*.py becomes two items,
# `name[cpython]` (run in this process, with pytest's assertion output) and `name[micropython]`
# (one `micropython fwrun.py <module>` subprocess per file, cached for the session).
# Importing this conftest also makes firmware importable for CPython-only host tests.
import ast
import json
import linecache
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FW_TESTS = os.path.join(HERE, "fw")
RUNTIMES = ("cpython", "micropython")
MP_TIMEOUT_S = 120
MP_HEAP = "16M"    # the unix port's default heap is small for simulator-heavy tests

# A folder of our own for the firmware tests' files (fwtmp.py), before anything reads it: pytest
# workers run side by side, and so may another checkout's suite.
import atexit  # noqa: E402
import tempfile  # noqa: E402
os.environ["ECMO_FWTEST_TMP"] = tempfile.mkdtemp(prefix="ecmo-fwtest-")
atexit.register(shutil.rmtree, os.environ["ECMO_FWTEST_TMP"], True)

sys.path.insert(0, FW_TESTS)
import fwrun  # noqa: E402

fwrun.setup_paths()    # firmware/, boards/, tools/sim/, tools/sim/hw/ + hostshim.install()
import machine  # noqa: E402  (the fake, via the path above)


def micropython_exe():
    # The venv's console script first, so a fresh clone uses the pinned port.
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


class FwFailure(Exception):
    pass


_TB_LINE = re.compile(r'^\s*File "([^"]+)", line (\d+)')


def _with_source(text):
    # MicroPython tracebacks carry no source text; add the line so the failure reads like CPython's.
    out = []
    for line in text.splitlines():
        out.append(line)
        m = _TB_LINE.match(line)
        if m and os.path.exists(m.group(1)):
            src = linecache.getline(m.group(1), int(m.group(2))).strip()
            if src:
                out.append("    " + src)
    return "\n".join(out)


def pytest_pycollect_makemodule(module_path, parent):
    path = str(module_path)
    if os.path.dirname(path) == FW_TESTS:
        return FwFile.from_parent(parent, path=module_path)
    return None


class FwFile(pytest.File):
    def collect(self):
        with open(self.path) as f:
            tree = ast.parse(f.read(), str(self.path))
        names = [n.name for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        for name in names:
            for rt in RUNTIMES:
                yield FwItem.from_parent(self, name="%s[%s]" % (name, rt), func=name, runtime=rt)

    @property
    def modname(self):
        return os.path.splitext(os.path.basename(str(self.path)))[0]


def _run_micropython(config, modname):
    cache = config.stash.setdefault(_MP_CACHE, {})
    if modname in cache:
        return cache[modname]
    exe = micropython_exe()
    if exe is None:
        res = {"crash": "`micropython` not found; run `make venv`"}
    else:
        env = dict(os.environ, MICROPYPATH=".frozen")    # no ~/.micropython/lib surprises
        try:
            p = subprocess.run([exe, "-X", "heapsize=" + MP_HEAP, os.path.join(FW_TESTS, "fwrun.py"),
                                modname], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=MP_TIMEOUT_S)
            res = {"results": {}, "stdout": p.stdout, "stderr": p.stderr, "rc": p.returncode}
            for line in p.stdout.splitlines():
                if line.startswith(fwrun.MARK):
                    r = json.loads(line[len(fwrun.MARK):])
                    res["results"][r["name"]] = r
        except subprocess.TimeoutExpired as e:
            res = {"crash": "micropython timed out after %d s\n%s" % (MP_TIMEOUT_S, e.stderr or "")}
    cache[modname] = res
    return res


_MP_CACHE = pytest.StashKey()


class FwItem(pytest.Item):
    def __init__(self, *, func, runtime, **kw):
        super().__init__(**kw)
        self.func = func
        self.runtime = runtime
        self.add_marker(runtime)

    def runtest(self):
        if self.runtime == "cpython":
            mod = __import__(self.parent.modname)    # assertion-rewritten by pytest's import hook
            machine.sim_reset()
            getattr(mod, self.func)()
            return
        res = _run_micropython(self.config, self.parent.modname)
        if "crash" in res:
            raise FwFailure(res["crash"])
        imp = res["results"].get("<import>")
        if imp:
            raise FwFailure("import failed under MicroPython:\n" + imp["tb"])
        r = res["results"].get(self.func)
        if r is None:
            raise FwFailure("no result from MicroPython (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                            % (res["rc"], res["stdout"][-4000:], res["stderr"][-4000:]))
        if not r["ok"]:
            raise FwFailure("MicroPython traceback:\n" + r["tb"])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, FwFailure):
            return _with_source(str(excinfo.value))
        cut = excinfo.traceback.cut(path=self.path)    # start at the test, not in pytest
        if len(cut):
            excinfo.traceback = cut
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s::%s" % (self.parent.modname, self.name)


def pytest_configure(config):
    for rt in RUNTIMES:
        config.addinivalue_line("markers", "%s: firmware test run under %s" % (rt, rt))


def pytest_terminal_summary(terminalreporter):
    # -q hides item ids; say plainly how each runtime did.
    counts = {}
    for key in ("passed", "failed", "error", "skipped"):
        for rep in terminalreporter.stats.get(key, []):
            item_id = getattr(rep, "nodeid", "")
            for rt in RUNTIMES:
                if item_id.endswith("[%s]" % rt) and rep.when == "call" or (
                        item_id.endswith("[%s]" % rt) and key == "error"):
                    counts.setdefault(rt, {}).setdefault(key, 0)
                    counts[rt][key] += 1
    if counts:
        parts = []
        for rt in RUNTIMES:
            c = counts.get(rt, {})
            parts.append("%s: %s" % (rt, ", ".join("%d %s" % (v, k) for k, v in sorted(c.items()))
                                     or "none"))
        terminalreporter.write_line("firmware tests by runtime -> " + "; ".join(parts))
