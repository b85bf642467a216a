# Alarm conditions, priorities, latching, acknowledge/audio-pause, and the event log.
# Per IEC 60601-1-8 in spirit: three priorities; acknowledging pauses the audio for a set time but
# keeps the alarm visible; it sounds again if the condition is still there when the pause ends,
# or at once if a new alarm condition starts. High-priority alarms latch until acknowledged.
from micropython import const
from array import array
from time import ticks_diff

LOW = const(1)
MEDIUM = const(2)
HIGH = const(3)

# Alarm codes: the row of each in TABLE below.
AIR = const(0)
ESTOP = const(1)
SUCTION_WARN = const(2)
SUCTION_CRIT = const(3)
PRESSURE_WARN = const(4)
PRESSURE_CRIT = const(5)
CLOT = const(6)
LOW_FLOW = const(7)
RETROGRADE = const(8)
SENSOR_P1 = const(9)
SENSOR_P2 = const(10)
SENSOR_P3 = const(11)
SENSOR_FLOW = const(12)
SENSOR_BUBBLE = const(13)
OVERRUN = const(14)
TICK_ERROR = const(15)
WDT_RESET = const(16)
SETTINGS = const(17)
TACH = const(18)
SWEEP_LOST = const(19)
SWEEP_NO_BLOOD = const(20)
FIO2 = const(21)
TEMP = const(22)
SAT_LOW = const(23)
SENSOR_GAS = const(24)
SWEEP_HIGH = const(25)
POWER_ON = const(26)
P2_HIGH = const(27)
P2_CRIT = const(28)
LEVEL_LOW = const(29)
LEVEL_CRIT = const(30)
SENSOR_LEVEL = const(31)
ZERO_FLOW = const(32)
COUNT = const(33)

# The one table of alarms: (code, name, priority, latches). NAMES, PRIORITY and LATCH below are
# derived from it; a latching alarm stays shown after its condition clears, until acknowledged
# (IEC 60601-1-8: every HIGH latches). What each means and what to do: docs/alarms.md.
_L = True
TABLE = (
    (AIR, "AIR", HIGH, _L),
    (ESTOP, "ESTOP", HIGH, _L),
    (SUCTION_WARN, "SUCTION_WARN", MEDIUM, False),
    (SUCTION_CRIT, "SUCTION_CRIT", HIGH, _L),
    (PRESSURE_WARN, "P3_HIGH", MEDIUM, False),
    (PRESSURE_CRIT, "P3_CRIT", HIGH, _L),
    (CLOT, "CLOT", MEDIUM, False),
    (LOW_FLOW, "LOW_FLOW", MEDIUM, False),
    (RETROGRADE, "RETROGRADE", HIGH, _L),
    (SENSOR_P1, "SENSOR_P1", MEDIUM, False),
    (SENSOR_P2, "SENSOR_P2", LOW, False),
    (SENSOR_P3, "SENSOR_P3", MEDIUM, False),
    (SENSOR_FLOW, "SENSOR_FLOW", HIGH, _L),
    (SENSOR_BUBBLE, "SENSOR_BUBBLE", HIGH, _L),
    (OVERRUN, "OVERRUN", LOW, False),
    (TICK_ERROR, "TICK_ERROR", HIGH, _L),
    (WDT_RESET, "WDT_RESET", HIGH, _L),
    (SETTINGS, "SETTINGS", MEDIUM, False),
    (TACH, "TACH", MEDIUM, False),
    (SWEEP_LOST, "SWEEP_LOST", HIGH, _L),
    (SWEEP_NO_BLOOD, "SWEEP_NO_BLOOD", HIGH, _L),
    (FIO2, "FIO2", MEDIUM, False),
    (TEMP, "TEMP", MEDIUM, False),
    (SAT_LOW, "SAT_LOW", HIGH, _L),
    (SENSOR_GAS, "SENSOR_GAS", MEDIUM, False),
    (SWEEP_HIGH, "SWEEP_HIGH", MEDIUM, False),
    (POWER_ON, "POWER_ON", MEDIUM, False),
    (P2_HIGH, "P2_HIGH", MEDIUM, False),
    (P2_CRIT, "P2_CRIT", HIGH, _L),
    (LEVEL_LOW, "LEVEL_LOW", MEDIUM, False),
    (LEVEL_CRIT, "LEVEL_CRIT", HIGH, _L),
    (SENSOR_LEVEL, "SENSOR_LEVEL", MEDIUM, False),
    (ZERO_FLOW, "ZERO_FLOW", MEDIUM, False),
)
for _i in range(COUNT):
    if TABLE[_i][0] != _i:
        raise ValueError("alarm table out of order at %d" % _i)
