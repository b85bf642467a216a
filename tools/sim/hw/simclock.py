# Board-like tick functions over the fake machine's virtual clock; shared by time.py (MicroPython)
# and hostshim.py (CPython) so both runtimes count time the same way.
import machine

TICKS_PERIOD = 1 << 30    # ticks wrap here on rp2/esp32, so firmware must use ticks_diff
_TICKS_MAX = TICKS_PERIOD - 1
_TICKS_HALF = TICKS_PERIOD // 2
EPOCH_S = 1704067200      # time() at virtual clock 0: 2024-01-01 UTC, fixed for determinism


def ticks_us():
    return machine.sim_now_us() & _TICKS_MAX


def ticks_ms():
    return (machine.sim_now_us() // 1000) & _TICKS_MAX


def ticks_cpu():
    return ticks_us()


def ticks_add(ticks, delta):
    return (ticks + delta) & _TICKS_MAX


def ticks_diff(end, start):
    # Signed difference in [-2**29, 2**29), like the ports.
    return ((end - start + _TICKS_HALF) & _TICKS_MAX) - _TICKS_HALF


def sleep_us(us):
    if us > 0:
        machine.sim_advance_us(int(us))


def sleep_ms(ms):
    if ms > 0:
        machine.sim_advance_us(int(ms) * 1000)


def sleep(s):
    if s > 0:
        machine.sim_advance_us(int(s * 1000000))


def time():
    return EPOCH_S + machine.sim_now_us() // 1000000


def time_ns():
    return EPOCH_S * 1000000000 + machine.sim_now_us() * 1000
