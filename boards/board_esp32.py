# ESP32-DevKitC (ESP32-WROOM-32) pin map and per-board settings. Data only: copied as board.py.
# ESP32: only ADC1 (GPIO32..39) works with Wi-Fi on; ATTN_11DB gives ~0.15..2.45 V with a
# non-linear response near the ends, so we read the factory-calibrated read_uv() and keep the
# sensor outputs inside 0.3..2.4 V. LEDC PWM at 20 kHz has at most 11 bits of real resolution
# (80 MHz / 2^11 = 39 kHz). GPIO34..39 are input-only and have no internal pull-ups.
NAME = "esp32"
ARCH = "xtensawin"
TICK_HZ = 100
TIMER_ID = 0
WDT_TIMEOUT_MS = 2000
ADC_MV = True             # calibrations below are in mV from read_uv() // 1000
ADC_ATTEN = 3             # machine.ADC.ATTN_11DB
RPM_MAX = 5000

PUMP = {"pwm": 25, "enable": 26, "tach": 27, "freq_hz": 20000, "pulses_per_rev": 2, "enable_level": 1}
CLAMP = {"pin": 23, "closed_level": 1}
BUBBLE = {"kind": "digital", "pin": 4, "active_level": 1}
ESTOP = {"pin": 13, "active_level": 1}
BUZZER = 16
LED = 2

I2C = {
    0: {"sda": 21, "scl": 22, "freq": 400000},
    1: {"sda": 18, "scl": 19, "freq": 400000},
}

# P1: 0.3 V = -300 mmHg .. 2.4 V = +500 mmHg; flow: 0.3 V = -2 L/min .. 2.4 V = +10 L/min.
SENSORS = {
    "p1": {"kind": "analog", "adc": 36, "cal": (300, -3000, 2400, 5000),
           "rails": (100, 2600), "limits": (-3000, 5000), "stuck_ticks": 500},
    "p2": {"kind": "abp", "bus": 0, "addr": 0x28, "pmin_dmmhg": -5171, "pmax_dmmhg": 5171},
    "p3": {"kind": "abp", "bus": 1, "addr": 0x28, "pmin_dmmhg": -5171, "pmax_dmmhg": 5171},
    "flow": {"kind": "analog", "adc": 39, "cal": (300, -2000, 2400, 10000),
             "rails": (100, 2600), "limits": (-2000, 10000), "stuck_ticks": 500},
}

SETTINGS_PATH = "settings.json"
