# Target figures: the firmware on the real MicroPython rp2 port in the emulated Pico
# (tools/emu), closed-loop with the simulated world, all at an emulated 125 MHz with I2C wire
# time added by the harness (9 SCL periods per byte: 22.5 us at 400 kHz; rp2040js alone
# completes a byte in no time). Limits of the emulator's timing: docs/emulator.md.
#   python -m tools.bench.target [--seconds S] [--json OUT]
# Run as its own process (it loads the World against the emulated chip). Prints one MARK line
# per figure, as tools/bench/fwbench.py does.
import json
import sys

MARK = "@@bench "
RUNTIME = "rp2040-emu"

# A recorder put in front of the loop's tick from the REPL: tick time, start time and the
# heap counter per tick, in preallocated arrays (no allocation per tick).
_RECORDER = r"""
import array, gc, time
_N = %d
_D = array.array('i', bytes(4 * _N))
_S = array.array('i', bytes(4 * _N))
_A = array.array('i', bytes(4 * _N))
_I = array.array('i', (0, 0))
_L = rig.loop
_T = _L.tick
def _rec(_t=None, _L=_L, _T=_T, _D=_D, _S=_S, _A=_A, _I=_I, _N=_N, us=time.ticks_us, al=gc.mem_alloc):
    i = _I[0]
    if i < _N:
        _S[i] = us() & 0x3FFFFFFF
        _T()
        _D[i] = _L.tick_us
        _A[i] = al()
        _I[0] = i + 1
    else:
        _T()
_L.tick = _rec
"""

_ROWTIME = r"""
import gc, machine, micropython, time
_RT = []
_RA = []
def _row1(_a, us=time.ticks_us, df=time.ticks_diff, al=gc.mem_alloc, t=rig.tlm):
    a = al()
    s = us()
    t._fill()
    d = df(us(), s)
    b = al()
    if len(_RT) < 20:
        _RT.append(d)
        _RA.append(b - a)
_RTT = machine.Timer(-1, period=25, callback=lambda _t: micropython.schedule(_row1, 0) if len(_RT) < 20 else None)
"""

_DUMP = "print('REC', _I[0], list(_D[:_I[0]]), list(_S[:_I[0]]), list(_A[:_I[0]]), rig.loop.overruns, rig.loop.coalesced if hasattr(rig.loop, 'coalesced') else -1)"


def _pct(xs, p):
    s = sorted(xs)
    if not s:
        return None
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


