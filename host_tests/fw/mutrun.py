# Runs chosen firmware test functions for the mutation runner (tools/mutate.py), in either runtime:
#   micropython host_tests/fw/mutrun.py SPECFILE
# SPECFILE holds lines like `test_pid:test_ramp,test_windup` (a file, because the unix port
# crashes on a command-line argument of 256 characters or more).
# Stops at the first failure (exit 1, after a `KILLED module test` line: tools/mutate.py counts a
# kill only then; any other failure is a runner error); exit 0 when every named test passed. No pytest, so a
# mutant costs the tests that cover it and little more.
import sys
import fwrun


def run(specs):
    import gc
    import machine
    for spec in specs:
        modname, _, funcs = spec.partition(":")
        try:
            mod = __import__(modname)
        except BaseException as e:   # the mutant broke the import (its module-level code): a kill
            print("KILLED", modname, "<import>", repr(e))
            return 1
        for n in funcs.split(","):
            machine.sim_reset()
            gc.collect()
            try:
                getattr(mod, n)()
            except BaseException as e:   # a mutant may raise anything; all of it is a kill
                print("KILLED", modname, n, repr(e))
                return 1
    return 0


def coverage_map(modnames, out):
    # CPython only: one coverage context per test function, written as JSON lines
    # {"test": "mod:func", "s": seconds, "lines": {"firmware/...py": [..]}}.
    import json
    import os
    import time
    import coverage
    import machine
    import gc
    root = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    fw = os.path.join(root, "firmware")
    with open(out, "w") as f:
        for modname in modnames:
            cov = coverage.Coverage(source=[fw], data_file=None)
            cov.start()
            mod = __import__(modname)
            names = sorted(n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n)))
            cov.stop()
            for n in names:
                cov.erase()
                machine.sim_reset()
                gc.collect()
                t0 = time.time()
                cov.start()
                ok = True
                try:
                    getattr(mod, n)()
                except BaseException:
                    ok = False
                cov.stop()
                data = cov.get_data()
                lines = {}
                for p in data.measured_files():
                    lines[os.path.relpath(p, root)] = sorted(data.lines(p) or ())
                f.write(json.dumps({"test": modname + ":" + n, "ok": ok,
                                    "s": round(time.time() - t0, 3), "lines": lines}) + "\n")


if __name__ == "__main__":
    fwrun.setup_paths()
    if sys.argv[1:2] == ["--map"]:
        coverage_map(sys.argv[3:], sys.argv[2])
        sys.exit(0)
    with open(sys.argv[1]) as f:
        specs = [ln.strip() for ln in f if ln.strip()]
    sys.exit(run(specs))
