# safety/resume.py to the flag (mutation run, docs/mutation.md): what after_reset() restores and
# raises for each boot cause and retained word, and what keep() stores. Stub parts stand in for
# the rig's, so each flag is seen on its own.
import machine
from ecmo.drivers import retain as R
from ecmo.safety import alarms as A
from ecmo.safety import resume
from ecmo.control.pump_control import RPM, FLOW, PRESSURE, ZERO


class _Al:
    def __init__(self):
        self.log = []

    def set(self, code, on, now):
        self.log.append((code, bool(on), now))

    def raised(self, code):
        return any(c == code and on for c, on, _ in self.log)


class _Latch:
    def __init__(self):
        self.latched = False


class _Sup:
    def __init__(self, profile="VA"):
        self.profile = profile
        self.clamp_request = False
        self.started = None
        self.stop_restored = None
        self.profiles = []

    def start(self, now):
        self.started = now

    def restore_stop(self, was_running):
        self.stop_restored = was_running

    def set_profile(self, prof, lim):
        self.profile = prof
        self.profiles.append(prof)


class _Ctl:
    def __init__(self):
        self.mode = RPM
        self.rpm_target = 0
        self.flow_target_mlpm = 0
        self.p1_target_dmmhg = -500
        self.prev_mode = RPM
        self.modes = []

    def set_mode(self, mode, flow, applied, p1=None):
        self.mode = mode
        self.modes.append((mode, flow, applied) if p1 is None else (mode, flow, applied, p1))


class _GasSafety:
    def __init__(self):
        self.limits = None

    def set_limits(self, prof, lim):
        self.limits = (prof, lim)


class _GasCtl:
    def __init__(self):
        self.target_mlpm = 0


class _Gas:
    def __init__(self):
        self.safety = _GasSafety()
        self.control = _GasCtl()


class _Flow:
    value = 1234


class _P1:
    value = -321


class _P:
    def __init__(self, profile="VA", gas=True):
        self.al = _Al()
        self.bubble = _Latch()
        self.estop = _Latch()
        self.sup = _Sup(profile)
        self.control = _Ctl()
        self.flow = _Flow()
        self.p1 = _P1()
        self.gas = _Gas() if gas else None


class _Retain:
    def __init__(self, word=None, mode=0):
        self.word = word
        self.mode_byte = mode
        self.put_args = None

    def get(self):
        return self.word

    def mode(self):
        return self.mode_byte

    def put(self, flags, sp, sweep=None, mode=0):
        self.put_args = (flags, sp, sweep)
        self.mode_byte = mode

    def add(self, flag):
        f, sp, sweep = self.put_args
        self.put_args = (f | flag, sp, sweep)


def boot(word, cause=machine.WDT_RESET, profile="VA", on_flash=(False, False), gas=True, mode=0):
    p = _P(profile, gas)
    settings = {}
    out = resume.after_reset(p, _Retain(word, mode), cause, settings, 5000, 77, on_flash)
    return p, settings, out


def test_power_on_says_so_and_is_not_unexpected():
    p, s, out = boot(None, machine.PWRON_RESET)
    assert p.al.raised(A.POWER_ON) and not p.al.raised(A.WDT_RESET)
    assert not out.unexpected and not out.run_intent and not out.dirty and s == {}
    p, s, out = boot((R.RUN | R.VA, 2500, None), machine.PWRON_RESET)
    assert p.sup.started is None and s == {}


def test_an_asked_reset_is_not_unexpected_and_restores_nothing():
    p, s, out = boot((R.ASKED | R.RUN | R.VA, 2500, None))
    assert not out.unexpected and not p.al.raised(A.WDT_RESET) and not p.al.raised(A.POWER_ON)
    assert p.sup.started is None and s == {}


def test_unexpected_reset_in_va_resumes_at_the_live_speed():
    p, s, out = boot((R.RUN | R.VA, 2600, 1500))
    assert out.unexpected and out.run_intent and p.sup.started == 77
    assert (A.WDT_RESET, True, 77) in p.al.log and (A.WDT_RESET, False, 77) in p.al.log
    assert p.control.rpm_target == 2600 and p.control.modes == [(RPM, 1234, 0)]
    assert s["control"] == "rpm" and s["rpm"] == 2600 and s["sweep_lpm"] == 1.5
    assert p.gas.control.target_mlpm == 1500
    assert not p.al.raised(A.SETTINGS) and not out.dirty


def test_unexpected_reset_without_run_intent_or_in_vv_stays_in_standby():
    p, s, out = boot((R.VA, 2600, None))
    assert out.unexpected and not out.run_intent and p.sup.started is None
    assert s["rpm"] == 2600
    p, s, out = boot((R.RUN, 2600, None), profile="VV")
    assert not out.run_intent and p.sup.started is None and p.sup.profiles == []


