# The target smoke run behind host_tests/test_emu.py (a subprocess: the test process has the
# fake `machine` loaded): boot the emulated Pico, deploy, run a few seconds of a scenario with
# the plant, let air reach the detector, and report as JSON what the pins and the loop showed.
import json
import sys

from tools.emu.scenario import TargetSim

SCENARIO = {
    "name": "target smoke: flow mode, air at the detector",
    "duration_s": 4.5, "control": "flow", "flow_lpm": 4.0, "sweep_lpm": 0,
    "plant": {"detector_ml": 30.0},     # a short drain line: the slug arrives within the run
    "events": [{"t": 1.0, "do": "repl", "line": "_i2c4()"},
               {"t": 1.1, "do": "repl", "line": "_wrapchk()"},
               {"t": 1.45, "do": "repl", "line": "print('WRAPCHK', _WC[0], _WC[2])"},
               # the air latch's event counter at the end of its range: the hard IRQ must wrap it
               # without a long int (a MemoryError there came before the trip)
               {"t": 1.47, "do": "repl", "line": "rig.loop.sup.bubble.events = 0x3FFFFFFF"},
               {"t": 4.2, "do": "repl", "line": "print('EVENTS', rig.loop.sup.bubble.events)"},
               {"t": 4.3, "do": "repl",
                "line": "import ecmo.telemetry as _tm; print('LOCK', int(rig.loop.lock_heap), rig.loop.alloc_faults, int(rig.tlm.lock_heap), int(_tm.NATIVE))"},
               {"t": 1.5, "do": "bubble", "volume_ul": 50}],
}

# one bare 4-byte read of the P2 part (5 bytes on the wire: its address and 4 data), the
# shortest of 5 (a tick may run between the clock reads): the emulated bus's wire time
_I2C4 = r"""
def _i2c4():
    import time, machine
    s = rig.loop.sup.p2
    b = bytearray(4)
    best = 1 << 30
    for _ in range(5):
        t = time.ticks_us()
        s._i2c.readfrom_into(s._addr, b)
        d = time.ticks_diff(time.ticks_us(), t)
        if d < best:
            best = d
    print('I2C4', best, machine.freq())

# the redundancy's running sums moved next to their wrap (every entry by the same amount, so
# the window differences stay exact), then 20 ticks with the heap locked: a tick that makes a
# long int there (a board's small ints end at 2^30 - 1) raises instead of allocating
import micropython
_WC = [0, 0, -1]
def _shift(_):
    import ecmo.redundancy as R
    r = rig.loop.red
    W = R.SUM_WRAP
    for a in (r._ah, r._aq):
        k = (W - 3 - a[r._ai]) & W
        for x in range(len(a)):
            a[x] = (a[x] + k) & W
    L = rig.loop
    T = L.tick
    _WC[1] = L.errors
    _WC[0] = 20
    def w(t=None):
        micropython.heap_lock()
        try:
            T()
        finally:
            micropython.heap_unlock()
        _WC[0] -= 1
        if _WC[0] <= 0:
            L.tick = T
            _WC[2] = L.errors - _WC[1]
    L.tick = w
def _wrapchk():
    micropython.schedule(_shift, 0)
"""


def first_edge(edges, pin, level, after_us):
    for p, v, t, cyc in edges:
        if p == pin and v == level and t >= after_us:
            return t, cyc
    return None, None


def main():
    sim = TargetSim(dict(SCENARIO), None, progress=False)
    b = sim.rig.board
    seen = []
    wrap = []
    events = []
    lock = []
    exec_ = sim._exec

    def capture(line, verb="repl"):
        if line == "_i2c4()":
            exec_("exec(%r)" % _I2C4, verb)
        out = exec_(line, verb)
        if out and "EVENTS " in out:
            events.append(int(out.split("EVENTS ")[1].split()[0]))
        if out and "LOCK " in out:
            lock.append([int(x) for x in out.split("LOCK ")[1].split()[:4]])
        if out and "WRAPCHK " in out:
            wrap.append([int(x) for x in out.split("WRAPCHK ")[1].split()[:2]])
        if out and "I2C4 " in out:
            seen.append([int(x) for x in out.split("I2C4 ")[1].split()[:2]])
        return out
    sim._exec = capture
    s = sim.run()
    n, overruns, late, errors, max_us = (int(x) for x in s["loop"].split()[:5])
    air = sim.world.air_first_us
    out = {"ticks": n, "overruns": overruns, "late": late, "errors": errors,
           "max_tick_us": max_us, "last_error": " ".join(s["loop"].split()[5:]),
           "alarms": [c for c, _ in s["alarms_first_s"]], "air_at_us": air,
           "boots": s["boots"], "repl_errors": s["errors"], "rows": s["ticks"],
           "wall_s": s["wall_s"], "i2c_read4_us": seen[0][0] if seen else None,
           "cpu_hz": seen[0][1] if seen else None,
           "locked_ticks_left_and_errors": wrap[0] if wrap else None,
           "air_events_after_wrap": events[0] if events else None,
           "heap_locked_tick_faults_row": lock[0][:3] if lock else None,
           "row_native": lock[0][3] if lock else None}
    with open(sim.flash + ".json") as f:
        out["after_first_deploy"] = json.load(f)
    if air is not None:
        t_en, c_en = first_edge(s["pin_edges"], b.PUMP["enable"], 1 - b.PUMP["enable_level"], air)
        t_cl, _ = first_edge(s["pin_edges"], b.CLAMP["pin"], b.CLAMP["closed_level"], air)
        out["enable_low_after_us"] = None if t_en is None else t_en - air
        out["clamp_closed_after_us"] = None if t_cl is None else t_cl - air
    print("SMOKE " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
