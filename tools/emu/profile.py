# Where the emulated Pico spends its cycles: samples the program counter (every N cycles) while
# a REPL line runs or while the rig runs idle, and resolves the samples against the image's
# symbol table (the .elf beside the image, or ECMO_RP2_ELF), with `nm`.
#   python -m tools.emu.profile [--line "for i in range(20): rig.telemetry_row()"] [--ms 2000]
import argparse
import bisect
import os
import subprocess
import sys
import tempfile

from tools.emu.rig import EmuRig
from tools.emu.scenario import deployed_flash


def symbols(elf):
    out = subprocess.run(["nm", "-n", "-S", "--defined-only", elf], capture_output=True,
                         text=True, check=True).stdout
    addrs, names = [], []
    for ln in out.splitlines():
        f = ln.split()
        if len(f) >= 3 and f[-2].lower() in ("t", "w") and not f[-1].startswith("$"):
            addrs.append(int(f[0], 16) & ~1)
            names.append(f[-1])
    return addrs, names


def resolve(samples, elf):
    addrs, names = symbols(elf)
    per = {}
    for pc, n in samples:
        i = bisect.bisect_right(addrs, pc) - 1
        name = names[i] if i >= 0 else "?"
        if pc < 0x4000:
            name = "bootrom"
        elif 0x20000000 <= pc < 0x20042000 and (i < 0 or addrs[i] < 0x20000000):
            name = "ram:%x" % pc
        per[name] = per.get(name, 0) + n
    return sorted(per.items(), key=lambda kv: -kv[1])


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.emu.profile")
    ap.add_argument("--line", help="REPL line to profile (default: the rig running idle)")
    ap.add_argument("--ms", type=int, default=2000, help="idle run length without --line")
    ap.add_argument("--every", type=int, default=97, help="cycles between samples")
    ap.add_argument("--setup", default="rig.mode('flow'); rig.set_flow(4.0); rig.run(); "
                    "rig.set_sweep(2.0)", help="REPL line before profiling")
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args(argv)
    elf = os.environ.get("ECMO_RP2_ELF") or os.path.splitext(os.environ["ECMO_RP2_FIRMWARE"])[0] + ".elf"
    if not os.path.exists(elf):
        raise SystemExit("no symbol table: set ECMO_RP2_ELF to the image's .elf")
    d = tempfile.mkdtemp(prefix="ecmo_prof_")
    flash = os.path.join(d, "flash.bin")
    with open(deployed_flash("pico", lambda m: None), "rb") as f, open(flash, "wb") as g:
        g.write(f.read())
    rig = EmuRig("pico", flash_file=flash)
    dump = os.path.join(d, "samples.txt")
    try:
        rig.run_for(1500)
        rig.send(b"\r")
        rig.wait_for(b">>> ", 8000)
        rig.exec(a.setup, 20000)
        rig.run_for(3000)
        c0 = rig.chip.cycles
        rig.chip.profile(a.every)
        if a.line:
            print(rig.exec(a.line, 120000)[-500:])
        else:
            rig.run_for(a.ms)
        rig.chip.profile(0)
        rig.chip.profile(dump=dump)
        rig.step_ms()
        cyc = rig.chip.cycles - c0
    finally:
        rig.close()
    samples = []
    with open(dump) as f:
        for ln in f:
            pc, n = ln.split()
            samples.append((int(pc, 16), int(n)))
    tot = sum(n for _, n in samples) or 1
    print("%d cycles, %d samples (every %d cycles)" % (cyc, tot, a.every))
    for name, n in resolve(samples, elf)[:a.top]:
        print("%6.2f %%  %s" % (100.0 * n / tot, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
