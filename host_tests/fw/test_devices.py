# Tests of the host-side sensor models, run under CPython and MicroPython.
import devices


def test_crc8_vector():
    assert devices.crc8(b"\xbe\xef") == 0x92


def test_abp_transfer_function_and_status():
    d = devices.HoneywellABP(-517, 517)
    d.pressure_mmhg = -517
    b = d.read(2)
    assert b[0] >> 6 == 0
    assert ((b[0] << 8) | b[1]) & 0x3FFF == 1638
    d.pressure_mmhg = 517
    b = d.read(4)
    assert ((b[0] << 8) | b[1]) & 0x3FFF == 14746
    d.temp_c = 37.0
    b = d.read(4)
    t11 = (b[2] << 3) | (b[3] >> 5)
    assert abs(t11 * 200 / 2047 - 50 - 37.0) < 0.1
    d.set_fault("stale")
    assert d.read(2)[0] >> 6 == 2
    d.set_fault("diag")
    assert d.read(2)[0] >> 6 == 3


def test_slf3s_frame_and_faults():
    d = devices.SensirionSLF3S(scale=500)
    try:
        d.read(9)
        raise AssertionError("read before start")
    except OSError as e:
        assert e.args[0] == 19
    d.write(b"\x36\x08")
    d.flow = -2.0
    d.air = True
    f = d.read(9)
    raw = (f[0] << 8) | f[1]
    assert raw - 65536 == -1000
    assert devices.crc8(f[0:2]) == f[2]
    assert (f[6] << 8) | f[7] == 1
    d.set_fault("crc")
    f = d.read(3)
    assert devices.crc8(f[0:2]) != f[2]


def test_sfm3000_raw_offset_scale():
    d = devices.SensirionSFM3000()
    d.write(b"\x10\x00")
    d.flow_slm = 2.0
    f = d.read(3)
    assert (f[0] << 8) | f[1] == 32280
    assert devices.crc8(f[0:2], 0x00) == f[2]      # the SFM3000's CRC starts at 0x00


def test_sensirion_crc_init_vectors():
    # poly 0x31; the SLF3S starts at 0xFF, the SFM3000 at 0x00 (vectors worked by hand)
    assert devices.crc8(b"\xbe\xef", 0xFF) == 0x92
    assert devices.crc8(b"\xbe\xef", 0x00) == 0x13
    assert devices.crc8(b"\x7d\x18", 0x00) == 0x81

