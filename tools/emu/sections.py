# Where the firmware's tick spends its time on the emulated Pico, section by section: each call
# the loop makes (sensor reads, redundancy, control, supervisor, gas side, alarms, annunciator)
# is wrapped from the REPL in a ticks_us() timer, on the real rp2 port, while the rig runs.
# Bytecode-level timing (the image's .elf resolves C functions only: tools/emu/profile.py).
#   python -m tools.emu.sections [--ticks 200] [--setup "rig.mode('flow'); ..."]
# The wrappers add about 15-30 us per wrapped call: compare sections, not the sum, with the
# unwrapped tick (tools/bench/target.py).
import argparse
import shutil
import sys

from tools.emu.scenario import booted_copy

_INSTALL = r"""
import time
_P = {}
def _w0(o, m, k, us=time.ticks_us, df=time.ticks_diff):
    f = getattr(o, m); a = [0, 0, 0]; _P[k] = a
    def w():
        t = us(); r = f(); d = df(us(), t); a[0] += d; a[1] += 1
        if d > a[2]: a[2] = d
        return r
    setattr(o, m, w)
def _w1(o, m, k, us=time.ticks_us, df=time.ticks_diff):
    f = getattr(o, m); a = [0, 0, 0]; _P[k] = a
    def w(x):
        t = us(); r = f(x); d = df(us(), t); a[0] += d; a[1] += 1
        if d > a[2]: a[2] = d
        return r
    setattr(o, m, w)
def _w2(o, m, k, us=time.ticks_us, df=time.ticks_diff):
    f = getattr(o, m); a = [0, 0, 0]; _P[k] = a
    def w(x, y):
        t = us(); r = f(x, y); d = df(us(), t); a[0] += d; a[1] += 1
        if d > a[2]: a[2] = d
        return r
    setattr(o, m, w)
def _w3(o, m, k, us=time.ticks_us, df=time.ticks_diff):
    f = getattr(o, m); a = [0, 0, 0]; _P[k] = a
    def w(x, y, z):
        t = us(); r = f(x, y, z); d = df(us(), t); a[0] += d; a[1] += 1
        if d > a[2]: a[2] = d
        return r
    setattr(o, m, w)
def _wrap(o, m, k, n):
    if o is not None and hasattr(o, m):
        (_w0, _w1, _w2, _w3)[n](o, m, k)
"""

# (object expression on the chip, method, arity)
_SECTIONS = [
    ("rig.loop", "tick", 0),      # loop._timed calls self.tick()
    ("rig.loop.pump", "read", 0),
    ("rig.loop.red", "update", 2),
    ("rig.loop.red", "guards", 0),
    ("rig.loop.control", "update", 3),
    ("rig.loop.control", "track", 1),
    ("rig.loop.sup", "update", 3),
    ("rig.loop.alarms", "update", 1),
    ("rig.loop.alarms", "set", 3),
    ("rig.loop.ann", "show", 3),
    ("rig.loop.ann", "update", 1),
]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.emu.sections")
    ap.add_argument("--ticks", type=int, default=200)
    ap.add_argument("--setup", default="rig.mode('flow'); rig.set_flow(4.0); rig.run(); "
                    "rig.set_sweep(2.0)")
    ap.add_argument("--extra", action="append", default=[],
                    help="more sections: 'expr:method:arity' (e.g. rig.loop.aux[0].safety:update:5)")
    ap.add_argument("--line", action="append", default=[], help="REPL lines run before timing")
    a = ap.parse_args(argv)
    rig = booted_copy("pico", "ecmo_sect_")
    try:
        rig.exec(a.setup, 20000)
        rig.run_for(3000)
        print("[sections] rig running; wrapping", file=sys.stderr, flush=True)
        for ln in a.line:
            print(rig.exec(ln, 20000))
        rig.exec("exec(%r)" % _INSTALL, 20000)
        secs = list(_SECTIONS)
        # every sensor of the loop, and the gas side's parts
        secs += [("rig.loop.sensors[%d]" % i, "read", 0) for i in range(6)]
        secs += [("rig.loop.aux[0]", "tick", 2)]
        for e in a.extra:
            o, m, n = e.rsplit(":", 2)
            secs.append((o, m, int(n)))
        # wrap the inner ones first: the tick wrapper then covers the inner wrappers' cost
        for o, m, n in reversed(secs):
            key = "%s.%s" % (o.replace("rig.loop.", ""), m)
            code = ("try:\n _wrap(%s, %r, %r, %d)\nexcept Exception as e:\n print('skip', %r, e)"
                    % (o, m, key, n, key))
            r = rig.exec("exec(%r)" % code, 20000)
            if r.strip():
                print(r.strip())
        # loop.cb (the timer's) calls self.tick(): the instance attribute, so the wrapper runs
        rig.run_for(a.ticks * 10)
        out = rig.exec("exec(%r)" % "for k in sorted(_P):\n v = _P[k]\n print('SEC', k, v[0], v[1], v[2])", 60000)
    finally:
        rig.close()
        shutil.rmtree(rig.tmpdir, ignore_errors=True)
    rows = []
    for ln in out.splitlines():
        if ln.startswith("SEC "):
            _, k, tot, n, mx = ln.split()
            rows.append((k, int(tot), int(n), int(mx)))
    tick = [r for r in rows if r[0] == "loop.tick"]
    ticks = tick[0][2] if tick else 1
    print("%-36s %9s %7s %9s %9s" % ("section", "us/tick", "calls", "us/call", "max us"))
    for k, tot, n, mx in sorted(rows, key=lambda r: -r[1]):
        print("%-36s %9.0f %7d %9.0f %9d" % (k, tot / max(ticks, 1), n, tot / max(n, 1), mx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
