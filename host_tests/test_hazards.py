# The hazard table and the tests must match: every hazard id has a test, every test id a hazard.
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def table_ids():
    text = (ROOT / "docs" / "hazards.md").read_text()
    return set(re.findall(r"^\| (H\d\d) \|", text, re.M))


def hazard_test_ids():
    ids = set()
    for p in (ROOT / "host_tests").rglob("test_*.py"):
        for m in re.finditer(r"^def test_(h\d\d)_", p.read_text(), re.M):
            ids.add(m.group(1).upper())
    return ids


def test_every_hazard_has_a_test():
    missing = table_ids() - hazard_test_ids()
    assert not missing, "hazards without a test_hNN_ test: %s" % sorted(missing)


def test_every_hazard_test_names_a_hazard():
    unknown = hazard_test_ids() - table_ids()
    assert not unknown, "tests named after unknown hazard ids: %s" % sorted(unknown)


def test_table_is_not_empty():
    assert len(table_ids()) >= 11
