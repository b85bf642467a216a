# The simulated rig as a board, for the MicroPython unix port (tools/rigpty.py starts it):
#   micropython tools/rigboot.py SETTINGS_PATH [BOARD [PROFILE [SEED]]]
# Boots firmware/main.py unchanged (fake machine) inside the same World as the scenario runner
# (tools/sim/world.py: the plant, sensor noise and offsets from the seed, the gas side's parts),
# moves virtual time with wall time, and serves a REPL on stdin/stdout: a friendly REPL (one
# line at a time) and the raw REPL that mpremote speaks (Ctrl-A, code, Ctrl-D -> "OK" out \x04
# err \x04 ">"; Ctrl-B back; raw-paste answered "not supported").
# As a board:
# - its flash is the settings file's folder, seen as `/` and nothing above it
#   (tools/sim/hw/flashfs.py); once a main.py is deployed there, a reset boots the deployed
#   main.py, board.py and ecmo/*.mpy, otherwise the repository's firmware (its "frozen" build);
# - a reset (machine.reset(), the watchdog) takes the board's boot time (simchip.BOOT_US) with
#   the pins at their reset state while the plant goes on;
# - Ctrl-D is a soft reset: the VM restarts on the running chip (timers, pin IRQs and PWM
#   stopped, the watchdog still running); in the raw REPL main.py is not run (ports/rp2/main.c),
#   so `mpremote exec` without `resume` leaves a rig without firmware until the watchdog resets it;
# - the world and the tick go on while a REPL command runs: a helper thread asks MicroPython's
#   own scheduler to catch the world up every few ms, as a board's timer interrupt would.
import sys
import select

_HERE = sys.argv[0].replace("\\", "/")
_ROOT = (_HERE.rsplit("/", 1)[0] if "/" in _HERE else ".") + "/.."
if _ROOT + "/tools/sim" not in sys.path:
    sys.path.insert(0, _ROOT + "/tools/sim")

import utime                      # the real clock (the fake `time` is virtual)
import run                        # the scenario runner: its paths, shims and board file
import machine
import time                       # the fake one, cached before the flash replaces `/`
from world import World, SUB_US

MAX_LAG_US = 300000               # further behind than this, virtual time slips (no catch-up storm)
POKE_MS = 2                       # how often the helper thread asks for a catch-up
RESETS = (machine.SimWatchdogReset, machine.SimHardReset)


def _out(s):
    sys.stdout.write(s)


def _firmware_modules():
    # every module of the repository's firmware, imported now: once the flash is `/` the
    # repository is out of sight, as a board's frozen modules are out of its filesystem
    import os
    names = []

    def walk(d, mod):
        names.append(mod)
        for ent in os.ilistdir(d):
            n = ent[0]
            if ent[1] & 0o170000 == 0o040000:
                if n != "__pycache__":
                    walk(d + "/" + n, mod + "." + n)
            elif n.endswith(".py") and n != "__init__.py":
                names.append(mod + "." + n[:-3])
    walk(run.simpaths.ROOT + "/firmware/ecmo", "ecmo")
    mods = {}
    for n in names:
        __import__(n)
        mods[n] = sys.modules[n]
    return mods


