# The conformance suite (conform.py) on the fake machine, in both runtimes: every fact must be
# what the real rp2 port gave in the emulator (conform.EXPECTED), or the fake's documented
# difference (conform.EXPLAINED). The emulator side: host_tests/test_emu.py.
import sys
import machine
import conform


class FakeIO:
    def drive(self, v):
        machine.sim_pin(conform.IN_PIN).drive(v)

    def spin_ms(self, ms):
        machine.sim_spend_us(ms * 1000)

    def feed(self):
        pass


def _facts():
    machine.sim_adc(conform.ADC_PIN).u16 = conform.ADC_U16
    return conform.run(FakeIO())


def _want(k):
    rt = "cpython" if sys.implementation.name != "micropython" else "micropython"
    for key in (k + "@" + rt, k):
        if key in conform.EXPLAINED:
            return conform.EXPLAINED[key][0]
    return conform.EXPECTED[k]


def test_conform_fake_matches_the_real_port():
    bad = []
    for k, v in _facts():
        if k not in conform.EXPECTED:
            bad.append("%s: %r (no reference from the real port)" % (k, v))
            continue
        w = _want(k)
        if v != w:
            bad.append("%s: fake %r, want %r (real port %r)" % (k, v, w, conform.EXPECTED[k]))
    assert not bad, "\n".join(bad)


def test_conform_every_reference_fact_is_checked():
    got = [k for k, v in _facts()]
    missing = [k for k in conform.EXPECTED if k not in got and not k.startswith(("mpremote.", "prompt."))]
    assert not missing, missing
