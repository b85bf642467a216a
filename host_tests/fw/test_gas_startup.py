# Start-up of the oxygenator side as the README's session does it: pump on, then the sweep a
# moment later. Saturation after the membrane starts low (blood stood still) and follows the
# sweep with a lag, so SAT_LOW waits until blood has moved 10 s (safety/gas.py _SAT_HOLD_MS);
# a sweep that is never started still raises it.
import gas_model
import rigkit
from ecmo.safety import alarms as A


def _run(b, m, qb_lpm, n):
    g = b.gas
    for _ in range(n):
        m.step(0.01, g.valve_duty(), qb_lpm)
        g.follow(m)
        b.ticks(1)


def _desaturated_start():
    b = rigkit.Bench()
    m = gas_model.GasModel()
    for _ in range(6000):                 # 60 s of blood through a membrane with no sweep
        m.step(0.01, 0, 3.0)              # (the O2 left in the fibres lasts about 30 s)
    assert m.sat_post_pct < 80
    b.gas.follow(m)
    b.set(flow=3.0)
    b.rig.set_rpm(2500)
    b.rig.run()
    return b, m


def test_sweep_started_after_the_pump_raises_no_sat_low():
    b, m = _desaturated_start()
    _run(b, m, 3.0, 150)                  # the operator types the next line
    b.rig.set_sweep(2.0)
    _run(b, m, 3.0, 2500)
    assert m.sat_post_pct > 97
    assert not b.rig.al.present(A.SAT_LOW)
    assert "SAT_LOW" not in [e[1] for e in b.rig.log(50)]      # never raised, not only cleared


def test_sweep_never_started_still_raises_sat_low_after_the_hold_off():
    b, m = _desaturated_start()
    _run(b, m, 3.0, 900)                  # 9 s: inside the hold-off
    assert not b.rig.al.present(A.SAT_LOW)
    _run(b, m, 3.0, 800)                  # 17 s: hold-off 10 s + debounce 5 s passed
    assert b.rig.al.present(A.SAT_LOW) and A.PRIORITY[A.SAT_LOW] == A.HIGH
