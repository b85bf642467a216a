# Virtual `time` for the MicroPython unix port (shadows the built-in; CPython never imports it
# because its built-in time wins). Calendar functions come from the real utime.
import utime
from simclock import (ticks_us, ticks_ms, ticks_cpu, ticks_add, ticks_diff, sleep, sleep_ms,
                      sleep_us, time, time_ns, TICKS_PERIOD)


def localtime(secs=None):
    return utime.localtime(time() if secs is None else secs)


def gmtime(secs=None):
    return utime.gmtime(time() if secs is None else secs)


def mktime(t):
    return utime.mktime(t)
