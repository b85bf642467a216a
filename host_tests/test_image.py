# The frozen image's host side (tools/image.py, tools/uf2.py, deploy's frozen plan). Building the
# image itself needs an ARM GCC and a MicroPython source tree: `make image` (README); the
# emulated-Pico figures with it are in docs/bench.md.
import os
import struct

import pytest

from tools import deploy, image, uf2


def test_uf2_holds_the_image_block_by_block_at_its_flash_address():
    data = bytes(range(256)) * 3 + b"\x01\x02\x03"          # 771 bytes: 4 blocks, the last short
    u = uf2.from_bin(data)
    assert len(u) == 4 * 512
    for i in range(4):
        m0, m1, flags, addr, size, idx, n, fam = struct.unpack_from("<8I", u, i * 512)
        assert (m0, m1, struct.unpack_from("<I", u, i * 512 + 508)[0]) == \
            (uf2.MAGIC0, uf2.MAGIC1, uf2.MAGIC_END)
        assert (flags, addr, size, idx, n, fam) == \
            (uf2.FLAG_FAMILY, 0x10000000 + 256 * i, 256, i, 4, uf2.RP2040_FAMILY)
    assert uf2.to_bin(u)[:len(data)] == data


def test_uf2_refuses_what_is_not_uf2():
    with pytest.raises(ValueError):
        uf2.to_bin(bytes(512))


def _official():
    f = os.environ.get("ECMO_RP2_FIRMWARE") or ""
    # our own image (tools/image.py writes image.json beside it) would prove nothing here
    return f.endswith(".uf2") and not os.path.exists(os.path.join(os.path.dirname(f), "image.json"))


@pytest.mark.skipif(not _official(), reason="needs the Pico's official MicroPython .uf2 "
                    "(ECMO_RP2_FIRMWARE)")
def test_uf2_writer_gives_the_official_images_file_byte_for_byte():
    # the RPI_PICO v1.28.0 .uf2 was written by picotool: ours from the same flash bytes is equal
    with open(os.environ["ECMO_RP2_FIRMWARE"], "rb") as f:
        official = f.read()
    assert uf2.from_bin(uf2.to_bin(official)) == official


def _tree(tmp_path, version="1.28.0", subs=image.NEEDS):
    mp = tmp_path / "micropython"
    (mp / "py").mkdir(parents=True)
    ma, mi, mc = version.split(".")
    (mp / "py" / "mpconfig.h").write_text(
        "#define MICROPY_VERSION_MAJOR %s\n#define MICROPY_VERSION_MINOR %s\n"
        "#define MICROPY_VERSION_MICRO %s\n" % (ma, mi, mc))
    for n in subs:
        p = mp / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("")
    return str(mp)


def test_image_refuses_another_micropython_version(tmp_path):
    with pytest.raises(SystemExit, match="1.27.0.*tested on 1.28.0"):
        image.check_tree(_tree(tmp_path, "1.27.0"))


def test_image_names_the_missing_submodules(tmp_path):
    with pytest.raises(SystemExit, match="lib/tinyusb/src/tusb.h.*submodules"):
        image.check_tree(_tree(tmp_path, subs=[n for n in image.NEEDS if "tinyusb" not in n]))


def test_image_refuses_a_folder_that_is_not_micropython(tmp_path):
    with pytest.raises(SystemExit, match="not a MicroPython source tree"):
        image.check_tree(str(tmp_path))
    with pytest.raises(SystemExit, match="MICROPY_DIR"):
        image.main([])


def test_the_tree_hash_follows_the_firmware(tmp_path, monkeypatch):
    fw = tmp_path / "firmware"
    (fw / "ecmo").mkdir(parents=True)
    (fw / "ecmo" / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(image, "FIRMWARE", str(fw))
    h1 = image.tree_hash()
    (fw / "ecmo" / "a.py").write_text("x = 2\n")
    assert image.tree_hash() != h1
    (fw / "ecmo" / "a.py").write_text("x = 1\n")
    assert image.tree_hash() == h1
    (fw / "ecmo" / "b.txt").write_text("not firmware")
    assert image.tree_hash() == h1


def test_deploy_to_a_frozen_image_copies_only_main_and_the_board(tmp_path):
    plan = deploy.build("pico", str(tmp_path), frozen=True)
    assert sorted(r for _, r in plan) == ["board.py", "main.py"]
    full = deploy.build("pico", str(tmp_path / "full"))
    assert any(r.startswith("ecmo/") and r.endswith(".mpy") for _, r in full)


def test_identify_reads_the_frozen_tree_and_boards_without_one(monkeypatch):
    replies = ["BOARDINFO ('rp2', 'Raspberry Pi Pico with RP2040', '0.1.0', 'a985ece70aaca0c8')\n",
               "BOARDINFO ('rp2', 'Raspberry Pi Pico with RP2040', None)\n"]
    monkeypatch.setattr(deploy, "_mpremote", lambda *a, **k: replies.pop(0))
    assert deploy.identify("PORT")["frozen"] == "a985ece70aaca0c8"
    info = deploy.identify("PORT")
    assert info["frozen"] is None and deploy.match(info) == "pico"


def _run_prepare(tmp_path, frozen):
    import subprocess
    import sys
    mp = os.path.join(os.path.dirname(sys.executable), "micropython")
    (tmp_path / "ecmo" / "safety").mkdir(parents=True)
    (tmp_path / "ecmo" / "__init__.mpy").write_bytes(b"M")
    (tmp_path / "ecmo" / "old.py").write_text("")
    (tmp_path / "ecmo" / "safety" / "alarms.mpy").write_bytes(b"M")
    (tmp_path / "main.py").write_text("")
    script = deploy._PREPARE % ([], frozen)
    p = subprocess.run([mp, "-c", script], cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return sorted(os.listdir(str(tmp_path)))


def test_prepare_for_a_frozen_image_removes_the_flash_copy_on_micropython(tmp_path):
    # run as the board runs it (the MicroPython unix port, its os module): nothing of ecmo/ left
    assert _run_prepare(tmp_path, True) == ["main.py"]


def test_prepare_for_mpy_files_removes_only_stale_sources(tmp_path):
    assert _run_prepare(tmp_path, False) == ["ecmo", "main.py"]
    assert sorted(os.listdir(str(tmp_path / "ecmo"))) == ["__init__.mpy", "safety"]