def test_flow_mode_is_restored_in_flow_units():
    p, s, out = boot((R.RUN | R.VA | R.FLOW, 3500, None))
    assert p.control.flow_target_mlpm == 3500 and p.control.modes == [(FLOW, 1234, 0)]
    assert s["control"] == "flow" and s["flow_lpm"] == 3.5 and "sweep_lpm" not in s


def test_a_profile_switched_live_comes_back_with_its_defaults():
    p, s, out = boot((R.RUN, 2000, None), profile="VA")      # VA not set: VV was live
    assert p.sup.profiles == ["VV"] and s["profile"] == "VV" and s["limits"]["sweep_lost_ms"] == 2000
    assert p.gas.safety.limits[0] == "VV"
    assert not out.run_intent                                 # VV does not resume
    p, s, out = boot((R.VA, 2000, None), profile="VV", gas=False)
    assert p.sup.profiles == ["VA"] and s["profile"] == "VA"
    p, s, out = boot((R.VA, 2000, None), profile="VA")
    assert p.sup.profiles == [] and "profile" not in s


def test_dirty_and_clamp_flags_come_back():
    p, s, out = boot((R.VA | R.DIRTY | R.CLAMP, 2000, None))
    assert out.dirty and p.al.raised(A.SETTINGS) and p.sup.clamp_request is True
    p, s, out = boot((R.VA, 2000, None))
    assert p.sup.clamp_request is False


def test_impossible_setpoints_are_not_restored_but_va_still_resumes():
    for word in ((R.RUN | R.VA, 5001, None), (R.RUN | R.VA | R.FLOW, 8001, None),
                 (R.RUN | R.VA, 2000, 10001)):
        p, s, out = boot(word)
        assert p.al.raised(A.SETTINGS) and s == {} and p.control.modes == [], word
        assert out.run_intent and p.sup.started == 77, word
    for word in ((R.RUN | R.VA, 5000, None), (R.RUN | R.VA | R.FLOW, 8000, None),
                 (R.RUN | R.VA, 2000, 10000)):
        p, s, out = boot(word)
        assert not p.al.raised(A.SETTINGS) and p.control.modes, word


def test_a_latched_stop_survives_and_blocks_the_resume():
    for flag, air, est in ((R.STOP_AIR, True, False), (R.STOP_ESTOP, False, True),
                           (R.STOP_AIR | R.STOP_ESTOP, True, True)):
        p, s, out = boot((R.RUN | R.VA | flag, 2500, None))
        assert p.bubble.latched is air and p.estop.latched is est
        assert p.sup.stop_restored is True and not out.run_intent and p.sup.started is None
    p, s, out = boot((R.VA | R.STOP_AIR, 2500, None))
    assert p.sup.stop_restored is False
    p, s, out = boot((R.RUN | R.VA, 2500, None))
    assert p.sup.stop_restored is None and not p.bubble.latched and not p.estop.latched


def test_latches_on_flash_survive_a_power_cycle():
    p, s, out = boot(None, machine.PWRON_RESET, on_flash=(True, False))
    assert p.bubble.latched is True and p.estop.latched is False and p.sup.stop_restored is False
    p, s, out = boot(None, machine.PWRON_RESET, on_flash=(False, True))
    assert p.estop.latched is True and p.bubble.latched is False
    p, s, out = boot(None, machine.WDT_RESET)
    assert out.unexpected and p.sup.stop_restored is None and s == {}


def test_keep_stores_every_flag_the_setpoint_and_the_latches():
    p = _P("VA")
    r = _Retain()
    p.control.rpm_target = 2700
    resume.keep(p, r, True, False)
    assert r.put_args == (R.RUN | R.VA, 2700, 0)
    p.sup.profile = "VV"
    p.control.mode = FLOW
    p.control.flow_target_mlpm = 3300
    p.sup.clamp_request = True
    p.gas.control.target_mlpm = 900
    p.bubble.latched = True
    resume.keep(p, r, False, True, asked=True)
    assert r.put_args == (R.ASKED | R.FLOW | R.DIRTY | R.CLAMP | R.STOP_AIR, 3300, 900)
    p.bubble.latched = False
    p.estop.latched = True
    p.gas = None
    resume.keep(p, r, False, False)
    assert r.put_args == (R.FLOW | R.CLAMP | R.STOP_ESTOP, 3300, None)


class _LateLatch:
    # a latch an ESP32 soft IRQ sets while keep() has interrupts "off": clear at the first look
    def __init__(self):
        self.looks = 0

    @property
    def latched(self):
        self.looks += 1
        return self.looks > 1


