# The one place that makes the firmware importable on the host, for the tests, the simulator and
# the benchmarks: firmware/, boards/, tools/sim/ and, searched first, the fake machine and time
# (tools/sim/hw/); then the runtime's shims (CPython: hw/hostshim.py; the unix port: a
# `micropython` module whose schedule() queues on the fake chip).
import sys


def _root():
    f = __file__.replace("\\", "/")
    d = f.rsplit("/", 1)[0] if "/" in f else "."
    return d + "/../.."


ROOT = _root()
SIM = ROOT + "/tools/sim"


def setup(*extra):
    # extra folders come after the fake machine in the search order
    for p in extra + (SIM, ROOT + "/boards", ROOT + "/firmware", SIM + "/hw"):
        if p not in sys.path:
            sys.path.insert(0, p)
    if sys.implementation.name != "micropython":
        import hostshim
        hostshim.install()
        return
    _unix_micropython()


def _unix_micropython():
    # The unix port's built-in `micropython` cannot be shadowed by a file, but import looks in
    # sys.modules first: a copy stands in, with the board-only alloc_emergency_exception_buf
    # (main.py calls it) and schedule() on the fake chip's 8-slot queue.
    import micropython
    if getattr(micropython, "_ecmo_shim", False):
        return

    class _Micropython:
        pass
    shim = _Micropython()
    for k in dir(micropython):
        if not k.startswith("__"):
            setattr(shim, k, getattr(micropython, k))
    import machine
    shim.alloc_emergency_exception_buf = lambda size: None
    shim._real_schedule = micropython.schedule     # the VM's own queue (tools/rigboot.py)
    shim.schedule = machine.sim_schedule
    shim._ecmo_shim = True
    sys.modules["micropython"] = shim
