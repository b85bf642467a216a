# The mip package.json and the freeze manifest list every firmware module and carry the version
# from ecmo/__init__.py; and mip can install the firmware from package.json with relative URLs.
import os
import shutil
import subprocess
import sys

from tools import package

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_package_files_are_current():
    assert package.main(["--check"]) == 0, "run: python -m tools.package"


def test_package_lists_every_module():
    listed = {u[0] for u in package.manifest()["urls"]}
    on_disk = set()
    for dirpath, _, names in os.walk(os.path.join(ROOT, "firmware", "ecmo")):
        for n in names:
            if n.endswith(".py"):
                on_disk.add(os.path.relpath(os.path.join(dirpath, n), os.path.join(ROOT, "firmware")))
    assert listed == on_disk
