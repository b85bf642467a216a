# `ecmo monitor`: live status line from the rig's telemetry, CSV recording, and REPL lines typed
# through. Portable: the port is read with pyserial's timeout and typed lines come from a thread,
# so there is no select() anywhere (Windows has none for serial ports or the console).
# The CSV starts with "# key: value" lines (board, firmware version, settings CRC-32, start time),
# then the telemetry header with a wall-clock column in front: `ecmo plot` reads it back.
import csv
import datetime
import os
import queue
import sys
import threading
import time

from tools import ports

ROW, HEADER = "TLM ", "#TLM "      # firmware/ecmo/telemetry.py
INFO_TAG = "ECMOINFO "
# one line at the friendly REPL: what the board is, which firmware, which settings
# (the simulated rig's fake machine names the port it imitates in _PORT)
_INFO = ("import sys,machine;from ecmo import VERSION as _v,settings as _s;"
         "print('ECMOINFO',board.NAME,_v,_s.checksum(rig.settings),"
         "getattr(machine,'_PORT',[sys.platform])[0])")


class TelemetryReader:
    # splits the serial stream into telemetry rows (dicts) and other REPL text
    def __init__(self):
        self.header = None
        self.dropped = 0          # rows seen before a header, or not matching it
        self._buf = b""

    def feed(self, data):
        self._buf += data
        rows, text = [], []
        while b"\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            # a row may follow a REPL prompt (">>> ") on the same line: look past it
            i = line.find(HEADER)
            j = line.find(ROW)
            if i >= 0:
                self.header = line[i + len(HEADER):].split(",")
            elif j >= 0:
                vals = line[j + len(ROW):].split(",")
                if self.header and len(vals) == len(self.header):
                    rows.append(dict(zip(self.header, vals)))
                else:
                    self.dropped += 1
            else:
                text.append(line)
        return rows, text


def _v(r, key, unit, fmt="%s"):
    v = r.get(key)
    if v is None:
        return None                     # the board has no such column
    return (fmt % v if v != "" else "?") + unit


def status_line(r):
    # one line with units; "?" is an invalid reading (sensor fault), "-" an empty field
    parts = ["%s %s %s" % (r.get("state"), r.get("profile"), r.get("control"))]
    sp = r.get("flow_setpoint_lpm")
    parts.append("sp " + (sp + " L/min" if sp else "- (rpm mode)"))
    parts.append("flow " + _v(r, "flow_lpm", " L/min"))
    parts.append("%s rpm" % r.get("rpm"))
    parts.append("P1 %s P2 %s P3 %s dP %s mmHg" % tuple(
        (r.get(k) or "?") for k in ("p1_mmhg", "p2_mmhg", "p3_mmhg", "dp_mmhg")))
    for key, label, unit in (("sweep_lpm", "sweep", " L/min"), ("fio2", "FiO2", ""),
                             ("sat_post_pct", "sat", " %"), ("temp_c", "T", " degC")):
        s = _v(r, key, unit)
        if s is not None:
            parts.append(label + " " + s)
    parts.append("alarms " + (r.get("alarms") or "-"))
    return "  ".join(parts)


