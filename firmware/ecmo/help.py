# REPL help and the settings docs, from the settings table (ecmo/table.py). Imported only when
# asked for: none of it is needed to run the rig, and a board's heap is small.
from ecmo import table as T


def describe(name, rpm_max=None):
    # one line for help and docs: name, unit, bounds, defaults (allocates: REPL side)
    r = T.ROWS[name]
    if r[T.SCALE] == 0:
        return "%s: one of %s; default %s (VA), %s (VV)" % (name, "/".join(r[T.LO]), r[T.VA], r[T.VV])
    hi = r[T.HI] if r[T.HI] is not None else (rpm_max if rpm_max is not None else "RPM_MAX")
    dflt = str(r[T.VA]) if r[T.VA] == r[T.VV] else "%s VA, %s VV" % (r[T.VA], r[T.VV])
    tail = ""
    if r[T.SAFER]:
        tail = "; confirm=True to set %s than the default" % ("lower" if r[T.SAFER] == 1 else "higher")
    return "%s [%s]: %s..%s, default %s%s" % (name, r[T.UNIT], r[T.LO], hi, dflt, tail)
