# The first firmware code a boot runs (main.py imports it before anything else, before the
# rig's modules are even loaded): the pump enable at its off level, the speed PWM pin low and the
# line clamp at the profile's safe state, as plain GPIO writes. Until here the pins are what the
# board's resistors make them (ESP32: its GPIOs float out of reset; README "ESP32 wiring" lists
# the pulls that hold them); from here on the firmware holds them. The rig's wiring then makes
# the same pins at the same levels (ecmo/wiring.py), so no output ever passes through the unsafe
# level on its way up, after any reset: power-on, watchdog, crash, machine.reset(), Ctrl-D.
# The profile: the live one a reset kept (retained word), else the saved one; VA when in doubt
# (a closed return line with the pump stopped is VA's safe state; in VV the first tick opens it),
# and closed in VV too while an air or e-stop stop is recorded.
from machine import Pin


def profile(board):
    try:
        from ecmo.drivers.retain import Retained, VA
        kept = Retained(getattr(board, "RETAIN", None)).get()
        if kept is not None:
            return "VA" if kept[0] & VA else "VV"
    except Exception:
        pass
    try:
        with open(getattr(board, "SETTINGS_PATH", "settings.json"), "rb") as f:
            t = f.read(4096)
        if b'"profile": "VV"' in t or b'"profile":"VV"' in t:
            return "VV"
    except Exception:
        pass
    return "VA"


def stop_recorded(board):
    # an air or e-stop stop not yet released: in the retained word (any reset but a power cycle)
    # or on flash beside the settings (settings.stop, ecmo/settings.py latch_path)
    try:
        from ecmo.drivers.retain import Retained, STOP_AIR, STOP_ESTOP
        kept = Retained(getattr(board, "RETAIN", None)).get()
        if kept is not None and kept[0] & (STOP_AIR | STOP_ESTOP):
            return True
    except Exception:
        pass
    path = getattr(board, "SETTINGS_PATH", "settings.json")
    i = path.rfind(".")
    try:
        with open((path[:i] if i > path.rfind("/") else path) + ".stop", "rb") as f:
            return len(f.read(16)) > 0
    except Exception:
        return False


def safe_pins(board):
    # returns the profile the clamp was set for
    p = board.PUMP
    on = p.get("enable_level", 1)
    Pin(p["enable"], Pin.OUT, value=1 - on)        # first: the pump cannot run
    Pin(p["pwm"], Pin.OUT, value=0)                # no speed command: a soft reset leaves
    #                                                the enable as it was, and on rp2 the PWM
    prof = profile(board)
    c = board.CLAMP
    closed = c.get("closed_level", 1)
    # a recorded stop keeps the line closed in VV too: the trapped air stays behind the clamp
    # until the rig restores the stop (it keeps the clamp closed until restart())
    shut = prof == "VA" or stop_recorded(board)
    Pin(c["pin"], Pin.OUT, value=closed if shut else 1 - closed)
    return prof


def clock(board):
    # the board's CPU clock (board.CPU), before the rig sets up PWM and I2C, which take their
    # dividers from it. The core voltage first, every time and only ever raised (a clock set
    # at the REPL and kept through a soft reset may be running on the default voltage); then
    # the clock. If the port refuses the clock the rig runs at the default one: slower ticks,
    # the same interlocks.
    c = getattr(board, "CPU", None)
    if not c:
        return None
    import machine
    hz = c["hz"]
    v = c.get("vreg")
    if v is not None:
        addr, mask, want = v
        now = machine.mem32[addr]
        if now & mask < want:
            machine.mem32[addr] = (now & ~mask) | want
            import time
            time.sleep_ms(2)     # the regulator settles (the pico-sdk waits 1 ms)
    if machine.freq() == hz:
        return hz
    try:
        machine.freq(hz)
    except Exception as e:
        print("CPU clock %d Hz refused (%s): running at %d Hz" % (hz, e, machine.freq()))
    return machine.freq()
