# The air and e-stop stop, made before the IRQ inputs so their handlers can call it: two pin
# writes, a flag, and the latch recorded in retained memory at once, so no reset (a hung loop,
# a crash before the next tick) can release it. Nothing here allocates on rp2 (hard IRQ).
from ecmo.drivers.retain import STOP_AIR, STOP_ESTOP


class Trip:
    def __init__(self, pump, clamp, retain=None):
        self.pump = pump
        self.clamp = clamp
        self.retain = retain
        self.tripped = False
        self.air_cb = self.air       # bound once; calling them allocates nothing
        self.estop_cb = self.estop

    def fire(self):
        self.pump.stop()
        self.clamp.close()
        self.tripped = True

    def air(self):
        self.fire()
        if self.retain is not None:
            self.retain.add(STOP_AIR)

    def estop(self):
        self.fire()
        if self.retain is not None:
            self.retain.add(STOP_ESTOP)
