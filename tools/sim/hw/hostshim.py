# Makes CPython look enough like a board for firmware code: fake `machine` and `micropython` on
# sys.path, and the MicroPython-only tick functions added to CPython's real `time` module
# (time.sleep/time.time stay CPython's own).
import os
import sys

HW_DIR = os.path.dirname(os.path.abspath(__file__))
_TIME_NAMES = ("ticks_us", "ticks_ms", "ticks_cpu", "ticks_add", "ticks_diff", "sleep_ms",
               "sleep_us")


def _print_exception(exc, file=None):
    import traceback
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file or sys.stdout)


def install():
    if HW_DIR not in sys.path:
        sys.path.insert(0, HW_DIR)
    import time
    # CPython's time is built in, so hw/time.py (MicroPython only) cannot shadow it; check anyway.
    assert not getattr(time, "__file__", "").startswith(HW_DIR), "hw/time.py shadowed CPython time"
    import simclock
    for name in _TIME_NAMES:
        setattr(time, name, getattr(simclock, name))
    if not hasattr(sys, "print_exception"):
        sys.print_exception = _print_exception    # firmware error reporting uses it
    import machine
    import micropython
    assert machine.__file__.startswith(HW_DIR), "a real `machine` module shadows the fake"
    assert micropython.__file__.startswith(HW_DIR)
