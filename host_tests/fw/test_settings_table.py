# The one settings table (ecmo/table.py): the setters, the settings file check and the limits
# all take their bounds, defaults and units from it, and the disagreements issue #10 found
# between them stay fixed.
import fwtmp
import machine
import board_pico as board
import rigkit
from ecmo import table as T
from ecmo import settings as S
from ecmo.safety import profiles

PATH = fwtmp.path("table_settings.json")


def _raises(f):
    try:
        f()
    except ValueError as e:
        return str(e)
    return None


_SETTERS = {"flow_lpm": "set_flow", "rpm": "set_rpm", "sweep_lpm": "set_sweep",
            "telemetry_hz": "telemetry"}


def test_setters_and_the_file_check_keep_the_same_bounds():
    # for every number an operator sets: the highest is accepted by both, just above by neither
    b = rigkit.Bench(start=False)
    r = b.rig
    for name in _SETTERS:
        lo, hi = T.ROWS[name][T.LO], T.ROWS[name][T.HI]
        if hi is None:
            hi = board.RPM_MAX
        setter = getattr(r, _SETTERS[name])
        assert S.check_field(name, hi, board.RPM_MAX) == hi
        assert _raises(lambda: setter(hi)) is None, name
        over = hi + 1
        assert _raises(lambda: S.check_field(name, over, board.RPM_MAX)), name
        msg = _raises(lambda: setter(over))
        assert msg and name in msg, (name, msg)
        assert _raises(lambda: setter(lo - 1)), name


def test_fio2_has_one_lower_bound_room_air():
    # regression: the oxygenator accepted FiO2 from 0.209 while the settings said 0.21
    b = rigkit.Bench(start=False)
    low = T.ROWS["fio2"][T.LO]
    assert low == S.FIO2_MIN == 0.21
    assert _raises(lambda: b.rig.set_fio2(0.209))
    assert _raises(lambda: S.check_field("fio2", 0.209, board.RPM_MAX))
    b.rig.set_fio2(0.21)
    assert b.rig.gas.fio2_target_dpct == 210


def test_a_saved_sweep_comes_back_to_the_ml():
    # regression: the oxygenator turned the saved L/min into mL/min with int(x * 1000): 1.001
    # came back as 1000 (and 4.1 as 4099 on a board with 32-bit floats)
    b = rigkit.Bench(settings_path=PATH, start=False)
    b.rig.set_sweep(1.001)
    b.rig.set_flow(1.001)
    b.rig.save()
    b2 = rigkit.Bench(settings_path=PATH, keep_settings=True, profile=None, start=False)
    assert b2.rig.gas.control.target_mlpm == 1001, b2.rig.gas.control.target_mlpm
    assert b2.rig.control.flow_target_mlpm == 1001


def test_to_units_rounds_what_a_float32_board_holds():
    # 4.1 as a float32 is 4.0999999; the conversion must still give 4100 mL/min
    assert T.to_units("sweep_lpm", 4.0999999) == 4100
    assert T.to_units("flow_lpm", 2.2999999) == 2300
    assert T.to_units("fio2", 0.20999999) == 210


def test_load_applies_the_gas_settings_too():
    # regression: rig.load() put the pump side back but left sweep and FiO2 as they were live
    b = rigkit.Bench(settings_path=PATH, start=False)
    b.rig.set_sweep(2.5)
    b.rig.set_fio2(0.6)
    b.rig.save()
    b.rig.set_sweep(4.0)
    b.rig.set_fio2(0.9)
    b.rig.load()
    assert b.rig.gas.control.target_mlpm == 2500 and b.rig.gas.fio2_target_dpct == 600


def test_the_wiring_starts_the_flow_loop_with_the_default_gains():
    # regression: the rig built PumpControl(400, 800, 0) while the default gains were 300, 1500, 0
    from ecmo.wiring import Wiring
    from ecmo.drivers.retain import Retained
    machine.sim_reset()
    p = Wiring(board).build(Retained(None))
    pid = p.control.pid
    assert [pid.kp, pid.ki, pid.kd] == S.defaults()["gains"] == [T.default(k) for k in S.GAINS]


def test_fio2_feed_forward_uses_the_o2_cell_constants():
    # regression: FiO2Control hard-coded 209 and 791 beside o2cell.AIR_DPCT
    from ecmo.control import sweep
    from ecmo.drivers import o2cell
    assert sweep.AIR_DPCT == o2cell.AIR_DPCT and sweep.O2_DPCT == o2cell.O2_DPCT
    f = sweep.FiO2Control()
    f.target_dpct = o2cell.AIR_DPCT
    assert f.update(o2cell.AIR_DPCT, True, 100) == 0        # air only: blender closed


def test_limits_come_from_the_table():
    for name in profiles.LIMITS:
        row = T.ROWS[name]
        assert row[T.GROUP] in ("limits", "gas limits")
        assert profiles.defaults("VA")[name] == row[T.VA]
        assert profiles.defaults("VV")[name] == row[T.VV]
        assert row[T.LO] <= row[T.VA] <= row[T.HI] and row[T.LO] <= row[T.VV] <= row[T.HI]
    assert set(profiles.LIMITS) == set(T.names("limits", "gas limits"))


def test_every_row_is_complete_and_its_default_inside_its_bounds():
    for name in T.ORDER:
        r = T.ROWS[name]
        assert len(r) == 8, name
        if r[T.SCALE] == 0:
            assert r[T.VA] in r[T.LO] and r[T.VV] in r[T.LO], name
        else:
            hi = r[T.HI] if r[T.HI] is not None else board.RPM_MAX
            assert r[T.LO] <= r[T.VA] <= hi and r[T.LO] <= r[T.VV] <= hi, name
            assert r[T.SAFER] in (-1, 0, 1) and r[T.UNIT], name
    assert len(T.ORDER) == len(T.ROWS)


def test_gain_bounds_stay_inside_the_pid_overflow_bounds():
    # the PID (control/pid.py) clamps |error| and |d(pv)| to 10 L/min and runs at dt <= 20 ms;
    # its products must stay small ints (< 2**30) at the table's highest gains
    from ecmo.control.pid import PID
    err, dt = 10000, 20
    assert T.ROWS["kp"][T.HI] * err < 2 ** 30
    assert T.ROWS["ki"][T.HI] * err * dt + 999 < 2 ** 30
    assert T.ROWS["kd"][T.HI] * err < 2 ** 30
    pid = PID(T.ROWS["kp"][T.HI], T.ROWS["ki"][T.HI], T.ROWS["kd"][T.HI], 0, 10000)
    pid.reset(5000, 0)
    for pv in (0, 30000, -30000, 0):
        u = pid.update(30000, pv, dt)
        assert isinstance(u, int) and 0 <= u <= 10000


def test_version_2_tick_limits_become_milliseconds():
    from ecmo.migrate import MIGRATE
    d = S.defaults()
    lim = dict(d["limits"])
    del lim["debounce_ms"]
    del lim["low_flow_ms"]
    lim["debounce_ticks"] = 3
    lim["low_flow_ticks"] = 150
    d["limits"] = lim
    d["version"] = 2
    out = MIGRATE[2](d)
    assert out["limits"]["debounce_ms"] == 30 and out["limits"]["low_flow_ms"] == 1500
    assert "debounce_ticks" not in out["limits"]
