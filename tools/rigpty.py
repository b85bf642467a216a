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


def serve(settings_path, link=None, out=sys.stdout):
    exe = micropython_exe()
    if exe is None:
        raise SystemExit("micropython not found: run `make venv`")
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    path = os.ttyname(slave)
    # the simulated board's flash is the settings file's folder: `deploy` to the sim lands there
    cwd = os.path.dirname(os.path.abspath(settings_path))
    proc = subprocess.Popen([exe, "-X", "heapsize=8M", BOOT, os.path.abspath(settings_path)], cwd=cwd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            bufsize=0, env=dict(os.environ, MICROPYPATH=".frozen"))
    if link:
        try:
            os.remove(link)
        except OSError:
            pass
        os.symlink(path, link)
    out.write(READY + path + "\n")
    out.write("  mpremote connect %s resume repl     (Ctrl-] leaves)\n" % path)
    out.write("  python -m tools.cli monitor --port %s\n" % path)
    out.flush()

    def stop(*_a):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    state = [0]
    pending = b""
    tail = b""
    try:
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
        pass
    finally:
        if proc.poll() is not None:
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
    return proc.returncode


def main(argv=None):
    ap = argparse.ArgumentParser(prog="rig", description="the simulated rig behind a pty, in real time")
    ap.add_argument("--settings", default="/tmp/ecmo-simrig/settings.json",
                    help="settings file of the simulated board (default %(default)s)")
    ap.add_argument("--link", help="also make this symlink to the pty (e.g. /tmp/ecmo-rig)")
    a = ap.parse_args(argv)
    d = os.path.dirname(a.settings)
    if d:
        os.makedirs(d, exist_ok=True)
    return serve(a.settings, a.link) or 0


if __name__ == "__main__":
    sys.exit(main())
