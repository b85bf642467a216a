# The benchmark code runs end to end in its tiny mode and writes well-formed bench.json.
# No timing assertions: figures are checked for shape, and only the deterministic ones for value.
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick_runs(tmp_path):
    out = tmp_path / "bench.json"
    p = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "--no-callgrind", "--no-target",
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "ratio" in p.stdout
    rows = json.loads(out.read_text())
    names = set()
    for r in rows:
        assert set(r) >= {"name", "value", "unit", "runtime"}, r
        names.add(r["name"])
    for n in ("tick.median_us", "tick.p99_us", "alloc.tick_bytes_per_tick",
              "latency.air_ticks", "latency.estop_ticks", "quality.step_up.iae.vs_simple_pid",
              "mpy.armv6m.total", "mpy.xtensawin.total", "heap.after_boot"):
        assert n in names, n
    by = {(r["name"], r["runtime"]): r for r in rows}
    # deterministic figures: the interlocks act inside the pin handler
    assert by[("latency.air_ticks", "micropython")]["value"] == 0
    assert by[("latency.estop_ticks", "micropython")]["value"] == 0
