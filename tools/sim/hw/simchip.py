# The simulated chip behind the fake `machine` (machine.py is only the API surface): the virtual
# clock, timer alarms, MicroPython's scheduler queue, interrupt dispatch, and each peripheral's
# state. Tests and the world steer it through machine.sim_*. Runs under CPython and the unix port.
#
# Timing, as MicroPython v1.28.0 does it (sources named so a reader can check them):
# - A timer alarm fires at its due time every period, whatever is running: rp2 re-arms its
#   pico-sdk alarm at target + period (ports/rp2/machine_timer.c returns -delta_us), esp32 uses
#   an auto-reload hardware alarm (ports/esp32/machine_timer.c). The schedule never slips.
# - A soft callback (every Timer here, esp32 pin IRQs) is only queued (shared/runtime/mpirq.c,
#   ports/esp32/machine_pin.c -> mp_sched_schedule). The queue holds 8 on both ports
#   (MICROPY_SCHEDULER_DEPTH in ports/{rp2,esp32}/mpconfigport.h); a full queue drops the call
#   (py/scheduler.c). Queued calls run one at a time, never inside another scheduled call, in
#   the main context: so a tick that outlasts its period makes the next ones late (at most 8
#   queued), never a burst that replays every missed period.
# - A hard handler (rp2 pin IRQs, hard timers) runs at once with the scheduler and the heap
#   locked (mpirq.c: mp_sched_lock + gc_lock). On the unix port the heap really is locked here,
#   so an allocating handler raises MemoryError as on a board; CPython cannot lock its heap.
# - disable_irq masks the interrupt that would queue or run a handler; it does not stop a handler
#   that is already queued (it runs at the next bytecode, here: the next sync point).
PORTS = ("rp2", "esp32")
SCHED_DEPTH = 8
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
SOFT_RESET = 5            # esp32's value (ports/esp32/modmachine.c); rp2 has no such constant
FREQ_HZ = {"rp2": 125000000, "esp32": 160000000}

# From reset to the first line of main.py, the pins at their reset state meanwhile; then
# LOAD_US more until the rig runs (main.py's first lines put the outputs at their safe levels,
# ecmo/early.py; then the firmware's imports and the rig's build, then its first tick).
# rp2: measured on the emulated Pico (the real v1.28.0 port, tools/emu; the same on every reset
#   of tools/emu/compare.py's runs): reset -> the pump's enable driven low by main.py 86 ms, the
#   clamp closed 118 ms, the rig's first tick (VA: the pump enabled again) 832-850 ms with the
#   firmware as .mpy files. (This was 300 ms for everything at once, an estimate: the chip
#   closed the clamp 0.2 s earlier and restarted the pump 0.55 s later than the stand-in did.)
# esp32: ~300 ms to app_main unoptimised (Espressif, "ESP Chip Startup Time Optimization",
#   esp-techpedia) and 635 ms reset to main.py measured on an ESP32-S3 (glenn20,
#   upy-esp32-experiments, boot-time/README.md); 700 ms is taken for a classic ESP32, and the
#   rig then runs at once (not measured: no emulator).
BOOT_US = {"rp2": 86000, "esp32": 700000}
LOAD_US = {"rp2": 764000, "esp32": 0}

# rp2 GPIO pads come out of reset with their pull-down on (RP2040 datasheet, pad control
# registers: PDE resets to 1); esp32 GPIOs come out of reset floating (issue #20: 23, 25, 26).
RESET_PULL = {"rp2": 2, "esp32": None}

IN = 0
OUT = 1
OPEN_DRAIN = 2
PULL_UP = 1
PULL_DOWN = 2
IRQ_FALLING = 4
IRQ_RISING = 8

import gc as _gc
try:
    import micropython as _mp
    _heap_lock = _mp.heap_lock
    _heap_unlock = _mp.heap_unlock
except (ImportError, AttributeError):       # pragma: no cover
    def _heap_lock():
        return 0
    _heap_unlock = _heap_lock


class SimWatchdogReset(BaseException):
    # BaseException so a firmware `except Exception` cannot swallow a reset, as on a board.
    pass


class SimHardReset(BaseException):
    pass


class SimSoftReset(BaseException):
    pass


class Lcg:
    # same sequence in both runtimes (products below 2**62: a small int on the unix port)
    def __init__(self, seed):
        self.x = seed % 2147483646 + 1

    def next(self):
        self.x = self.x * 48271 % 2147483647
        return self.x


