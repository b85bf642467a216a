# The fault campaign's fault-reaction findings (issue 21, #11), judged on the plant's true values;
# both runtimes:
# - P1 saturated, then a volume loss: the pump-map estimate of P1 (the suction interlock's
#   substitute) waited for a 5 s warm-up and was not there (true P1 below -150 mmHg for 1.31 s);
#   with the 1 s seed it stands in at once;
# - a sensor fault in the start ramp after a reset: the fallback (the speed applied while
#   trusted a second before) was ~220 RPM, the pump nearly still; a fallback under 1000 rpm
#   while the pump is above it now takes the pump map's speed for the setpoint at the trusted
#   head, else the speed at detection.
import criteria
from trustkit import campaign_case, first_alarm, longest_true


def _clean(v):
    bad = criteria.failed(v)
    assert bad == [], [(k, v[k]["detail"]) for k in bad]


def test_h03_p1_saturated_then_a_volume_loss_suction_acts_on_the_estimate_at_once():
    v, rows, s = campaign_case("pico-VV-p1.saturated-volume_loss-before.json", keep_from=9.0)
    _clean(v)
    lim = criteria.limits("VV")["p1_crit"]
    t0 = None
    for r in rows:
        if float(r["true_p1_mmhg"]) < lim:
            t0 = r["t"]
            break
    assert t0 is not None                                   # the loss does pull P1 down
    t = first_alarm(rows, "SUCTION_CRIT", 9.0)
    assert t is not None and t - t0 <= 0.1, (t0, t)         # on the estimate (P1 saturated)
    worst = longest_true(rows, "true_p1_mmhg", below=-150)
    assert worst <= 0.4, worst                              # was 1.31 s (the bound: 2 s)


def _turning(name):
    v, rows, s = campaign_case(name, keep_from=13.0)
    _clean(v)
    assert not s["errors"], s["errors"]
    late = [r for r in rows if r["t"] >= 16.0]
    rpm = min(float(r["true_rpm"]) for r in late)
    q = min(float(r["true_flow_lpm"]) for r in late)
    assert rpm > 1000 and q > 1.5, (rpm, q)                 # was ~220 RPM, next to no flow
    assert all(r["state"] == "run" for r in late)
    return rows


def test_h08_a_frozen_p1_in_the_start_ramp_does_not_hold_the_pump_nearly_still():
    rows = _turning("esp32-VV-p1.stuck-reset-after.json")
    assert first_alarm(rows, "SENSOR_P1", 14.0) is not None


def test_h08_a_noisy_flow_in_the_start_ramp_does_not_hold_the_pump_nearly_still():
    rows = _turning("esp32-VV-flow.noise-reset-after.json")
    assert first_alarm(rows, "SENSOR_FLOW", 14.0) is not None
