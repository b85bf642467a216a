# Settings on flash: round trip, atomic save (a reset between write and rename keeps the old
# file), corrupt or tampered files boot with defaults and the SETTINGS alarm, migration of the
# older formats, and field-by-field validation on load.
import fwtmp
import os
import json
import machine
import rigkit
from ecmo import settings as S
from ecmo.safety import alarms as A

DIR = fwtmp.path("settings_dir")
PATH = DIR + "/settings.json"
BAD = DIR + "/settings.bad"


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _clean():
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    for p in (PATH, BAD, PATH + ".tmp"):
        if _exists(p):
            os.remove(p)


def _write(text):
    with open(PATH, "w") as f:
        f.write(text)


def _bench():
    # a rig on the bench, booting from PATH as it is (Bench deletes its own settings file)
    b = rigkit.Bench(start=False, settings_path=DIR + "/unused.json")
    return b


class _Reset(Exception):
    pass


def test_missing_file_gives_defaults_silently():
    _clean()
    d, problem = S.load(PATH)
    assert d == S.defaults()
    assert problem == "no settings file"


def test_round_trip_keeps_every_field():
    _clean()
    d = S.defaults("VV")
    d["flow_lpm"] = 4.25
    d["rpm"] = 3100
    d["control"] = "flow"
    d["gains"] = [350, 700, 10]
    d["limits"]["p3_warn_dmmhg"] = 2800
    d["telemetry_hz"] = 5
    S.save(PATH, d)
    back, problem = S.load(PATH)
    assert problem is None, problem
    assert back == d, (back, d)
    assert not _exists(PATH + ".tmp")


def test_file_text_is_canonical_and_checksummed():
    _clean()
    S.save(PATH, S.defaults())
    with open(PATH) as f:
        text = f.read()
    doc = json.loads(text)
    assert doc["format"] == "ecmo-settings" and doc["version"] == S.VERSION
    assert doc["crc32"] == S.checksum(doc["payload"])
    assert S.canon(doc) == text      # same bytes whoever writes it


def test_h13_reset_between_write_and_rename_keeps_old_settings():
    _clean()
    old = S.defaults()
    old["rpm"] = 2222
    S.save(PATH, old)
    new = S.defaults()
    new["rpm"] = 3333

    def reset(a, b):
        raise _Reset()

    real = S._rename
    S._rename = reset
    try:
        try:
            S.save(PATH, new)
            assert False, "the injected reset did not happen"
        except _Reset:
            pass
    finally:
        S._rename = real
    d, problem = S.load(PATH)
    assert problem is None
    assert d["rpm"] == 2222
    # the next save after the "reset" goes through and replaces the stale temporary file
    S.save(PATH, new)
    d, problem = S.load(PATH)
    assert d["rpm"] == 3333 and problem is None


def test_torn_temporary_file_is_ignored():
    _clean()
    S.save(PATH, S.defaults())
    with open(PATH + ".tmp", "w") as f:
        f.write('{"crc32":"0000')          # reset half way through writing the new file
    d, problem = S.load(PATH)
    assert problem is None and d == S.defaults()


def test_h13_corrupt_file_boots_with_defaults_and_alarm():
    _clean()
    _write('{"format":"ecmo-settings","version":2,"crc32":"12')    # cut short
    b = rigkit.Bench(start=False, settings_path=DIR + "/x.json")   # a healthy world
    from ecmo.rig import Rig
    import board_pico
    rig = Rig(board_pico, PATH)
    assert rig.settings == S.defaults()
    assert rig.al.active(A.SETTINGS)
    assert "corrupt" in rig.settings_problem
    assert _exists(BAD) and not _exists(PATH)    # kept aside for inspection
    with open(BAD) as f:
        assert f.read().startswith('{"format"')
    del b


def test_checksum_mismatch_is_corrupt():
    _clean()
    d = S.defaults()
    S.save(PATH, d)
    with open(PATH) as f:
        text = f.read()
    _write(text.replace('"rpm":2000', '"rpm":4000'))    # a flipped bit in the payload
    back, problem = S.load(PATH)
    assert back == S.defaults()
    assert "checksum" in problem
    assert _exists(BAD)


def test_missing_file_raises_no_alarm_at_boot():
    _clean()
    rigkit.Bench(start=False, settings_path=DIR + "/x.json")
    from ecmo.rig import Rig
    import board_pico
    rig = Rig(board_pico, PATH)
    assert not rig.al.active(A.SETTINGS)