class Target:
    def __init__(self, log):
        from tools.emu.scenario import deployed_flash
        from tools.emu.rig import EmuRig
        import shutil
        import os
        import tempfile
        self.log = log
        src = deployed_flash("pico", log)
        self._tmp = tempfile.mkdtemp(prefix="ecmo_bench_emu_")
        flash = os.path.join(self._tmp, "flash.bin")
        shutil.copy(src, flash)
        self.rig = EmuRig("pico", "VA", 1, None, True, flash_file=flash)
        self.rig.keep_edges = True
        self.rows = []

    def close(self):
        import shutil
        self.rig.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def put(self, name, value, unit, note=""):
        r = {"name": name, "value": value, "unit": unit, "runtime": RUNTIME}
        if note:
            r["note"] = note
        self.rows.append(r)
        print(MARK + json.dumps(r), flush=True)

    def ex(self, line, ms=20000):
        if "\n" in line:
            line = "exec(%r)" % line      # one line at the prompt: no auto-indent to fight
        out = self.rig.exec(line, ms)
        if "Traceback" in out:
            raise RuntimeError("%s -> %s" % (line[:60], out))
        return out

    def boot(self):
        r = self.rig
        r.run_for(1500)
        r.send(b"\r")
        r.wait_for(b">>> ", 8000)
        out = self.ex("import gc; gc.collect(); print(gc.mem_free(), gc.mem_alloc())").split()
        free, used = int(out[0]), int(out[1])
        self.put("target.heap.free_after_boot", free, "B",
                 "firmware as .mpy files, rig built, before setup; %d B used" % used)
        self.put("target.heap.free_pct_after_boot", round(100.0 * free / (free + used), 1), "%")
        self.ex("rig.mode('flow'); rig.set_flow(4.0); rig.run(); rig.save()")
        r.run_for(3000)
        if hasattr(r.board, "GAS"):
            self.ex("rig.set_sweep(2.0); rig.save()")
        r.run_for(2000)

    def record(self, n, busy=None):
        # n ticks with the recorder in front of the tick; busy: a REPL line run meanwhile
        self.ex(_RECORDER % n)
        if busy:
            self.ex(busy, ms=60000)
        else:
            self.rig.run_for(n * 10 + 50)
        out = self.ex(_DUMP, ms=60000)
        i = out.index("REC ")
        import ast
        parts = out[i + 4:].strip()
        # "count [..] [..] [..] overruns coalesced"
        head, rest = parts.split(" ", 1)
        lists = []
        for _ in range(3):
            j = rest.index("]") + 1
            lists.append(ast.literal_eval(rest[:j].strip()))
            rest = rest[j:]
        tail = rest.split()
        self.ex("rig.loop.tick = _T")
        return lists[0], lists[1], lists[2], int(tail[0])

    def tick_figures(self, tag, n, busy=None, note=""):
        d, s, a, overruns = self.record(n, busy)
        # a fall of gc.mem_alloc() between tick ends is a garbage collection meanwhile
        self.put("target.gc.collections.%s" % tag, sum(1 for i in range(2, len(a) - 1)
                                                       if a[i + 1] < a[i]), "collections",
                 "in %d ticks" % (len(a) - 3))
        self.put("target.tick.%s.overruns" % tag, overruns, "ticks", "loop.overruns since boot (boot has some)")
        d = d[2:]         # the first calls overlap the REPL line that installed the recorder
        self.put("target.tick.%s.median_us" % tag, _pct(d, 50), "us", note)
        self.put("target.tick.%s.p99_us" % tag, _pct(d, 99), "us", note)
        self.put("target.tick.%s.max_us" % tag, max(d), "us", note)
        self.put("target.tick.%s.over_period" % tag, sum(1 for x in d if x > 10000), "ticks",
                 "of %d" % len(d))
        return d, s, a

    def run(self, seconds):
        n = int(seconds * 100)
        self.boot()
        d, s, a = self.tick_figures("whole.repl_idle", n, note="blood + gas side, REPL at its prompt")
        gaps = [((s[i + 1] - s[i]) & 0x3FFFFFFF) for i in range(2, len(s) - 1)]
        self.put("target.tick.period_median_us", _pct(gaps, 50), "us", "REPL idle")
        self.put("target.tick.period_min_us", min(gaps), "us")
        self.put("target.tick.period_max_us", max(gaps), "us")
        allocs = [a[i + 1] - a[i] for i in range(2, len(a) - 1) if a[i + 1] >= a[i]]
        self.put("target.alloc.heap_per_tick_median_B", _pct(allocs, 50), "B",
                 "gc.mem_alloc() between tick ends, REPL idle (includes anything else running)")
        # a REPL loop for the recorder's whole window, bounded by emulated time (a loop of a
        # fixed count starves when the tick takes most of the CPU)
        busy = ("import time\nx = 0\n_t0 = time.ticks_ms()\nwhile time.ticks_diff(time.ticks_ms(), _t0) < %d:\n"
                "    x += 1\n" % (n * 10 + 50))
        self.tick_figures("whole.repl_busy", n, busy=busy,
                          note="the REPL running a loop meanwhile")
        self.ex("_aux = rig.loop.aux; rig.loop.aux = ()")
        self.tick_figures("blood.repl_idle", n, note="gas side off (loop.aux empty)")
        self.ex("rig.loop.aux = _aux")
        self.ex("rig.telemetry(10)")
        self.rig.run_for(500)
        self.tick_figures("whole.telemetry10", n, note="10 telemetry rows/s to the USB port")
        self.ex("rig.telemetry(0)")
        self.rig.run_for(200)
        # one row as the timer makes it: _fill() inside a scheduled callback (no tick can
        # interleave), timed and its allocation counted there; 20 rows, median and max
        self.ex(_ROWTIME)
        self.rig.run_for(600)
        out = self.ex("_RTT.deinit(); print('ROWS', sorted(_RT), sorted(_RA))")
        import ast
        i = out.index("ROWS ")
        rt_s, ra_s = out[i + 5:].strip().split("] [")
        rt = ast.literal_eval(rt_s + "]")
        ra = ast.literal_eval("[" + ra_s)
        self.put("target.telemetry.row_us", _pct(rt, 50), "us",
                 "Telemetry._fill() in a scheduled callback, median of %d (max %d)" % (len(rt), max(rt)))
        self.put("target.telemetry.row_max_us", max(rt), "us")
        self.put("target.telemetry.row_alloc_B", max(ra), "B", "gc.mem_alloc() around _fill(), worst")
        out = self.ex("import time, gc; t = time.ticks_us(); gc.collect(); "
                      "print(time.ticks_diff(time.ticks_us(), t), gc.mem_free(), gc.mem_alloc())")
        g, free, used = (int(x) for x in out.split()[-3:])
        self.put("target.gc.collect_us", g, "us", "rig running, %d B live" % used)
        self.put("target.heap.free_pct_running", round(100.0 * free / (free + used), 1), "%")
        self.latency()

    def latency(self):
        r = self.rig
        b = r.board
        w = r.world
        en, cl = b.PUMP["enable"], b.CLAMP["pin"]
        for what in ("estop", "air"):
            self.ex("rig.ack(); rig.restart()") if what == "air" else None
            r.run_for(1500)
            r.edges = []
            t0 = r.now_us()
            c0 = r.chip.cycles
            if what == "estop":
                w.set_estop(True)
            else:
                w.sensor_fault("bubble", "short")      # the detector reads air from now on
            r.run_for(50)
            e_en = [e for e in r.edges if e[0] == en and e[1] == 1 - b.PUMP["enable_level"]]
            e_cl = [e for e in r.edges if e[0] == cl and e[1] == b.CLAMP["closed_level"]]
            if e_en:
                self.put("target.latency.%s.enable_us" % what, round(e_en[0][2] - t0, 1), "us",
                         "pin edge -> pump enable low")
                self.put("target.latency.%s.enable_cycles" % what, e_en[0][3] - c0, "cycles")
            else:
                self.put("target.latency.%s.enable_us" % what, None, "us", "no enable edge seen")
            if e_cl:
                self.put("target.latency.%s.clamp_us" % what, round(e_cl[0][2] - t0, 1), "us",
                         "pin edge -> clamp closed")
                self.put("target.latency.%s.clamp_cycles" % what, e_cl[0][3] - c0, "cycles")
            if what == "estop":
                w.set_estop(False)
            else:
                w.sensor_fault("bubble", None)


def main(argv):
    seconds = 3.0
    if "--seconds" in argv:
        seconds = float(argv[argv.index("--seconds") + 1])
    t = Target(lambda m: print(m, file=sys.stderr))
    try:
        t.run(seconds)
    finally:
        t.close()
    if "--json" in argv:
        with open(argv[argv.index("--json") + 1], "w") as f:
            json.dump(t.rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
