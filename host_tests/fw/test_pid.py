# PID: step response on a first-order plant, windup recovery, bumpless switching, no allocation.
import gc
from ecmo.control.pid import PID
from ecmo.control.pump_control import PumpControl, FLOW, RPM


class Plant:
    # flow follows speed with a lag: Q = (rpm - 1000) * 2 mL/min, tau 0.3 s
    def __init__(self):
        self.q = 0

    def step(self, rpm, dt_ms):
        target = (rpm - 1000) * 2 if rpm > 1000 else 0
        self.q += (target - self.q) * dt_ms // 300


def run(pid, plant, sp, n, dt=10):
    out = []
    for _ in range(n):
        u = pid.update(sp, plant.q, dt)
        plant.step(u, dt)
        out.append(plant.q)
    return out


def test_step_response_settles_without_large_overshoot():
    pid = PID(500, 1500, 0, 0, 5000)
    plant = Plant()
    qs = run(pid, plant, 4000, 800)
    assert abs(qs[-1] - 4000) <= 40
    assert max(qs) <= 4000 * 105 // 100
    # within 5 % after 3 s
    assert all(abs(q - 4000) <= 200 for q in qs[300:])


def test_output_stays_inside_limits():
    pid = PID(5000, 2000, 500, 0, 5000)
    plant = Plant()
    for sp in (9000, 0, 9000, -500):
        for _ in range(200):
            u = pid.update(sp, plant.q, 10)
            assert 0 <= u <= 5000
            plant.step(u, 10)


def test_windup_recovery_after_saturation():
    # the plant cannot reach the setpoint for 10 s; after the setpoint drops the output must
    # come off the limit at once instead of unwinding a huge integral
    pid = PID(300, 600, 0, 0, 3000)
    plant = Plant()
    run(pid, plant, 9000, 1000)
    assert pid.out == 3000
    run(pid, plant, 2000, 150)
    assert pid.out < 3000
    qs = run(pid, plant, 2000, 500)
    assert abs(qs[-1] - 2000) <= 40


def test_track_reseeds_integrator_without_windup():
    pid = PID(300, 600, 0, 0, 5000)
    plant = Plant()
    for _ in range(500):
        pid.update(4000, plant.q, 10)
        pid.track(1500)          # something downstream keeps applying 1500
        plant.step(1500, 10)
    u = pid.update(4000, plant.q, 10)
    assert u < 1500 + 300        # continues from the applied value, not from a wound-up integral


def test_no_derivative_kick_on_setpoint_step():
    pid = PID(0, 0, 100, 0, 5000)
    pid.reset(2000, 3000)
    u = pid.update(5000, 3000, 10)
    assert u == 2000


def test_bumpless_rpm_to_flow_and_back():
    c = PumpControl(300, 600, 0, 5000)
    c.rpm_target = 2600
    for _ in range(500):
        c.update(3000, True, 10)
    assert c.out_rpm == 2600
    c.flow_target_mlpm = 4000
    c.set_mode(FLOW, 3000, 2600)
    u = c.update(3000, True, 10)
    assert abs(u - 2600) <= 20     # no jump when the loop closes
    for _ in range(50):
        c.update(3100, True, 10)
    applied = c.out_rpm
    c.set_mode(RPM, 3100, applied)
    assert c.update(3100, True, 10) == applied


def test_invalid_flow_holds_output():
    c = PumpControl(300, 600, 0, 5000)
    c.set_mode(FLOW, 3000, 2500)
    c.flow_target_mlpm = 4000
    c.update(3000, True, 10)
    held = c.out_rpm
    for _ in range(100):
        assert c.update(0, False, 10) == held


def test_setpoint_ramps():
    c = PumpControl(300, 600, 0, 5000, flow_ramp_mlpm_s=1000)
    c.set_mode(FLOW, 2000, 2000)
    c.flow_target_mlpm = 4000
    for _ in range(100):
        c.update(2000, True, 10)
    assert c.flow_sp_mlpm == 3000     # 1 s at 1 L/min/s


def test_update_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return   # CPython: the figure only means something under MicroPython
    pid = PID(300, 600, 20, 0, 5000)
    c = PumpControl(300, 600, 20, 5000)
    c.set_mode(FLOW, 2000, 2000)
    c.flow_target_mlpm = 4000
    pid.update(4000, 100, 10)
    c.update(2100, True, 10)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    q = 0
    for i in range(2000):
        pid.update(4000, q, 10)
        c.update(q, True, 10)
        c.track(2500)
        q += 1
    b = gc.mem_alloc()
    gc.enable()
    assert b - a == 0, b - a
