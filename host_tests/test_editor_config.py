# pyrightconfig.json at the root is what an editor uses: with it, pyright finds the MicroPython
# stubs and `board`, and the firmware checks clean (as `make check` does per port).
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYRIGHT = os.path.join(os.path.dirname(sys.executable), "pyright")


@pytest.mark.skipif(not os.path.exists(PYRIGHT), reason="pyright not installed: make venv")
def test_root_pyrightconfig_checks_the_firmware_clean():
    env = dict(os.environ, PYRIGHT_PYTHON_CACHE_DIR=os.path.join(ROOT, ".venv", "pyright-cache"))
    p = subprocess.run([PYRIGHT, "--outputjson", "-p", os.path.join(ROOT, "pyrightconfig.json")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    out = json.loads(p.stdout)
    errors = [d for d in out["generalDiagnostics"] if d["severity"] == "error"]
    assert out["summary"]["filesAnalyzed"] > 30
    assert not errors, errors[:5]
