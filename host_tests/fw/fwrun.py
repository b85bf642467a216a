# Runs the test_* functions of one firmware test module, under MicroPython or CPython:
#   micropython host_tests/fw/fwrun.py test_fake_machine
# Prints one JSON line per test, prefixed with MARK, so host_tests/conftest.py can read results
# among whatever the tests print themselves.
import sys
import json

MARK = "@@fwrun "


def _here():
    f = __file__ if "__file__" in globals() else sys.argv[0]
    f = f.replace("\\", "/")
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


def setup_paths():
    # tools/sim/simpaths.py is the one path helper; this folder comes after the fake machine
    sim = _here() + "/../../tools/sim"
    if sim not in sys.path:
        sys.path.insert(0, sim)
    import simpaths
    simpaths.setup(_here())


def _tb(e):
    if sys.implementation.name == "micropython":
        import io
        buf = io.StringIO()
        sys.print_exception(e, buf)
        return buf.getvalue()
    import traceback
    return "".join(traceback.format_exception(type(e), e, e.__traceback__))


def _emit(name, ok, tb):
    print(MARK + json.dumps({"name": name, "ok": ok, "tb": tb}))


def run(modname):
    import gc
    import machine
    try:
        mod = __import__(modname)
    except BaseException as e:
        _emit("<import>", False, _tb(e))
        return 1
    names = [n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n))]
    names.sort()
    failed = 0
    for n in names:
        machine.sim_reset()
        gc.collect()
        try:
            getattr(mod, n)()
            _emit(n, True, "")
        except BaseException as e:
            failed += 1
            _emit(n, False, _tb(e))
    return 1 if failed else 0


if __name__ == "__main__":
    setup_paths()
    rc = 0
    for m in sys.argv[1:]:
        rc |= run(m)
    sys.exit(rc)
