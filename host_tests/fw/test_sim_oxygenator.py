# The oxygenator on the simulated rig behaves like a membrane lung (issues 15 and 19): blood
# held in it keeps its oxygen while the pump is stopped, so a start from standby or a restart
# after an air stop raises no SAT_LOW, and an air sweep at an adequate flow gives no SAT_LOW.
import run



class _Sim(run.Sim):
    # keeps only the lowest and highest true saturation after `after_s` (MicroPython's heap
    # cannot hold every row of a long run)
    after_s = 0.0

    def _track(self, f, t):
        run.Sim._track(self, f, t)
        if t >= self.after_s:
            sat = self.world.gas.sat_post_pct
            self.sat_lo = min(getattr(self, "sat_lo", sat), sat)
            self.sat_hi = max(getattr(self, "sat_hi", sat), sat)


def _sim(sc, after_s=0.0):
    sc["name"] = "oxygenator"
    sim = _Sim(sc, progress=False)
    sim.after_s = after_s
    s = sim.run()
    codes = [c for c, _ in s["alarms_first_s"]]
    return sim, s, codes


def test_restart_after_air_stop_with_deairing_raises_no_sat_low():
    # the old oxygenator raised SAT_LOW (high priority, latched) ~7 s after such a restart
    sim, s, codes = _sim({"duration_s": 24, "control": "flow", "flow_lpm": 4.0,
                    "events": [{"t": 5.0, "do": "bubble", "volume_ul": 50, "at_m": 4.5},
                               {"t": 9.0, "do": "deair"}, {"t": 9.2, "do": "deaired"},
                               {"t": 9.5, "do": "ack"},
                               {"t": 10.0, "do": "restart"}]}, after_s=3.0)
    assert s["air_first_at_detector_s"] is not None
    assert "AIR" in codes
    assert "SAT_LOW" not in codes, codes
    assert sim.sat_lo > 97.0, sim.sat_lo
    assert sim.rig.sup.state == 1 and sim.world.plant.flow_lpm > 3.5


def test_start_from_standby_raises_no_sat_low():
    sim, _, codes = _sim({"duration_s": 22, "control": "flow", "flow_lpm": 4.0, "run": False,
                          "events": [{"t": 6.0, "do": "run"}]})
    assert "SAT_LOW" not in codes, codes
    assert sim.rig.sup.state == 1 and sim.world.plant.flow_lpm > 3.5


def test_stopped_pump_keeps_the_oxygenator_saturated():
    sim, _, _ = _sim({"duration_s": 25, "control": "flow", "flow_lpm": 4.0,
                      "events": [{"t": 6.0, "do": "standby"}]}, after_s=7.0)
    assert abs(sim.world.plant.flow_lpm) < 0.3
    assert sim.sat_hi - sim.sat_lo < 0.5, (sim.sat_lo, sim.sat_hi)


def test_air_sweep_at_adequate_flow_raises_no_sat_low():
    sim, _, codes = _sim({"duration_s": 28, "control": "flow", "flow_lpm": 4.0, "sweep_lpm": 4.0,
                          "events": [{"t": 1.0, "do": "set_fio2", "fio2": 0.21}]}, after_s=20.0)
    assert "SAT_LOW" not in codes, codes
    assert 95.0 < sim.sat_lo and sim.sat_hi < 99.5, (sim.sat_lo, sim.sat_hi)