def test_keep_records_a_latch_set_during_its_section_again():
    for name, bit in (("bubble", R.STOP_AIR), ("estop", R.STOP_ESTOP)):
        p = _P("VA")
        r = _Retain()
        setattr(p, name, _LateLatch())
        resume.keep(p, r, True, False)
        assert r.put_args[0] & bit, name
        assert r.put_args[0] & (R.STOP_AIR | R.STOP_ESTOP) == bit, name


def test_cause_names_and_a_soft_reset_is_planned():
    assert resume.cause_name(machine.PWRON_RESET, False) == "power-on"
    assert resume.cause_name(machine.WDT_RESET, False) == "watchdog"
    assert resume.cause_name(machine.WDT_RESET, True) == "planned"
    p, s, out = boot((R.RUN | R.VA, 2500, None))
    assert out.cause == "watchdog"
    p, s, out = boot((R.RUN | R.VA | R.ASKED, 2500, None))
    assert out.cause == "planned"
    p, s, out = boot(None, machine.PWRON_RESET)
    assert out.cause == "power-on"
    machine.sim_port("esp32")
    try:
        assert resume.cause_name(machine.SOFT_RESET, False) == "soft"
        assert resume.cause_name(machine.HARD_RESET, False) == "crash"
        assert resume.cause_name(machine.HARD_RESET, True) == "planned"
        p, s, out = boot((R.RUN | R.VA, 2500, None), machine.SOFT_RESET)
        assert not out.unexpected and out.cause == "soft" and p.sup.started is None
        p, s, out = boot((R.RUN | R.VA, 2500, None), machine.HARD_RESET)
        assert out.unexpected and out.cause == "crash" and out.run_intent
    finally:
        machine.sim_port("rp2")


def test_after_reset_without_flash_latches_releases_nothing_and_latches_nothing():
    p = _P("VA")
    out = resume.after_reset(p, _Retain((R.RUN | R.VA, 2500, None)), machine.WDT_RESET, {}, 5000, 5)
    assert not p.bubble.latched and not p.estop.latched and p.sup.stop_restored is None
    assert out.run_intent and p.sup.started == 5


# ---- the P1 servo and the weaning search (issue 17) through a reset ----

def _kept(mode, setup):
    # what keep() stores for a controller in `mode`, as after_reset() will read it
    p = _P("VA")
    r = _Retain()
    p.control.mode = mode
    setup(p.control)
    resume.keep(p, r, True, False)
    return r.put_args, r.mode_byte


def test_the_p1_servo_comes_back_on_its_target():
    def setup(c):
        c.p1_target_dmmhg = -850
    (flags, sp, sweep), mode = _kept(PRESSURE, setup)
    assert mode == PRESSURE
    p, s, out = boot((flags, sp, sweep), mode=mode)
    assert p.control.p1_target_dmmhg == -850 and p.control.modes == [(PRESSURE, 1234, 0, -321)]
    assert s["control"] == "pressure" and s["p1_target_mmhg"] == -85.0
    assert out.run_intent and not p.al.raised(A.SETTINGS)


def test_the_weaning_search_comes_back_with_the_mode_and_speed_it_returns_to():
    for back in (RPM, FLOW):
        def setup(c):
            c.prev_mode = back
            c.rpm_target = 3100
        (flags, sp, sweep), mode = _kept(ZERO, setup)
        p, s, out = boot((flags, sp, sweep), mode=mode)
        c = p.control
        assert c.modes == [(ZERO, 1234, 0)] and c.prev_mode == back and c.rpm_target == 3100, back
        assert s["control"] == "zero" and out.run_intent and not p.al.raised(A.SETTINGS), back


def test_a_weaning_word_is_refused_for_each_of_its_impossible_parts_alone():
    ok = (R.RUN | R.VA, 3000, None)
    p, s, out = boot(ok, mode=ZERO | RPM << 2)
    assert not p.al.raised(A.SETTINGS) and p.control.modes
    p, s, out = boot((R.RUN | R.VA, 5000, None), mode=ZERO | RPM << 2)    # rpm_max itself: fine
    assert not p.al.raised(A.SETTINGS) and p.control.rpm_target == 5000
    for word, mode in (((R.RUN | R.VA, 5001, None), ZERO | RPM << 2),     # over rpm_max
                       (ok, ZERO | ZERO << 2),                          # returns to itself
                       ((R.RUN, 3000, None), ZERO | RPM << 2)):         # weaning is VA only
        p, s, out = boot(word, mode=mode, profile="VV" if not word[0] & R.VA else "VA")
        assert p.al.raised(A.SETTINGS) and p.control.modes == [] and s.get("control") is None, \
            (word, mode)
