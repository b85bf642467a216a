# The pump supervisor reads as the hazard table: every pump-side hazard id of docs/hazards.md
# names a method `_hNN_...` of safety/supervisor.py, or is listed below with where it lives and
# why it is not a supervisor interlock; every `_hNN_` method names a row of the table; and every
# interlock method runs each tick (INTERLOCKS) or from the decision (_h12_tach, which needs the
# tick's command).
import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUPERVISOR = ROOT / "firmware" / "ecmo" / "safety" / "supervisor.py"

# hazard id -> where it is handled instead, and why not in the supervisor
ELSEWHERE = {
    "H09": "ecmo/loop.py: the loop times its own tick (the supervisor runs inside it)",
    "H10": "ecmo/loop.py: an exception anywhere in the tick, the supervisor's included",
    "H11": "machine.WDT fed by ecmo/loop.py; after the reset ecmo/safety/resume.py",
    "H13": "ecmo/settings.py at load; the rig raises SETTINGS (not a reading of the tick)",
    "H21": "ecmo/safety/resume.py at boot (a power-on is known only then)",
    "H24": "ecmo/drivers/plausible.py: a frozen reading is a driver status; reacts via _h08",
    "H25": "ecmo/drivers/analog.py, pressure.py: saturation is a driver status; reacts via _h08",
    "H26": "ecmo/drivers/plausible.py: a noisy reading is a driver status; reacts via _h08",
    "H27": "ecmo/redundancy.py names the suspect; the supervisor reacts via _h08",
    "H29": "ecmo/rig.py: a REPL change is refused before it reaches the supervisor",
    "H30": "ecmo/rig.py: gains are refused at the REPL",
    "H33": "ecmo/rig.py refuses the target; control/pump_control.py holds the servo on an "
           "untrusted P1; the interlocks it passes through are _h03/_h08",
}


def pump_side_ids():
    text = (ROOT / "docs" / "hazards.md").read_text()
    part = text.split("## Pump side", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (H\d\d) \|", part, re.M))


def all_ids():
    return set(re.findall(r"^\| (H\d\d) \|", (ROOT / "docs" / "hazards.md").read_text(), re.M))


def supervisor():
    tree = ast.parse(SUPERVISOR.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Supervisor")
    methods = [f.name for f in cls.body if isinstance(f, ast.FunctionDef)]
    interlocks = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                      and getattr(n.targets[0], "id", "") == "INTERLOCKS")
    return methods, interlocks


def hazard_methods():
    methods, _ = supervisor()
    out = {}
    for m in methods:
        mm = re.match(r"_h(\d\d)_", m)
        if mm:
            out.setdefault("H" + mm.group(1), []).append(m)
    return out


def test_every_pump_side_hazard_has_a_supervisor_method_or_says_why_not():
    have = hazard_methods()
    missing = sorted(h for h in pump_side_ids() if h not in have and h not in ELSEWHERE)
    assert not missing, "pump-side hazards with no _hNN_ method and no reason: %s" % missing
    both = sorted(h for h in ELSEWHERE if h in have)
    assert not both, "listed as elsewhere but has a method: %s" % both


def test_every_hazard_method_names_a_hazard_row():
    unknown = sorted(set(hazard_methods()) - all_ids())
    assert not unknown, "supervisor methods named after unknown hazards: %s" % unknown


def test_every_interlock_method_runs():
    methods, interlocks = supervisor()
    for name in interlocks:
        assert name in methods, name
    src = SUPERVISOR.read_text()
    for h, names in hazard_methods().items():
        for m in names:
            assert m in interlocks or ("self.%s(" % m) in src, "%s never runs" % m
