# docs/alarms.md has one row per alarm of the firmware's table, with the same priority and latch.
import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRIO = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}


def firmware_table():
    tree = ast.parse((ROOT / "firmware" / "ecmo" / "safety" / "alarms.py").read_text())
    a = {n.targets[0].id: n.value for n in tree.body
         if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
    out = {}
    for row in a["TABLE"].elts:
        latch = row.elts[3]
        out[row.elts[1].value] = (PRIO[row.elts[2].id],
                                  getattr(latch, "id", None) == "_L" or getattr(latch, "value", False) is True)
    return out


def doc_table():
    out = {}
    for m in re.finditer(r"^\| ([A-Z0-9_]+) \| (LOW|MEDIUM|HIGH) \| (yes|no) \|",
                         (ROOT / "docs" / "alarms.md").read_text(), re.M):
        out[m.group(1)] = (PRIO[m.group(2)], m.group(3) == "yes")
    return out


def test_alarm_doc_matches_the_firmware_table():
    assert doc_table() == firmware_table()
