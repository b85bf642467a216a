# What the operator sees at the REPL: status lines are printed once (a returned string would be
# echoed by the REPL a second time).
from rigkit import Bench


def test_status_and_gas_status_print_and_return_nothing():
    b = Bench()
    assert b.rig.status() is None
    assert b.rig.gas_status() is None
    assert b.rig.status_line().startswith("standby VA")
