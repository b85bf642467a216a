# The Pico's MicroPython image with the firmware frozen in (`make image MICROPY_DIR=...`): the
# bytecode and its strings then live in flash, and only the rig's objects take heap (issue #14:
# 45.7 % of the heap free with .mpy files, 82 % frozen). Needs a MicroPython v1.28.0 source tree
# with the submodules the rp2 port builds from, an ARM GCC and CMake (README, "A frozen image").
# Writes build/image/: firmware.elf, firmware.bin (flash from address 0), firmware.uf2, and
# image.json (what it holds). `ecmo deploy` then sees the frozen firmware and copies only main.py
# and board.py (tools/deploy.py).
import argparse
import json
import os
import shutil
import subprocess
import sys

from tools import uf2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
VERSION = "1.28.0"
BOARD = "RPI_PICO"
# what the rp2 port's build reads from its submodules (ports/rp2/CMakeLists.txt)
NEEDS = ("lib/pico-sdk/CMakeLists.txt", "lib/tinyusb/src/tusb.h",
         "lib/micropython-lib/micropython", "lib/mbedtls/library/aes.c")


def tree_hash(root=None):
    # the firmware package as frozen: deploy compares it with the board's (ecmo_image.TREE)
    import hashlib
    root = root or FIRMWARE
    h = hashlib.sha256()
    pkg = os.path.join(root, "ecmo")
    for d, _dirs, files in sorted(os.walk(pkg)):
        for fn in sorted(files):
            if fn.endswith(".py"):
                p = os.path.join(d, fn)
                h.update(os.path.relpath(p, root).replace(os.sep, "/").encode() + b"\0")
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()[:16]


def check_tree(mp):
    if not os.path.isfile(os.path.join(mp, "py", "mpconfig.h")):
        raise SystemExit("MICROPY_DIR=%s is not a MicroPython source tree (no py/mpconfig.h)" % mp)
    with open(os.path.join(mp, "py", "mpconfig.h")) as f:
        text = f.read()
    got = []
    for k in ("MICROPY_VERSION_MAJOR", "MICROPY_VERSION_MINOR", "MICROPY_VERSION_MICRO"):
        for ln in text.splitlines():
            if ln.startswith("#define " + k + " "):
                got.append(ln.split()[2])
    if ".".join(got) != VERSION:
        raise SystemExit("MICROPY_DIR=%s is MicroPython %s; the firmware is tested on %s "
                         "(git checkout v%s)" % (mp, ".".join(got) or "?", VERSION, VERSION))
    missing = [n for n in NEEDS if not os.path.exists(os.path.join(mp, n))]
    if missing:
        raise SystemExit("MICROPY_DIR=%s lacks %s: run `make -C ports/rp2 BOARD=%s submodules` "
                         "there (it needs the network), or check out each submodule at the commit "
                         "the tree records (git ls-tree v%s lib/)"
                         % (mp, ", ".join(missing), BOARD, VERSION))


def check_tools():
    miss = [t for t in ("arm-none-eabi-gcc", "cmake", "make") if shutil.which(t) is None]
    if miss:
        raise SystemExit("not found: %s. On Debian/Ubuntu: apt-get install gcc-arm-none-eabi "
                         "libnewlib-arm-none-eabi cmake make" % ", ".join(miss))


def run(cmd, cwd, log):
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(cmd))
        f.flush()
        p = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    if p.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        raise SystemExit("%s failed (log: %s):\n%s" % (cmd[0], log, tail))


def build(mp, out, jobs):
    mp = os.path.abspath(mp)
    check_tree(mp)
    check_tools()
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "build.log")
    open(log, "w").close()
    # a copy is frozen and hashed, so an edit during the build cannot make the two disagree
    src = os.path.join(out, "src")
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(os.path.join(FIRMWARE, "ecmo"), os.path.join(src, "ecmo"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    th = tree_hash(src)
    # a module that says which firmware the image holds (deploy reads it on the board)
    with open(os.path.join(out, "ecmo_image.py"), "w") as f:
        f.write("# written by tools/image.py: the firmware frozen into this image\n")
        f.write("TREE = %r\nMICROPYTHON = %r\n" % (th, VERSION))
    manifest = os.path.join(out, "manifest.py")
    with open(manifest, "w") as f:
        f.write("include('$(PORT_DIR)/boards/manifest.py')\n")
        f.write("package('ecmo', base_path=%r)\n" % src)
        f.write("module('ecmo_image.py', base_path=%r)\n" % out)
    print("[image] mpy-cross", flush=True)
    run(["make", "-C", os.path.join(mp, "mpy-cross"), "-j%d" % jobs], mp, log)
    bdir = os.path.join(out, "build-" + BOARD)
    # picotool (UF2 output) is fetched from the network by the pico-sdk: not used; the UF2 is
    # written from the .bin by tools/uf2.py
    print("[image] configure (%s, frozen manifest %s)" % (BOARD, os.path.relpath(manifest, ROOT)),
          flush=True)
    run(["cmake", "-S", os.path.join(mp, "ports", "rp2"), "-B", bdir, "-DPICO_BUILD_DOCS=0",
         "-DPICO_NO_PICOTOOL=1", "-DMICROPY_BOARD=" + BOARD,
         "-DMICROPY_BOARD_DIR=" + os.path.join(mp, "ports", "rp2", "boards", BOARD),
         "-DMICROPY_FROZEN_MANIFEST=" + manifest], mp, log)
    print("[image] build (-j%d; a few minutes)" % jobs, flush=True)
    run(["cmake", "--build", bdir, "-j%d" % jobs], mp, log)
    for ext in ("elf", "bin"):
        shutil.copy(os.path.join(bdir, "firmware." + ext), os.path.join(out, "firmware." + ext))
    with open(os.path.join(out, "firmware.bin"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "firmware.uf2"), "wb") as f:
        f.write(uf2.from_bin(data))
    info = {"board": BOARD, "micropython": VERSION, "tree": th, "bin_bytes": len(data)}
    with open(os.path.join(out, "image.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("[image] %s: firmware.uf2 (drag onto the Pico in BOOTSEL mode), firmware.bin, "
          "firmware.elf; firmware tree %s, %d bytes" % (os.path.relpath(out, ROOT), th, len(data)))
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.image",
                                 description="build the Pico image with the firmware frozen in")
    ap.add_argument("--micropython", default=os.environ.get("MICROPY_DIR"),
                    help="MicroPython v%s source tree with its submodules (env MICROPY_DIR)"
                    % VERSION)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "image"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args(argv)
    if not a.micropython:
        raise SystemExit("give the MicroPython source tree: make image MICROPY_DIR=/path/to/"
                         "micropython (v%s with its submodules; README, 'A frozen image')" % VERSION)
    build(a.micropython, os.path.abspath(a.out), a.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
