# safety/profiles.check() at its edges (mutation run, issue #13): the hard bounds are inclusive,
# a looser limit needs confirm=True, and "looser" is against the profile's own default.
from ecmo import table as T
from ecmo.safety import profiles


def _raises(f, *a, **k):
    try:
        f(*a, **k)
    except ValueError:
        return True
    return False


def test_every_limit_takes_its_hard_bounds_and_refuses_one_past():
    for name, spec in profiles.LIMITS.items():
        lo, hi = spec[2], spec[3]
        for prof in ("VA", "VV"):
            assert profiles.check(name, lo, prof, confirm=True) == lo, name
            assert profiles.check(name, hi, prof, confirm=True) == hi, name
            assert _raises(profiles.check, name, hi + 1, prof, confirm=True), name
            assert _raises(profiles.check, name, lo - 1, prof, confirm=True), name


def test_a_looser_limit_needs_confirm():
    n = 0
    for name, spec in profiles.LIMITS.items():
        d = spec[1]
        v = spec[2] if spec[T.SAFER] == 1 else spec[3]     # the loosest the bounds allow
        if T.looser(name, v, d):
            assert _raises(profiles.check, name, v, "VV"), name
            assert profiles.check(name, v, "VV", confirm=True) == v
            n += 1
    assert n > 5


def test_looser_is_judged_against_the_profile_s_own_default():
    n = 0
    for name, spec in profiles.LIMITS.items():
        va, vv = spec[0], spec[1]
        if va == vv:
            continue
        # the profile with the looser default: its default is looser than the other's
        loose, strict = ("VA", "VV") if T.looser(name, va, vv) else ("VV", "VA")
        v = va if loose == "VA" else vv
        assert profiles.check(name, v, loose) == v, name         # its own default: fine
        assert _raises(profiles.check, name, v, strict), name    # looser than the other's
        n += 1
    assert n > 0
