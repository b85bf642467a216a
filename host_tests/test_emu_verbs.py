# The emulated Pico's scenario runner (tools/emu/scenario.py) knows every verb the scenario format
# has (tools/sim/scenario.py VERBS, GAS_VERBS), as the host runner does: a verb it lacked was an
# error row on the target and a different run (h01_air's "deaired": the restart was refused, so
# the pump stayed stopped on the chip and ran on the host; found by tools/emu/compare.py).
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "sim"))

import scenario as SC  # noqa: E402
from tools.emu.scenario import TargetSim  # noqa: E402

SAMPLE = {"lpm": 3.0, "rpm": 2500, "control": "flow", "mmhg": -40, "volume_ul": 50,
          "sensor": "p1", "kind": "stuck", "ml": 500, "factor": 4, "line": "venous",
          "fraction": 0.5, "fio2": 0.6, "temp_c": 36.0}


class _Any:
    # every attribute a recorder: what the verb did to the world or typed at the REPL
    def __init__(self, log):
        self._log = log

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        log = self._log

        def call(*a, **k):
            log.append((name, a))
            return 0
        return call


class _Stub:
    REPL_VERBS = TargetSim.REPL_VERBS

    def __init__(self):
        self.log = []
        self.errors = []
        self.world = _Any(self.log)
        self.world.plant = _Any(self.log)
        self.world.gas = _Any(self.log)
        self.world.gas._t = 37.0
        self.rig = _Any(self.log)
        self.rig.chip = _Any(self.log)
        self._sweep_pending = False

    def _say(self, msg):
        pass

    def _exec(self, line, verb="repl"):
        self.log.append(("exec", (line,)))
        return ""


def test_every_scenario_verb_has_a_handler_on_the_target():
    verbs = dict(SC.VERBS)
    verbs.update(SC.GAS_VERBS)
    for v, (req, _opt) in sorted(verbs.items()):
        e = {"t": 1.0, "do": v}
        for name, _check in req:
            e[name] = SAMPLE.get(name, "x")
        st = _Stub()
        TargetSim.apply(st, e)
        assert st.errors == [], (v, st.errors)
        assert st.log, (v, "did nothing")


def test_operator_verbs_are_typed_at_the_chips_repl_as_the_host_runner_calls_them():
    for v, line in (("deaired", "rig.deaired()"), ("set_p1", "rig.set_p1(-40); rig.save()"),
                    ("ack", "rig.ack()"), ("restart", "rig.restart()")):
        e = {"t": 1.0, "do": v}
        if v == "set_p1":
            e["mmhg"] = -40
        st = _Stub()
        TargetSim.apply(st, e)
        assert ("exec", (line,)) in st.log, (v, st.log)
