# The emulated Pico in the simulated world: an RP2040 running the MicroPython image
# (tools/emu/chip.mjs), wired to the same World as `make sim` (plant, noisy sensors, the
# byte-level I2C parts, tach, bubble and e-stop), stepped together 1 ms at a time on emulated
# time, so a run is deterministic. Its USB serial REPL is reachable three ways: a
# pseudo-terminal (serve_pty, for mpremote, deploy and the monitor), and exec()/send() for a
# runner in this process.
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in (os.path.join(ROOT, "tools", "sim"), os.path.join(ROOT, "boards")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from tools.emu import emumachine  # noqa: E402
from tools.emu.link import Chip  # noqa: E402

PROMPT = b">>> "


def _import_world():
    # world.py and gas_model.py do `import machine`: give them the emulated chip's side
    saved = sys.modules.get("machine")
    sys.modules["machine"] = emumachine
    try:
        import world
        if world.machine is not emumachine:      # imported earlier against the fake
            import importlib
            world = importlib.reload(world)
        import gas_model
        gas_model.machine = emumachine
        return world
    finally:
        if saved is not None:
            sys.modules["machine"] = saved
        else:
            del sys.modules["machine"]


class EmuRig:
    def __init__(self, board="pico", profile="VA", seed=1, plant=None, noise=True,
                 flash_file=None, wire=True, profile_pc=0, profile_out=None, loop=()):
        if board != "pico":
            raise SystemExit("the emulator is an RP2040: only --board pico runs there")
        self.tmpdir = None       # a scratch folder its maker removes (scenario.booted_copy)
        self.board = __import__("board_" + board)
        b = self.board
        watch = [b.PUMP["enable"], b.CLAMP["pin"]]     # the buzzer would flood the link
        pwm = [b.PUMP["pwm"]]
        if hasattr(b, "GAS"):
            pwm.append(b.GAS["valve"]["pin"])
        self.chip = Chip(emumachine.I2cAnswers(), watch=watch, pwm=pwm, flash_file=flash_file,
                         wire=wire, profile=profile_pc, profile_out=profile_out, loop=loop)
        self.chip.on_cdc = self._cdc
        self.chip.on_edges = self._edges
        emumachine.bind(self.chip)
        world = _import_world()
        self.world = world.World(b, profile, seed, plant, noise)
        self.rx = bytearray()           # chip output not yet taken by exec()/read_text()
        self.listeners = []             # callables(bytes): a pty relay, a log
        self.edges = []                 # output pin changes [pin, level, t_us, cycles]
        self.keep_edges = False

    # ---- serial ----
    def _cdc(self, data):
        self.rx += data
        if len(self.rx) > 1 << 20:
            del self.rx[:len(self.rx) - (1 << 19)]
        for f in self.listeners:
            f(data)

    def _edges(self, e):
        if self.keep_edges:
            self.edges += e

    def send(self, data):
        self.chip.cdc_write(data)

    def now_us(self):
        return emumachine.sim_now_us()

    def step_ms(self, n=1):
        self.world.step_ms(n)

    def run_for(self, ms, until=None):
        # step ms of emulated time, or until until() is true (checked every ms)
        for _ in range(int(ms)):
            self.step_ms()
            if until is not None and until():
                return True
        return until is None

    def wait_for(self, token, ms):
        # step until the chip's output holds token; returns the text up to and with it
        def seen():
            return self.rx.find(token) >= 0
        if not self.run_for(ms, seen):
            raise TimeoutError("no %r from the chip in %d ms (got %r)"
                               % (token, ms, bytes(self.rx[-300:])))
        i = self.rx.find(token) + len(token)
        out = bytes(self.rx[:i])
        del self.rx[:i]
        return out.decode("utf-8", "replace")

    def exec(self, line, ms=5000):
        # type one line at the REPL prompt and return what it printed (without echo/prompt):
        # the reply is what follows the echo of this line, up to the next prompt
        self.rx.clear()
        echo = line.encode()
        self.send(echo + b"\r")
        state = {}

        def done():
            i = self.rx.find(echo)
            if i < 0:
                return False
            j = self.rx.find(PROMPT, i + len(echo))
            if j < 0:
                return False
            state["body"] = bytes(self.rx[i + len(echo):j])
            del self.rx[:j + len(PROMPT)]
            return True
        if not self.run_for(ms, done):
            raise TimeoutError("no reply to %r in %d ms (got %r)" % (line, ms, bytes(self.rx[-300:])))
        return state["body"].decode("utf-8", "replace").lstrip("\r\n")

    def close(self):
        self.chip.close()

    # ---- a pseudo-terminal for mpremote / deploy / monitor ----
    def serve_pty(self, path_cb, done=None, realtime=True):
        # relay the USB serial to a pty until done() is true (or forever); with realtime the
        # emulated clock is held back to wall time, as a board's is
        import tty
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)

        def out(data):
            try:
                os.write(master, data)
            except OSError:
                pass        # nobody reading and the pty full: a board drops it too
        self.listeners.append(out)
        path_cb(path)
        t0 = time.monotonic()
        e0 = self.now_us()
        try:
            while done is None or not done():
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError:
                    data = b""
                if data:
                    self.send(data)
                self.step_ms()
                if realtime:
                    ahead = (self.now_us() - e0) / 1e6 - (time.monotonic() - t0)
                    if ahead > 0.002:
                        time.sleep(ahead)
        finally:
            self.listeners.remove(out)
            os.close(master)
            os.close(slave)
