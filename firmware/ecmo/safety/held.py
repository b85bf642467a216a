# The one debounce counter of the safety layer: how many ticks (or gas steps) in a row a
# condition has held. Each interlock owns a named slot in an array("H") of counters.
from micropython import const
from array import array

_CAP = const(0xFFFF)    # counters stop here (array "H"): no overflow, no allocation


def counters(n):
    return array("H", [0] * n)


def held(c, slot, cond, ticks):
    # True once cond has held `ticks` times in a row; any time without it starts again
    if cond:
        n = c[slot]
        if n < _CAP:
            n += 1
            c[slot] = n
        return n >= ticks
    c[slot] = 0
    return False


def ms_to_ticks(ms, period_ms):
    # a time limit as a count of periods, rounded up, at least one
    n = (ms + period_ms - 1) // period_ms
    return n if n > 0 else 1
