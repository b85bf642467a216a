# Where a campaign failure belongs: the open issue that covers it, or why it is accepted.
# Rules are checked in order against (criterion, sensor, kind, disturbance); the first match
# names the owner. Kept beside the campaign so docs/campaign.md states it for every failure.
_SEED = ("accepted (#11, docs/sensor-trust.md): after a boot (reset, power cycle, rig.reboot()) the "
         "offset arrived within the 1 s unjudged seed of the anchors and the start that followed; "
         "it is learnt as the anchor, as a true value would be. After the seed an offset is named "
         "(examples/campaign/regress/); keeping the anchors across a reset is not done because the "
         "circuit may have changed while the chip was down")

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
    ("retrograde", None, None, "profile_switch_low_speed",
     "#12: a profile switch while running drops the VA speed floor without confirm"),
    ("pump_stopped", None, None, "profile_switch_low_speed",
     "#12: a profile switch while running drops the VA speed floor without confirm"),
    ("pump_stopped", None, None, None,
     "accepted (H04, H08): three pressure sensors failed at once and the last of them reads "
     "P3 at its full scale: a saturated-high reading is taken as the bound it is (a true P3 at "
     "or above 776 mmHg reads exactly so, and with P1 and P2 gone nothing can cross-check it), "
     "so P3_CRIT backs the speed off to 0 with SENSOR_P1/P2/P3 shown. Stopping a VV pump for a "
     "pressure that may be real is the safer error. (A restart() refused from standby after a "
     "refused run used to fail here too: it now names rig.run() as the next step, "
     "examples/campaign/regress/sample0001-...)"),
    ("suction", "p1", None, None,
     "open (#11): with P1 invalid the suction interlock runs on the pump-map estimate (seeded "
     "in the first second: P1 saturated + volume loss is fixed, examples/campaign/regress/)"),
    ("p3_high", "p3", None, None,
     "#11: with P3 invalid or frozen the over-pressure interlock is blind (P2 as its bound)"),
    ("sensor_silent", "tach", "stuck", None,
     "accepted (#11, docs/sensor-trust.md): a tach latched at the speed the motor keeps running "
     "at is right until the speed changes; the tach's own checks (red.tach_bad: frozen while "
     "the command moved, the map fits the command's speed and not the tach's) name it when "
     "the command next moves"),
    ("sensor_silent", None, "offset", "clot",
     "accepted (#11, docs/sensor-trust.md): a clot breaks the membrane relation as a second "
     "fault would, so with an offset reading as well the majority is gone (P1 or flow offset + "
     "clot reads as P2; a P3 reading low cannot be told from a clotting membrane): CLOT shows, "
     "the offset sensor is not named"),
    ("sensor_silent", None, "offset", "reset", _SEED),
    ("sensor_silent", None, "offset", "power_cycle", _SEED),
    ("sensor_silent", None, "offset", "air_then_power_cycle", _SEED),
    ("sensor_silent", None, "offset", "repl_reboot_running", _SEED),
    ("sensor_silent", None, "offset", None,
     "open (#11): an offset named late or not at all that no rule above explains (the six "
     "ESP32 flow-offset cases of 2026-12-02 were the tach's window against heads read now, "
     "fixed: examples/campaign/regress/)"),
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
