# The conformance suite (host_tests/fw/conform.py) on the real rp2 port in the emulated Pico,
# in one boot:
#   1. the rig boots from the deployed flash and runs (flow mode, pump on), then is halted, and
#      the suite runs in its VM over the raw REPL (no soft reset), with GP2's output wired to
#      GP3's input for the edges and the spare ADC input set to 0xABCD >> 4;
#   2. a 10 ms timer with a 7 ms callback, with the REPL at its prompt and inside sleep_ms;
#   3. a reset, the rig again, then an `mpremote` connect without `resume` (Ctrl-C, raw REPL,
#      Ctrl-D soft reset) as mpremote does it: the pump's enable and PWM 200 ms after it, the
#      watchdog's reset that follows and what the rig does after it.
# Prints one line `CONF {json}` with every fact (what was found before an error too).
#   python -m tools.emu.conform       (ECMO_CONFORM_WALL_S: wall-clock limit, default 540)
import json
import os
import shutil
import sys
import tempfile

from tools.emu.rig import EmuRig
from tools.emu.scenario import deployed_flash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"

_IO = r"""
import machine, time
from machine import Pin
class _IO:
    def __init__(self):
        self.o = Pin(2, Pin.OUT, value=0)
        self.w = machine.WDT(timeout=8000)
    def drive(self, v):
        self.o.value(v)
    def spin_ms(self, ms):
        t = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t) < ms:
            pass
    def feed(self):
        self.w.feed()
_io = _IO()
"""

_PIECE = "import gc\ngc.collect()\ntry:\n    _io.feed()\nexcept NameError:\n    pass\n"

_RUN = r"""
run(_io, lambda k, v: print('CONF', repr(k), repr(v)))
"""


class Raw:
    # the raw REPL the way mpremote speaks it (mpremote/transport_serial.py)
    def __init__(self, rig):
        self.rig = rig

    def until(self, token, ms):
        return self.rig.wait_for(token, ms)

    def enter(self, soft_reset=True):
        r = self.rig
        r.send(b"\r\x03")
        r.run_for(100)
        r.send(b"\r\x03")
        r.run_for(100)
        r.rx.clear()
        r.send(b"\r\x01")
        self.until(RAW_BANNER, 5000)
        if soft_reset:
            r.send(b"\x04")
            self.until(b"soft reboot\r\n", 5000)
            self.until(RAW_BANNER[:-1], 5000)

    def exec(self, code, ms=60000):
        r = self.rig
        r.rx.clear()
        data = code.encode()
        for i in range(0, len(data), 256):
            r.send(data[i:i + 256])
            r.run_for(2)
        r.send(b"\x04")
        self.until(b"OK", 5000)
        out = self.until(b"\x04", ms)[:-1]
        err = self.until(b"\x04", ms)[:-1]
        return out, err


def _hz(n):
    # calls counted over a 1 s window that starts at an arbitrary phase of the 10 ms timer:
    # 100 or 101 (both seen) both mean it kept 100 Hz; anything else is reported as counted
    return "100 Hz" if 99 <= n <= 101 else n


def chip_part(src):
    # what the chip runs: the checks and run(), not the reference tables after them (EXPECTED,
    # EXPLAINED: host-side only). EXPECTED's dict alone needed 1,280 contiguous bytes on the
    # emulated Pico, more than the heap the rig leaves had in one piece.
    return src[:src.index("\nEXPECTED = {") + 1]


def chunks(src, limit=2048):
    # the source cut at top-level statement boundaries into pieces of at most `limit` bytes
    # (a single statement longer than that is a piece of its own): each piece is compiled on
    # its own by the chip, so the heap never holds the whole suite's source and parse tree
    import ast
    lines = src.splitlines(True)
    starts = []
    for node in ast.parse(src).body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        starts.append(first - 1)
    starts.append(len(lines))
    out = []
    cur = ""
    for a, b in zip(starts, starts[1:]):
        stmt = "".join(lines[a:b])
        if cur and len(cur) + len(stmt) > limit:
            out.append(cur)
            cur = ""
        cur += stmt
    if cur:
        out.append(cur)
    return out


class _WallLimit(Exception):
    pass


def _wall_limit(signum, frame):
    raise _WallLimit("wall-clock limit reached")


