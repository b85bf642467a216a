# How deep REPL code may nest before the tick (whose frames sit on the C stack: ecmo/loop.py)
# and the pin handlers run out of stack, on the real rp2 port in the emulated Pico: a REPL
# function recurses N calls deep and spins 60 ms there while the rig runs (flow mode), then the
# loop's counters say what the ticks of those 60 ms did.
#   python -m tools.emu.stackdepth [--depths 0,10,18,19,20,22]
# Per depth: micropython.stack_use() at the bottom, ticks completed, ticks that raised (their
# fail-safe held the pump), ticks lost (the fail-safe raised too), and at the end the pin
# handlers the loop re-armed (a hard handler that raised is disabled by the port).
import argparse
import shutil
import sys

from tools.emu.scenario import booted_copy

_DEEP = r"""
import time, micropython
_SU = [0]
def _deep(n):
    if n:
        return _deep(n - 1)
    _SU[0] = micropython.stack_use()
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < 60:
        pass
    return 0
def _probe(n):
    L = rig.loop
    e0, n0, l0 = L.errors, L.n, L.lost
    try:
        _deep(n)
        r = 'ok'
    except RuntimeError:
        r = 'repl_raised'
    print('DEPTH', n, _SU[0], L.n - n0, L.errors - e0, L.lost - l0, r)
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depths", default="0,10,16,18,19,20,22")
    a = ap.parse_args(argv)
    rig = booted_copy("pico", "ecmo_stack_")
    try:
        rig.exec("rig.mode('flow'); rig.set_flow(4.0); rig.run(); rig.set_sweep(2.0)", 20000)
        rig.run_for(2000)
        rig.exec("import gc; gc.collect()", 20000)     # the boot's garbage: room to compile
        rig.exec("exec(%r)" % _DEEP, 20000)
        print("depth  stack_use_B  ticks_done  ticks_raised  ticks_lost  repl")
        for n in [int(x) for x in a.depths.split(",")]:
            out = rig.exec("_probe(%d)" % n, 60000)
            line = [ln for ln in out.splitlines() if ln.startswith("DEPTH ")]
            if not line:
                print("%5d  (no answer: %r)" % (n, out[-200:]))
                continue
            f = line[0].split()
            print("%5s  %11s  %10s  %12s  %10s  %s" % tuple(f[1:7]))
        rig.run_for(500)
        print(rig.exec("print('after: pin handlers re-armed', rig.loop.irq_rearmed, "
                       "'alarms', rig.al.codes())", 20000).strip())
    finally:
        rig.close()
        shutil.rmtree(rig.tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