class WdtState:
    def __init__(self):
        self.timeout_ms = None    # None: watchdog not started
        self.last_feed_us = 0
        self.expired = False

    def deadline_us(self):
        if self.timeout_ms is None or self.expired:
            return None
        return self.last_feed_us + self.timeout_ms * 1000


# rp2 watchdog scratch registers (the retained word); pre-made so a write from a hard IRQ
# allocates nothing (a new dict key would)
_SCRATCH = tuple(0x4005800C + 4 * i for i in range(8))


class World:
    def __init__(self, reset_cause, port="rp2"):
        self.port = port
        self.now_us = 0
        self.reset_cause = reset_cause
        self.pins = {}
        self.adcs = {}
        self.buses = {}      # bus id -> {addr: device}
        self.faults = {}     # bus id * 256 + addr -> 'nack' | 'timeout' (int key: lookups allocate nothing)
        self.i2c_held = {}   # bus id -> [until_us, spend]: a part stretching SCL past a timeout
        self.pwms = {}
        self.slices = {}     # rp2 PWM slice -> freq (both channels share it)
        self.clashes = []    # (pin, freq it asked for, freq its slice partner set later)
        self.timers = []     # armed Timer objects
        self.seq = 0         # creation order breaks ties between timers due at the same time
        self.wdt = WdtState()
        self.irq_state = 0
        self.freq = FREQ_HZ[port]
        self.pending = []    # handlers whose interrupt arrived while masked: (handler, arg, hard)
        self.irq_uncaught = []   # exceptions hard pin handlers raised (each disabled the handler)
        self.retained = {}   # mem32 words and RTC memory: survive a reset, not a power cycle
        for a in _SCRATCH:
            self.retained[a] = 0
        self.rtc_mem = b""
        self.q_func = [None] * SCHED_DEPTH
        self.q_arg = [None] * SCHED_DEPTH
        self.q_head = 0
        self.q_len = 0
        self.q_max = 0       # deepest the queue got
        self.dropped = 0     # calls lost to a full queue
        self.sched_lock = 0  # >0: inside a scheduled call, a hard IRQ or a blocking C call
        self.hard_lock = 0   # >0: inside a hard handler
        self.quirks = {}     # esp32 behaviours that expose open firmware bugs (issue #20): opt-in
        self.rng = Lcg(12345)
        self.booted_us = 0   # when this chip's boot began
        self.counters = {}   # esp32 PCNT unit -> machine.Counter (singletons, as the port's)


W = World(PWRON_RESET)


def reset(reset_cause=PWRON_RESET):
    # A new world: nothing attached, clock at 0.
    global W
    W = World(reset_cause)


def reboot(reset_cause=WDT_RESET):
    # The chip restarts but the outside world stays: ADC values, I2C devices, pin drive levels.
    global W
    old = W
    W = World(reset_cause, old.port)
    W.now_us = old.now_us
    W.booted_us = old.now_us
    W.adcs = old.adcs
    W.buses = old.buses
    W.faults = old.faults
    if reset_cause != PWRON_RESET:
        W.i2c_held = old.i2c_held   # a part holding the clock goes on holding it (not unpowered)
    W.quirks = old.quirks
    if reset_cause != PWRON_RESET:      # a power cycle loses what a reset keeps
        W.retained = old.retained
        W.rtc_mem = old.rtc_mem
    for pid in old.pins:
        st = PinState(pid)
        st.driven = old.pins[pid].driven
        st.floating = old.pins[pid].floating
        st.ext_pull = old.pins[pid].ext_pull      # the board's resistors stay
        W.pins[pid] = st


def soft_reset():
    # Ctrl-D / machine.soft_reset(): the VM restarts, the chip does not (ports/rp2/main.c and
    # ports/esp32/main.c after "soft reboot"): timers stopped, pin IRQs removed, the queue
    # emptied; output levels, the watchdog and retained memory stay. The esp32 stops its PWM;
    # the rp2 v1.28 image leaves the slice running at its last duty (measured on the emulated
    # Pico: tools/emu/conform.py, mpremote.no_resume.pwm_running).
    w = W
    for t in list(w.timers):
        t._stop()
    for pid in w.pins:
        st = w.pins[pid]
        st.irq_handler = None
        st.irq_pin = None
        st.counters = []          # esp32_pcnt_deinit_all (ports/esp32/main.c)
    for u in w.counters:
        w.counters[u]._src = None
    w.counters = {}
    if w.port == "esp32":
        for pid in w.pwms:
            w.pwms[pid].active = False
        w.slices = {}
    w.pending = []
    w.q_head = 0
    w.q_len = 0
    w.irq_state = 0
    w.sched_lock = 0
    w.hard_lock = 0
    w.reset_cause = SOFT_RESET if w.port == "esp32" else w.reset_cause


