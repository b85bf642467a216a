# Seeded random sequences of sensor values, faults, air, e-stop and REPL commands (both runtimes):
# the tick never raises, duty stays in bounds, the clamp never opens with air present.
import random
import machine
from rigkit import Bench
import fuzzkit


def _steps(seed, n):
    random.seed(seed)
    return [(random.getrandbits(8), random.getrandbits(16), random.getrandbits(8)) for _ in range(n)]


def test_random_sequences_keep_invariants():
    for seed in range(6):
        # a fresh world each time: a latched stop left by the last sequence would otherwise be
        # restored by the next rig's boot (retained word) and refuse its run()
        machine.sim_reset()
        b = Bench(profile="VA" if seed % 2 else "VV")
        b.running(2500, settle=50)
        fuzzkit.run(b, _steps(seed, 150))
