# Firmware benchmarks that run in both runtimes, one process per call:
#   micropython tools/bench/fwbench.py <mode> [args]     (or python3)
# Prints one line per figure: "@@bench {json}". The host side (tools/bench/__main__.py) runs it
# under each runtime and under callgrind, and builds the table.
# The rig is the firmware's Rig on the Pico pin map, driven tick by tick (no Timer): the world
# between ticks is a toy pump (flow follows the commanded speed), tach pulses and 1-LSB ADC
# dither. The I2C sensors sit on StubI2C, a fixed-frame bus that allocates nothing, because the
# device models (floats, a new frame per read) would otherwise be counted against the firmware.
import sys
import gc


def _here():
    f = __file__ if "__file__" in globals() else sys.argv[0]
    f = f.replace("\\", "/")
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


def setup_paths():
    # the firmware tests' paths (fake machine first), plus this folder for naive.py
    sys.path.insert(0, _here() + "/../../host_tests/fw")
    import fwrun
    fwrun.setup_paths()
    if _here() not in sys.path:
        sys.path.insert(0, _here())


MP = sys.implementation.name == "micropython"
MARK = "@@bench "
PERIOD_US = 10000
SETTINGS = "/tmp/_ecmo_bench_nosettings.json"


def emit(**kw):
    import json
    kw["runtime"] = "micropython" if MP else "cpython"
    print(MARK + json.dumps(kw))


# ---- real clocks (the fake `time` is virtual) ----
if MP:
    import utime

    def clock():
        return utime.ticks_us()

    def elapsed_us(t0, t1):
        return utime.ticks_diff(t1, t0)
else:
    import time as _t

    def clock():
        return _t.perf_counter_ns()

    def elapsed_us(t0, t1):
        return (t1 - t0) / 1000.0


class StubI2C:
    # machine.I2C stand-in: one fixed 2-byte frame per bus (one device per bus), no allocation
    frames = {}

    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self._f = StubI2C.frames.setdefault(id, bytearray(4))

    def readfrom_into(self, addr, buf, stop=True):
        f = self._f
        for i in range(len(buf)):
            buf[i] = f[i]

    def readfrom(self, addr, n, stop=True):
        return bytes(self._f[:n])

    def writeto(self, addr, buf, stop=True):
        return len(buf)


def abp_frame(frame, p_dmmhg, span=7757, d=0):
    # Honeywell ABP counts for a pressure, +/-span (0.1 mmHg) part (the board's: +/-15 psi),
    # status 0; d counts of dither
    c = 1638 + (p_dmmhg + span) * (14746 - 1638) // (2 * span) + d
    frame[0] = c >> 8
    frame[1] = c & 0xFF


def u16_for(spec, value):
    ra, va, rb, vb = spec["cal"]
    return ra + (value - va) * (rb - ra) // (vb - va)


