# safety/alarms.py to the event (mutation run, docs/mutation.md): latching per priority,
# present vs shown, acknowledge and the audio pause to the ms, the top priority, the log ring.
from ecmo.safety import alarms as A


def test_priorities_are_ordered_and_every_high_alarm_latches():
    assert 0 < A.LOW < A.MEDIUM < A.HIGH
    for code, name, prio, latch in A.TABLE:
        assert A.NAMES[code] == name and A.PRIORITY[code] == prio
        assert A.LATCH[code] == (1 if prio == A.HIGH else 0), name
    assert len(A.NAMES) == A.COUNT == len(A.TABLE)


def test_non_latching_alarm_clears_with_its_condition():
    al = A.Alarms()
    al.set(A.LOW_FLOW, True, 10)
    assert al.present(A.LOW_FLOW) and al.active(A.LOW_FLOW)
    assert al.update(10) == A.MEDIUM and al.audible()
    al.set(A.LOW_FLOW, False, 20)
    assert not al.present(A.LOW_FLOW) and not al.active(A.LOW_FLOW)
    assert al.update(20) == 0 and not al.audible()
    assert al.codes() == []


def test_latching_alarm_stays_shown_but_not_present_until_acknowledged():
    al = A.Alarms()
    al.set(A.AIR, True, 10)
    al.set(A.AIR, False, 20)
    assert al.active(A.AIR) and not al.present(A.AIR)
    assert al.update(20) == A.HIGH and al.codes() == ["AIR"]
    al.ack(30)
    assert not al.active(A.AIR) and al.update(30) == 0


def test_ack_while_present_keeps_it_shown_and_then_it_clears_with_the_condition():
    al = A.Alarms()
    al.set(A.AIR, True, 10)
    al.ack(20)
    assert al.active(A.AIR) and al.present(A.AIR) and al.paused
    assert not al.audible() and al.update(20) == A.HIGH
    al.set(A.AIR, False, 30)            # already acknowledged: no latch left
    assert not al.active(A.AIR)
    assert al.update(30) == 0


def test_a_new_raise_after_an_ack_latches_again():
    al = A.Alarms()
    al.set(A.AIR, True, 10)
    al.ack(20)
    al.set(A.AIR, False, 30)
    al.set(A.AIR, True, 40)             # raised anew: its ack is forgotten
    assert not al.paused
    al.set(A.AIR, False, 50)
    assert al.active(A.AIR)


def test_audio_pause_ends_at_exactly_the_silence_time_or_on_a_new_alarm():
    al = A.Alarms(silence_ms=1000)
    al.set(A.LOW_FLOW, True, 0)
    al.ack(100)
    al.update(1099)
    assert al.paused and not al.audible()
    al.update(1100)
    assert not al.paused and al.audible()
    al.ack(2000)
    al.set(A.CLOT, True, 2100)          # a new condition ends the pause at once
    assert not al.paused and al.audible()
    al.ack(2200)
    al.set(A.CLOT, True, 2300)          # the same one still present is not new
    assert al.paused
    assert A.Alarms().silence_ms == 120000


def test_top_is_the_highest_shown_and_follows_changes():
    al = A.Alarms()
    assert al.update(0) == 0
    al.set(A.SENSOR_P2, True, 1)
    assert al.update(1) == A.LOW
    al.set(A.LOW_FLOW, True, 2)
    assert al.update(2) == A.MEDIUM
    al.set(A.RETROGRADE, True, 3)
    assert al.update(3) == A.HIGH
    al.set(A.RETROGRADE, False, 4)
    al.ack(5)
    assert al.update(5) == A.MEDIUM
    al.set(A.LOW_FLOW, False, 6)
    assert al.update(6) == A.LOW and al.top == A.LOW
    al.set(A.SENSOR_P2, False, 7)
    assert al.update(7) == 0


def test_the_last_code_counts_in_top_and_codes():
    al = A.Alarms()
    last = A.COUNT - 1
    al.set(last, True, 1)
    assert al.update(1) == A.PRIORITY[last] and al.codes() == [A.NAMES[last]]
    al.ack(2)
    assert al.log()[-1] == (2, A.NAMES[last], "acked")


def test_log_records_each_event_with_its_kind_and_time():
    al = A.Alarms()
    al.set(A.AIR, True, 10)
    al.set(A.AIR, True, 11)             # no change: not logged
    al.set(A.AIR, False, 20)
    al.set(A.AIR, False, 21)
    al.ack(30)
    al.ack(31)                          # nothing left to acknowledge
    al.confirmed(A.AIR, 40)
    assert al.log() == [(10, "AIR", "raised"), (20, "AIR", "cleared"), (30, "AIR", "acked"),
                        (40, "AIR", "confirmed")]
    assert al.log(2) == [(30, "AIR", "acked"), (40, "AIR", "confirmed")]
    assert al.log(99) == al.log() and al.log_n == 4