def test_out_of_bounds_field_gets_its_default_and_the_alarm():
    _clean()
    d = S.defaults()
    d["flow_lpm"] = 99.0          # beyond FLOW_MAX_LPM
    d["rpm"] = "fast"             # wrong type
    d["gains"] = [400, 800, 10 ** 12]
    d["limits"]["p3_crit_dmmhg"] = 100000
    d["telemetry_hz"] = 3
    S.save(PATH, d)
    back, problem = S.load(PATH)
    assert problem is not None
    for k in ("flow_lpm", "rpm", "gains", "limits"):
        assert k in problem, problem
        assert back[k] == S.defaults()[k], k
    assert back["telemetry_hz"] == 3          # the good fields stay
    rigkit.Bench(start=False, settings_path=DIR + "/x.json")
    from ecmo.rig import Rig
    import board_pico
    rig = Rig(board_pico, PATH)
    assert rig.al.active(A.SETTINGS)
    assert rig.settings["flow_lpm"] == 3.0


def test_limits_out_of_order_are_rejected_on_load():
    _clean()
    d = S.defaults()
    d["limits"]["p1_crit_dmmhg"] = -400     # crit above warn (-1000): not allowed
    S.save(PATH, d)
    back, problem = S.load(PATH)
    assert "limits" in problem
    assert back["limits"] == S.defaults()["limits"]


def test_migrates_version_0_flat_file():
    _clean()
    v0 = {"profile": "VV", "control": "flow", "flow_lpm": 3.5, "rpm": 2500, "kp": 300, "ki": 600,
          "kd": 5, "p3_warn_dmmhg": 2500, "running": False}
    _write(json.dumps(v0))
    d, problem = S.load(PATH)
    assert problem is None, problem
    assert d["version"] == S.VERSION
    assert d["gains"] == [300, 600, 5]
    assert d["limits"]["p3_warn_dmmhg"] == 2500
    assert d["limits"]["p1_warn_dmmhg"] == S.defaults("VV")["limits"]["p1_warn_dmmhg"]
    assert d["profile"] == "VV" and d["control"] == "flow" and d["flow_lpm"] == 3.5
    assert "kp" not in d and "p3_warn_dmmhg" not in d


def test_migrates_version_1_file():
    _clean()
    v1 = S.defaults()
    v1["version"] = 1
    v1["rpm"] = 2700
    del v1["telemetry_hz"]                  # not in every version 1 file
    _write(json.dumps(v1))
    d, problem = S.load(PATH)
    assert d["rpm"] == 2700 and d["version"] == S.VERSION
    assert d["telemetry_hz"] == 0
    assert problem is None, problem      # a field the old version lacked is no problem


def test_unknown_future_version_boots_with_defaults():
    _clean()
    S.save(PATH, S.defaults())
    with open(PATH) as f:
        doc = json.loads(f.read())
    doc["payload"]["version"] = 9
    doc["crc32"] = S.checksum(doc["payload"])
    _write(S.canon(doc))
    d, problem = S.load(PATH)
    assert d == S.defaults() and "version" in problem


def test_rig_save_and_load_round_trip():
    _clean()
    b = rigkit.Bench(settings_path=PATH)
    r = b.rig
    r.set_flow(4.5)
    r.gains(320, 640, 4)
    r.limit("p3_warn_dmmhg", 2500)
    r.telemetry(0)
    r.save()
    r.set_flow(2.0)
    r.gains(100, 100, 0)
    r.load()
    assert r.settings["flow_lpm"] == 4.5
    assert r.control.flow_target_mlpm == 4500
    assert (r.control.pid.kp, r.control.pid.ki, r.control.pid.kd) == (320, 640, 4)
    assert r.sup.p3_warn_dmmhg == 2500
    b.ticks(20)
    assert r.loop.errors == 0


def test_rig_load_of_a_bad_file_changes_nothing():
    _clean()
    b = rigkit.Bench(settings_path=PATH)
    r = b.rig
    r.set_flow(4.5)
    before = S.canon(r.settings)
    _write("garbage")
    try:
        r.load()
        assert False, "load of a corrupt file must raise"
    except ValueError as e:
        assert "corrupt" in str(e)
    assert S.canon(r.settings) == before
    assert r.control.flow_target_mlpm == 4500


def test_file_from_before_the_gas_side_loads_without_alarm():
    # a version 2 file written before sweep_lpm, fio2 and the gas limits existed
    _clean()
    old = S.defaults()
    for k in ("sweep_lpm", "fio2"):
        del old[k]
    for k in ("temp_low_cdegc", "sat_post_low_dpct", "sweep_lost_ms"):
        del old["limits"][k]
    old["limits"]["p3_warn_dmmhg"] = 2800
    S.save(PATH, old)
    d, problem = S.load(PATH)
    assert problem is None, problem
    assert d["sweep_lpm"] == 0.0 and d["fio2"] == 1.0
    assert d["limits"]["p3_warn_dmmhg"] == 2800          # kept
    assert d["limits"]["temp_low_cdegc"] == 3500          # default filled in


