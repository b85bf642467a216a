# The conformance suite (host_tests/fw/conform.py) on the real rp2 port in the emulated Pico,
# in one boot:
#   1. the rig boots from the deployed flash and runs (flow mode, pump on);
#   2. an `mpremote` connect without `resume` (Ctrl-C, raw REPL, Ctrl-D soft reset), as mpremote
#      does it: what happens to the pump's enable and PWM, and does the watchdog the rig left
#      running reset the chip (and when)?
#   3. after that reset, mpremote again, and in that fresh VM the rest of the suite, with GP2's
#      output wired to GP3's input for the edges and the spare ADC input set to 0xABCD >> 4.
# Prints one line `CONF {json}` with every fact.
#   4. a 10 ms timer with a 7 ms callback with the REPL at its prompt and inside sleep_ms.
#   python -m tools.emu.conform
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


def main(argv=None):
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
        raw = Raw(rig)
        say("rig running; mpremote without resume")
        t0 = rig.now_us()
        n_resets = len(rig.chip.resets)
        raw.enter(soft_reset=True)
        rig.run_for(200)
        facts["mpremote.no_resume.enable"] = rig.chip.out.get(en)
        facts["mpremote.no_resume.pwm_running"] = bool(rig.chip.pwm.get(pwm))
        rig.run_for(4000, lambda: len(rig.chip.resets) > n_resets)
        if len(rig.chip.resets) > n_resets:
            rr = rig.chip.resets[n_resets]
            facts["mpremote.no_resume.wdt_reset_after_ms"] = int(round((rr["t_us"] - t0) / 100000.0)) * 100
            facts["mpremote.no_resume.reset_reason"] = rr.get("reason")
        else:
            facts["mpremote.no_resume.wdt_reset_after_ms"] = None
        rig.run_for(3000)
        facts["mpremote.after_wdt_reset.enable"] = rig.chip.out.get(en)
        # 3: the suite in a fresh VM (mpremote's soft reset again: main.py does not run)
        rig.chip.adc(2, 0xABCD >> 4)
        say("after the watchdog reset; the suite")
        raw.enter(soft_reset=True)
        n_resets = len(rig.chip.resets)
        with open(os.path.join(ROOT, "host_tests", "fw", "conform.py")) as f:
            src = f.read()
        out, err = raw.exec(_IO + src + _RUN, 30000)
        if len(rig.chip.resets) > n_resets:
            facts["suite.resets"] = rig.chip.resets[n_resets:]
        if err.strip():
            facts["suite.error"] = err.decode("utf-8", "replace")
        import ast
        for ln in out.decode("utf-8", "replace").splitlines():
            if ln.startswith("CONF "):
                k, v = ln[5:].split(" ", 1)
                facts[ast.literal_eval(k)] = ast.literal_eval(v)
        say("suite done; the prompt")
        # 4: a periodic timer whose callback takes 7 ms (about the tick's time), counted over
        # 1 s with the friendly REPL waiting at its prompt, and over a time.sleep_ms(1000)
        rig.send(b"\x02")
        rig.wait_for(b">>> ", 5000)
        rig.exec("exec(%r)" % (
            "import machine, time\n_n = [0]\ndef _cb(t):\n _n[0] += 1\n s = time.ticks_us()\n"
            " while time.ticks_diff(time.ticks_us(), s) < 7000:\n  pass\n"
            "_t = machine.Timer(-1, period=10, callback=_cb)\n_io.feed()"), 20000)
        rig.run_for(1000)
        n = int(rig.exec("print(_n[0]); _n[0] = 0; _io.feed()", 20000).split()[0])
        facts["prompt.timer7ms.calls_in_1s_at_prompt"] = n
        n = int(rig.exec("_n[0] = 0; time.sleep_ms(1000); print(_n[0]); _t.deinit(); _io.feed()",
                         20000).split()[0])
        facts["prompt.timer7ms.calls_in_1s_in_sleep_ms"] = n
    except Exception as e:         # what was found so far still counts
        facts["runner.error"] = "%s: %s" % (type(e).__name__, str(e)[:300])
    finally:
        rig.close()
        shutil.rmtree(d, ignore_errors=True)
    print("CONF " + json.dumps(facts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