def test_log_ring_keeps_the_last_64_events():
    al = A.Alarms()
    for k in range(70):
        al.set(A.CLOT, k % 2 == 0, 1000 + k)
    assert al.log_n == 70
    lg = al.log()
    assert len(lg) == 64
    assert lg[0] == (1006, "CLOT", "raised") and lg[-1] == (1069, "CLOT", "cleared")
    assert al.log(3) == [(1067, "CLOT", "cleared"), (1068, "CLOT", "raised"),
                         (1069, "CLOT", "cleared")]


def test_ack_of_a_non_latching_alarm_and_update_without_changes():
    al = A.Alarms()
    al.set(A.CLOT, True, 0)
    al.ack(1)
    assert al.active(A.CLOT) and al.acked[A.CLOT] == 1
    assert al.update(2) == A.MEDIUM
    al.set(A.CLOT, False, 3)
    assert not al.active(A.CLOT) and al.update(4) == 0


# Every row of docs/alarms.md: name, priority, latches (host_tests/test_alarms_doc.py checks the
# document against the firmware's table; this checks the running firmware against the same rows)
_DOC = (("AIR", "HIGH", 1), ("ESTOP", "HIGH", 1), ("SUCTION_WARN", "MEDIUM", 0),
        ("SUCTION_CRIT", "HIGH", 1), ("P3_HIGH", "MEDIUM", 0), ("P3_CRIT", "HIGH", 1),
        ("CLOT", "MEDIUM", 0), ("P2_HIGH", "MEDIUM", 0), ("P2_CRIT", "HIGH", 1),
        ("LEVEL_LOW", "MEDIUM", 0), ("LEVEL_CRIT", "HIGH", 1), ("SENSOR_LEVEL", "MEDIUM", 0),
        ("ZERO_FLOW", "MEDIUM", 0), ("LOW_FLOW", "MEDIUM", 0), ("RETROGRADE", "HIGH", 1),
        ("SENSOR_P1", "MEDIUM", 0), ("SENSOR_P2", "LOW", 0), ("SENSOR_P3", "MEDIUM", 0),
        ("SENSOR_FLOW", "HIGH", 1), ("SENSOR_BUBBLE", "HIGH", 1), ("OVERRUN", "LOW", 0),
        ("TICK_ERROR", "HIGH", 1), ("WDT_RESET", "HIGH", 1), ("SETTINGS", "MEDIUM", 0),
        ("TACH", "MEDIUM", 0), ("SWEEP_LOST", "HIGH", 1), ("SWEEP_NO_BLOOD", "HIGH", 1),
        ("FIO2", "MEDIUM", 0), ("TEMP", "MEDIUM", 0), ("SAT_LOW", "HIGH", 1),
        ("SENSOR_GAS", "MEDIUM", 0), ("SWEEP_HIGH", "MEDIUM", 0), ("POWER_ON", "MEDIUM", 0))


def test_every_alarm_latches_and_ranks_as_docs_alarms_md_says():
    from ecmo.drivers import annunciator as N
    # the priority is what the annunciator plays: the loop hands it Alarms.update()'s number
    prio = {"LOW": N.LOW, "MEDIUM": N.MEDIUM, "HIGH": N.HIGH}
    assert (N.LOW, N.MEDIUM, N.HIGH) == (1, 2, 3)
    assert (A.LOW, A.MEDIUM, A.HIGH) == (N.LOW, N.MEDIUM, N.HIGH)
    assert len(_DOC) == A.COUNT
    for name, p, latch in _DOC:
        code = A.NAMES.index(name)
        assert A.PRIORITY[code] == prio[p], name
        al = A.Alarms()
        al.set(code, True, 10)
        assert al.update(10) == prio[p], name
        al.set(code, False, 20)
        assert al.active(code) == bool(latch), name       # a latching one stays shown
        assert al.update(20) == (prio[p] if latch else 0), name
        al.ack(30)
        assert not al.active(code) and al.update(30) == 0, name


def test_a_fresh_alarm_set_is_silent_and_not_paused():
    al = A.Alarms()
    assert al.paused is False and al.top == 0 and not al.audible()
    assert al.update(0) == 0 and al.codes() == []


def test_a_low_priority_alarm_alone_is_audible():
    al = A.Alarms()
    al.set(A.OVERRUN, True, 5)
    assert al.update(5) == A.LOW and al.audible()
    al.ack(6)
    assert not al.audible()
