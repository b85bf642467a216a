# The shared safety criteria (tools/sim/criteria.py) in both runtimes, on a run of the real
# firmware: the same module judges the fault campaign (tools/campaign) and the examples.
import run
import criteria


def _judge(sc):
    sc["name"] = "criteria"
    sim = run.Sim(sc, progress=False, keep_rows=True)
    cols = [c for c in criteria.COLUMNS if c in sim.columns]
    sim.keep_rows = cols
    sim.run()
    return criteria.judge_rows(sim.sc, cols, sim.rows)


def test_volume_loss_passes_every_criterion_and_exercises_suction():
    v = _judge({"duration_s": 11, "control": "flow", "flow_lpm": 4.5,
                "events": [{"t": 5.0, "do": "volume_loss", "ml": 800},
                           {"t": 8.0, "do": "volume_gain", "ml": 800}]})
    assert criteria.failed(v) == [], [(k, v[k]["detail"]) for k in criteria.failed(v)]
    assert 0.0 < v["suction"]["value"] <= criteria.SUCTION_S, v["suction"]
    assert set(v) == set(criteria.IDS)


def test_a_blind_bubble_detector_fails_air_and_sensor_criteria():
    v = _judge({"duration_s": 11, "control": "flow", "flow_lpm": 4.0,
                "events": [{"t": 2.0, "do": "sensor_fault", "sensor": "bubble", "kind": "stuck"},
                           {"t": 4.0, "do": "bubble", "volume_ul": 50, "at_m": 4.5}]})
    assert "air_to_patient" in criteria.failed(v) and "sensor_silent" in criteria.failed(v)
    assert v["air_to_patient"]["value"] > 0
