# Where a campaign failure belongs: the open issue that covers it, or why it is accepted.
# Rules are checked in order against (criterion, sensor, kind, disturbance); the first match
# names the owner. Kept beside the campaign so docs/campaign.md states it for every failure.
RULES = (
    # (criterion or None, sensor or None, kind or None, disturbance or None, owner)
    (None, "bubble", "stuck", None,
     "accepted: a detector that reads clear whatever passes cannot be told from a clear line "
     "by firmware; it needs a detector self-test (hardware), docs/hazards.md H01"),
    ("air_to_patient", None, "slow", None,
     "esp32 (drivers/bubble.py ESP32 path, #20/#14): with the I2C bus stretched by a slow part "
     "(tick overruns) the ESP32 never raised AIR and the air passed; the Pico stops the pump "
     "in the same case (pico-VA-p2.slow-air-during passes)"),
    ("air_to_patient", None, None, "repl_restart_in_air",
     "#12: restart after air without a de-air confirmation"),
    ("air_to_patient", None, None, "air_then_power_cycle",
     "accepted (hardware, VV): the supply lost within the pump's coast-down after an air stop; "
     "while the chip boots the return clamp sits at its reset state, open for VV by design "
     "(docs/hazards.md, the clamp's pull), and the air between the detector and the clamp "
     "moves on with the coasting pump; only a clamp that closes without power holds it"),
    ("retrograde", None, None, "air_then_power_cycle",
     "accepted (simulated boards): VA, the pump stopped by the air, then the supply lost: for "
     "the boot (about 0.75 s) the clamp pin sits at its reset level, which the simulated "
     "boards leave open (no pull modelled); docs/hazards.md asks for a pull that closes it in "
     "VA, with which the line stays shut"),
    ("pump_stopped", "flow", None, None,
     "open (H08, proc/trust): after a boot nothing trusted is known; with the flow reading "
     "blind at run() the flow loop cannot start (no map estimate at standstill: 0 RPM in state "
     "run, SENSOR_FLOW shown), or it went blind during the start ramp and the hold took the "
     "trusted speed of a second before (about 200 RPM)"),
    ("pump_stopped", "p1", None, None,
     "open (#11 fallback_rpm): a fault during the start ramp after a boot holds the trusted "
     "speed of a second before (about 200 RPM: the pump nearly still, LOW_FLOW shown)"),
    ("retrograde", None, None, "profile_switch_low_speed",
     "#12: a profile switch while running drops the VA speed floor without confirm"),
    ("pump_stopped", None, None, "profile_switch_low_speed",
     "#12: a profile switch while running drops the VA speed floor without confirm"),
    ("suction", "p1", None, None,
     "#11: with P1 invalid the suction interlock is blind (P1 substitute from the pump map)"),
    ("p3_high", "p3", None, None,
     "#11: with P3 invalid or frozen the over-pressure interlock is blind (P2 as its bound)"),
    ("sensor_silent", "tach", "stuck", None,
     "#11: a stuck tach is flagged late or not at all (speed vs. the pump map)"),
    ("sensor_silent", None, "offset", None,
     "#11: an offset reading (the part answers ok) is named only by the H27 cross-checks; "
     "after this disturbance they name it late or not at all (anchors learned with it)"),
    ("pump_stopped", None, None, None,
     "open: the pump stood still with no air or e-stop (the H08 blind-start case is fixed: "
     "examples/campaign/regress/)"),
    ("sensor_silent", None, "stuck", None,
     "#11: a frozen reading passes every range check (plausibility)"),
    ("sensor_silent", None, "noise", None,
     "#11: a noisy reading stays in range (plausibility)"),
    (None, None, "stuck", None, "#11: a frozen reading is trusted (plausibility)"),
    ("p2_high", None, None, None, "#11: no P2 limit; pushing against a clot"),
)


def _match(rule, crit, case):
    c, s, k, d, _ = rule
    if c is not None and c != crit:
        return False
    dists = case.get("dists") or [case["dist"]]
    if d is not None and d not in dists:
        return False
    if s is None and k is None:
        return True
    for fs, fk, _ in case["faults"]:
        if (s is None or s == fs) and (k is None or k == fk):
            return True
    return False


def owner(result):
    out = []
    for crit in result["failed"]:
        for rule in RULES:
            if _match(rule, crit, result["case"]):
                if rule[4] not in out:
                    out.append(rule[4])
                break
        else:
            if "open" not in out:
                out.append("open")
    return "; ".join(out)
