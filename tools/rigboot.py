# The simulated rig as a board, for the MicroPython unix port (tools/rigpty.py starts it):
#   micropython tools/rigboot.py [settings_path]
# Boots the firmware like main.py (fake machine, Pico pin map) around the plant of
# tools/sim/plant.py, moves virtual time with wall time, and serves a REPL on stdin/stdout:
# a friendly REPL (one line at a time) and the raw REPL that mpremote speaks (Ctrl-A, code,
# Ctrl-D -> "OK" out \x04 err \x04 ">"; Ctrl-B back; raw-paste answered "not supported").
# There is no soft reset (the world would be lost): use `mpremote connect PATH resume ...`.
import sys
import select

_HERE = sys.argv[0].replace("\\", "/")
_ROOT = (_HERE.rsplit("/", 1)[0] if "/" in _HERE else ".") + "/.."
for _p in (_ROOT + "/tools/sim", _ROOT + "/boards", _ROOT + "/firmware", _ROOT + "/tools/sim/hw"):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import utime                      # the real clock (the fake `time` is virtual)
import machine
import board_pico as board
sys.modules["board"] = board

STEP_US = 2000                    # world step; the tick runs every 10 ms inside it
MAX_LAG_US = 300000               # further behind than this, virtual time slips (no catch-up storm)


def _u16_for(spec, value):
    ra, va, rb, vb = spec["cal"]
    u = ra + (value - va) * (rb - ra) // (vb - va)
    return 0 if u < 0 else 65535 if u > 65535 else u


class World:
    # the hardware around the firmware: plant inputs from the pins, sensor outputs from the plant
    def __init__(self, profile="VA"):
        from devices import HoneywellABP
        try:
            from plant import Plant
            self.plant = Plant(profile)
        except ImportError:
            self.plant = None
        self.p2 = HoneywellABP(-517.1, 517.1)
        self.p3 = HoneywellABP(-517.1, 517.1)
        machine.sim_i2c_attach(0, 0x28, self.p2)
        machine.sim_i2c_attach(1, 0x28, self.p3)
        machine.sim_pin(board.ESTOP["pin"]).drive(0)
        machine.sim_pin(board.BUBBLE["pin"]).drive(0)
        machine.sim_pin(board.PUMP["tach"]).drive(1)
        self._pulses = 0
        self._rev = 0.0
        self._n = 0
        self._sense()

    def _sense(self):
        s = board.SENSORS
        pl = self.plant
        if pl is None:
            return
        machine.sim_adc(s["p1"]["adc"]).u16 = _u16_for(s["p1"], int(pl.p1_mmhg * 10))
        machine.sim_adc(s["flow"]["adc"]).u16 = _u16_for(s["flow"], int(pl.flow_lpm * 1000))
        self.p2.pressure_mmhg = pl.p2_mmhg
        self.p3.pressure_mmhg = pl.p3_mmhg
        machine.sim_pin(board.BUBBLE["pin"]).drive(1 if pl.air_at_detector else 0)

    def step(self):
        machine.sim_advance_us(STEP_US)
        pwm = machine.sim_pwm(board.PUMP["pwm"])
        en = machine.sim_pin(board.PUMP["enable"]).level == board.PUMP["enable_level"]
        clamp = machine.sim_pin(board.CLAMP["pin"]).level == board.CLAMP["closed_level"]
        pl = self.plant
        if pl is not None:
            pl.step(STEP_US / 1e6, pwm.duty_u16, en, clamp)
            revs = pl.revolutions
        else:
            self._rev += (pwm.duty_u16 * board.RPM_MAX / 65535 if en else 0) * STEP_US / 6e7
            revs = self._rev
        want = int(revs * board.PUMP["pulses_per_rev"])
        tach = machine.sim_pin(board.PUMP["tach"])     # looked up each time: a reboot renews pins
        while self._pulses < want:
            self._pulses += 1
            tach.drive(0)
            tach.drive(1)
        self._n += 1
        if self._n % 5 == 0:          # sensors once per 10 ms tick is enough
            self._sense()


