# What the rig does after a reset, and the live intent it keeps for the next one (retained word,
# ecmo/drivers/retain.py). A safety decision (H11, H21 in docs/hazards.md):
# - a reset nobody asked for (watchdog, crash; not power-on, not deploy/halt/reboot) raises a
#   latched HIGH alarm; the rig comes back as it was running (profile, mode, setpoints from
#   retained memory, not the last save), and if the operator had the pump running, the
#   profile's policy applies: VA restarts at once (a stopped pump in VA means retrograde flow
#   and no support); VV stays in standby (the operator checks first);
# - a latched air or e-stop stop survives any reset (a power cycle too: it is also recorded on
#   flash, settings.stop); only ack, the de-air confirmation after air, and restart() release it;
# - every power-on boot says the pump is in standby until the operator acknowledges or runs it.
import machine
from ecmo import table as T
from ecmo.drivers import retain as R
from ecmo.control.pump_control import RPM, FLOW, PRESSURE, ZERO
from ecmo.safety import alarms as A
from ecmo.safety import profiles

_FLOW_MAX_MLPM = T.to_units("flow_lpm", T.ROWS["flow_lpm"][T.HI])
_SWEEP_MAX_MLPM = T.to_units("sweep_lpm", T.ROWS["sweep_lpm"][T.HI])
_P1_LO = T.to_units("p1_target_mmhg", T.ROWS["p1_target_mmhg"][T.LO])
_P1_HI = T.to_units("p1_target_mmhg", T.ROWS["p1_target_mmhg"][T.HI])
_P1_OFS = 0x8000        # the P1 target (dmmHg, below zero) in the unsigned setpoint field


class Boot:
    # what after_reset() found: run intent, unsaved live changes, whether the reset was unexpected.
    # after_reset() sets run_intent, unexpected and cause on every path; their defaults are here
    # for the type checker (docs/mutation-equivalent.txt)
    def __init__(self):
        self.run_intent = False
        self.dirty = False
        self.unexpected = False
        self.cause = "power-on"


def cause_name(boot_cause, planned):
    # what the reset was, in words: power-on, planned, soft (planned), watchdog, crash
    if boot_cause == machine.PWRON_RESET:
        return "power-on"
    if boot_cause == getattr(machine, "SOFT_RESET", None):
        return "soft"
    if planned:
        return "planned"
    if boot_cause == getattr(machine, "HARD_RESET", None):
        return "crash"      # esp32: a panic; machine.reset() sets ASKED first (rig.reboot)
    return "watchdog"


def after_reset(p, retain, boot_cause, settings, rpm_max, now, on_flash=(False, False)):
    # p: the rig's Parts. settings: the loaded settings, updated here to what is live.
    # on_flash: (air, estop) latches recorded on flash (they survive a power cycle too)
    out = Boot()
    kept = retain.get()
    flags = kept[0] if kept is not None else 0
    if on_flash[0]:
        flags |= R.STOP_AIR
    if on_flash[1]:
        flags |= R.STOP_ESTOP
    # ESP32 (ports/esp32/modmachine.c): machine.reset() and a crash (panic) both read
    # HARD_RESET, told apart by ASKED; a soft reset (Ctrl-D, machine.soft_reset()) is someone
    # at the REPL restarting the VM: planned, not a watchdog alarm, and no resume after it
    # (main.py's first lines have put the enable off: the soft reset leaves it as it was)
    soft = getattr(machine, "SOFT_RESET", None)
    planned = flags & R.ASKED or (soft is not None and boot_cause == soft)
    out.unexpected = boot_cause != machine.PWRON_RESET and not planned
    out.cause = cause_name(boot_cause, planned)
    if boot_cause == machine.PWRON_RESET:
        # Both chips report a brownout as power-on, and retained memory is gone: a supply
        # dip while pumping looks exactly like switching the rig on.
        p.al.set(A.POWER_ON, True, now)
    stopped = flags & (R.STOP_AIR | R.STOP_ESTOP)
    if stopped:
        # the first tick shows it again; only ack + clear + restart() release it
        p.bubble.latched = flags & R.STOP_AIR != 0
        p.estop.latched = flags & R.STOP_ESTOP != 0
        p.sup.restore_stop(flags & R.RUN != 0)
    resume = False
    if out.unexpected:
        p.al.set(A.WDT_RESET, True, now)
        p.al.set(A.WDT_RESET, False, now)   # latched: shown until acknowledged
        if kept is not None:
            # impossible setpoints are not restored, but VA still resumes (on the saved ones)
            _restore_live(p, kept, retain.mode(), settings, rpm_max, now, out)
            resume = flags & R.RUN != 0 and not stopped and p.sup.profile == "VA"
    if resume:
        p.sup.start(now)
    out.run_intent = resume
    return out


