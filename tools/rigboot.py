# The simulated rig as a board, for the MicroPython unix port (tools/rigpty.py starts it):
#   micropython tools/rigboot.py SETTINGS_PATH [BOARD [PROFILE [SEED]]]
# Boots firmware/main.py unchanged (fake machine) inside the same World as the scenario runner
# (tools/sim/world.py: the plant, sensor noise and offsets from the seed, the gas side's parts),
# moves virtual time with wall time, and serves a REPL on stdin/stdout: a friendly REPL (one
# line at a time) and the raw REPL that mpremote speaks (Ctrl-A, code, Ctrl-D -> "OK" out \x04
# err \x04 ">"; Ctrl-B back; raw-paste answered "not supported").
# There is no soft reset (the world would be lost): use `mpremote connect PATH resume ...`.
# machine.reset() (rig.reboot(), `mpremote ... resume reset`) and the watchdog restart the
# simulated chip as on a board: the world outside stays, main.py boots again.
import sys
import select

_HERE = sys.argv[0].replace("\\", "/")
_ROOT = (_HERE.rsplit("/", 1)[0] if "/" in _HERE else ".") + "/.."
if _ROOT + "/tools/sim" not in sys.path:
    sys.path.insert(0, _ROOT + "/tools/sim")

import utime                      # the real clock (the fake `time` is virtual)
import run                        # the scenario runner: its paths, shims and board file
import machine
from world import World, SUB_US

MAX_LAG_US = 300000               # further behind than this, virtual time slips (no catch-up storm)
RESETS = (machine.SimWatchdogReset, machine.SimHardReset)


def _out(s):
    sys.stdout.write(s)


class SimBoard:
    # the chip (main.py's globals are the REPL's namespace) inside the world, which outlives it
    def __init__(self, settings_path, board="pico", profile="VA", seed=1):
        self.board = run.board_file(board, settings_path)
        path = run.ROOT + "/firmware/main.py"
        with open(path) as f:
            self._main = compile(f.read(), path, "exec")
        machine.sim_reset(machine.PWRON_RESET)
        # noise on, as in a scenario: a noiseless sensor reads the same value every tick and
        # the firmware rightly calls it STUCK
        self.world = World(self.board, profile, seed, None, True)
        self.g = None
        self.boot()

    def boot(self):
        # what the board does at reset: main.py with `board` importable
        sys.modules["board"] = self.board
        g = {"__name__": "__main__"}
        exec(self._main, g)
        g["world"] = self.world          # the simulated bench, for faults by hand
        self.g = g

    def reboot(self, e):
        # As the scenario runner does: machine.reset() on rp2 reads back as WDT_RESET; the
        # firmware tells a deliberate reset (rig.reboot, deploy) from an unexpected one by its
        # retained memory (firmware/ecmo/drivers/retain.py), which survives sim_reboot.
        machine.sim_reboot(machine.WDT_RESET)
        self.world.rebind()
        _out("\r\n%s: the simulated board restarts\r\n" % type(e).__name__)
        self.boot()

    def step(self):
        try:
            self.world.step_ms()
        except RESETS as e:
            self.reboot(e)


def _exc_text(e):
    # a traceback as the board prints it: no frames of this REPL or the simulator (a board has
    # them in C), firmware files by their path on the board ("ecmo/rig.py", not
    # ".../tools/../tools/sim/../../firmware/ecmo/rig.py"), typed code as <stdin>
    import io
    buf = io.StringIO()
    sys.print_exception(e, buf)
    out = []
    for ln in buf.getvalue().split("\n"):
        if ln.lstrip().startswith('File "'):
            if "rigboot.py" in ln or "/tools/sim/" in ln and "/firmware/" not in ln:
                continue
            i = ln.find("/firmware/")
            if i >= 0:
                ln = ln[:ln.find('File "') + 6] + ln[i + 10:]
            ln = ln.replace('"<string>"', '"<stdin>"')
        out.append(ln)
    return "\n".join(out)


def _run_friendly(line, sb):
    try:
        try:
            r = eval(line, sb.g)
            if r is not None:
                _out(repr(r) + "\n")
        except SyntaxError:
            exec(line, sb.g)
    except RESETS as e:
        sb.reboot(e)
    except Exception as e:
        _out(_exc_text(e))


def _run_raw(code, sb):
    _out("OK")
    err = ""
    reset = None
    try:
        exec(code, sb.g)
    except RESETS as e:
        reset = e
    except Exception as e:
        err = _exc_text(e)
    # the reply ends before the restart, so `mpremote exec "rig.reboot()"` returns at once
    _out("\x04" + err + "\x04>")
    if reset is not None:
        sb.reboot(reset)


def serve(sb):
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
                        _run_raw(bytes(buf).decode(), sb)
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
                    _run_friendly(line, sb)
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
        while lag >= SUB_US:
            sb.step()
            lag -= SUB_US


def main():
    a = sys.argv[1:]
    path = a[0] if a else "settings.json"
    sb = SimBoard(path, *a[1:3], **({"seed": int(a[3])} if len(a) > 3 else {}))
    serve(sb)


main()
