# Alarm system: priorities, latching, acknowledge with audio pause, re-sounding, the event log,
# and distinct buzzer/LED patterns per priority.
import gc
import machine
from ecmo.safety import alarms as A
from ecmo.safety.alarms import Alarms
from ecmo import wiring as W
from ecmo.drivers.annunciator import HIGH, MEDIUM, LOW


def test_medium_alarm_clears_with_its_condition():
    al = Alarms()
    al.set(A.LOW_FLOW, True, 100)
    assert al.active(A.LOW_FLOW) and al.update(100) == A.MEDIUM
    al.set(A.LOW_FLOW, False, 200)
    assert not al.active(A.LOW_FLOW) and al.update(200) == 0


def test_high_alarm_latches_until_acknowledged():
    al = Alarms()
    al.set(A.RETROGRADE, True, 100)
    al.set(A.RETROGRADE, False, 200)
    assert al.active(A.RETROGRADE) and al.update(200) == A.HIGH
    al.ack(300)
    assert not al.active(A.RETROGRADE) and al.update(300) == 0


def test_ack_pauses_audio_keeps_alarm_visible_and_resounds_after_pause():
    al = Alarms(silence_ms=1000)
    al.set(A.SUCTION_CRIT, True, 0)
    al.update(0)
    assert al.audible()
    al.ack(10)
    al.update(20)
    assert al.active(A.SUCTION_CRIT) and not al.audible()
    al.update(900)
    assert not al.audible()
    al.update(1100)                     # condition still there when the pause ends
    assert al.audible()


def test_new_condition_ends_the_audio_pause():
    al = Alarms(silence_ms=100000)
    al.set(A.LOW_FLOW, True, 0)
    al.ack(1)
    al.update(2)
    assert not al.audible()
    al.set(A.CLOT, True, 3)
    al.update(3)
    assert al.audible()


def test_highest_priority_wins():
    al = Alarms()
    al.set(A.OVERRUN, True, 0)
    assert al.update(0) == A.LOW
    al.set(A.CLOT, True, 0)
    assert al.update(0) == A.MEDIUM
    al.set(A.AIR, True, 0)
    assert al.update(0) == A.HIGH


def test_log_ring_keeps_last_events_in_order():
    al = Alarms()
    for i in range(100):
        al.set(A.LOW_FLOW, i % 2 == 0, i)
    log = al.log(4)
    assert [e[0] for e in log] == [96, 97, 98, 99]
    assert log[-1] == (99, "LOW_FLOW", "cleared")
    assert len(al.log()) == 64


def test_set_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    al = Alarms()
    al.set(A.CLOT, True, 0)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(1000):
        al.set(A.LOW_FLOW, i % 2 == 0, i)
        al.set(A.CLOT, True, i)
        al.update(i)
        al.audible()
    b = gc.mem_alloc()
    gc.enable()
    assert b - a == 0, b - a


def pattern(priority, audible, ms=3000):
    # buzzer on/off and LED on/off per millisecond over `ms`
    machine.sim_reset()
    ann = W.annunciator(19, 25)
    ann.show(priority, audible, 0)
    buzz = []
    led = []
    for t in range(ms):
        ann.update(t)
        buzz.append(machine.sim_pwm(19).duty_u16 > 0)
        led.append(machine.sim_pin(25).level == 1)
    return buzz, led


def edges(xs):
    return sum(1 for i in range(1, len(xs)) if xs[i] and not xs[i - 1]) + (1 if xs[0] else 0)


def test_patterns_differ_by_priority():
    hb, hl = pattern(HIGH, True)
    mb, ml = pattern(MEDIUM, True, 6000)
    lb, ll = pattern(LOW, True, 15000)
    assert edges(hb) == 5          # high: a burst of 5 pulses every 3 s
    assert edges(mb) == 3          # medium: 3 pulses every 6 s
    assert edges(lb) == 1          # low: 1 pulse every 15 s
    assert edges(hl) == 6          # high: LED flashes at 2 Hz
    assert edges(ml[:3200]) == 2   # medium: 0.625 Hz
    assert all(ll)                 # low: steady


def test_silenced_alarm_keeps_flashing_without_sound():
    b, l = pattern(HIGH, False)
    assert not any(b) and edges(l) == 6


def test_presence_is_bit_0_of_flags():
    # the tick's call sites read al.flags[code] & 1 and call set() only when it would change
    # (supervisor, gas, loop): bit 0 must be "the condition is there now", for latching and
    # non-latching alarms alike
    for code in (A.AIR, A.LOW_FLOW, A.SENSOR_P2, A.SWEEP_LOST):
        al = Alarms()
        assert al.flags[code] & 1 == 0
        al.set(code, True, 5)
        assert al.flags[code] & 1 == 1 and al.present(code)
        al.set(code, False, 6)
        assert al.flags[code] & 1 == 0 and not al.present(code)
        assert al.active(code) == bool(A.LATCH[code])     # latched: still shown


class _Counting:
    # wraps an Alarms: counts set() calls, passes them on
    def __init__(self, al):
        self.al = al
        self.calls = []
        self._set = al.set

        def set(code, present, now_ms):
            self.calls.append((code, bool(present)))
            self._set(code, present, now_ms)
        al.set = set


def test_a_steady_tick_calls_alarms_set_only_for_changes():
    # ~26 alarm conditions are judged every tick; set() is called only where a presence bit
    # changes, so a healthy rig in steady state makes no call at all (the log and the
    # latches are set() 's: nothing is lost), and a new condition still gets its call
    from rigkit import Bench
    b = Bench()
    b.running(2500, settle=300)
    c = _Counting(b.rig.al)
    before = list(b.rig.al.flags)
    b.ticks(50)
    assert list(b.rig.al.flags) == before
    assert c.calls == [], c.calls
    b.air(True)               # air: AIR raised through set(), once, and latched
    b.ticks(20)
    b.air(False)
    b.ticks(20)
    assert c.calls.count((A.AIR, True)) == 1, c.calls
    assert b.rig.al.present(A.AIR) and b.rig.al.active(A.AIR)
    n = len(c.calls)
    b.ticks(50)                # steady again (stopped): no further calls
    assert len(c.calls) == n, c.calls[n:]