NAMES = tuple(r[1] for r in TABLE)
PRIORITY = bytes(r[2] for r in TABLE)
LATCH = bytes(1 if r[3] else 0 for r in TABLE)

# log event kinds
RAISED = const(1)
CLEARED = const(2)
ACKED = const(3)
CONFIRMED = const(4)     # an operator confirmation the firmware asks for (de-aired after AIR)
KIND_NAMES = ("", "raised", "cleared", "acked", "confirmed")

_LOG_SIZE = const(64)
_F_PRESENT = const(1)    # the condition is there now
_F_SHOWN = const(2)      # shown to the operator (present, or latched and not yet acknowledged)


class Alarms:
    def __init__(self, silence_ms=120000):
        self.silence_ms = silence_ms        # IEC 60601-1-8 audio paused: default 2 minutes
        self.flags = bytearray(COUNT)
        self.acked = bytearray(COUNT)
        self.log_t = array("i", [0] * _LOG_SIZE)
        self.log_code = bytearray(_LOG_SIZE)
        self.log_kind = bytearray(_LOG_SIZE)
        self.log_n = 0                      # events ever logged; the ring keeps the last _LOG_SIZE
        self.paused = False
        self._pause_t = 0
        self.top = 0                        # highest priority shown now (0 = none)
        self._dirty = True                  # what is shown changed: update() works out top again

    def _log(self, code, kind, now_ms):
        i = self.log_n % _LOG_SIZE
        self.log_t[i] = now_ms
        self.log_code[i] = code
        self.log_kind[i] = kind
        self.log_n += 1

    def set(self, code, present, now_ms):
        f = self.flags[code]
        if present:
            if not f & _F_PRESENT:
                self.flags[code] = _F_PRESENT | _F_SHOWN
                self.acked[code] = 0
                self._log(code, RAISED, now_ms)
                self.paused = False          # a new condition ends an audio pause
                self._dirty = True
        elif f & _F_PRESENT:
            self._log(code, CLEARED, now_ms)
            self._dirty = True
            if LATCH[code] and not self.acked[code]:
                self.flags[code] = _F_SHOWN  # latched: shown until acknowledged
            else:
                self.flags[code] = 0

    def confirmed(self, code, now_ms):
        # the operator confirmed a step for this alarm (REPL side): logged with its time
        self._log(code, CONFIRMED, now_ms)

    def active(self, code):
        return self.flags[code] & _F_SHOWN != 0

    def present(self, code):
        return self.flags[code] & _F_PRESENT != 0

    def ack(self, now_ms):
        # acknowledge everything shown: pause the audio, drop latched alarms whose condition is gone
        for c in range(COUNT):
            f = self.flags[c]
            if f & _F_SHOWN and not self.acked[c]:
                self.acked[c] = 1
                self._log(c, ACKED, now_ms)
                if not f & _F_PRESENT:
                    self.flags[c] = 0
        self.paused = True
        self._pause_t = now_ms
        self._dirty = True

    def update(self, now_ms):
        # once per tick: audio pause timeout and the highest priority shown (worked out again
        # only when set() or ack() changed what is shown: most ticks change nothing)
        if self.paused and ticks_diff(now_ms, self._pause_t) >= self.silence_ms:
            self.paused = False
        if self._dirty:
            self._dirty = False
            top = 0
            for c in range(COUNT):
                if self.flags[c] & _F_SHOWN and PRIORITY[c] > top:
                    top = PRIORITY[c]
            self.top = top
        return self.top

    def audible(self):
        return self.top > 0 and not self.paused

    # REPL side (allocates; never called from the tick)
    def codes(self):
        return [NAMES[c] for c in range(COUNT) if self.flags[c] & _F_SHOWN]

    def log(self, n=None):
        total = self.log_n if self.log_n < _LOG_SIZE else _LOG_SIZE
        if n is None or n > total:
            n = total
        out = []
        for k in range(self.log_n - n, self.log_n):
            i = k % _LOG_SIZE
            out.append((self.log_t[i], NAMES[self.log_code[i]], KIND_NAMES[self.log_kind[i]]))
        return out
