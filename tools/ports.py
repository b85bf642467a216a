# Serial ports for the host tools, the same on Linux, macOS and Windows: pyserial's own timeouts
# (never select() on the port, which Windows does not have), one message for a port that is not
# there and one for a port another program holds, each with the next step.
import os


def available():
    try:
        from serial.tools import list_ports
        return sorted(p.device for p in list_ports.comports())
    except Exception:           # listing is a courtesy: never the reason a command fails
        return []


def _listing():
    seen = available()
    return ("serial ports here: %s" % ", ".join(seen)) if seen else "no serial ports found here"


def no_such_port(port):
    return ("no such port: %s (is the board plugged in? %s; the simulated rig prints its "
            "port when `ecmo rig` starts)" % (port, _listing()))


def busy_message(port):
    return ("cannot open %s: another program holds it (close mpremote, monitor, Thonny or a "
            "serial terminal on it) or it went away; %s" % (port, _listing()))


def check_exists(port):
    # a device path that is not there: say so before compiling or connecting. COM ports and
    # URLs (loop://, socket://) are left to pyserial.
    if port.startswith("/") and not os.path.exists(port):
        raise SystemExit(no_such_port(port))


def open_port(port, baud=115200, timeout=0.05):
    # A port (or a pyserial URL) with a read timeout: read() returns what came within it.
    import serial
    check_exists(port)
    try:
        return serial.serial_for_url(port, baud, timeout=timeout, write_timeout=2)
    except serial.SerialException as e:
        if "FileNotFoundError" in str(e) or "No such file" in str(e):     # COM9 on Windows
            raise SystemExit(no_such_port(port))
        raise SystemExit(busy_message(port) + " (%s)" % e)


def read_some(s):
    # whatever is waiting, or what arrives within the port's timeout (b"" if nothing)
    n = s.in_waiting
    return s.read(n if n else 1) + (s.read(s.in_waiting) if s.in_waiting else b"")
