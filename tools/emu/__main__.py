# `make emu` / python -m tools.emu: the firmware on an emulated Pico in the simulated world, its
# USB REPL on a pseudo-terminal whose path is printed (like `make rig`):
#   mpremote connect /dev/pts/N resume repl      python -m tools.cli monitor --port /dev/pts/N
# Boots the image (ECMO_RP2_FIRMWARE, boot ROM ECMO_RP2_BOOTROM), deploys the firmware through
# the pty exactly as `deploy` does (unless --no-deploy with a --flash that already has it), then
# runs with emulated time held to wall time. Ctrl-C stops it (and the emulator).
import argparse
import os
import signal
import sys

from tools.emu.link import EmuError

READY = "ecmo-rig emulated Pico on "


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.emu", description=__doc__)
    ap.add_argument("--flash", help="keep the board's flash in this file between runs")
    ap.add_argument("--no-deploy", action="store_true",
                    help="boot what the flash holds (with --flash) instead of deploying")
    ap.add_argument("--profile", choices=("VA", "VV"), default="VA")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--link", help="also make this symlink to the pty")
    ap.add_argument("--fast", action="store_true", help="emulated time as fast as it runs")
    a = ap.parse_args(argv)
    from tools.emu.rig import EmuRig
    from tools.emu.scenario import deploy
    try:
        rig = EmuRig("pico", a.profile, a.seed, flash_file=a.flash)
    except EmuError as e:
        print("emu: %s" % e, file=sys.stderr)
        return 1

    def stop(*_a):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        rig.run_for(1500)
        if not a.no_deploy:
            print(deploy(rig, print).rstrip().split("\n")[-1], flush=True)
            rig.run_for(3000)

        def ready(path):
            if a.link:
                if os.path.lexists(a.link):
                    os.remove(a.link)
                os.symlink(path, a.link)
            print(READY + path, flush=True)
            print("  mpremote connect %s resume repl     (Ctrl-] leaves; Ctrl-C here stops)"
                  % path, flush=True)
        rig.serve_pty(ready, realtime=not a.fast)
    except KeyboardInterrupt:
        pass
    except EmuError as e:
        print("emu: %s" % e, file=sys.stderr)
        return 1
    finally:
        rig.close()
        if a.link and os.path.lexists(a.link):
            os.remove(a.link)
    return 0


if __name__ == "__main__":
    sys.exit(main())