class SimBoard:
    # the chip (main.py's globals are the REPL's namespace) inside the world, which outlives it
    def __init__(self, settings_path, board="pico", profile="VA", seed=1):
        import os
        flash = settings_path.rsplit("/", 1)[0] if "/" in settings_path else "."
        name = settings_path.rsplit("/", 1)[-1]
        # the settings file inside the flash, as the board sees it
        self.board = run.board_file(board, "/" + name)
        path = run.simpaths.ROOT + "/firmware/main.py"
        with open(path) as f:
            self._main = compile(f.read(), path, "exec")
        self._frozen = _firmware_modules()
        machine.sim_reset(machine.PWRON_RESET)
        # noise on, as in a scenario: a noiseless sensor reads the same value every tick and
        # the firmware rightly calls it STUCK
        self.world = World(self.board, profile, seed, None, True)
        self.g = {}
        self.booting = None          # (main.py due at us, cause) while the chip boots
        self.source = None           # "flash" or "frozen": what the last boot ran
        import flashfs
        flashfs.mount(os.getcwd() if flash == "." else flash)
        self.boot()

    def boot(self):
        # what the board does at reset: main.py from its flash if there is one, else the
        # repository's firmware, with `board` importable; its globals are the REPL's namespace
        self.booting = None
        for k in list(sys.modules):
            if k == "ecmo" or k.startswith("ecmo.") or k == "board":
                del sys.modules[k]
        g = {"__name__": "__main__"}
        if _exists("/main.py"):
            self.source = "flash"
            for p in ("", "/lib"):
                if p not in sys.path:
                    sys.path.append(p)
            with open("/main.py") as f:
                code = compile(f.read(), "main.py", "exec")
        else:
            self.source = "frozen"
            for k in self._frozen:
                sys.modules[k] = self._frozen[k]
            sys.modules["board"] = self.board
            code = self._main
        self.g = g
        try:
            exec(code, g)
        except RESETS as e:
            self.reset(e)
            return
        except Exception as e:
            # as a board: main.py's error is printed and the REPL is there
            sys.print_exception(e, sys.stdout)
        g["world"] = self.world          # the simulated bench, for faults by hand

    def reset(self, e):
        # machine.reset() / the watchdog: the chip restarts, the world outside stays. rp2's
        # machine.reset() reboots through its watchdog (WDT_RESET); esp32's is a HARD_RESET.
        esp32 = machine.sim_port_name() == "esp32"
        cause = machine.HARD_RESET if esp32 and isinstance(e, machine.SimHardReset) else \
            machine.WDT_RESET
        machine.sim_reboot(cause)
        self.world.rebind()
        self.g = {}
        boot_us = machine.SIM_BOOT_US[machine.sim_port_name()]
        self.booting = machine.sim_now_us() + boot_us
        self.safe_done = False
        _out("\r\n%s: the simulated board restarts (boot %d ms)\r\n"
             % (type(e).__name__, boot_us // 1000))

    def soft_reset(self, friendly):
        # the VM restarts on the running chip; main.py runs again only from the friendly REPL
        _out("MPY: soft reboot\r\n")
        machine.sim_soft_reset()
        if friendly:
            self.boot()
        else:
            self.g = {"__name__": "__main__"}

    def step(self):
        try:
            self.world.step_ms()
            if self.booting is not None and machine.sim_now_us() >= self.booting:
                load = machine.SIM_LOAD_US[machine.sim_port_name()]
                if load and not self.safe_done:
                    # main.py's first lines (ecmo/early.py), then the imports and the rig's
                    # build (simchip.LOAD_US, measured on the emulated Pico)
                    self.safe_done = True
                    self.booting += load
                    self._frozen["ecmo.early"].safe_pins(self.board)
                else:
                    self.boot()
        except RESETS as e:
            self.reset(e)


def _exists(path):
    import os
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Clock:
    # the world follows the wall clock; called from the serve loop and, while a REPL command
    # runs, from MicroPython's scheduler (the helper thread only asks for it)
    def __init__(self, sb):
        self.sb = sb
        self.t_wall = utime.ticks_us()
        self.lag = 0
        self.busy = False
        self.in_command = False    # a REPL command is running: the poker's calls catch up

    def poked(self, _arg=None):
        # from the scheduler, between two bytecodes of a running command only: while the REPL
        # waits for input the serve loop itself catches up (and typing is never starved)
        if self.in_command:
            self.catch_up()

    def catch_up(self, _arg=None):
        if self.busy or not machine.sim_irqs_enabled() or machine.sim_in_callback():
            return          # masked, or already inside the chip: the alarm waits, as on a board
        self.busy = True
        try:
            now = utime.ticks_us()
            self.lag += utime.ticks_diff(now, self.t_wall)
            self.t_wall = now
            if self.lag > MAX_LAG_US:
                self.lag = MAX_LAG_US
            while self.lag >= SUB_US:
                self.sb.step()
                self.lag -= SUB_US
        finally:
            self.busy = False


CLOCK = None


def _poker(clock, real_schedule, state):
    # helper thread: a periodic "interrupt" that only asks the main thread's scheduler to run
    # the catch-up between two bytecodes of whatever runs there (a long REPL command)
    cb = clock.poked
    while state[0]:
        utime.sleep_ms(POKE_MS)
        try:
            real_schedule(cb, None)
        except RuntimeError:
            pass            # queue full: the next poke will do


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
    CLOCK.in_command = True
    try:
        _friendly(line, sb)
    finally:
        CLOCK.in_command = False


def _friendly(line, sb):
    try:
        try:
            r = eval(line, sb.g)
            if r is not None:
                _out(repr(r) + "\n")
        except SyntaxError:
            exec(line, sb.g)
    except RESETS as e:
        sb.reset(e)
    except (machine.SimSoftReset, SystemExit):
        sb.soft_reset(True)     # a board's REPL soft-resets on SystemExit too (pyexec)
    except Exception as e:
        _out(_exc_text(e))


def _run_raw(code, sb):
    _out("OK")
    err = ""
    reset = None
    CLOCK.in_command = True
    try:
        exec(code, sb.g)
    except RESETS + (machine.SimSoftReset,) as e:
        reset = e
    except SystemExit:
        reset = machine.SimSoftReset()      # as a board's raw REPL: a soft reset
    except Exception as e:
        err = _exc_text(e)
    finally:
        CLOCK.in_command = False
    # the reply ends before the restart, so `mpremote exec "rig.reboot()"` returns at once
    _out("\x04" + err + "\x04>")
    if isinstance(reset, machine.SimSoftReset):
        sb.soft_reset(False)
    elif reset is not None:
        sb.reset(reset)


def serve(sb, clock):
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    rd = sys.stdin.buffer
    raw = False
    buf = bytearray()
    _out(">>> ")
    while True:
        ev = poll.poll(2) if sb.booting is None else None    # booting: no REPL yet
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
                        # soft reset, as a board's raw REPL does: then the raw REPL again
                        _out("\r\n")
                        sb.soft_reset(False)
                        _out("raw REPL; CTRL-B to exit\r\n>")
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
                _out("\r\n")
                sb.soft_reset(True)
                _out(">>> ")
            elif ch >= 0x20:
                buf.append(ch)
                _out(chr(ch))
            ev = poll.poll(0) if sb.booting is None else None
        if sb.booting is not None:
            utime.sleep_ms(1)
        clock.catch_up()


def main():
    a = sys.argv[1:]
    path = a[0] if a else "settings.json"
    sb = SimBoard(path, *a[1:3], **({"seed": int(a[3])} if len(a) > 3 else {}))
    global CLOCK
    clock = CLOCK = Clock(sb)
    state = [True]
    try:
        import _thread
        real = sys.modules["micropython"]._real_schedule
        _thread.start_new_thread(_poker, (clock, real, state))
    except (ImportError, AttributeError):
        pass                # no threads: the world waits while a command runs
    try:
        serve(sb, clock)
    finally:
        state[0] = False


main()