def set_port(name):
    if name not in PORTS:
        raise ValueError("port: 'rp2' or 'esp32'")
    W.port = name
    W.freq = FREQ_HZ[name]


# ---------------------------------------------------------------- scheduler and interrupts

def schedule(func, arg):
    # mp_sched_schedule: False when the queue is full (the call is lost)
    w = W
    if w.q_len >= SCHED_DEPTH:
        w.dropped += 1
        return False
    i = (w.q_head + w.q_len) % SCHED_DEPTH
    w.q_func[i] = func
    w.q_arg[i] = arg
    w.q_len += 1
    if w.q_len > w.q_max:
        w.q_max = w.q_len
    return True


def run_pending(until=None):
    # The main context reached a bytecode: queued calls run, one after the other, each with the
    # scheduler locked (nothing else scheduled runs inside it), as long as the clock is not past
    # `until` (default: now): calls that keep refilling the queue (a tick longer than its
    # period) then wait for the next time step instead of running forever. Exceptions
    # propagate so tests see firmware bugs (a board prints them and goes on).
    w = W
    if until is None:
        until = w.now_us
    while w.q_len and not w.sched_lock and W is w and w.now_us <= until:
        i = w.q_head
        f = w.q_func[i]
        if f is None:
            # MicroPython runs its own scheduler after the loop's test: the pty rig's clock
            # (tools/rigboot.py) can step the world there and empty this queue under us
            continue
        a = w.q_arg[i]
        w.q_func[i] = None
        w.q_arg[i] = None
        w.q_head = (i + 1) % SCHED_DEPTH
        w.q_len -= 1
        w.sched_lock += 1
        try:
            f(a)
        finally:
            w.sched_lock -= 1


def call_hard(handler, arg):
    w = W
    w.sched_lock += 1
    w.hard_lock += 1
    _heap_lock()
    err = None
    try:
        handler(arg)
    except Exception as e:
        err = e
    finally:
        _heap_unlock()
        w.hard_lock -= 1
        w.sched_lock -= 1
    if err is not None:
        # as rp2 does (shared/runtime/mpirq.c mp_irq_handler): printed, and the pin's handler
        # disabled for good, its trigger 0 (host_tests/fw/conform.py pin.hard_irq.raises)
        st = getattr(arg, "_st", None)
        if st is not None:
            st.irq_trigger = 0
            st.irq_handler = None
        w.irq_uncaught.append(err)
        print("Uncaught exception in IRQ callback handler")
        print("%s: %s" % (type(err).__name__, err))


def release_heap():
    # After an asynchronous exception (Ctrl-C) that may have landed inside a hard handler
    # between heap_lock and its unlock: leave the heap unlocked. heap_unlock() returns the new
    # depth and wraps below 0 on the unix port, so a wrap is undone at once.
    while True:
        d = _heap_unlock()
        if d == 0:
            break
        if d > 1000:
            _heap_lock()
            break
    # A Ctrl-C during a collection may also leave the collector's own "collecting" mark set,
    # locking the heap at a depth heap_unlock() reports as 0 (seen once under load, cause not
    # proven); a collection clears that mark.
    _gc.collect()
    W.hard_lock = 0
    W.sched_lock = 0


def irq(handler, arg, hard):
    # an interrupt for `handler`: masked -> held; hard -> runs now; soft -> queued
    w = W
    if w.irq_state:
        w.pending.append((handler, arg, hard))
        return
    if hard:
        call_hard(handler, arg)
    elif schedule(handler, arg):
        run_pending()       # no-op inside a callback or C call: it waits for the main context


def disable_irq():
    s = W.irq_state
    W.irq_state = s + 1
    if W.port == "esp32":
        run_pending()       # an already queued soft handler still runs inside the section
    return s


def enable_irq(state):
    w = W
    w.irq_state = state
    while not w.irq_state and w.pending:
        handler, arg, hard = w.pending.pop(0)
        irq(handler, arg, hard)


# ---------------------------------------------------------------- clock

def _next_timer(w):
    best = None
    for t in w.timers:
        if best is None or t._due_us < best._due_us or (
                t._due_us == best._due_us and t._seq < best._seq):
            best = t
    return best


