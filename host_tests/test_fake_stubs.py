# The fake `machine` offers nothing the real ports lack, and the firmware asks for nothing its
# board's port lacks: checked against the pinned stubs (.venv/stubs/<port>/machine.pyi, from
# requirements.txt). Static, so CPython only.
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUBS = os.path.join(ROOT, ".venv", "stubs")
FAKE = os.path.join(ROOT, "tools", "sim", "hw", "machine.py")
FIRMWARE = os.path.join(ROOT, "firmware")
BOARD_PORT = {"pico": "rp2", "esp32": "esp32"}
# names the firmware uses only where the port has them, with the guard that keeps them there
PORT_ONLY = {
    "mem32": ("rp2", "ecmo/drivers/retain.py: kind 'rp2_scratch' (board_pico RETAIN)"),
    "RTC": ("esp32", "ecmo/drivers/retain.py: kind 'esp32_rtc' (board_esp32 RETAIN)"),
}


def _stub_names(port):
    path = os.path.join(STUBS, port, "machine.pyi")
    if not os.path.exists(path):
        pytest.skip("stubs not installed: run `make venv`")
    tree = ast.parse(open(path).read())
    top, members = set(), {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            top.add(node.name)
            names = set()
            for b in node.body:
                if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(b.name)
                elif isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name):
                    names.add(b.target.id)
                elif isinstance(b, ast.Assign):
                    names.update(t.id for t in b.targets if isinstance(t, ast.Name))
            members[node.name] = names
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            top.add(node.target.id)
        elif isinstance(node, ast.Assign):
            top.update(t.id for t in node.targets if isinstance(t, ast.Name))
    # SoftI2C derives from I2C in the stubs
    if "SoftI2C" in members and "I2C" in members:
        members["SoftI2C"] |= members["I2C"]
    return top, members


def _public(name):
    # sim_* / Sim* are the tests' and the world's controls, _* private, SIM_* their figures
    return not (name.startswith("_") or name.startswith("sim_") or name.startswith("Sim")
                or name.startswith("SIM_"))


def fake_surface(path=FAKE):
    # (module-level public names, {class: public class attributes}) of a fake machine source
    tree = ast.parse(open(path).read())
    top, members = set(), {}
    for node in tree.body:
        names = []
        if isinstance(node, ast.ClassDef):
            names = [node.name]
            attrs = set()
            for b in node.body:
                if isinstance(b, ast.FunctionDef) and not b.name.startswith("_"):
                    attrs.add(b.name)
                elif isinstance(b, ast.Assign):
                    attrs.update(t.id for t in b.targets if isinstance(t, ast.Name)
                                 and not t.id.startswith("_"))
            members[node.name] = attrs
        elif isinstance(node, ast.FunctionDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        top.update(n for n in names if _public(n))
    return top, members


def missing_from_stubs(path=FAKE):
    stubs = [_stub_names(p) for p in ("rp2", "esp32")]
    top, members = fake_surface(path)
    missing = sorted(n for n in top if not any(n in s[0] for s in stubs))
    for cls in sorted(members):
        if cls not in top:
            continue
        for a in sorted(members[cls]):
            if not any(a in s[1].get(cls, ()) for s in stubs):
                missing.append("%s.%s" % (cls, a))
    return missing


def test_every_public_name_of_the_fake_is_in_the_rp2_or_esp32_stubs():
    assert missing_from_stubs() == []


def _firmware_uses():
    # (name, file) for every machine name and every attribute of a machine class the firmware
    # touches: `machine.X`, `from machine import X`, then `X.Y` for an imported class X
    uses = []
    for d, _, files in os.walk(FIRMWARE):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, FIRMWARE)
            tree = ast.parse(open(path).read())
            imported = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "machine":
                    for a in node.names:
                        imported.add(a.name)
                        uses.append((a.name, rel))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    if node.value.id == "machine":
                        uses.append((node.attr, rel))
                    elif node.value.id in imported:
                        uses.append(("%s.%s" % (node.value.id, node.attr), rel))
                elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                      and isinstance(node.value.value, ast.Name)
                      and node.value.value.id == "machine"):
                    uses.append(("%s.%s" % (node.value.attr, node.attr), rel))
    return uses


def _lacks(port, name):
    top, members = _stub_names(port)
    if "." in name:
        cls, attr = name.split(".", 1)
        return cls not in members or attr not in members[cls]
    return name not in top


@pytest.mark.parametrize("board", sorted(BOARD_PORT))
def test_firmware_uses_no_machine_name_its_port_lacks(board):
    port = BOARD_PORT[board]
    bad = []
    for name, rel in _firmware_uses():
        if name in PORT_ONLY:
            if PORT_ONLY[name][0] == port and _lacks(port, name):
                bad.append("%s (%s)" % (name, rel))
            continue
        if _lacks(port, name):
            bad.append("%s (%s)" % (name, rel))
    assert bad == [], "%s (%s port) lacks: %s" % (board, port, ", ".join(sorted(set(bad))))


def test_the_check_sees_firmware_names_at_all():
    # the walk finds the names the firmware is known to use, so an empty result means something
    names = {n for n, _ in _firmware_uses()}
    assert {"Pin", "PWM", "Timer", "disable_irq", "reset_cause"} <= names
    assert "Pin.IRQ_FALLING" in names or "Pin.IN" in names


def exposed_not_in_port(machine, port):
    # names the fake shows in `port` mode that the port's stubs lack
    top, members = _stub_names(port)
    machine.sim_port(port)
    try:
        out = []
        for n in dir(machine):
            if not _public(n):
                continue
            v = getattr(machine, n)
            if n not in top:
                out.append(n)
            elif isinstance(v, type):
                for a in dir(v):
                    if _public(a) and a not in dir(object) and a not in members.get(n, ()):
                        out.append("%s.%s" % (n, a))
        return sorted(out)
    finally:
        machine.sim_port("rp2")


@pytest.mark.parametrize("port", ["rp2", "esp32"])
def test_the_fake_in_each_port_mode_shows_only_that_ports_names(port):
    import machine    # the fake (conftest put tools/sim/hw first)
    assert exposed_not_in_port(machine, port) == []
