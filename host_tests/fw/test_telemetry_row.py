# A telemetry row is built in a preallocated buffer and written in one call: it allocates
# nothing (the string-built row allocated 1.2 KB and took 8 ms on the emulated Pico), and its
# text is what rig.telemetry_row() returns.
import gc
from rigkit import Bench


class _Sink:
    def __init__(self):
        self.got = []

    def write(self, buf, n=None):
        self.got.append(bytes(buf[:n]) if n is not None else buf)
        return n


def test_row_written_whole_with_its_prefix():
    b = Bench()
    b.running(2500)
    t = b.rig.tlm
    sink = _Sink()
    t._out = sink
    text = b.rig.telemetry_row()
    t._fill()
    t._send(t._row)
    got = sink.got[-1]
    got = got.decode() if isinstance(got, bytes) else got
    assert got == "TLM " + text + "\n"
    assert len(text.split(",")) == len(b.rig.telemetry_header().split(","))


def test_row_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return   # only MicroPython counts heap bytes
    b = Bench()
    b.running(2500)
    t = b.rig.tlm
    t._out = _Sink()
    t._out.write = lambda buf, n=None: n      # keep nothing
    for _ in range(5):
        t._fill()
        t._send(t._row)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(200):
        t._fill()
        t._send(t._row)
    used = gc.mem_alloc() - a
    gc.enable()
    assert used < 64, "200 rows allocated %d bytes" % used


_ROW_MAX = 400     # ecmo/telemetry.py's _ROW_MAX and _SLACK (private consts: not importable)
_SLACK = 48


def _fixed_by_parts(buf, n, v, decimals):
    # the number writer as it was: sign, the integer part, the point and the fraction as
    # separate calls of _uint (each refused whole past the row's limit)
    from ecmo.telemetry import _uint
    if v < 0:
        buf[n] = 45
        n += 1
        v = -v
    if decimals == 0:
        return _uint(buf, n, v, 1)
    d = 10 ** decimals
    n = _uint(buf, n, v // d, 1)
    buf[n] = 46
    return _uint(buf, n + 1, v % d, decimals)


def test_number_writer_in_one_call_writes_what_fixed_does():
    # _fixed() writes a number in one call: the text of fixed(), and at the end of a full row
    # the same bytes (and position) as the writer made of parts
    from ecmo.telemetry import _fixed, fixed
    vals = [0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, 1001, 12345, 99999, 100000, 2 ** 29, 123456789]
    vals += [-v for v in vals if v]
    for dec in (0, 1, 2, 3, 4):
        for v in vals:
            buf = bytearray(_ROW_MAX + _SLACK)
            end = _fixed(buf, 7, v, dec)
            assert bytes(buf[7:end]).decode() == fixed(v, dec), (v, dec)
            for n in range(_ROW_MAX - 16, _ROW_MAX):     # the row's limit in every position
                a = bytearray(_ROW_MAX + _SLACK)
                b = bytearray(_ROW_MAX + _SLACK)
                ea = _fixed(a, n, v, dec)
                eb = _fixed_by_parts(b, n, v, dec)
                assert ea == eb and a == b, (v, dec, n)


def test_number_writer_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    from ecmo.telemetry import _fixed
    buf = bytearray(_ROW_MAX + _SLACK)
    _fixed(buf, 0, -12345, 3)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(300):
        _fixed(buf, 10, i * 37 - 5000, i % 4)
    used = gc.mem_alloc() - a
    gc.enable()
    assert used == 0, used
