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

# Alarm codes: index into the tables below. Keep in step with docs/hazards.md.
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
COUNT = const(29)

NAMES = (
    "AIR", "ESTOP", "SUCTION_WARN", "SUCTION_CRIT", "P3_HIGH", "P3_CRIT", "CLOT", "LOW_FLOW",
    "RETROGRADE", "SENSOR_P1", "SENSOR_P2", "SENSOR_P3", "SENSOR_FLOW", "SENSOR_BUBBLE",
    "OVERRUN", "TICK_ERROR", "WDT_RESET", "SETTINGS", "TACH", "SWEEP_LOST", "SWEEP_NO_BLOOD",
    "FIO2", "TEMP", "SAT_LOW", "SENSOR_GAS", "SWEEP_HIGH", "POWER_ON", "P2_HIGH", "P2_CRIT",
)
PRIORITY = bytes((
    HIGH, HIGH, MEDIUM, HIGH, MEDIUM, HIGH, MEDIUM, MEDIUM,
    HIGH, MEDIUM, LOW, MEDIUM, HIGH, HIGH,
    LOW, HIGH, HIGH, MEDIUM, MEDIUM, HIGH, HIGH,
    MEDIUM, MEDIUM, HIGH, MEDIUM, MEDIUM, MEDIUM, MEDIUM, HIGH,
))

# log event kinds
RAISED = const(1)
CLEARED = const(2)
ACKED = const(3)
KIND_NAMES = ("", "raised", "cleared", "acked")

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
        self.changed = False

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
                self.changed = True
        elif f & _F_PRESENT:
            self._log(code, CLEARED, now_ms)
            self.changed = True
            if PRIORITY[code] == HIGH and not self.acked[code]:
                self.flags[code] = _F_SHOWN  # latched: shown until acknowledged
            else:
                self.flags[code] = 0

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
        self.changed = True

    def update(self, now_ms):
        # once per tick: audio pause timeout and the highest priority shown
        if self.paused and ticks_diff(now_ms, self._pause_t) >= self.silence_ms:
            self.paused = False
        top = 0
        for c in range(COUNT):
            if self.flags[c] & _F_SHOWN and PRIORITY[c] > top:
                top = PRIORITY[c]
        self.top = top
        return top

    def audible(self):
        return self.top > 0 and not self.paused

    def all_acked(self):
        for c in range(COUNT):
            if self.flags[c] & _F_SHOWN and not self.acked[c]:
                return False
        return True

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