def _restore_live(p, kept, mode, settings, rpm_max, now, out):
    flags, setpoint, sweep = kept
    c = p.control
    flow = flags & R.FLOW != 0
    live = mode & 3                 # PRESSURE or ZERO, else RPM/FLOW from the FLOW flag
    back = mode >> 2 & 3
    if live == PRESSURE:
        bad = not _P1_LO <= setpoint - _P1_OFS <= _P1_HI
    elif live == ZERO:
        bad = setpoint > rpm_max or back == ZERO or not flags & R.VA
    else:
        bad = live != 0 or setpoint > (_FLOW_MAX_MLPM if flow else rpm_max)
    # a word that passed its magic but holds impossible setpoints is not trusted
    if bad or (sweep is not None and sweep > _SWEEP_MAX_MLPM):
        p.al.set(A.SETTINGS, True, now)
        return
    prof = "VA" if flags & R.VA else "VV"
    if prof != p.sup.profile:
        # switched live and never saved: that profile's default limits
        lim = profiles.defaults(prof)
        p.sup.set_profile(prof, lim)
        if p.gas is not None:
            p.gas.safety.set_limits(prof, lim)
        settings["profile"] = prof
        settings["limits"] = lim
    if flags & R.DIRTY:
        p.al.set(A.SETTINGS, True, now)   # live changes were not saved: say so
        out.dirty = True
    p.sup.clamp_request = flags & R.CLAMP != 0
    if live == PRESSURE:
        # the P1 servo resumes on its target (from the pump at rest: the VA floor ramps it)
        c.p1_target_dmmhg = setpoint - _P1_OFS
        c.set_mode(PRESSURE, p.flow.value, 0, p.p1.value)
        settings["control"] = "pressure"
        settings["p1_target_mmhg"] = c.p1_target_dmmhg / 10
    elif live == ZERO:
        # a weaning trial goes on searching for the speed of zero net flow; leaving it returns
        # to the mode it came from, with the speed it entered at as the RPM setpoint
        c.set_mode(ZERO, p.flow.value, 0)
        c.prev_mode = back
        c.rpm_target = setpoint
        settings["control"] = "zero"
    elif flow:
        c.flow_target_mlpm = setpoint
        c.set_mode(FLOW, p.flow.value, 0)
        settings["control"] = "flow"
        settings["flow_lpm"] = setpoint / 1000
    else:
        c.set_mode(RPM, p.flow.value, 0)     # before the target: a switch takes the applied speed
        c.rpm_target = setpoint
        settings["control"] = "rpm"
        settings["rpm"] = setpoint
    if sweep is not None and p.gas is not None:
        p.gas.control.target_mlpm = sweep
        settings["sweep_lpm"] = sweep / 1000


def keep(p, retain, run_intent, dirty, asked=False):
    # the live intent into retained memory (REPL side). Interrupts are off so an air or
    # e-stop IRQ cannot record its latch between our read of the latches and the store.
    c = p.control
    sup = p.sup
    flags = (R.RUN if run_intent else 0) | (R.ASKED if asked else 0) | \
        (R.VA if sup.profile == "VA" else 0) | (R.FLOW if c.mode == FLOW else 0) | \
        (R.DIRTY if dirty else 0) | (R.CLAMP if sup.clamp_request else 0)
    sweep = p.gas.control.target_mlpm if p.gas is not None else None
    m = c.mode
    sp = c.flow_target_mlpm if m == FLOW else c.rpm_target
    mode = 0
    if m == PRESSURE:
        sp = c.p1_target_dmmhg + _P1_OFS
        mode = PRESSURE
    elif m == ZERO:
        mode = ZERO | c.prev_mode << 2
    st = machine.disable_irq()
    try:
        # a latch holds until restart() clears it, whatever the state says this instant
        latches = (R.STOP_AIR if p.bubble.latched else 0) | \
            (R.STOP_ESTOP if p.estop.latched else 0)
        retain.put(flags | latches, sp, sweep, mode)
    finally:
        machine.enable_irq(st)
    # ESP32: a queued air / e-stop handler can run inside the section (disable_irq does not hold
    # it back) and record its latch just before put() wrote the word without it: record again
    if p.bubble.latched:
        retain.add(R.STOP_AIR)
    if p.estop.latched:
        retain.add(R.STOP_ESTOP)
