# The fault campaign's stuck-tach finding (issue 21, #11): a tach latched at the speed it showed
# stays inside H12's 300 rpm + 20 % tolerance, so the pump relation ran on a frozen speed, named
# P1 and backed the pump off on P1's estimate. The tach now has its own checks (red.tach_bad:
# frozen while the command moved; the map fits the command's speed, not the tach's): TACH at
# once, the relations name nobody. Judged on the plant's true values; both runtimes.
import criteria
from trustkit import campaign_case, first_alarm

CASE = "pico-VA-tach.stuck-setpoint_up-before.json"     # tach latched at 6 s, setpoint 6.0 at 10 s


def test_h12_a_latched_tach_raises_tach_names_no_pressure_and_the_flow_follows_the_setpoint():
    v, rows, s = campaign_case(CASE, keep_from=5.0)
    assert not s["errors"], s["errors"]
    bad = criteria.failed(v)
    assert bad == [], [(k, v[k]["detail"]) for k in bad]
    t = first_alarm(rows, "TACH", 6.0)
    assert t is not None and t - 6.0 <= 3.0, t             # H12 alone: never (inside its band)
    named = [r["t"] for r in rows if "SENSOR_P1" in r["alarms"] or "SENSOR_P2" in r["alarms"]]
    assert named == [], named[:3]                          # the speed is wrong, not a pressure
    end = [float(r["true_flow_lpm"]) for r in rows if r["t"] >= 20.0]
    assert min(end) > 5.0, min(end)                        # was held near 2.9 L/min
    assert all(r["state"] == "run" for r in rows)


def _tach_shown(board, profile):
    import gc
    import run
    gc.collect()
    sc = {"name": "healthy tach", "board": board, "profile": profile, "duration_s": 18,
          "control": "flow", "flow_lpm": 4.0,
          "events": [{"t": 6.0, "do": "set_flow", "lpm": 6.0},
                     {"t": 9.0, "do": "set_flow", "lpm": 2.0},
                     {"t": 12.0, "do": "volume_loss", "ml": 800},
                     {"t": 15.0, "do": "volume_gain", "ml": 800}]}
    sim = run.Sim(sc, progress=False, keep_rows=("t_s", "alarms"))
    sim.run()
    out = [r[0] for r in sim.rows if "TACH" in r[1].split("|")]
    sim.rows = None
    return out


def test_h12_a_healthy_tach_is_never_taken_for_a_latched_one():
    # the VA start (the floor at once, the flow loop then bringing the speed back down while
    # the motor still catches up), setpoint steps both ways and a volume loss: the motor follows
    # its command, so the tach's own checks stay quiet (no TACH), on both boards' tach paths
    # (pico: pulse timing in the IRQ; esp32: a hardware counter over a window)
    for board in ("pico", "esp32"):
        for profile in ("VA", "VV"):
            got = _tach_shown(board, profile)
            assert got == [], (board, profile, got[:3])