def _now_utc():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _stdin_lines(q):
    # typed or piped lines; None at the end of input
    try:
        for line in sys.stdin:
            q.put(line.rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    q.put(None)


class Screen:
    # Interactive layout: REPL text and typed lines scroll above; the status line stays just
    # above the line the operator types on, so typing is never glued to it.
    def __init__(self, interactive, out=sys.stdout):
        self.on, self.out, self.status = interactive, out, ""
        if interactive:
            if os.name == "nt":
                os.system("")           # turns on ANSI escapes in the Windows console
            out.write("\n\n")           # a status line and an input line
            out.flush()

    def text(self, line):
        if not self.on:
            self.out.write(line + "\n")
            return
        # up to the status line, replace it with the text, redraw status and an empty input line
        self.out.write("\x1b7\x1b[1A\r\x1b[K%s\n\x1b[K%s\n\x1b[K" % (line, self.status))

    def typed(self, line):
        # the terminal echoed the line and moved down: the status is 2 lines up now
        if self.on:
            self.out.write("\x1b[2A\r\x1b[K> %s\n\x1b[K%s\n\x1b[K" % (line, self.status))

    def show(self, status):
        self.status = status
        if self.on:
            self.out.write("\x1b7\x1b[1A\r\x1b[K%s\x1b8" % status)

    def flush(self):
        self.out.flush()


def board_info(s, rd, wait_s=3.0):
    # ask the REPL what runs there; {} if it does not answer (then the header says unknown)
    s.write(b"\x03\r\n" + _INFO.encode() + b"\r\n")
    t_end = time.monotonic() + wait_s
    while time.monotonic() < t_end:
        _rows, text = rd.feed(ports.read_some(s))
        for t in text:
            if t.startswith(INFO_TAG):
                f = t[len(INFO_TAG):].split()
                if len(f) == 4:
                    return {"board": f[0], "firmware": f[1], "settings_crc32": f[2],
                            "platform": f[3]}
    return {}


def _open_csv(path, overwrite):
    if os.path.exists(path) and not overwrite:
        raise SystemExit("%s exists: not overwriting it (give another --csv name, or "
                         "--overwrite to replace it)" % path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    return open(path, "w", newline="")


def cmd_monitor(a):
    fcsv = _open_csv(a.csv, a.overwrite) if a.csv else None
    try:
        s = ports.open_port(a.port, a.baud, timeout=0.05)
    except BaseException:
        if fcsv is not None:
            fcsv.close()
            os.remove(a.csv)
        raise
    interactive = a.seconds is None and sys.stdin is not None and sys.stdin.isatty() \
        and sys.stdout.isatty()
    rd = TelemetryReader()
    info = board_info(s, rd)
    start = _now_utc()
    if fcsv is not None:
        fcsv.write("# ecmo-rig telemetry recorded by `ecmo monitor`\n")
        for k in ("board", "firmware", "settings_crc32", "platform"):
            fcsv.write("# %s: %s\n" % (k, info.get(k, "unknown (the board did not answer)")))
        fcsv.write("# port: %s\n# start_utc: %s\n" % (a.port, start))
    writer = None
    n = 0
    sent = []                   # lines we typed: the REPL echoes them back, shown once only
    if a.rate is not None:
        s.write(b"\r\nrig.telemetry(%d)\r\n" % a.rate)
        sent = ["rig.telemetry(%d)" % a.rate, str(a.rate)]
    t_end = None if a.seconds is None else time.monotonic() + a.seconds
    last = None
    screen = Screen(interactive)
    typed = queue.Queue()
    if sys.stdin is not None and not sys.stdin.closed:
        threading.Thread(target=_stdin_lines, args=(typed,), daemon=True).start()
    stdin_open = True
    try:
        while t_end is None or time.monotonic() < t_end:
            while stdin_open and not typed.empty():
                line = typed.get()
                if line is None:
                    stdin_open = False
                    if a.seconds is None and not interactive:
                        t_end = time.monotonic()    # piped input ended: leave
                    break
                screen.typed(line)
                s.write(line.encode() + b"\r\n")
                sent = (sent + [line.strip()])[-8:]
            rows, text = rd.feed(ports.read_some(s))
            for t in text:
                bare = t.strip()
                while bare.startswith(">>>") or bare.startswith("..."):
                    bare = bare[3:].strip()
                if not bare or bare.startswith(INFO_TAG) or _INFO in t:
                    continue
                if bare in sent:
                    sent.remove(bare)       # the REPL's echo of a typed line
                    continue
                screen.text(t)
            for row in rows:
                n += 1
                last = row
                if fcsv is not None:
                    if writer is None:
                        writer = csv.DictWriter(fcsv, fieldnames=["wall_utc"] + rd.header,
                                                extrasaction="ignore", restval="")
                        writer.writeheader()
                    writer.writerow(dict(row, wall_utc=_now_utc()))
            if rows:
                screen.show(status_line(last))
            screen.flush()
    except KeyboardInterrupt:
        pass
    finally:
        try:
            if a.rate is not None and not a.keep:
                s.write(b"\r\nrig.telemetry(0)\r\n")
                s.flush()
        except Exception:
            pass                    # the port went away: nothing to switch off
        s.close()
        if fcsv is not None:
            fcsv.close()
    if not interactive and last is not None:
        print(status_line(last))
    print("\n%d telemetry rows%s" % (n, (" -> " + a.csv) if a.csv else ""))
    if n == 0 and a.seconds is not None:
        print("no telemetry came from %s: is the rig's firmware running (rig.telemetry(10) at its "
              "REPL)?" % a.port, file=sys.stderr)
        return 1
    return 0


def add_parser(sub):
    p = sub.add_parser("monitor", help="live telemetry, CSV recording, REPL lines typed through")
    p.add_argument("--port", required=True, help="serial port of the board (or the simulated rig)")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--csv", help="record telemetry rows to this CSV (an existing file is refused)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    p.add_argument("--rate", type=int, default=10,
                   help="ask the rig for this many rows/s at start (default 10; off again at exit)")
    p.add_argument("--keep", action="store_true", help="leave telemetry on when leaving")
    p.add_argument("--seconds", type=float, help="stop after this long (non-interactive use)")
    p.set_defaults(fn=cmd_monitor)
