# ESP32-DevKitC (ESP32-WROOM-32) pin map and per-board settings. Data only: copied as board.py.
# ESP32: only ADC1 (GPIO32..39) works with Wi-Fi on; ATTN_11DB gives ~0.15..2.45 V with a
# non-linear response near the ends, so we read the factory-calibrated read_uv() and keep the
# sensor outputs inside 0.3..2.4 V. LEDC PWM at 20 kHz has at most 11 bits of real resolution
# (80 MHz / 2^11 = 39 kHz). GPIO34..39 are input-only and have no internal pull-ups.
NAME = "esp32"
ARCH = "xtensawin"
TICK_HZ = 100
TELEMETRY_TIMER_ID = 1    # telemetry rows: hardware timer 1: timer 0 runs the tick
TIMER_ID = 0
WDT_TIMEOUT_MS = 2000
# The longest a settings save() can hold the chip (ESP32: cache off, non-IRAM interrupts held, docs/hazards.md):
# a littlefs write plus rename erases up to 3 sectors of 4 KB, 400 ms each at the flash's
# datasheet maximum, and programs ~8 pages (3 ms each). The watchdog must outlast it.
FLASH_STALL_MAX_MS = 1300
RETAIN = "esp32_rtc"   # where the run/standby intent survives a reset (ecmo/drivers/retain.py)
ADC_MV = True             # calibrations below are in mV from read_uv() // 1000
ADC_ATTEN = 3             # machine.ADC.ATTN_11DB
RPM_MAX = 5000
# The REPL is UART0 at 115200 baud (11.5 bytes/ms) with a 128-byte TX buffer: a telemetry row
# (at most 400 bytes) holds the scheduler up to ~24 ms while it goes out, under the ~70 ms that
# fills its 8-slot queue; 10 rows/s of the widest rows is 35 % of the link
TELEMETRY_MAX_HZ = 10
# Hardware pulse counters (machine.Counter on the PCNT units, MicroPython 1.26+): the air
# detector's and the e-stop's edges are counted in hardware, so an event whose soft IRQ the
# full scheduler queue dropped still latches at the next tick; the tach's speed comes from
# counts, not from late soft-IRQ time stamps (issue #20)
EDGE_COUNTERS = {"bubble": 0, "estop": 1, "tach": 2}
# Pulls on the board (README "ESP32 wiring"): they hold the outputs while the chip boots, when
# every GPIO floats (after any reset: ~0.7 s until main.py's first lines). GPIO -> level.
# The clamp's is for VA (closed); a VV-only rig fits it to 0 V (open) instead.
BOOT_PULLS = {26: 0, 25: 0, 23: 1}
# Uncalibrated chips (read_uv raises OSError): mV = line through two points measured on this
# chip, (read_u16 at A, mV at A, read_u16 at B, mV at B) (README "ESP32 ADC calibration");
# None: a nominal line, and the status line says adc=u16-nominal
ADC_U16_CAL = None

PUMP = {"pwm": 25, "enable": 26, "tach": 27, "freq_hz": 20000, "pulses_per_rev": 2, "enable_level": 1}
# Pump H-Q-RPM map, H = a*w^2 + c*w*Q - b*Q^2 (mmHg, krpm, L/min): the datasheet fit for the
# rig's pump (docs/sensor-trust.md); err_pct its head error. rig.identify() replaces it by a fit on
# the rig, stored in settings.
PUMP_MAP = {"a": 28.0, "b": 2.6, "c": 0.6, "err_pct": 10}
CLAMP = {"pin": 23, "closed_level": 1}
BUBBLE = {"kind": "digital", "pin": 4, "active_level": 1}
ESTOP = {"pin": 13, "active_level": 1}
BUZZER = 16
LED = 2

I2C = {
    0: {"sda": 21, "scl": 22, "freq": 400000, "timeout_us": 2000},   # a dead bus costs 2 ms, not 50
    1: {"sda": 18, "scl": 19, "freq": 400000, "timeout_us": 2000},
}

# Every analog input has a 100 k pull-down to GND on the board (GPIO34..39 have no pulls of
# their own): an unplugged sensor reads 0 V, which read_uv gives as ~142 mV at 11 dB (the
# calibration's offset); the open-wire rail at 200 mV clears that with margin and stays below
# the sensors' 300 mV floor. A short to 3.3 V saturates near 3.1 V, above the 2600 mV rail.
# P1: 0.3 V = -300 mmHg .. 2.4 V = +500 mmHg; flow: 0.3 V = -2 L/min .. 2.4 V = +10 L/min.
SENSORS = {
    "p1": {"kind": "analog", "adc": 36, "cal": (300, -3000, 2400, 5000),
           "rails": (200, 2600), "limits": (-3000, 5000), "stuck_ticks": 50, "jitter": 50},
    "p2": {"kind": "abp", "bus": 0, "addr": 0x28, "pmin_dmmhg": -7757, "pmax_dmmhg": 7757},
    "p3": {"kind": "abp", "bus": 1, "addr": 0x28, "pmin_dmmhg": -7757, "pmax_dmmhg": 7757},
    "flow": {"kind": "analog", "adc": 39, "cal": (300, -2000, 2400, 10000),
             "rails": (200, 2600), "limits": (-2000, 10000), "stuck_ticks": 50, "jitter": 400},
}

# Oxygenator side (firmware/ecmo/gas.py) on the free ADC1 pins 32..34; calibrations in mV.
# o2: galvanic cell through an op-amp gain of 30: ~315 mV in air, ~1.5 V in O2 (nominal).
# temp: 10 k NTC (B 3435 K) to GND, 10 k from 3.3 V: 2.1 V at 10 degC .. 0.96 V at 50 degC,
# inside the ATTN_11DB linear span; an open probe reads the 3.3 V rail.
# sat_post: SaO2 monitor analog out scaled 0.3 V = 0 % .. 2.4 V = 100 %.
# SFM3000 on bus 1 (0x40) beside P3; sweep valve on GPIO17 (no boot-time glitch, unlike 12/14/15).
# FiO2 is monitor-only (no "blender" entry).
GAS = {
    "flow": {"bus": 1, "addr": 0x40, "offset": 32000, "scale": 140, "limits_mlpm": (-1000, 15000)},
    "valve": {"pin": 17, "freq_hz": 1000, "crack_u16": 16000, "purge_u16": 0},
    "sweep_pid": (100, 400, 0),
    "o2": {"adc": 32, "cal": (315, 209, 1507, 1000), "rails": (200, 2600)},
    "temp": {"adc": 33, "r25_ohm": 10000, "beta": 3435, "r_fixed_ohm": 10000, "raw_ref": 3300,
             "rails": (200, 2600)},
    "sat_post": {"adc": 34, "cal": (300, 0, 2400, 1000), "rails": (200, 2600)},
}

SETTINGS_PATH = "settings.json"
