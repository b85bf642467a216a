# Validity codes every driver reports beside its value. OK is 0 so `if status:` means "fault".
from micropython import const

OK = const(0)
OPEN = const(1)     # input at the low rail: broken wire, sensor unpowered
SHORT = const(2)    # input at the high rail: short to supply
RANGE = const(3)    # converted value outside the sensor's physical range
BUS = const(4)      # I2C error (no ACK, timeout)
CRC = const(5)      # checksum mismatch on a data word
STALE = const(6)    # sensor says the data was already read (no new conversion)
STUCK = const(7)    # raw value identical for too long: frozen sensor or ADC
DIAG = const(8)     # the sensor's own diagnostic bit is set
NAN = const(9)      # the bus gave something that is not a number
NOISY = const(10)   # jitter far above what the part shows: loose shield, EMI, failing part

NAMES = ("ok", "open", "short", "range", "bus", "crc", "stale", "stuck", "diag", "nan", "noisy")


def name(code):
    if 0 <= code < len(NAMES):
        return NAMES[code]
    return "?"


class Reading:
    # What every sensor driver exposes: `value` (engineering units), `status` (OK or a code
    # above) and `faults` (reads that failed). A fault keeps the last good value: what a fault
    # means is the supervisor's call, not the driver's.
    def __init__(self, status=OK):
        self.value = 0
        self.status = status
        self.faults = 0
        # saturation: +1 at or above the part's full scale, -1 at or below its bottom, 0 inside;
        # with status RANGE, `value` is then that end of the range: the true value is beyond it
        self.sat = 0
        # zero offset (issue #12, rig.zero): subtracted from the converted value by the
        # drivers that can be zeroed (analog, ABP); `conv` is the value before it
        self.offset = 0
        self.conv = 0
        self.gain_e4 = 10000     # the flow probe's gain from a bucket test (analog only)

    def _fail(self, code):
        self.status = code
        self.sat = 0
        self.faults += 1
        return code

    def _saturated(self, sign, end):
        # at or beyond full scale: never valid, but the interlocks may use it as a bound
        self.status = RANGE
        self.sat = sign
        self.value = end
        self.faults += 1
        return RANGE
