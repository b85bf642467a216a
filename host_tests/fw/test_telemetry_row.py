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
    t._fill_row()
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
        t._fill_row()
        t._send(t._row)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for _ in range(200):
        t._fill_row()
        t._send(t._row)
    used = gc.mem_alloc() - a
    gc.enable()
    assert used < 64, "200 rows allocated %d bytes" % used


def test_row_time_after_two_weeks_is_seconds_and_ms_both_small_ints():
    # one ms count passes 2^30 (a board's small ints) after 12.4 days: the row keeps seconds
    # and the ms past them, and prints them as before ("s.mmm")
    b = Bench()
    b.running(2500)
    t = b.rig.tlm
    t.t_s = 14 * 86400
    t.t_ms = 995
    text = b.rig.telemetry_row()
    s, ms = text.split(",")[0].split(".")
    assert len(ms) == 3 and int(s) * 1000 + int(ms) >= 14 * 86400 * 1000 + 995
    assert t.t_ms < 1000 and t.t_s < 2 ** 30 and t.t_s >= 14 * 86400


def test_buffer_number_writer_is_the_text_of_fixed():
    # the row's numbers (_fixed into the buffer) read exactly as fixed() makes them: every
    # digit count from 1 to 9, both signs, 0 to 3 decimals, the zero before the point
    from ecmo import telemetry as T
    buf = bytearray(64)
    vals = [0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, 4012, 9999, 10000, 65535, 99999, 100000,
            999999, 1000000, 12345678, 123456789]
    for v in vals:
        for s in (v, -v):
            for d in range(4):
                n = T._fixed(buf, 3, s, d)
                got = bytes(buf[3:n]).decode()
                assert got == T.fixed(s, d), (s, d, got)


LIM = 398     # telemetry._LIM (a private const: MicroPython does not export it)


def _writers():
    from ecmo import telemetry as T
    from ecmo import numtext
    return T, (("bytecode", T._fixed), ("native", numtext.put_fixed))


def test_native_number_writer_writes_the_bytes_of_the_bytecode_one():
    # the row's writer is native code where it loads (ecmo/numtext.py: viper, x64 on the unix
    # port, armv6m on the Pico; plain Python under CPython): byte for byte telemetry._fixed,
    # over every digit count a small int can have, both signs, 0-3 decimals, and at the end
    # of the row's room (a number that does not fit is left out, its sign kept)
    T, ws = _writers()
    vals = [0, 1, 7, 9, 10, 11, 99, 100, 999, 1000, 1001, 9999, 10000, 99999, 100000, 999999,
            1000000, 9999999, 10000000, 99999999, 100000000, 999999999, 1000000000,
            2 ** 30 - 1]
    x = 12345
    for _ in range(300):             # and a spread of others (a fixed LCG: runs the same)
        x = (x * 1103515245 + 12345) % (2 ** 31)
        vals.append(x % (10 ** (1 + x % 9)))
    for v in vals:
        for s in (v, -v):
            for d in range(4):
                for at in (4, 380, LIM - 3, LIM - 1):
                    out = []
                    for _name, f in ws:
                        buf = bytearray(448)      # _ROW_MAX + _SLACK
                        n = f(buf, at, s, d)
                        out.append((n, bytes(buf)))
                    assert out[0] == out[1], (s, d, at, out[0][0], out[1][0])
                    if at == 4:
                        n, b = out[1]
                        assert b[4:n].decode() == T.fixed(s, d), (s, d)


def test_the_row_uses_the_native_writer_where_it_loads():
    # from the firmware's source (CPython, the unix port) the native module loads; the
    # simulated board's Pico .mpy files are refused by the unix port and the row falls back
    T, _ws = _writers()
    from ecmo import numtext
    assert T.NATIVE and T._number is numtext.put_fixed


def test_row_with_the_heap_locked_reads_the_same():
    # on a board the row is made with the heap locked (its frames on the C stack, as the
    # tick's); the unix port refuses any allocation while locked
    b = Bench()
    b.running(2500)
    t = b.rig.tlm
    t.lock_heap = False
    t.t_s = 0
    text = b.rig.telemetry_row()
    t.t_s = 0
    t.lock_heap = True
    for _ in range(100):
        t._fill_row()
    assert t.lock_heap
    locked = bytes(t._row.buf[4:t._row.n]).decode()
    assert locked.split(",")[1:] == text.split(",")[1:]      # the same but for the time


def test_an_allocation_in_a_locked_row_costs_that_row_then_rows_run_unlocked():
    b = Bench()
    b.running(2500)
    t = b.rig.tlm
    t.lock_heap = True
    fill = t._fill

    class _Once:
        n = 0

    def refused():
        _Once.n += 1
        if _Once.n == 1:
            raise MemoryError
        fill()
    t._fill = refused
    t._out = _Sink()
    t.hz = 10
    t._emit(None)
    assert not t.lock_heap and isinstance(b.rig.loop.last_error, MemoryError)
    t._emit(None)
    assert _Once.n == 2 and t.rows == 2 and t._out.got


def test_the_link_room_check_allocates_nothing():
    # poll() makes a list on every call: 10 rows/s of garbage; MicroPython's ipoll() does not
    import micropython
    b = Bench()
    t = b.rig.tlm
    if t._ipoll is None:
        return                     # CPython's select.poll has no ipoll (and no heap lock)
    t._hold = 0
    want = t._room()
    micropython.heap_lock()
    try:
        got = t._room()
    finally:
        micropython.heap_unlock()
    assert got == want
