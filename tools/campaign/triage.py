# Where a campaign failure belongs: the open issue that covers it, or why it is accepted.
# Rules are checked in order against (criterion, sensor, kind, disturbance); the first match
# names the owner. Kept beside the campaign so docs/campaign.md states it for every failure.
RULES = (
    # (criterion or None, sensor or None, kind or None, disturbance or None, owner)
    ("sensor_silent", None, "stuck", None,
     "#11: a frozen reading passes every range check (plausibility)"),
    ("sensor_silent", None, "noise", None,
     "#11: a noisy reading stays in range (plausibility)"),
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
