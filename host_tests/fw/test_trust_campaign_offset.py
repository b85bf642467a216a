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


# The ESP32's tach is the mean speed over its counter window (32 pulses: ~0.5 s at 2000 rpm) and
# the pump relation used to take it as the speed now, against the head now: in a speed change
# the map's flow swung by +-3 L/min, the flow loop's feed-forward limit-cycled on it, and the
# relations never judged long enough to name a flow offset (six esp32 campaign cases). Head and
# flow are now averaged over the tach's own window.
def _band(rows, t0, col="true_flow_lpm"):
    v = [float(r[col]) for r in rows if r["t"] >= t0]
    return min(v), max(v)


def test_the_esp32_flow_loop_settles_at_low_speed_without_a_fault():
    # 4.0 -> 2.5 L/min on the ESP32 (VV): the true flow swung 2.1-2.8 L/min to the end, the
    # command 1400-2400 rpm (a limit cycle of the feed-forward on the lagging tach)
    v, rows, s = campaign_case("esp32-VV-nofault-setpoint_down_2.5--.json", keep_from=9.0)
    _clean(v)
    lo, hi = _band(rows, 9.0)
    assert 2.35 < lo and hi < 2.65, (lo, hi)
    lo, hi = _band(rows, 9.0, "rpm")
    assert hi - lo < 200, (lo, hi)


def test_h27_a_flow_offset_before_a_setpoint_step_down_on_the_esp32_is_named_and_flow_kept():
    # was: no alarm in 18 s, and the loop on the offset reading held the true flow at 0.5 L/min
    # for 12 s with no alarm (flow_lost_silent)
    v, rows, s = campaign_case("esp32-VV-flow.offset-setpoint_down-before.json", keep_from=6.0)
    _clean(v)
    t = first_alarm(rows, "SENSOR_FLOW", 6.0)
    assert t is not None and t - 6.0 <= 3.0, t
    lo, hi = _band(rows, 16.0)
    assert 1.7 < lo and hi < 2.3, (lo, hi)          # the map's estimate: true flow at 2.0


def test_h27_a_flow_offset_on_the_esp32_is_named_after_a_disturbance():
    # (scenario, the offset's time, the bound on the alarm): before, 6.72 s, 6.79 s, none in
    # 13.5 s, none in 10 s, none in 18 s
    for name, t0, most in (
            ("esp32-VA-flow.offset-profile_switch_low_speed-before.json", 6.0, 2.0),
            ("esp32-VA-flow.offset-setpoint_up-after.json", 11.0, 3.0),
            ("esp32-VV-flow.offset-air-during.json", 10.5, 6.0),
            ("esp32-VV-flow.offset-estop-after.json", 14.0, 5.0),
            ("esp32-VV-flow.offset-repl_save_load_running-before.json", 6.0, 3.0)):
        v, rows, s = campaign_case(name, keep_from=t0)
        _clean(v)
        t = first_alarm(rows, "SENSOR_FLOW", t0)
        assert t is not None and t - t0 <= most, (name, t)
        rows = None
