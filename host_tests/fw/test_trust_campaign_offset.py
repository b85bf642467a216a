# The fault campaign's offset findings (issue 21, #11): a reading that is offset while its part
# answers "ok" is named only by the H27 cross-checks, and after a disturbance they named it late
# or not at all: the anchors re-learnt for 5 s unjudged after any stop, low flow or invalid
# reading (an offset arriving then became the anchor), and the map's fit flag was judged every
# tick (one tick of the offset switched the checks off). Now only the first second after boot
# is the unjudged seed, learning stops while a relation is broken and the fit flag stays set.
# Judged on the plant's true values; both runtimes.
import criteria
from trustkit import campaign_case, first_alarm


def _clean(v):
    bad = criteria.failed(v)
    assert bad == [], [(k, v[k]["detail"]) for k in bad]


def test_h27_a_flow_offset_during_a_volume_loss_is_named_and_the_true_flow_returns():
    v, rows, s = campaign_case("pico-VV-flow.offset-volume_loss-during.json", keep_from=10.0)
    _clean(v)
    t = first_alarm(rows, "SENSOR_FLOW", 10.5)
    assert t is not None and t - 10.5 <= 4.0, t            # was: no alarm in 13.5 s
    # the flow loop on the map's estimate: the true flow back at the setpoint (4.0 L/min)
    end = [float(r["true_flow_lpm"]) for r in rows if r["t"] >= 21.0]
    assert 3.6 < min(end) and max(end) < 4.4, (min(end), max(end))
    assert all(r["state"] == "run" for r in rows)


def test_h27_a_p1_offset_before_a_setpoint_step_is_named():
    v, rows, s = campaign_case("esp32-VV-p1.offset-setpoint_down-before.json", keep_from=6.0)
    _clean(v)
    t = first_alarm(rows, "SENSOR_P1", 6.0)
    assert t is not None and t - 6.0 <= 2.0, t             # was: no alarm in 18 s
    assert all("SENSOR_P1" in r["alarms"] for r in rows if r["t"] >= 8.0)   # and it stays named
    end = [float(r["true_flow_lpm"]) for r in rows if r["t"] >= 16.0]
    assert 1.8 < min(end) and max(end) < 2.2, (min(end), max(end))
