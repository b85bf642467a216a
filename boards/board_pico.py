# Raspberry Pi Pico (RP2040) pin map and per-board settings. Data only: copied to the board as board.py.
# RP2040: 12-bit ADC read as read_u16 0..65535 on GP26..28, 3.3 V reference; WDT max ~8.3 s;
# Timer(-1) is a soft virtual timer; PWM slices pair GPIOn/n+1, so pump, buzzer and valve
# sit on different slices (GP15 = slice 7, GP19 = slice 1, GP20 = slice 2) and keep their own freq.
NAME = "pico"
ARCH = "armv6m"
TICK_HZ = 100
TELEMETRY_TIMER_ID = -1    # telemetry rows: soft virtual timer, like the tick
TIMER_ID = -1
WDT_TIMEOUT_MS = 2000
# The CPU clock main.py sets before anything takes a divider from it (PWM and I2C run from
# clk_sys on the RP2040): 200 MHz with the core regulator at 1.15 V, the pico-sdk's own RP2040
# setting for that clock (docs/facts.md, "RP2040 clock"). MicroPython's machine.freq() does not
# raise the voltage itself, so the board names the regulator field: (address, mask, value) of
# VREG_AND_CHIP_RESET.VREG's VSEL, 0b1100 = 1.15 V. The tick's interpreter work scales with it.
CPU = {"hz": 200_000_000, "vreg": (0x40064000, 0xF0, 0xC0)}
# The longest a settings save() can hold the chip (RP2040: interrupts off for each erase, docs/hazards.md):
# a littlefs write plus rename erases up to 3 sectors of 4 KB, 400 ms each at the flash's
# datasheet maximum, and programs ~8 pages (3 ms each). The watchdog must outlast it.
FLASH_STALL_MAX_MS = 1300
RETAIN = "rp2_scratch"   # where the run/standby intent survives a reset (ecmo/drivers/retain.py)
ADC_MV = False            # calibrations below are in read_u16 counts
RPM_MAX = 5000

PUMP = {"pwm": 15, "enable": 14, "tach": 13, "freq_hz": 20000, "pulses_per_rev": 2, "enable_level": 1}
# Pump H-Q-RPM map, H = a*w^2 + c*w*Q - b*Q^2 (mmHg, krpm, L/min): the datasheet fit for the
# rig's pump (docs/sensor-trust.md); err_pct its head error. rig.identify() replaces it by a fit on
# the rig, stored in settings.
PUMP_MAP = {"a": 28.0, "b": 2.6, "c": 0.6, "err_pct": 10}
CLAMP = {"pin": 18, "closed_level": 1}
BUBBLE = {"kind": "digital", "pin": 16, "active_level": 1}
ESTOP = {"pin": 17, "active_level": 1}     # NC contact to GND with pull-up: pressed or cut = 1
BUZZER = 19
LED = 25

I2C = {
    0: {"sda": 4, "scl": 5, "freq": 400000, "timeout_us": 2000},   # a dead bus costs 2 ms, not 50
    1: {"sda": 6, "scl": 7, "freq": 400000, "timeout_us": 2000},
}

# P1: bridge transducer + in-amp, 0.3 V = -300 mmHg .. 3.0 V = +500 mmHg (u16 = V / 3.3 * 65535).
# Rails: below 0.05 V the wire is open (input pulled down), above 3.25 V shorted to supply.
# Flow: clamp-on ultrasonic analog output, 0.3 V = -2 L/min .. 3.0 V = +10 L/min (bipolar: sees retrograde).
SENSORS = {
    "p1": {"kind": "analog", "adc": 26, "cal": (5958, -3000, 59578, 5000),
           "rails": (993, 64542), "limits": (-3000, 5000), "stuck_ticks": 50, "jitter": 50},
    "p2": {"kind": "abp", "bus": 0, "addr": 0x28, "pmin_dmmhg": -7757, "pmax_dmmhg": 7757},
    "p3": {"kind": "abp", "bus": 1, "addr": 0x28, "pmin_dmmhg": -7757, "pmax_dmmhg": 7757},
    "flow": {"kind": "analog", "adc": 27, "cal": (5958, -2000, 59578, 10000),
             "rails": (993, 64542), "limits": (-2000, 10000), "stuck_ticks": 50, "jitter": 400},
}

# Oxygenator side (firmware/ecmo/gas.py). The Pico's three ADC pins are P1, flow and one spare,
# and a galvanic O2 cell gives only ~10 mV in air: the gas-side analog inputs go to a TI ADS1115
# (16 bits, PGA down to +/-256 mV = 7.8 uV per count, no amplifier needed for the cell) on bus 0
# at 0x48 (ADDR to GND), beside P2. The SFM3000 (0x40, 400 kHz max, 5 V part: level-shift SDA/SCL)
# shares bus 1 with P3. Sweep valve on GP20 (PWM slice 2, its own frequency).
# o2: cell straight into AIN0, 10.5 mV in air (nominal; calibrate in room air), linear through 0.
# temp: 10 k NTC (B25/85 3435 K) to GND, 10 k from 3.3 V; 3.3 V = 26400 counts at +/-4.096 V FS.
# sat_post: SaO2 monitor analog out, 0.3 V = 0 % .. 3.0 V = 100 % (live zero: 0 V = open wire).
# FiO2 is monitor-only (no "blender" entry): a manual air/O2 blender sets it.
GAS = {
    "ads1115": {"bus": 0, "addr": 0x48},
    "flow": {"bus": 1, "addr": 0x40, "offset": 32000, "scale": 140, "limits_mlpm": (-1000, 15000)},
    "valve": {"pin": 20, "freq_hz": 1000, "crack_u16": 16000, "purge_u16": 0},
    "sweep_pid": (100, 400, 0),     # kp steps/(L/min), ki steps/(L/min*s), kd; 1 step = 16 duty
    "o2": {"ads": 0, "fsr_mv": 256, "cal": (1344, 209, 6431, 1000), "rails": (64, 32700)},
    "temp": {"ads": 1, "fsr_mv": 4096, "r25_ohm": 10000, "beta": 3435, "r_fixed_ohm": 10000,
             "raw_ref": 26400, "rails": (800, 26000)},
    "sat_post": {"ads": 2, "fsr_mv": 4096, "cal": (2400, 0, 24000, 1000), "rails": (800, 26000)},
}

SETTINGS_PATH = "settings.json"
