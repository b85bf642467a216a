# The host end of tools/emu/chip.mjs: starts Node with the emulated RP2040 and steps it in
# lockstep. Chip.run_until(t_us) runs the chip to an emulated time; I2C transactions that
# happen meanwhile are answered by `i2c` (an object with connect(bus, addr, rd) and
# write(bus, addr, data)), so the chip waits on the host's device models byte-exactly.
import json
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHIP = os.path.join(ROOT, "tools", "emu", "chip.mjs")
NODE_MODULES = os.path.join(ROOT, "node_modules", "rp2040js")


class EmuError(Exception):
    pass


def images():
    # (firmware, bootrom) from the environment, or an EmuError saying what is missing
    fw = os.environ.get("ECMO_RP2_FIRMWARE")
    rom = os.environ.get("ECMO_RP2_BOOTROM")
    if not fw or not rom:
        raise EmuError("set ECMO_RP2_FIRMWARE (MicroPython v1.28.0 RPI_PICO .uf2 or .bin) and "
                       "ECMO_RP2_BOOTROM (RP2040 B1 boot ROM, 16 KiB): see README 'Emulated Pico'")
    for what, p in (("ECMO_RP2_FIRMWARE", fw), ("ECMO_RP2_BOOTROM", rom)):
        if not os.path.isfile(p):
            raise EmuError("%s=%s: no such file" % (what, p))
    return fw, rom


def ensure_node_deps():
    # npm ci from the lock file, once (make emu / make test call this)
    if os.path.isdir(NODE_MODULES):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise EmuError("npm not found: install Node.js 18+ (it brings npm)")
    p = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, capture_output=True,
                       text=True)
    if p.returncode:
        raise EmuError("npm ci failed:\n" + p.stdout + p.stderr)


class Chip:
    def __init__(self, i2c, watch=(), pwm=(), flash_file=None, wire=True, profile=0,
                 profile_out=None, loop=()):
        fw, rom = images()
        ensure_node_deps()
        node = shutil.which("node")
        if node is None:
            raise EmuError("node not found: install Node.js 18+")
        cmd = [node, CHIP, "--firmware", fw, "--bootrom", rom,
               "--watch", ",".join(str(p) for p in watch), "--pwm", ",".join(str(p) for p in pwm),
               "--wire", "1" if wire else "0"]
        if flash_file:
            cmd += ["--flash", flash_file]
        if loop:
            cmd += ["--loop", ",".join("%d:%d" % w for w in loop)]
        if profile:
            cmd += ["--profile", str(profile), "--profile-out", profile_out]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, cwd=ROOT)
        self._rd = self.proc.stdout
        self._buf = b""
        self.i2c = i2c
        self.now_us = 0.0
        self.cycles = 0
        self.out = {}
        self.pwm = {}
        self.resets = []
        self.on_cdc = None      # callback(bytes) for the chip's USB serial output
        self.on_edges = None    # callback(list of [pin, level, t_us, cycles])
        self.on_reset = None    # callback(dict t_us, reason)
        self._cmds = []

    # ---- commands, sent with the next run ----
    def pin(self, n, level):
        self._cmds.append({"op": "pin", "n": n, "v": level})

    def adc(self, ch, value12):
        self._cmds.append({"op": "adc", "ch": ch, "v": int(value12)})

    def cdc_write(self, data):
        if data:
            self._cmds.append({"op": "cdc", "d": bytes(data).hex()})

    def reset(self, kind):
        # "wdt": as a watchdog timeout (scratch kept); "power": a power cycle (flash kept only)
        self._cmds.append({"op": "reset", "kind": kind})

    def profile(self, every=0, dump=None):
        # sample the program counter every `every` cycles (0: off); dump: write the samples
        self._cmds.append({"op": "prof", "every": every, "dump": dump} if dump is None
                          else {"op": "prof", "dump": dump})

    def _send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())

    def _line(self):
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = self._buf[:i]
                self._buf = self._buf[i + 1:]
                return json.loads(line)
            b = self._rd.read1(65536) if hasattr(self._rd, "read1") else os.read(
                self._rd.fileno(), 65536)
            if not b:
                raise EmuError("the emulator exited (code %s)" % self.proc.poll())
            self._buf += b

    def run_until(self, t_us):
        # run the chip to emulated time t_us, answering its I2C on the way
        msgs = self._cmds
        self._cmds = []
        msgs.append({"op": "run", "until_us": t_us})
        self.proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs).encode())
        while True:
            m = self._line()
            ev = m["ev"]
            if ev == "i2c":
                ack, data, delay = self.i2c.connect(m["bus"], m["addr"], m["rd"])
                self._send({"ack": ack, "data": data.hex() if data else "", "delay_us": delay})
            elif ev == "i2cw":
                self.i2c.write(m["bus"], m["addr"], bytes.fromhex(m["d"]))
            elif ev == "done":
                break
        self.now_us = m["t_us"]
        self.cycles = m["cycles"]
        self.out = {int(k): v for k, v in m["out"].items()}
        self.pwm = {int(k): v for k, v in m["pwm"].items()}
        if m["resets"]:
            self.resets += m["resets"]
            if self.on_reset:
                for r in m["resets"]:
                    self.on_reset(r)
        if m["edges"] and self.on_edges:
            self.on_edges(m["edges"])
        if m["cdc"] and self.on_cdc:
            self.on_cdc(bytes.fromhex(m["cdc"]))
        return m

    def close(self):
        if self.proc.poll() is None:
            try:
                self._send({"op": "quit"})
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
