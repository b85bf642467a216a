# The simulated rig as a serial device: runs tools/rigboot.py on the MicroPython unix port and
# relays its stdio to a pseudo-terminal whose path it prints, so mpremote, `monitor` and
# `autotune` talk to it as to a board:
#   python -m tools.rigpty            -> "ecmo-rig simulated rig on /dev/pts/N"
#   mpremote connect /dev/pts/N resume exec "rig.status()"
# Why a relay and not micropython on the pty directly: the relay keeps the pty open itself, so a
# client may come and go, and drops output nobody reads instead of stalling the simulated rig.
# Output gets board line endings (\n -> \r\n), as MicroPython ports send.
import argparse
import errno
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT = os.path.join(ROOT, "tools", "rigboot.py")
READY = "ecmo-rig simulated rig on "


def micropython_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


def _cooked(data, state):
    # \n -> \r\n unless already preceded by \r (state carries the last byte across chunks)
    out = bytearray()
    prev = state[0]
    for b in data:
        if b == 10 and prev != 13:
            out.append(13)
        out.append(b)
        prev = b
    state[0] = prev
    return bytes(out)


def serve(settings_path, link=None, out=sys.stdout, board="pico", profile="VA", seed=1):
    exe = micropython_exe()
    if exe is None:
        raise SystemExit("micropython not found: run `make venv`")
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    # the simulated board's flash is the settings file's folder: `deploy` to the sim lands there
    cwd = os.path.dirname(os.path.abspath(settings_path))
    proc = subprocess.Popen([exe, "-X", "heapsize=8M", BOOT, os.path.abspath(settings_path), board,
                             profile, str(seed)], cwd=cwd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            bufsize=0, env=dict(os.environ, MICROPYPATH=".frozen"),
                            # its own session: Ctrl-C in the terminal reaches only this relay,
                            # which then stops the rig (else the child dies first, mid-line)
                            start_new_session=True)
    if link:
        try:
            os.remove(link)
        except OSError:
            pass
        os.symlink(path, link)

    def stop(*_a):
        raise KeyboardInterrupt

    # before the ready line (inside the try below): a Ctrl-C right after it ends cleanly
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)     # even when started from a shell that ignores it
    state = [0]
    pending = b""
    tail = b""
    interrupted = False
    try:
        out.write(READY + path + "\n")
        out.write("  mpremote connect %s resume repl     (Ctrl-] leaves)\n" % path)
        out.write("  python -m tools.cli monitor --port %s\n" % path)
        out.write("  simulated flash (settings, deploy): %s\n" % cwd)
        out.flush()
        while proc.poll() is None:
            r, _, _ = select.select([proc.stdout, master], [], [], 0.2)
            if proc.stdout in r:
                data = os.read(proc.stdout.fileno(), 4096)
                if not data:
                    break
                tail = (tail + data)[-2000:]
                pending += _cooked(data, state)
            if master in r:
                try:
                    data = os.read(master, 4096)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if data:
                    proc.stdin.write(data)
            if pending:
                try:
                    n = os.write(master, pending)
                    pending = pending[n:]
                except BlockingIOError:
                    # nobody reads the port: drop what waits there so the rig never stalls
                    termios.tcflush(slave, termios.TCIFLUSH)
                    pending = b""
    except KeyboardInterrupt:
        interrupted = True          # Ctrl-C / SIGTERM: the operator's way out, not a failure
    finally:
        if not interrupted:
            # stdout closed: give the child a moment to exit before deciding it died
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is not None and not interrupted:
            # the simulated board died: say why (its last words) instead of vanishing
            out.write("simulated rig exited (rc=%s); last output:\n%s\n"
                      % (proc.returncode, tail.decode("utf-8", "replace")))
            out.flush()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        os.close(master)
        os.close(slave)
        if link:
            try:
                os.remove(link)
            except OSError:
                pass
    return 0 if interrupted else proc.returncode


def main(argv=None):
    ap = argparse.ArgumentParser(prog="rig", description="the simulated rig behind a pty, in real time")
    ap.add_argument("--settings",
                    help="settings file of the simulated board; its folder is the board's flash "
                         "(default: a new temporary folder, printed)")
    ap.add_argument("--board", choices=("pico", "esp32"), default="pico")
    ap.add_argument("--profile", choices=("VA", "VV"), default="VA",
                    help="the simulated circuit (the firmware's profile is its own setting)")
    ap.add_argument("--seed", type=int, default=1, help="sensor noise and calibration offsets")
    ap.add_argument("--link", help="also make this symlink to the pty (e.g. /tmp/ecmo-rig)")
    a = ap.parse_args(argv)
    scratch = None
    if a.settings is None:
        # per run, not a shared /tmp path: another user's or clone's rig never collides;
        # removed at exit (give --settings to keep a simulated flash across runs)
        scratch = tempfile.mkdtemp(prefix="ecmo-simrig-")
        a.settings = os.path.join(scratch, "settings.json")
    d = os.path.dirname(a.settings)
    if d:
        os.makedirs(d, exist_ok=True)
    try:
        return serve(a.settings, a.link, board=a.board, profile=a.profile, seed=a.seed) or 0
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
