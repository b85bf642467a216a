# rig.help() lists every public command of the rig (issue #16): a method added to Rig without a
# line in ecmo/help.py fails here. Grouped: pump, gas, alarms, settings, calibration.
import sys
from rigkit import Bench
from ecmo.rig import Rig
from ecmo.help import commands


def _public():
    return sorted(k for k in dir(Rig) if not k.startswith("_") and callable(getattr(Rig, k)))


def test_help_lists_every_public_method_of_rig():
    text = commands("x", 20)
    missing = [k for k in _public() if (k + "(") not in text]
    assert not missing, "rig.help() leaves out: %s (add them to ecmo/help.py)" % missing


def test_help_is_grouped():
    lines = commands("x", 20).splitlines()
    heads = [ln.split(" ")[0] for ln in lines[1:] if ln and not ln.startswith(" ")]
    assert heads == ["pump", "gas", "alarms", "settings", "calibration"], heads


def test_help_prints_once_and_returns_nothing():
    b = Bench(start=False)
    assert b.rig.help() is None