def _out(s):
    sys.stdout.write(s)


def _run_friendly(line, g):
    try:
        try:
            r = eval(line, g)
            if r is not None:
                _out(repr(r) + "\n")
        except SyntaxError:
            exec(line, g)
    except Exception as e:
        sys.print_exception(e, sys.stdout)


def _run_raw(code, g):
    import io
    _out("OK")
    err = ""
    try:
        exec(code, g)
    except Exception as e:
        buf = io.StringIO()
        sys.print_exception(e, buf)
        err = buf.getvalue()
    _out("\x04" + err + "\x04>")


def serve(g, world):
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    rd = sys.stdin.buffer
    raw = False
    buf = bytearray()
    t_wall = utime.ticks_us()
    lag = 0
    _out(">>> ")
    while True:
        ev = poll.poll(2)
        while ev:
            c = rd.read(1)
            if not c:
                return                                  # stdin closed: the host went away
            ch = c[0]
            if ch == 0x01:                              # Ctrl-A: raw REPL
                raw = True
                buf = bytearray()
                _out("raw REPL; CTRL-B to exit\r\n>")
            elif ch == 0x02:                            # Ctrl-B: friendly REPL
                raw = False
                buf = bytearray()
                _out("\r\nMicroPython (simulated ecmo-rig); rig.help() lists the commands\r\n>>> ")
            elif ch == 0x03:                            # Ctrl-C: drop the line
                buf = bytearray()
                if not raw:
                    _out("\r\nKeyboardInterrupt\r\n>>> ")
            elif raw:
                if ch == 0x05 and not buf:              # raw-paste request: "\x05A\x01"
                    rd.read(2)
                    _out("R\x00")
                elif ch == 0x04:
                    if buf:
                        _run_raw(bytes(buf).decode(), g)
                        buf = bytearray()
                    else:
                        _out("\r\nsimulated rig: no soft reset; use `mpremote ... resume`\r\n>")
                else:
                    buf.append(ch)
            elif ch in (0x0D, 0x0A):
                _out("\r\n")
                line = bytes(buf).decode().strip()
                buf = bytearray()
                if line:
                    _run_friendly(line, g)
                _out(">>> ")
            elif ch in (0x08, 0x7F):
                if buf:
                    buf = buf[:-1]
                    _out("\x08 \x08")
            elif ch == 0x04:
                _out("\r\nsimulated rig: no soft reset\r\n>>> ")
            elif ch >= 0x20:
                buf.append(ch)
                _out(chr(ch))
            ev = poll.poll(0)
        # move the world with the wall clock
        now = utime.ticks_us()
        lag += utime.ticks_diff(now, t_wall)
        t_wall = now
        if lag > MAX_LAG_US:
            lag = MAX_LAG_US
        while lag >= STEP_US:
            try:
                world.step()
            except (machine.SimWatchdogReset, machine.SimHardReset) as e:
                # as a board would: the chip restarts, the world outside stays
                cause = machine.WDT_RESET if isinstance(e, machine.SimWatchdogReset) else machine.WDT_RESET
                machine.sim_reboot(cause)
                _out("\r\n%s: the simulated board restarts\r\n" % type(e).__name__)
                g["rig"] = boot(g["_settings"])
                _out(">>> ")
            lag -= STEP_US


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ecmo-simrig-settings.json"
    machine.sim_reset()
    world = World()
    g = {"world": world, "machine": machine, "__name__": "__main__", "_settings": path}
    g["rig"] = boot(path)
    serve(g, world)


def boot(path):
    # what main.py does on a board
    from ecmo.rig import Rig
    rig = Rig(board, path)
    rig.start()
    _out("ecmo-rig on %s (simulated, real time): rig.help() lists the commands\r\n" % board.NAME)
    return rig


main()
