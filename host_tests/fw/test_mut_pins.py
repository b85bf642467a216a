# drivers/pins.py: a pin handler asks for a hard IRQ, and falls back to a soft one where the
# port's Pin.irq() takes no hard= (ESP32): the answer says which it got.
from ecmo.drivers import pins


class _Pin:
    def __init__(self, takes_hard):
        self.takes_hard = takes_hard
        self.calls = []

    def irq(self, handler=None, trigger=0, **kw):
        if "hard" in kw and not self.takes_hard:
            raise TypeError("unexpected keyword argument 'hard'")
        self.calls.append((handler, trigger, kw.get("hard")))


def _h(p):
    pass


def test_a_hard_irq_where_the_port_has_one():
    p = _Pin(True)
    assert pins.irq(p, _h, 2) is True
    assert p.calls == [(_h, 2, True)]


def test_a_soft_irq_where_the_port_takes_no_hard_argument():
    p = _Pin(False)
    assert pins.irq(p, _h, 1) is False
    assert p.calls == [(_h, 1, None)]