def main(argv=None):
    import signal
    signal.signal(signal.SIGALRM, _wall_limit)
    signal.alarm(int(os.environ.get("ECMO_CONFORM_WALL_S", "540")))
    d = tempfile.mkdtemp(prefix="ecmo_conf_")
    flash = os.path.join(d, "flash.bin")
    shutil.copy(deployed_flash("pico", lambda m: None), flash)
    rig = EmuRig("pico", flash_file=flash, loop=((2, 3),))
    facts = {}
    b = rig.board
    en, pwm = b.PUMP["enable"], b.PUMP["pwm"]
    def say(m):
        print("[conform] %.1f s emulated: %s" % (rig.now_us() / 1e6, m), file=sys.stderr, flush=True)
    try:
        rig.run_for(1500)
        rig.send(b"\r")
        rig.wait_for(b">>> ", 8000)
        rig.exec("rig.mode('flow'); rig.set_flow(4.0); rig.run()", 20000)
        rig.run_for(2000)
        facts["mpremote.before.enable"] = rig.chip.out.get(en)
        facts["mpremote.before.pwm_running"] = bool(rig.chip.pwm.get(pwm))
        # 1: the suite in the rig's VM with the rig halted (its timers off, pump stopped), over
        # the raw REPL without a soft reset (mpremote's `resume`); the suite's IO object takes
        # over the watchdog the rig left running
        rig.exec("rig.halt()", 20000)
        rig.chip.adc(2, 0xABCD >> 4)
        raw = Raw(rig)
        say("the watchdog to the suite's IO object")
        raw.enter(soft_reset=False)
        n_resets = len(rig.chip.resets)
        with open(os.path.join(ROOT, "host_tests", "fw", "conform.py")) as f:
            src = f.read()
        # The checks (~10 KB) go in pieces of top-level statements, each compiled alone
        # after a collection, the watchdog fed before each: sent whole, its source had to sit
        # in one contiguous buffer and its parse tree in the heap the rig leaves, and the
        # compile ran on the rig's 2 s watchdog, which nothing feeds after rig.halt(). _IO
        # goes first, alone: it takes the watchdog over (8 s) before anything long runs.
        o, err = raw.exec(_PIECE + _IO, 30000)
        if err.strip():
            raise RuntimeError("the suite's IO object: " + err.strip()[-300:])
        # 2, before the suite's code takes the heap: a periodic timer whose callback takes
        # 7 ms (about the tick's time), counted over 1 s with the friendly REPL waiting at its
        # prompt, and over a time.sleep_ms(1000). (After the suite the heap the rig leaves had
        # no 1,280-byte hole left to compile these lines in.)
        say("the prompt")
        rig.send(b"\x02")
        rig.wait_for(b">>> ", 5000)
        o = rig.exec("exec(%r)" % (
            "import machine, time\n_n = [0]\ndef _cb(t):\n _n[0] += 1\n s = time.ticks_us()\n"
            " while time.ticks_diff(time.ticks_us(), s) < 7000:\n  pass\n"
            "_t = machine.Timer(-1, period=10, callback=_cb)\n_io.feed()"), 20000)
        if o.strip():
            raise RuntimeError("the prompt timer's setup: " + o.strip()[-300:])
        rig.run_for(1000)
        n = int(rig.exec("print(_n[0]); _n[0] = 0; _io.feed()", 20000).split()[0])
        facts["prompt.timer7ms.calls_in_1s_at_prompt"] = _hz(n)
        n = int(rig.exec("_n[0] = 0; time.sleep_ms(1000); print(_n[0]); _t.deinit(); _io.feed()",
                         20000).split()[0])
        facts["prompt.timer7ms.calls_in_1s_in_sleep_ms"] = _hz(n)
        say("the suite")
        raw.enter(soft_reset=False)
        pieces = chunks(chip_part(src))
        for piece in pieces:
            o, e = raw.exec(_PIECE + piece, 30000)
            err += e
            if e.strip():
                break
        say("suite sent in %d pieces (and its IO object first); running it" % len(pieces))
        out, e = raw.exec(_RUN, 30000) if not err.strip() else ("", "")
        err += e
        if len(rig.chip.resets) > n_resets:
            facts["suite.resets"] = rig.chip.resets[n_resets:]
        if err.strip():
            facts["suite.error"] = err
        import ast
        for ln in out.splitlines():
            if ln.startswith("CONF "):
                k, v = ln[5:].split(" ", 1)
                facts[ast.literal_eval(k)] = ast.literal_eval(v)
        say("suite done")
        rig.send(b"\x02")
        rig.wait_for(b">>> ", 5000)
        # 3: the rig again (a reset: it boots from flash), then mpremote without `resume`
        # (Ctrl-C, raw REPL, Ctrl-D soft reset): the pump's enable and PWM after it, and the
        # watchdog the rig left running. Last, bounded: the emulator's soft reset is the least
        # tried path here (core 1 is not emulated).
        say("reset; the rig again")
        rig.send(b"import machine; machine.reset()\r")
        rig.run_for(3000)
        rig.send(b"\r")
        rig.wait_for(b">>> ", 8000)
        rig.exec("rig.mode('flow'); rig.set_flow(4.0); rig.run()", 20000)
        rig.run_for(2000)
        facts["mpremote.rerun.enable"] = rig.chip.out.get(en)
        say("mpremote without resume")
        raw.enter(soft_reset=True)
        rig.run_for(200)
        facts["mpremote.no_resume.enable"] = rig.chip.out.get(en)
        facts["mpremote.no_resume.pwm_running"] = bool(rig.chip.pwm.get(pwm))
        # then nothing feeds the watchdog the rig started (2 s): it resets the chip, main.py
        # boots, and the rig reads an unexpected reset (the conformance rig is VA: it resumes)
        n = len(rig.chip.resets)
        t_soft = rig.now_us()
        rig.run_for(3000, until=lambda: len(rig.chip.resets) > n)
        gone = rig.chip.resets[n:]
        facts["mpremote.no_resume.watchdog_reset"] = bool(gone) and gone[0]["reason"]
        if gone:
            # from the soft reset on: the enable stays high that long with no firmware
            ms = (gone[0]["t_us"] - t_soft) / 1000 + 200
            facts["mpremote.no_resume.reset_after_s"] = round(ms / 1000, 1)
            rig.run_for(3000)
            rig.send(b"\r")
            rig.wait_for(b">>> ", 8000)
            st = rig.exec("rig.status()", 20000)
            facts["mpremote.no_resume.after.wdt_alarm"] = "WDT_RESET" in st
            facts["mpremote.no_resume.after.running"] = st.split()[:1] == ["run"]
    except (Exception, _WallLimit) as e:         # what was found so far still counts
        facts["runner.error"] = "%s: %s" % (type(e).__name__, str(e)[:300])
    finally:
        rig.close()
        shutil.rmtree(d, ignore_errors=True)
    print("CONF " + json.dumps(facts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
