# Raspberry Pi Pico (RP2040) pin map and per-board settings. Data only: copied to the board as board.py.
# RP2040: 12-bit ADC read as read_u16 0..65535 on GP26..28, 3.3 V reference; WDT max ~8.3 s;
# Timer(-1) is a soft virtual timer; PWM slices pair GPIOn/n+1, so pump, buzzer and valve
# sit on different slices (GP15 = slice 7, GP19 = slice 1, GP20 = slice 2) and keep their own freq.
NAME = "pico"
ARCH = "armv6m"
TICK_HZ = 100
TIMER_ID = -1
WDT_TIMEOUT_MS = 2000
ADC_MV = False            # calibrations below are in read_u16 counts
RPM_MAX = 5000

PUMP = {"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2, "enable_level": 1}
CLAMP = {"pin": 18, "closed_level": 1}
BUBBLE = {"kind": "digital", "pin": 16, "active_level": 1}
ESTOP = {"pin": 17, "active_level": 1}     # NC contact to GND with pull-up: pressed or cut = 1
BUZZER = 19
LED = 25

I2C = {
    0: {"sda": 4, "scl": 5, "freq": 400000},
    1: {"sda": 6, "scl": 7, "freq": 400000},
}

# P1: bridge transducer + in-amp, 0.3 V = -300 mmHg .. 3.0 V = +500 mmHg (u16 = V / 3.3 * 65535).
# Rails: below 0.05 V the wire is open (input pulled down), above 3.25 V shorted to supply.
# Flow: clamp-on ultrasonic analog output, 0.3 V = -2 L/min .. 3.0 V = +10 L/min (bipolar: sees retrograde).
SENSORS = {
    "p1": {"kind": "analog", "adc": 26, "cal": (5958, -3000, 59578, 5000),
           "rails": (993, 64542), "limits": (-3000, 5000), "stuck_ticks": 500},
    "p2": {"kind": "abp", "bus": 0, "addr": 0x28, "pmin_dmmhg": -5171, "pmax_dmmhg": 5171},
    "p3": {"kind": "abp", "bus": 1, "addr": 0x28, "pmin_dmmhg": -5171, "pmax_dmmhg": 5171},
    "flow": {"kind": "analog", "adc": 27, "cal": (5958, -2000, 59578, 10000),
             "rails": (993, 64542), "limits": (-2000, 10000), "stuck_ticks": 500},
}

SETTINGS_PATH = "settings.json"
