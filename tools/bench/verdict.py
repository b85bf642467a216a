# The short verdict table `make bench` ends with: each headline figure against its target, with
# PASS / MISS, and a note where a figure needs one to be read right. Targets are ours, chosen
# from the loop's 10 ms period and the board's memory (docs/bench.md); a figure whose row
# carries its own "target" (a number, as a maximum) uses that instead.
PERIOD_US = 10000       # 100 Hz tick

# (figure, runtime, "<=" | ">=" | "==", target, why / how to read it)
TARGETS = [
    ("tick.median_us", "micropython", "<=", 1000, "typical tick on the host: 10 % of a period"),
    ("tick.p99_us", "micropython", "<=", PERIOD_US // 2, "half a period (on a busy host: "
     "the OS scheduler too)"),
    ("tick.max_us", "micropython", "<=", PERIOD_US, "MAX_NOTE"),
    ("rp2040.tick_us_mid", "estimate", "<=", PERIOD_US // 2, "Pico estimate: half the "
     "period left for REPL and telemetry"),
    ("alloc.tick_bytes_per_tick", "micropython", "==", 0, "no allocation in the tick"),
    ("alloc.*_per_call", "micropython", "==", 0, "driver reads and IRQ handlers allocate "
     "nothing"),
    ("latency.air_ticks", None, "==", 0, "pump off, clamp closed inside the pin IRQ"),
    ("latency.estop_ticks", None, "==", 0, "pump off, clamp closed inside the pin IRQ"),
    ("latency.s*_ticks", None, "<=", 3, "suction and sensor faults: within debounce + 1"),
    ("latency.pressure_ticks", None, "<=", 3, "over-pressure: within debounce + 1"),
    ("quality.*.overshoot_pct.vs_simple_pid", "cpython", "<=", 10, "the autotune check's limit"),
    ("quality.*.settle_s.vs_simple_pid", "cpython", "<=", 5, "the autotune check's limit"),
    ("quality.*.iae_ratio", "cpython", "<=", 0.7, "issue 11: disturbance IAE vs simple-pid "
     "behind the same supervisor (iae_bound_ratio: the best possible)"),
    ("gc.pause_max_us", "micropython", "<=", PERIOD_US // 10, "a GC pause: under a tenth of "
     "a period"),
    ("heap.after_boot_32bit_estimate", "estimate", "<=", 32768, "RAM after boot; mostly "
     "bytecode, in flash if frozen"),
    ("mpy.armv6m.total", "armv6m", "<=", 200000, "fits the Pico's filesystem with room"),
    ("scale.f1_rp2040_channels_at_100Hz", "estimate", ">=", 6, "headroom: 6 pressure "
     "channels at 100 Hz"),
]

MAX_NOTE = ("a max longer than a period is not the firmware's cost: over 10,000 ticks on a "
            "shared 2-core host the process is preempted (median and p99 are the cost). On a "
            "board a late tick is caught: the timer's next callback waits, the loop counts an "
            "overrun and, past its limit, alarms (H09); the watchdog resets a hung loop")


def _match(pattern, name):
    if "*" not in pattern:
        return pattern == name
    a, b = pattern.split("*", 1)
    return name.startswith(a) and name.endswith(b) and len(name) >= len(a) + len(b)


def _ok(op, v, t):
    return v == t if op == "==" else (v <= t if op == "<=" else v >= t)


def verdicts(rows):
    # one line per target: [(label, value, op, target, ok, note)]; a pattern (or a target for
    # both runtimes) reports its worst figure and how many it covers
    out = []
    for pat, rt, op, target, why in TARGETS:
        hit = [r for r in rows if _match(pat, r["name"]) and (rt is None or r["runtime"] == rt)]
        if not hit:
            continue
        if len(hit) == 1 and "target" in hit[0]:
            op, target = "<=", hit[0]["target"]
        vals = [r["value"] for r in hit if r["value"] is not None]
        if not vals:
            v, ok = None, None
        else:
            v = min(vals) if op == ">=" else max(vals)
            ok = all(_ok(op, x, target) for x in vals)
        label = pat if len(hit) == 1 else "%s (worst of %d)" % (pat, len(hit))
        if rt is not None:
            label += " [%s]" % rt
        out.append((label, v, op, target, ok, "see [1]" if why == "MAX_NOTE" else why))
    return out


def render(rows):
    vs = verdicts(rows)
    lines = ["", "verdict: each figure against its target (docs/bench.md)",
             "%-50s %10s %11s  %-4s  %s" % ("figure", "value", "target", "", "why this target")]
    for label, v, op, target, ok, note in vs:
        mark = "-" if ok is None else ("PASS" if ok else "MISS")
        lines.append("%-50s %10s %11s  %-4s  %s" % (label, "-" if v is None else v,
                                                   "%s %s" % (op, target), mark, note))
    n_ok = sum(1 for x in vs if x[4])
    lines.append("%d of %d targets met." % (n_ok, len(vs)))
    lines.append("[1] tick.max_us: " + MAX_NOTE + ".")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys
    with open(sys.argv[1] if len(sys.argv) > 1 else "bench.json") as f:
        print(render(json.load(f)))
