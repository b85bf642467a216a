# Where the firmware tests keep settings files and stop latches. conftest gives every pytest
# process its own folder (ECMO_FWTEST_TMP), so parallel workers (make test runs two) and other
# checkouts' runs never share a file; without it, /tmp as before.
import os

DIR = os.getenv("ECMO_FWTEST_TMP") or "/tmp"


def path(name):
    return DIR + "/_ecmo_fwtest_" + name
