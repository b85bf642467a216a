# drivers/o2cell.py to the count (mutation run, docs/mutation.md): the plausible band's edges,
# the implausible-read count that flags the cell, the new-cell tolerance at its edge, the
# nominal air output from a board calibration taken at other points, and the recalibrations
# that build on the last one. A stub ADC hands the driver exact counts.
from ecmo.drivers.o2cell import O2Cell, AIR_DPCT, O2_DPCT
from ecmo.drivers.status import OK, OPEN


class _Adc:
    def __init__(self, v):
        self.v = v

    def read_u16(self):
        return self.v


def cell(v, cal=(209, 209, 1000, 1000)):
    # the identity calibration: a count is 0.1 % O2
    a = _Adc(v)
    return a, O2Cell(a, cal, (100, 2600))


def reads(o, n):
    for _ in range(n):
        o.read()


def test_the_plausible_band_s_own_edges_never_flag_the_cell():
    for v in (195, 1030):
        a, o = cell(v)
        reads(o, 100)
        assert o.status == OK and o.value == v and not o.out_of_cal, v


def test_just_outside_the_band_the_31st_read_flags_the_cell():
    for v in (194, 1031):
        a, o = cell(v)
        reads(o, 30)
        assert not o.out_of_cal, v
        o.read()
        assert o.out_of_cal, v


def test_a_plausible_read_starts_the_count_again():
    a, o = cell(194)
    reads(o, 30)
    a.v = 209
    o.read()
    a.v = 194
    reads(o, 30)
    assert not o.out_of_cal


def test_no_drift_is_reported_before_any_calibration():
    a, o = cell(209)
    assert o.drift_dpct == 0


def test_the_o2_point_is_accepted_at_the_tolerance_s_edge_and_refused_past_it():
    # nominal O2 output 1000 counts; 40 % off is the last accepted (a reading past the
    # sensor's range is RANGE, which the old calibration may cause: still calibratable)
    a, o = cell(1400)
    o.read()
    assert o.calibrate(O2_DPCT) == 1200 - O2_DPCT      # read at the range's edge before
    a.v = 1400
    o.read()
    assert o.value == 1000
    a, o = cell(1401)
    o.read()
    try:
        o.calibrate(O2_DPCT)
        raise AssertionError("a cell 40.1 % off accepted")
    except ValueError as e:
        assert "exhausted" in str(e)
    assert o.out_of_cal


def test_an_open_cell_cannot_be_calibrated():
    a, o = cell(50)
    assert o.read() == OPEN
    try:
        o.calibrate(AIR_DPCT)
        raise AssertionError("calibrated on an open input")
    except ValueError as e:
        assert "invalid" in str(e)


def test_nominal_air_output_from_a_board_calibration_at_other_points():
    # points at 10 % and 100 %: the nominal air output is 209 counts; 83 counts either side of
    # it (39.7 %) is a usable cell, 84 is not
    for v, ok in ((292, True), (126, True), (293, False), (125, False)):
        a, o = cell(v, (100, 100, 1000, 1000))
        o.read()
        try:
            o.calibrate(AIR_DPCT)
            assert ok, v
        except ValueError:
            assert not ok, v


def test_air_recalibrations_build_on_the_last_one():
    a, o = cell(190)
    o.read()
    o.calibrate(AIR_DPCT)           # the O2 point scaled with air: 1000 * 190 // 209 = 909
    a.v = 180
    o.read()
    o.calibrate(AIR_DPCT)           # 909 * 180 // 190 = 861
    a.v = 861
    o.read()
    assert o.value == 1000, o.value
    a.v = 180
    o.read()
    assert o.value == 209


def test_a_calibration_starts_the_implausible_count_again():
    a, o = cell(150)
    reads(o, 20)                    # 15 % in an air/O2 sweep: counted
    o.calibrate(AIR_DPCT)           # the cell was worn, not the gas: now 150 counts is air
    a.v = 135                       # about 18.8 %
    o.read()
    assert o.value < 195
    reads(o, 15)
    assert not o.out_of_cal
