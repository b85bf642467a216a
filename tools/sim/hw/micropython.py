# CPython stand-in for MicroPython's built-in `micropython` module (the unix port ignores this
# file: its built-in cannot be shadowed). Only what firmware uses; no real effect on the host.


def const(x):
    return x


def native(f):
    return f


viper = native
asm_thumb = native


def schedule(func, arg):
    # on the fake chip's scheduler queue (8 slots, RuntimeError when full), as on a board
    import machine
    machine.sim_schedule(func, arg)


def alloc_emergency_exception_buf(size):
    pass


def heap_lock():
    return 0


def heap_unlock():
    return 0


def mem_info(verbose=None):
    pass


def qstr_info(verbose=None):
    pass


def stack_use():
    return 0


_opt = 0


def opt_level(level=None):
    global _opt
    if level is None:
        return _opt
    _opt = level