def test_gas_fields_round_trip_and_are_checked():
    _clean()
    d = S.defaults()
    d["sweep_lpm"] = 4.5
    d["fio2"] = 0.6
    S.save(PATH, d)
    back, problem = S.load(PATH)
    assert problem is None and back["sweep_lpm"] == 4.5 and back["fio2"] == 0.6
    for name, v in (("sweep_lpm", 11), ("sweep_lpm", -1), ("fio2", 0.1)):
        bad = S.defaults()
        bad[name] = v
        S.save(PATH, bad)
        back, problem = S.load(PATH)
        assert problem and name in problem, (name, v, problem)
        assert back[name] == S.defaults()[name]
    bad = S.defaults()
    bad["fio2"] = float("nan")
    try:
        S.save(PATH, bad)
        raise AssertionError("NaN written to flash")
    except ValueError:
        pass


def test_temperature_limits_must_stay_ordered():
    lim = S.defaults()["limits"]
    lim["temp_low_cdegc"] = 3700
    lim["temp_high_cdegc"] = 3700
    try:
        S.check_limits(lim, None)
        raise AssertionError("low == high accepted")
    except ValueError as e:
        assert "temp_low" in str(e)


def test_save_on_a_filesystem_that_cannot_rename_over_a_file():
    # FAT: rename onto an existing name fails; save removes the old file first
    _clean()
    S.save(PATH, S.defaults())
    real = S._rename

    def fat_rename(a, b):
        if _exists(b):
            raise OSError(17)    # EEXIST
        real(a, b)

    S._rename = fat_rename
    try:
        d = S.defaults()
        d["rpm"] = 3100
        S.save(PATH, d)
    finally:
        S._rename = real
    back, problem = S.load(PATH)
    assert problem is None and back["rpm"] == 3100


def test_h13_reset_inside_the_fat_fallback_keeps_the_new_settings():
    # regression: on FAT the old file is removed before the rename; a reset there left only
    # settings.json.tmp, and the rig booted silently with defaults
    _clean()
    S.save(PATH, S.defaults())
    real = S._rename
    calls = []

    def fat_then_reset(a, b):
        calls.append(b)
        if len(calls) == 1:
            raise OSError(17)        # EEXIST: FAT will not rename over a file
        raise _Reset()               # power lost after the old file was removed

    S._rename = fat_then_reset
    d = S.defaults()
    d["rpm"] = 3100
    try:
        S.save(PATH, d)
        raise AssertionError("no reset")
    except _Reset:
        pass
    finally:
        S._rename = real
    assert not _exists(PATH) and _exists(PATH + ".tmp")
    back, problem = S.load(PATH)
    assert problem is None and back["rpm"] == 3100
    assert _exists(PATH) and not _exists(PATH + ".tmp")


def test_h13_damaged_tmp_with_no_settings_file_is_an_alarm_not_silence():
    _clean()
    with open(PATH + ".tmp", "w") as f:
        f.write('{"crc32":"00')               # torn first-ever save
    d, problem = S.load(PATH)
    assert problem and "lost" in problem and d == S.defaults()


def test_unreadable_settings_file_is_never_replaced_by_a_stale_tmp():
    # regression: any OSError (not just "no such file") made load() rename .tmp over the file
    _clean()
    S.save(PATH, S.defaults())
    with open(PATH + ".tmp", "w") as f:
        f.write("")                            # stale, empty
    real_open = S.open if hasattr(S, "open") else None
    try:
        S.open = _failing_open                 # the good file gives an I/O error this once
        d, problem = S.load(PATH)
    finally:
        if real_open is None:
            del S.open
        else:
            S.open = real_open
    assert problem and "unreadable" in problem
    assert _exists(PATH)                        # left alone
    d, problem = S.load(PATH)
    assert problem is None


def _failing_open(path, *a):
    if path == PATH:
        raise OSError(5)                        # EIO
    return open(path, *a)


def test_h13_settings_file_with_bytes_that_are_not_text_boots_with_defaults():
    # regression: a byte of erased flash (0xFF) made the read raise UnicodeError and Rig() crash
    _clean()
    S.save(PATH, S.defaults())
    with open(PATH, "rb") as f:
        data = bytearray(f.read())
    data[10] = 0xFF
    with open(PATH, "wb") as f:
        f.write(data)
    d, problem = S.load(PATH)
    assert problem and "corrupt" in problem and d == S.defaults()
    assert _exists(BAD)
