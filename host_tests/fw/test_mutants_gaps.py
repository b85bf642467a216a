# Behaviour the mutation run (tools/mutate.py, docs/mutation.md) showed no test pinned down.
# Each test names the mutant it kills; each was checked to fail with that line mutated.
import machine
from rigkit import Bench
from ecmo.safety import alarms as A
from ecmo.safety.supervisor import RUN, STOP
from ecmo.control.pump_control import PumpControl, FLOW


def reboot(cause=machine.WDT_RESET):
    machine.sim_reboot(cause)
    return Bench(profile=None, keep_settings=True)


def test_h07_restart_after_a_latched_stop_keeps_the_va_line_closed_until_the_floor():
    # mutant: the floor/clamp gate not re-armed by restart() -> the return line opened at 0 RPM
    b = Bench()
    b.running(2500)
    b.air(True)
    b.ticks(2)
    b.air(False)
    b.ticks(1)
    b.rig.ack()
    b.rig.restart()
    rpms = []
    for _ in range(400):
        b.ticks(1)
        if not b.clamp_closed():
            rpms.append(b.rig.pump.rpm)
    assert rpms, "the return line never opened after the restart"
    assert min(rpms) >= 1350, "return line open at %d RPM, below the VA floor" % min(rpms)
    assert b.rig.sup.state == RUN


def test_h02_estop_latch_is_recorded_by_its_interrupt():
    # mutant: the e-stop IRQ does not write the latch to retained memory -> a reset before
    # the next tick released the e-stop and VA resumed pumping
    b = Bench()
    b.running(2500)
    b.estop(True)
    b.estop(False)             # pressed and released between two ticks
    b2 = reboot()              # no tick ran since the edge
    b2.ticks(5)
    assert b2.rig.sup.state == STOP and A.NAMES[A.ESTOP] in b2.rig.alarms()
    assert b2.duty() == 0 and not b2.enabled()


def test_downward_rpm_ramp_is_monotonic_and_stops_at_the_target():
    # mutant: the slew's downward branch overshooting to 0 and climbing back still "arrived"
    c = PumpControl(300, 1500, 0, 5000, rpm_ramp_s=1000)
    c.rpm_target = 3000
    for _ in range(400):
        c.update(0, True, 10)
    assert c.out_rpm == 3000
    c.rpm_target = 2000
    seen = []
    for _ in range(150):
        seen.append(c.update(0, True, 10))
    assert all(a >= b for a, b in zip(seen, seen[1:])), "the ramp went back up"
    assert min(seen) == 2000 and seen[-1] == 2000
    assert seen[0] == 3000 - 10      # 1000 RPM/s at 10 ms per update


def test_downward_flow_setpoint_ramp_steps_by_the_ramp_rate():
    c = PumpControl(300, 1500, 0, 5000, flow_ramp_mlpm_s=1000)
    c.flow_target_mlpm = 4000
    c.set_mode(FLOW, 4000, 3000)   # from a measured 4 L/min
    c.flow_target_mlpm = 2000
    sps = []
    for _ in range(300):
        c.update(4000, True, 10)
        sps.append(c.flow_sp_mlpm)
    assert sps[0] == 4000 - 10
    assert all(a >= b for a, b in zip(sps, sps[1:]))
    assert sps[-1] == 2000
