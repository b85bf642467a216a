# Target figures: the firmware on the real MicroPython rp2 port in the emulated Pico
# (tools/emu), closed-loop with the simulated world, all at an emulated 125 MHz with I2C wire
# time added by the harness (9 SCL periods per byte: 22.5 us at 400 kHz; rp2040js alone
# completes a byte in no time). Limits of the emulator's timing: docs/emulator.md.
#   python -m tools.bench.target [--seconds S] [--json OUT]
# Run as its own process (it loads the World against the emulated chip). Prints one MARK line
# per figure, as tools/bench/fwbench.py does.
import json
import os
import re
import sys

MARK = "@@bench "
RUNTIME = "rp2040-emu"

# A recorder put in front of the loop's tick from the REPL: tick time and start time per tick,
# in preallocated arrays (no allocation per tick). The heap counter is read only twice, before
# the third recorded tick and after the last: on rp2 gc.mem_alloc() walks the whole allocation
# table (8.4 ms on the emulated Pico), and read after every tick it made each next tick start
# late (the "60 Hz tick with the REPL idle" of the first recordings was this recorder's own).
# The first two ticks overlap the REPL line that installed it and are left out of every figure.
_SKIP = 2
_RECORDER = r"""
import array, gc, time
_N = %d
_D = array.array('i', bytes(4 * _N))
_S = array.array('i', bytes(4 * _N))
_A = array.array('i', bytes(8))
_I = array.array('i', (0, 0))
_L = rig.loop
_T = _L.tick
def _rec(_t=None, _L=_L, _T=_T, _D=_D, _S=_S, _A=_A, _I=_I, _N=_N, us=time.ticks_us, al=gc.mem_alloc):
    i = _I[0]
    if i < _N:
        if i == %d:
            _A[0] = al()
        _S[i] = us() & 0x3FFFFFFF
        _T()
        _D[i] = _L.tick_us
        _I[0] = i + 1
        if i == _N - 1:
            _A[1] = al()
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
    t._fill()          # unlocked: an allocation shows as bytes here (locked it would raise)
    b = al()
    s = us()
    t._fill_row()      # timed as the timer makes it: the heap locked on a board
    d = df(us(), s)
    if len(_RT) < 20:
        _RT.append(d)
        _RA.append(b - a)
_RTT = machine.Timer(-1, period=25, callback=lambda _t: micropython.schedule(_row1, 0) if len(_RT) < 20 else None)
"""

_DUMP = "print('REC', _I[0], list(_D[:_I[0]]), list(_S[:_I[0]]), list(_A), rig.loop.overruns, rig.loop.coalesced if hasattr(rig.loop, 'coalesced') else -1)"


def parse_dump(out):
    # the recorder's dump line: "REC count [tick_us..] [start_us..] [alloc0, alloc1] overruns
    # coalesced" -> (tick_us, start_us, (alloc0, alloc1), overruns)
    import ast
    import re
    # a telemetry row the firmware sends while the dump prints lands inside it, whole: the
    # USB stream interleaves the two writers line-wise only by luck (2026-12-04: mid-list)
    out = re.sub(r"TLM [^\r\n]*\r?\n", "", out)
    i = out.index("REC ")
    parts = out[i + 4:].strip()
    head, rest = parts.split(" ", 1)
    lists = []
    for _ in range(3):
        j = rest.index("]") + 1
        lists.append(ast.literal_eval(rest[:j].strip()))
        rest = rest[j:]
    tail = rest.split()
    return lists[0], lists[1], lists[2], int(tail[0])


