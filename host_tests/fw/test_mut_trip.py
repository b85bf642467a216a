# safety/trip.py: the air and e-stop stop made from the IRQ handlers: pump off, line clamped,
# flag set and the cause recorded in retained memory at once (mutation run, docs/mutation.md).
from ecmo.safety.trip import Trip
from ecmo.drivers.retain import STOP_AIR, STOP_ESTOP


class _Part:
    def __init__(self):
        self.calls = []

    def stop(self):
        self.calls.append("stop")

    def close(self):
        self.calls.append("close")

    def add(self, bit):
        self.calls.append(bit)


def test_air_trip_stops_clamps_and_records_air():
    pump, clamp, retain = _Part(), _Part(), _Part()
    t = Trip(pump, clamp, retain)
    assert t.tripped is False
    t.air_cb()
    assert pump.calls == ["stop"] and clamp.calls == ["close"] and t.tripped is True
    assert retain.calls == [STOP_AIR]


def test_estop_trip_stops_clamps_and_records_estop():
    pump, clamp, retain = _Part(), _Part(), _Part()
    t = Trip(pump, clamp, retain)
    t.estop_cb()
    assert pump.calls == ["stop"] and clamp.calls == ["close"] and t.tripped is True
    assert retain.calls == [STOP_ESTOP]
    assert STOP_AIR != STOP_ESTOP


def test_trip_without_retained_memory_still_stops():
    pump, clamp = _Part(), _Part()
    t = Trip(pump, clamp)
    t.air()
    t.estop()
    assert pump.calls == ["stop", "stop"] and clamp.calls == ["close", "close"] and t.tripped