def _advance_to(target):
    # Every alarm and watchdog deadline up to `target`, in time order, with the clock at each.
    while True:
        w = W
        t = _next_timer(w)
        due = t._due_us if t is not None else None
        wdt_due = w.wdt.deadline_us()
        if wdt_due is not None and wdt_due <= target and (due is None or wdt_due < due):
            if wdt_due > w.now_us:
                w.now_us = wdt_due
            w.wdt.expired = True
            raise SimWatchdogReset()
        if due is None or due > target:
            break
        if due > w.now_us:
            w.now_us = due
        if t._mode == 1:        # Timer.PERIODIC: re-armed from its due time, never from now
            t._due_us = due + t._period_us
        else:
            t._stop()
        if t._callback is not None:
            if t.hard or w.irq_state:
                irq(t._callback, t, t.hard)
            elif schedule(t._callback, t):
                run_pending(target)
        if W is not w:
            return              # a callback reset the chip
    if W.now_us < target:
        W.now_us = target


def advance_us(us):
    # Time passes in the main context (the runner, a sleep at the REPL): queued calls run first,
    # then every alarm in order. Inside a scheduled call (a sleep in the tick) nothing else runs.
    if us < 0:
        raise ValueError("negative time step")
    target = W.now_us + us
    run_pending()
    _advance_to(target)
    run_pending(target)


def spend_us(us):
    # Time spent inside one C call or callback (a slow bus, a blocking write): alarms fire and
    # queue, hard IRQs run, no scheduled call runs before the code that spent it goes on.
    if us < 0:
        raise ValueError("negative time step")
    w = W
    w.sched_lock += 1
    try:
        _advance_to(w.now_us + us)
    finally:
        w.sched_lock -= 1


# ---------------------------------------------------------------- peripherals' state

class PinState:
    def __init__(self, pid):
        self.id = pid
        self.mode = -1           # reset state: an input
        self.pull = RESET_PULL[W.port] if W is not None else None
        self.latch = 0
        self.driven = None       # external level, None = nobody drives it
        self.floating = None     # esp32 quirk "float": level an undriven, unpulled input reads
        self.ext_pull = None     # a resistor on the board to 0 or 1 (holds the line through boot)
        self.counters = []       # esp32 machine.Counter units counting this pin's edges
        self.irq_handler = None
        self.irq_trigger = 0
        self.irq_hard = False
        self.irq_pin = None      # Pin object handed to the handler

    @property
    def level(self):
        if self.mode == OUT:
            return self.latch
        if self.mode == OPEN_DRAIN and self.latch == 0:
            return 0
        if self.driven is not None:
            return self.driven
        if self.ext_pull is not None:
            return self.ext_pull     # 10 k on the board beats the chip's ~45 k pulls
        if self.pull == PULL_UP:
            return 1
        if self.pull == PULL_DOWN:
            return 0
        if "float" in W.quirks:
            # a floating CMOS input: whatever it picks up (deterministic per seed)
            return W.rng.next() & 1 if self.floating is None else self.floating
        return 0

    def drive(self, level):
        # Outside world sets the line; None releases it to the pull resistor.
        old = self.level
        self.driven = None if level is None else (1 if level else 0)
        self.edge(old)

    def edge(self, old):
        new = self.level
        if new == old:
            return
        for c in self.counters:       # hardware: counts whatever the scheduler is doing
            c._edge(new)
        if self.irq_handler is None:
            return
        want = IRQ_RISING if new else IRQ_FALLING
        if self.irq_trigger & want:
            irq(self.irq_handler, self.irq_pin, self.irq_hard)


def pin_state(pid):
    st = W.pins.get(pid)
    if st is None:
        st = PinState(pid)
        W.pins[pid] = st
    return st


class AdcState:
    def __init__(self, pid):
        self.id = pid
        self.u16 = 0
        self.uv = None           # volts at the pin in uV (esp32); None: derive from u16 over 0..3.3 V
        self.atten = None
        self.width = None
        self.floating = False    # an open input without a pull (esp32 quirk "float")


def adc_state(pid):
    st = W.adcs.get(pid)
    if st is None:
        st = AdcState(pid)
        W.adcs[pid] = st
    return st


class PwmState:
    def __init__(self, pid):
        self.id = pid
        self.freq = 0
        self.duty_u16 = 0        # what the hardware makes of the request (its resolution)
        self.active = False


def pwm_state(pid):
    st = W.pwms.get(pid)
    if st is None:
        st = PwmState(pid)
        W.pwms[pid] = st
    return st


def rp2_slice(gpio):
    # RP2040: GPIOn is slice (n >> 1) & 7, channel n & 1 (datasheet 4.5.2)
    return (gpio >> 1) & 7