def window_figures(d, s, a, skip=_SKIP):
    # figures of one recording: tick times and start-to-start gaps from the tick `skip` on, and
    # the heap counter's two reads (before tick `skip`, after the last tick): bytes per tick,
    # or a collection if the count fell
    ticks = len(d) - skip
    grew = a[1] - a[0]
    return {
        "ticks": ticks,
        "tick_us": d[skip:],
        # the tick `skip` starts after the heap read (late): gaps from the one after it
        "period_us": [((s[i + 1] - s[i]) & 0x3FFFFFFF) for i in range(skip + 1, len(s) - 1)],
        "collections": 1 if grew < 0 else 0,
        "alloc_per_tick": (grew // ticks if ticks > 0 else None) if grew >= 0 else None,
    }


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
        # (asked of the image file, not the chip: a REPL line here would move the tick figures):
        # frozen means this very tree is in the image (tools/image.py), so deploy copied no .mpy
        from tools import image, uf2
        with open(os.environ["ECMO_RP2_FIRMWARE"], "rb") as f:
            data = f.read()
        if data[:4] == b"UF2\n":
            data = uf2.to_bin(data)
        frozen = image.tree_hash().encode() in data
        self.put("target.heap.free_after_boot", free, "B",
                 "firmware %s, rig built, before setup; %d B used"
                 % ("frozen into the image (tools/image.py)" if frozen else "as .mpy files", used))
        self.put("target.heap.free_pct_after_boot", round(100.0 * free / (free + used), 1), "%")
        self.ex("rig.mode('flow'); rig.set_flow(4.0); rig.run(); rig.save()")
        r.run_for(3000)
        if hasattr(r.board, "GAS"):
            self.ex("rig.set_sweep(2.0); rig.save()")
        r.run_for(2000)

    def record(self, n, busy=None):
        # n ticks with the recorder in front of the tick; busy: a REPL line run meanwhile
        self.ex(_RECORDER % (n, _SKIP))
        if busy:
            self.ex(busy, ms=60000)
        self.rig.run_for(n * 10 + 100 if not busy else 50)
        for _ in range(20):        # every tick recorded (the heap's end count is after the last)
            if int(self.ex("print(_I[0])").split()[-1]) >= n:
                break
            self.rig.run_for(500)
        out = self.ex(_DUMP, ms=60000)
        d, s, a, overruns = parse_dump(out)
        self.ex("rig.loop.tick = _T")
        return d, s, a, overruns

    def tick_figures(self, tag, n, busy=None, note=""):
        d, s, a, overruns = self.record(n, busy)
        f = window_figures(d, s, a)
        self.put("target.gc.collections.%s" % tag, f["collections"], "collections",
                 "gc.mem_alloc() lower after the last tick than before the third: at least one "
                 "collection (0: none) in %d ticks" % f["ticks"])
        self.put("target.tick.%s.overruns" % tag, overruns, "ticks", "loop.overruns since boot")
        d = f["tick_us"]
        self.put("target.tick.%s.median_us" % tag, _pct(d, 50), "us", note)
        self.put("target.tick.%s.p99_us" % tag, _pct(d, 99), "us", note)
        self.put("target.tick.%s.max_us" % tag, max(d), "us", note)
        self.put("target.tick.%s.over_period" % tag, sum(1 for x in d if x > 10000), "ticks",
                 "of %d" % len(d))
        return f

    def run(self, seconds):
        n = int(seconds * 100)
        self.boot()
        f = self.tick_figures("whole.repl_idle", n, note="blood + gas side, REPL at its prompt")
        gaps = f["period_us"]
        self.put("target.tick.period_median_us", _pct(gaps, 50), "us", "REPL idle")
        self.put("target.tick.period_min_us", min(gaps), "us")
        self.put("target.tick.period_max_us", max(gaps), "us")
        self.put("target.alloc.heap_per_tick_median_B", f["alloc_per_tick"], "B",
                 "gc.mem_alloc() after the last tick minus before the third, per tick, REPL idle "
                 "(includes anything else running; None if a collection fell in the window)")
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
        self.rows_figures()
        out = self.ex("import time, gc; t = time.ticks_us(); gc.collect(); "
                      "print(time.ticks_diff(time.ticks_us(), t), gc.mem_free(), gc.mem_alloc())")
        g, free, used = (int(x) for x in out.split()[-3:])
        self.put("target.gc.collect_us", g, "us", "rig running, %d B live" % used)
        self.put("target.heap.free_pct_running", round(100.0 * free / (free + used), 1), "%")
        self.latency()

    def rows_figures(self):
        # one row as the timer makes it: _fill_row() inside a scheduled callback (no tick can
        # interleave), timed and its allocation counted there; 20 rows, median and max
        shown = self.ex("print(rig.al.codes())").strip()     # alarm names make a row longer
        self.ex(_ROWTIME)
        self.rig.run_for(600)
        out = self.ex("_RTT.deinit(); print('ROWS', sorted(_RT), sorted(_RA))")
        import ast
        i = out.index("ROWS ")
        rt_s, ra_s = out[i + 5:].strip().split("] [")
        rt = ast.literal_eval(rt_s + "]")
        ra = ast.literal_eval("[" + ra_s)
        self.put("target.telemetry.row_us", _pct(rt, 50), "us",
                 "Telemetry._fill_row() in a scheduled callback (the heap locked on a board), median of %d (max %d); alarms shown %s"
                 % (len(rt), max(rt), shown))
        self.put("target.telemetry.row_max_us", max(rt), "us")
        self.put("target.telemetry.row_alloc_B", max(ra), "B", "gc.mem_alloc() around an unlocked _fill(), worst")

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

    # ---- a long run: telemetry at 10 rows/s and the REPL in use, counted by the loop itself ----
    def long(self, seconds, every_s=5):
        # issue 14's "no overrun over 10 minutes": the loop's own counters over the window
        # (overruns: a tick longer than its period; late: started 1.5 periods after the last;
        # coalesced: timer calls dropped after a hold-off), telemetry rows sent/dropped/blocked,
        # with a status line typed at the REPL every every_s seconds (it compiles and prints)
        r = self.rig
        self.ex("rig.telemetry(10)")
        r.run_for(1000)
        c0 = self._counters()
        self.ex("rig.loop.max_tick_us = 0")
        t0 = r.now_us()
        # (telemetry is on: a row may land beside any printed line, so each is marked)
        t0_ms = int(re.search(r"T0 (\d+)", self.ex("import time; print('T0', time.ticks_ms())"))
                    .group(1))
        lines = 0
        left = int(seconds * 1000)
        seen = c0["overruns"]
        when = []       # (last overrun, ms after the start) for each window that had one
        while left > 0:
            step = min(left, every_s * 1000)
            r.run_for(step)
            left -= step
            out = self.ex("rig.status(); print('OVR', rig.loop.overruns, rig.loop.overrun_at_ms)")
            lines += 1
            m = re.search(r"OVR (\d+) (\d+)", out)
            if m:
                n, at = int(m.group(1)), int(m.group(2))
                if n != seen:
                    when.append((n - seen, ((at - t0_ms) & 0x3FFFFFFF)))
                    seen = n
        c1 = self._counters()
        span = (r.now_us() - t0) / 1e6
        self.ex("rig.telemetry(0)")
        d = dict((k, c1[k] - c0[k]) for k in c0 if k != "max_tick_us")
        note = "%.1f s emulated, telemetry 10 rows/s, rig.status() typed every %d s (%d lines)" % (
            span, every_s, lines)
        self.put("target.long.seconds", round(span, 1), "s", note)
        self.put("target.long.ticks", d["n"], "ticks")
        self.put("target.long.overruns", d["overruns"], "ticks", "ticks longer than the period; "
                 "per 5 s window that had any: (count, last at ms after the start) %r" % (when,))
        self.put("target.long.late", d["late"], "ticks", "ticks started > 1.5 periods after the last")
        self.put("target.long.coalesced", d["coalesced"], "calls", "timer calls dropped after a hold-off")
        self.put("target.long.errors", d["errors"], "ticks")
        self.put("target.long.max_tick_us", c1["max_tick_us"], "us")
        self.put("target.long.rows", d["rows"], "rows", "telemetry rows sent")
        self.put("target.long.rows_dropped", d["dropped"], "rows")
        self.put("target.long.rows_blocked", d["blocked"], "rows")

    def _counters(self):
        out = self.ex("_l = rig.loop; _t = rig.tlm; print('CNT', _l.n, _l.overruns, _l.late, "
                      "_l.coalesced, _l.errors, _l.max_tick_us, _t.rows, _t.dropped, _t.blocked)")
        v = [int(x) for x in out[out.index("CNT ") + 4:].split()[:9]]
        return dict(zip(("n", "overruns", "late", "coalesced", "errors", "max_tick_us", "rows",
                         "dropped", "blocked"), v))

    # ---- single calls of the hot path, each timed inside a scheduled callback ----
    def calls(self):
        self.ex(_CALLTIME)
        self.rig.run_for(1500)
        out = self.ex("_CT.deinit(); print('CALLS', repr(_CR))")
        import ast
        res = ast.literal_eval(out[out.index("CALLS ") + 6:].strip())
        for name, (_e, k, what) in sorted(_CALLS.items()):
            ts = sorted(res.get(name, []))
            if not ts:
                self.put("target.call.%s_us" % name, None, "us", "not run: %r" % res.get("err"))
                continue
            self.put("target.call.%s_us" % name, round(ts[len(ts) // 2] / float(k), 1), "us",
                     "%s; median of %d batches of %d calls (max %.1f), an empty loop subtracted"
                     % (what, len(ts), k, ts[-1] / float(k)))


# single calls: name -> (expression, calls per batch, what it is); timed with the rig running,
# from a scheduled callback (no tick interleaves), minus an empty loop of the same count
_CALLS = {
    "flow_mlpm": ("_m.flow_mlpm(_w, _h + (_i & 7) - 3)", 20,
                  "PumpMap.flow_mlpm at the operating point, head +-3 (0.1 mmHg)"),
    "crc_word": ("_wo(_cb, 0)", 20, "sensirion.word_ok on one word (2 bytes + CRC)"),
    "fill": ("_tl._fill_row()", 1, "Telemetry._fill_row(): one row"),
}

_CALLTIME_HEAD = r"""
import machine, micropython, time
from ecmo.drivers.sensirion import word_ok as _wo
_cb = bytearray(b'\xbe\xef\x92')
_m = rig.loop.red.map
_r = rig.loop.red
_tl = rig.tlm
_CR = {}
def _c1(_a, us=time.ticks_us, df=time.ticks_diff):
    try:
        _h = _r.p2.value - _r.p1.value
        _w = _r.rpm
"""
_CALLTIME_ONE = r"""
        t = us()
        for _i in range(%d):
            _h + (_i & 7) - 3
        e = df(us(), t)
        t = us()
        for _i in range(%d):
            %s
        d = df(us(), t) - e
        if len(_CR.setdefault(%r, [])) < 20:
            _CR[%r].append(d)
"""
_CALLTIME_TAIL = r"""
    except Exception as e:
        _CR['err'] = repr(e)
_CT = machine.Timer(-1, period=50, callback=lambda _t: micropython.schedule(_c1, 0))
"""
_CALLTIME = _CALLTIME_HEAD + "".join(_CALLTIME_ONE % (k, k, expr, name, name)
                                     for name, (expr, k, _w) in sorted(_CALLS.items())) + _CALLTIME_TAIL


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="python -m tools.bench.target", description=(
        "Target figures: the firmware on the real rp2 port in the emulated Pico (env "
        "ECMO_RP2_FIRMWARE, ECMO_RP2_BOOTROM). Prints one '@@bench {json}' line per figure."))
    ap.add_argument("--seconds", type=float, default=3.0,
                    help="length of each tick recording, emulated seconds (default 3)")
    ap.add_argument("--json", metavar="OUT", help="write the figures to OUT as a JSON list")
    ap.add_argument("--long", type=float, metavar="S", default=0,
                    help="then a long run of S emulated seconds: telemetry at 10 rows/s, "
                         "rig.status() typed every 5 s; the loop's overrun/late counters over it")
    ap.add_argument("--rows-only", action="store_true",
                    help="after boot only the single-call timings (flow estimate, CRC word, "
                         "telemetry row) and the telemetry row figures (then --long if given)")
    ap.add_argument("--calls", action="store_true",
                    help="add the single-call timings (target.call.*) to a full run")
    a = ap.parse_args(argv)
    t = Target(lambda m: print(m, file=sys.stderr))
    try:
        if a.rows_only:
            t.boot()
            t.calls()
            t.rows_figures()
        else:
            t.run(a.seconds)
            if a.calls:
                t.calls()
        if a.long:
            t.long(a.long)
    finally:
        t.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(t.rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
