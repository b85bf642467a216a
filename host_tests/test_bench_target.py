# The target bench's tick recorder (tools/bench/target.py), run here on a stand-in loop: it must
# not read the heap counter per tick. On rp2 gc.mem_alloc() walks the allocation table (8.4 ms
# on the emulated Pico at 125 MHz); read after every tick it delayed each next tick, and the
# bench reported a 60 Hz loop with the REPL idle that was its own doing.
import array
import builtins

from tools.bench import target


class _Gc:
    def __init__(self):
        self.reads = 0
        self.used = 1000

    def mem_alloc(self):
        self.reads += 1
        return self.used


class _Time:
    def __init__(self):
        self.us = 0

    def ticks_us(self):
        return self.us


class _Loop:
    def __init__(self, clock):
        self.clock = clock
        self.tick_us = 0
        self.overruns = 0
        self.coalesced = 0
        self.calls = 0

    def tick(self, _t=None):
        self.calls += 1
        self.tick_us = 6000 + self.calls
        self.clock.us += 6000 + self.calls


class _Rig:
    def __init__(self, clock):
        self.loop = _Loop(clock)


def _install(n):
    gc, tm = _Gc(), _Time()
    mods = {"array": array, "gc": gc, "time": tm}
    real = builtins.__import__

    def imp(name, *a, **k):
        return mods[name] if name in mods else real(name, *a, **k)
    env = {"__builtins__": dict(vars(builtins), __import__=imp), "rig": _Rig(tm)}
    exec(target._RECORDER % (n, target._SKIP), env)
    return env, gc, tm


def test_recorder_reads_the_heap_counter_twice_not_per_tick():
    n = 50
    env, gc, tm = _install(n)
    loop = env["rig"].loop
    for k in range(n + 10):          # the timer calls the recorder in the tick's place
        tm.us = k * 10000            # one period apart
        loop.tick()
        if k == 20:
            gc.used += 480           # something allocated 480 B inside the window
    assert loop.calls == n + 10      # every call still ran the real tick
    assert gc.reads <= 2, gc.reads
    d = list(env["_D"][:env["_I"][0]])
    s = list(env["_S"][:env["_I"][0]])
    f = target.window_figures(d, s, list(env["_A"]))
    assert f["ticks"] == n - target._SKIP
    assert f["tick_us"] == [6000 + k for k in range(target._SKIP + 1, n + 1)]
    assert set(f["period_us"]) == {10000}
    assert f["collections"] == 0
    assert f["alloc_per_tick"] == 480 // (n - target._SKIP)


def test_window_figures_a_fall_of_the_heap_count_is_a_collection():
    f = target.window_figures([5000] * 10, list(range(0, 100000, 10000)), [9000, 4000])
    assert f["collections"] == 1 and f["alloc_per_tick"] is None
    assert f["period_us"] == [10000] * (10 - target._SKIP - 2)


def test_parse_dump_reads_the_recorders_line():
    out = "REC 3 [1, 2, 3] [10, 20, 30] [100, 100] 7 0\r\n"
    assert target.parse_dump(out) == ([1, 2, 3], [10, 20, 30], [100, 100], 7)


def test_parse_dump_drops_a_telemetry_row_sent_in_the_middle_of_it():
    out = ("REC 3 [6212, 6244, 66TLM 2.831,run,VA,flow,4.000,3.990,3185\r\n21] [10, 20, 30] "
           "[100, 100] 7 0\r\nTLM 2.84,run\r\n")
    assert target.parse_dump(out) == ([6212, 6244, 6621], [10, 20, 30], [100, 100], 7)
