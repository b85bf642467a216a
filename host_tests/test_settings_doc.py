# docs/settings.md is the settings table (firmware/ecmo/table.py) written out: every row, with its
# unit, defaults, bounds and safer direction. Regenerate: .venv/bin/python host_tests/test_settings_doc.py
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "settings.md"
GROUPS = ("pump", "gains", "servo gains", "gas", "link", "limits", "gas limits")
HEAD = """# Operator settings

Every setting the operator can change, from the one settings table (`firmware/ecmo/table.py`);
`host_tests/test_settings_doc.py` fails if this page and the table disagree. Values are typed in the
unit shown; the firmware keeps them in integers (`scale` firmware units per unit typed). A limit set
past its profile's default on the unsafe side needs `confirm=True`.
"""


def table():
    sys.path[:0] = [str(ROOT / "tools" / "sim" / "hw"), str(ROOT / "firmware")]
    from ecmo import table as T
    return T


def render():
    T = table()
    out = [HEAD]
    for g in GROUPS:
        out.append("## %s\n" % g)
        out.append("| name | unit | VA default | VV default | lowest | highest | safer |")
        out.append("|---|---|---|---|---|---|---|")
        for n in T.names(g):
            r = T.ROWS[n]
            lo = "/".join(r[T.LO]) if r[T.SCALE] == 0 else r[T.LO]
            hi = "" if r[T.SCALE] == 0 else ("RPM_MAX" if r[T.HI] is None else r[T.HI])
            safer = {1: "higher", -1: "lower", 0: ""}[r[T.SAFER]]
            out.append("| `%s` | %s | %s | %s | %s | %s | %s |"
                       % (n, r[T.UNIT], r[T.VA], r[T.VV], lo, hi, safer))
        out.append("")
    return "\n".join(out) + "\n"


def test_settings_doc_is_the_table():
    assert DOC.read_text() == render(), "docs/settings.md is stale: python host_tests/test_settings_doc.py"


def test_every_row_is_in_a_documented_group():
    T = table()
    assert set(T.ORDER) == set(n for g in GROUPS for n in T.names(g))


if __name__ == "__main__":
    DOC.write_text(render())