class World:
    # everything outside the firmware between two ticks; integer maths, no allocation
    def __init__(self, board):
        import machine
        self.m = machine
        self.b = board
        s = board.SENSORS
        self.p1_spec = s["p1"]
        self.flow_spec = s["flow"]
        self.p1_adc = machine.sim_adc(s["p1"]["adc"])
        self.flow_adc = machine.sim_adc(s["flow"]["adc"])
        self.tach = machine.sim_pin(board.PUMP["tach"])
        self.pwm = machine.sim_pwm(board.PUMP["pwm"])
        self.extra_adcs = []
        self.n = 0
        self._rev = 0
        self.p1_dmmhg = -600
        self.flow_mlpm = 0
        self.rpm = 0
        # P2 and P3 as the pump map and a membrane make them, with a count of dither, so the
        # tick runs its healthy path: no frozen ABP, the cross-checks anchored and judging
        # (issue 11); abp_live = False leaves the frames to a latency case
        from ecmo.pumpmap import PumpMap
        pm = board.PUMP_MAP
        self.map = PumpMap(pm["a"], pm["b"], pm["c"], pm["err_pct"])
        self.abp_live = True
        machine.sim_pin(board.ESTOP["pin"]).drive(0)
        machine.sim_pin(board.BUBBLE["pin"]).drive(0)
        self.tach.drive(1)
        abp_frame(StubI2C.frames.setdefault(0, bytearray(4)), 2200)
        abp_frame(StubI2C.frames.setdefault(1, bytearray(4)), 1900)
        self.adcs()

    def adcs(self):
        d = self.n & 1
        self.p1_adc.u16 = u16_for(self.p1_spec, self.p1_dmmhg) + d
        self.flow_adc.u16 = u16_for(self.flow_spec, self.flow_mlpm) + d
        if self.abp_live:
            p2 = self.p1_dmmhg + self.map.head_dmmhg(self.rpm, self.flow_mlpm)
            abp_frame(StubI2C.frames[0], p2, 7757, d)
            abp_frame(StubI2C.frames[1], p2 - 120 * self.flow_mlpm // 1000, 7757, d)
        for a in self.extra_adcs:
            a.u16 = 30000 + d

    def step(self):
        # one period: toy pump (4 L/min near 3870 rpm), tach pulses at the commanded speed
        self.n += 1
        rpm = self.pwm.duty_u16 * 5000 // 65535
        self.rpm = rpm
        q = (rpm - 1200) * 3 // 2
        self.flow_mlpm = q if q > 0 else 0
        # evenly spaced pulses (2 per revolution) carried across ticks, so the tach reads the
        # commanded speed (bursts per tick read as 3000..5100 rpm and made the tach look wrong)
        if rpm > 0:
            gap = 30000000 // rpm
            if self._rev > gap:
                self._rev = gap
            t = 0
            while self._rev < PERIOD_US:
                self.m.sim_spend_us(self._rev - t)
                t = self._rev
                self.tach.drive(0)
                self.tach.drive(1)
                self._rev += gap
            self.m.sim_spend_us(PERIOD_US - t)
            self._rev -= PERIOD_US
        else:
            self.m.sim_spend_us(PERIOD_US)
        self.adcs()


def make_rig(gas=True):
    # the firmware's Rig, flow mode at 4.0 L/min, running; gas=False drops the oxygenator side
    # from the tick (board GAS), for the like-for-like comparison with the naive tick
    import machine
    import board_pico as board
    import ecmo.rig as R
    try:
        import os
        os.remove(SETTINGS)
    except OSError:
        pass
    machine.sim_reset()
    import ecmo.wiring as W
    W.I2C = StubI2C
    w = World(board)
    rig = R.Rig(board, SETTINGS)
    rig.mode("flow")
    rig.set_flow(4.0)
    # a few ticks at standstill first, as after a board's boot: a flow-mode run() before the
    # first tick has no trusted flow reading and is refused (H08)
    for _ in range(10):
        w.step()
        rig.loop.tick()
    rig.run()
    if not gas:
        rig.loop.aux = ()
    return rig, w


def extra_loops(rig, w):
    # the same rig with 1, 3, 6 pressure channels and 1-2 flow sensors: extra channels alternate
    # analog (ADC) and ABP (I2C), each read every tick like the others
    import machine
    from ecmo.drivers.analog import AnalogSensor
    from ecmo.drivers.pressure import HoneywellABP
    from ecmo.loop import Loop
    spec = w.p1_spec
    extra = []
    for i in range(3):
        if i % 2 == 0:
            pin = 40 + i
            w.extra_adcs.append(machine.sim_adc(pin))
            extra.append(AnalogSensor(machine.ADC(pin), spec["cal"], spec["rails"],
                                      spec["limits"], 500))
        else:
            bus = 2 + i
            abp_frame(StubI2C.frames.setdefault(bus, bytearray(4)), 1000, 5171)
            extra.append(HoneywellABP(StubI2C(bus), 0x28, -5171, 5171))
    machine.sim_adc(44)
    w.extra_adcs.append(machine.sim_adc(44))
    fspec = w.flow_spec
    flow2 = AnalogSensor(machine.ADC(44), fspec["cal"], fspec["rails"], fspec["limits"], 500)
    w.adcs()
    tail = (rig.bubble, rig.estop)
    cfg = {
        "p1_f1": (rig.p1, rig.flow) + tail,
        "p3_f1": (rig.p1, rig.p2, rig.p3, rig.flow) + tail,
        "p6_f1": (rig.p1, rig.p2, rig.p3) + tuple(extra) + (rig.flow,) + tail,
        "p1_f2": (rig.p1, rig.flow, flow2) + tail,
        "p3_f2": (rig.p1, rig.p2, rig.p3, rig.flow, flow2) + tail,
        "p6_f2": (rig.p1, rig.p2, rig.p3) + tuple(extra) + (rig.flow, flow2) + tail,
    }
    loops = {}
    for k in cfg:
        loops[k] = Loop(cfg[k], rig.pump, rig.control, rig.sup, rig.al, rig.ann, 10)
    return loops


def make_naive(w):
    import naive
    return naive.NaiveRig(w.b, StubI2C)


def hw_calls(rig):
    # the fake-machine calls one of our ticks makes (read from the code), to subtract them:
    # 3 ticks_us + 1 ticks_ms, 2 ADC, 2 I2C, 2 pin reads, 3 pin writes, 1 PWM, irq off/on
    import machine
    from time import ticks_us, ticks_ms
    ticks_us()
    ticks_ms()
    rig.p1._adc.read_u16()
    rig.flow._adc.read_u16()
    rig.p2._i2c.readfrom_into(0x28, rig.p2._buf)
    rig.p3._i2c.readfrom_into(0x28, rig.p3._buf)
    rig.bubble._pin.value()
    rig.estop._pin.value()
    s = machine.disable_irq()
    machine.enable_irq(s)
    ticks_us()
    rig.pump._pwm.duty_u16(rig.pump.duty_u16)
    rig.pump._en.value(1)
    rig.clamp_out._pin.value(0)
    rig.ann._led.value(0)
    ticks_us()


def warm(rig, w, n=1000):
    for _ in range(n):
        w.step()
        rig.loop.tick()


# ---------------------------------------------------------------- modes

def mode_time(n, which="ours"):
    # per-tick wall time, median and p99
    rig, w = make_rig(which == "full")
    warm(rig, w)
    tick = rig.loop.tick
    if which == "naive":
        nv = make_naive(w)
        nv.claim_irqs()
        for _ in range(300):
            w.step()
            nv.tick()
        tick = nv.tick
    s = _time_ticks(tick, w, n)
    emit(name="tick_" + which, median=s[n // 2], p99=s[n * 99 // 100], max=s[-1], n=n,
         flow_mlpm=nv.flow_mlpm if which == "naive" else rig.flow.value)


def _time_ticks(tick, w, n):
    # n ticks, the world stepped between them (outside the timing); sorted durations in us
    from array import array
    t = array("f" if MP else "d", [0.0] * n)
    gc.collect()
    for i in range(n):
        w.step()
        t0 = clock()
        tick()
        t1 = clock()
        t[i] = elapsed_us(t0, t1)
    return sorted(t)


def mode_scale_time(n):
    from array import array
    rig, w = make_rig()
    warm(rig, w)
    loops = extra_loops(rig, w)
    for k in sorted(loops):
        s = _time_ticks(loops[k].tick, w, n)
        emit(name="scale_" + k, median=s[n // 2], p99=s[n * 99 // 100], n=n)


def mode_count(kind, n):
    # for callgrind: the same start-up whatever the kind, then n periods of one kind
    rig, w = make_rig(kind == "full")
    warm(rig, w)
    loops = extra_loops(rig, w)
    nv = make_naive(w)
    if kind == "naive":
        nv.claim_irqs()
    for _ in range(10):
        w.step()
        nv.tick()
    if kind in ("ours", "full"):
        tick = rig.loop.tick
    elif kind == "naive":
        tick = nv.tick
    elif kind in loops:
        tick = loops[kind].tick
    elif kind == "red":
        # issue 11's cross-checks and substitutes alone (ecmo/redundancy.py), as the tick runs them
        red = rig.loop.red
        sup = rig.sup

        def tick():
            red.update(True, sup.rpm_applied)
            red.guards()
    else:
        tick = None
    for _ in range(n):
        w.step()
        if kind == "hw":
            hw_calls(rig)
        elif tick is not None:
            tick()
    emit(name="count_" + kind, n=n)


def _alloc(fn, n):
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    for _ in range(n):
        fn()
    a1 = gc.mem_alloc()
    gc.enable()
    return a1 - a0


def mode_alloc(n):
    # bytes allocated per call, GC off; the world steps between ticks are not counted
    import machine
    from ecmo.control.pid import PID
    rig, w = make_rig()
    warm(rig, w)
    # full tick: count only inside the tick
    gc.collect()
    gc.disable()
    total = 0
    tick = rig.loop.tick
    for _ in range(n):
        w.step()
        a0 = gc.mem_alloc()
        tick()
        total += gc.mem_alloc() - a0
    gc.enable()
    nv = make_naive(w)
    nv.claim_irqs()
    gc.collect()
    gc.disable()
    naive = 0
    n_naive = n if n < 2000 else 2000     # ~2 KB a tick: more would fill the heap with GC off
    for _ in range(n_naive):
        w.step()
        a0 = gc.mem_alloc()
        nv.tick()
        naive += gc.mem_alloc() - a0
    gc.enable()
    rig.pump._tach.irq(handler=rig.pump._irq, trigger=4, hard=True)   # the tach back to ours
    emit(name="alloc_tick", bytes=total, n=n, naive_bytes=naive, naive_n=n_naive)
    pid = PID(400, 800, 0, 0, 5000)
    st = [0]

    def pid_step():
        st[0] += 1
        pid.update(4000, 3900 + (st[0] & 63), 10)
    def bump():
        st[0] += 1
    base = _alloc(bump, n)     # the wrapper's own cost
    emit(name="alloc_pid_update", bytes=_alloc(pid_step, n) - base, n=n)
    for name, drv in (("p1_analog", rig.p1), ("p2_abp", rig.p2), ("flow_analog", rig.flow),
                      ("bubble", rig.bubble), ("estop", rig.estop), ("pump_tach", rig.pump)):
        emit(name="alloc_read_" + name, bytes=_alloc(drv.read, n), n=n)
    # IRQ handlers: drive the fake pins; a pin with no handler gives the fake's own cost
    spare = machine.sim_pin(30)
    lv = [0]

    def toggle(pin):
        def f():
            lv[0] ^= 1
            pin.drive(lv[0])
        return f
    base = _alloc(toggle(spare), n)
    b = rig.board
    for name, pid_ in (("tach", b.PUMP["tach"]), ("bubble", b.BUBBLE["pin"]),
                       ("estop", b.ESTOP["pin"])):
        emit(name="alloc_irq_" + name, bytes=_alloc(toggle(machine.sim_pin(pid_)), n) - base,
             n=n, edges=n // 2)


def mode_heap():
    # heap in use after boot with everything running; then the longest GC pause at that heap
    import machine    # noqa: F401  the fake machine and clock are not the firmware's
    import time       # noqa: F401
    import board_pico  # noqa: F401
    gc.collect()
    a0 = gc.mem_alloc()
    import ecmo.rig    # noqa: F401  the code: bytecode in RAM unless frozen into the firmware
    try:
        import ecmo.oxygenator    # noqa: F401
    except ImportError:
        pass
    gc.collect()
    a_code = gc.mem_alloc()
    rig, w = make_rig()
    warm(rig, w, 500)
    rig.start()
    gc.collect()
    a1 = gc.mem_alloc()
    emit(name="heap_after_boot", bytes=a1 - a0, code=a_code - a0, objects=a1 - a_code,
         total=a1, free=gc.mem_free())
    worst = 0
    for _ in range(20):
        t0 = clock()
        gc.collect()
        d = elapsed_us(t0, clock())
        if d > worst:
            worst = d
    emit(name="gc_pause", us=worst, heap_bytes=a1)


def mode_latency():
    # interlocks on the rig: air / e-stop at the pin, suction, over-pressure, sensor faults
    import machine
    from ecmo.safety import alarms as A
    b = None
    out = {}
    for case in ("air", "estop"):
        rig, w = make_rig()
        warm(rig, w)
        b = rig.board
        pin = b.BUBBLE["pin"] if case == "air" else b.ESTOP["pin"]
        machine.sim_pin(pin).drive(1)     # returns after the hard IRQ handler ran
        duty = machine.sim_pwm(b.PUMP["pwm"]).duty_u16
        en = machine.sim_pin(b.PUMP["enable"]).level == b.PUMP["enable_level"]
        clamp = machine.sim_pin(b.CLAMP["pin"]).level == b.CLAMP["closed_level"]
        ok = duty == 0 and not en and clamp
        emit(name="latency_" + case, ticks=0 if ok else -1, duty=duty, enabled=en, clamp=clamp)

    def react(case):
        # ticks from the condition to the supervisor's first reaction: hold (speed frozen,
        # warning), back-off (speed cap falls) and the alarm; -1 if none within 50 ticks
        rig, w = make_rig()
        warm(rig, w)
        sup = rig.sup
        w.abp_live = case not in ("pressure", "sensor_p3")
        if case == "suction":
            w.p1_dmmhg = sup.p1_crit_dmmhg - 100
            code = A.SUCTION_CRIT
        elif case == "pressure":
            abp_frame(StubI2C.frames[1], sup.p3_crit_dmmhg + 100)
            code = A.PRESSURE_CRIT
        elif case == "sensor_p1":
            w.p1_spec = {"cal": (0, 0, 1, 1)}      # the world writes raw 0..1: open wire
            w.p1_dmmhg = 0
            code = A.SENSOR_P1
        else:
            StubI2C.frames[1][0] = 0xC0           # ABP diagnostic status on P3
            code = A.SENSOR_P3
        cap0 = sup.cap_rpm
        first = {"hold": -1, "backoff": -1, "alarm": -1}
        for k in range(1, 50):
            w.step()
            before = sup.rpm_applied
            rig.loop.tick()
            hold = sup.holding or sup.cap_rpm < cap0 or rig.al.present(A.SUCTION_WARN) or \
                rig.al.present(A.PRESSURE_WARN)
            if hold and first["hold"] < 0:
                first["hold"] = k
            if sup.cap_rpm < before and first["backoff"] < 0:
                first["backoff"] = k
            if rig.al.present(code) and first["alarm"] < 0:
                first["alarm"] = k
        return first, sup.debounce_ms // rig.loop.period_ms   # in ticks, as reported
    for case in ("suction", "pressure", "sensor_p1", "sensor_p3"):
        first, deb = react(case)
        r = [v for v in first.values() if v > 0]
        emit(name="latency_" + case, ticks=min(r) if r else -1, hold=first["hold"],
             backoff=first["backoff"], alarm=first["alarm"], debounce=deb)


def main(argv):
    setup_paths()
    m = argv[1]
    if m == "time":
        mode_time(int(argv[2]), argv[3] if len(argv) > 3 else "ours")
    elif m == "scale":
        mode_scale_time(int(argv[2]))
    elif m == "count":
        mode_count(argv[2], int(argv[3]))
    elif m == "alloc":
        if not MP:
            emit(name="alloc_skipped")
            return
        mode_alloc(int(argv[2]))
    elif m == "heap":
        if not MP:
            return
        mode_heap()
    elif m == "latency":
        mode_latency()
    else:
        raise SystemExit("modes: time N [ours|naive], scale N, count KIND N, alloc N, heap, latency")


if __name__ == "__main__":
    main(sys.argv)
