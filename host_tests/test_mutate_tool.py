# tools/mutate.py itself: a kill is a test that failed, nothing else.
# A relative --out once made every test process get its runner's path twice (the scratch tree is
# the process's cwd): each exited 2, and each of those counted as a kill (837 "kills" in 169 s).
# These run a few real mutants of safety/held.py in a real worker, against its own small tests.
import json
import os
import shutil
import tempfile

import pytest

from tools import mutate

REL = "firmware/ecmo/safety/held.py"
TESTS = ["test_mut_held:test_held_fires_on_exactly_the_nth_tick_and_a_gap_starts_again",
         "test_mut_held:test_ms_to_ticks_rounds_up_and_is_at_least_one"]


@pytest.fixture
def here(monkeypatch):
    # outside /tmp: each test process gets a private, empty /tmp, so a scratch tree there is gone
    os.makedirs(os.path.join(mutate.ROOT, "out"), exist_ok=True)
    d = tempfile.mkdtemp(prefix="test-mutate-tool-", dir=os.path.join(mutate.ROOT, "out"))
    monkeypatch.chdir(d)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _orig():
    with open(os.path.join(mutate.ROOT, REL)) as f:
        return f.read()


@pytest.fixture
def worker(here, monkeypatch):
    """One worker's scratch tree, made from a relative work directory (as a relative --out gave)."""
    os.makedirs("work")
    monkeypatch.setenv("ECMO_MUTATE_WORK", "work")
    mutate._worker_init()
    yield mutate._W["dir"]
    mutate._W.pop("dir", None)


def _run(src, tests=TESTS):
    return mutate.run_mutant({"id": "x", "rel": REL, "src": src, "tests": tests, "cost_s": 1.0})


def test_unmutated_code_survives_in_a_relative_work_dir(worker):
    r = _run(_orig())
    assert r["verdict"] == "survived", r


def test_a_real_mutant_is_killed_by_the_test_that_catches_it(worker):
    src = _orig().replace("return n >= ticks", "return n > ticks")
    r = _run(src)
    assert r["verdict"] == "killed", r
    assert "test_held_fires_on_exactly_the_nth_tick" in r["how"], r


def test_a_process_that_fails_with_no_test_saying_so_is_a_runner_error_not_a_kill(worker):
    # the process dies at import with its own exit code: no test failed, so no kill
    src = "import os\nos._exit(3)\n" + _orig()
    r = _run(src)
    assert r["verdict"] == "error", r
    assert "rc=3" in r["how"], r


def test_a_mutant_that_breaks_the_import_is_a_kill(worker):
    src = _orig() + "\nraise ValueError('broken at import')\n"
    r = _run(src)
    assert r["verdict"] == "killed", r
    assert "<import>" in r["how"], r


def test_a_run_with_a_relative_out_counts_only_test_failures(here, monkeypatch):
    # the whole tool, with a relative --out; the coverage map stands in for the real one (every
    # line of held.py run by the two tests above) so the test takes seconds
    monkeypatch.setenv("ECMO_MUTATE_WORK", "")
    n = len(_orig().splitlines())
    cmap = {(REL, i): set(TESTS) for i in range(1, n + 1)}
    monkeypatch.setattr(mutate, "coverage_map", lambda *a, **k: (cmap, {t: 0.05 for t in TESTS}))
    monkeypatch.setattr(mutate, "load_equivalent", lambda: {})
    mutate.main(["--module", "safety/held.py", "--out", "rel-out", "--jobs", "1", "--limit", "6"])
    rep = json.load(open(os.path.join("rel-out", "report.json")))
    st = rep["modules"][REL]
    hows = [r["how"] for r in rep["results"].values()]
    assert not st.get("errors"), st.get("errors")
    caught = [h for h in hows if h.split(":", 1)[-1].startswith("fail ")
              or h.split(":", 1)[-1] == "timeout"]
    assert st["killed"] == len(caught), hows
    assert st["killed"] >= 1 and st["killed"] + len(st["survived"]) == len(hows)


def test_a_repeated_line_gets_its_copy_number_in_the_key(tmp_path):
    # one equivalents entry names one copy of a line: the others stay counted
    f = tmp_path / "m.py"
    f.write_text("def f(a):\n    x = 0\n    if a:\n        x = 0\n    if a > 1:\n        x = 0\n"
                 "    return x\n")
    lines = f.read_text().splitlines()
    keys = sorted(mutate.equivalent_key("firmware/ecmo/m.py", m, lines)
                  for m in mutate.mutants(str(f)) if m["kind"] == "remove")
    assert keys == ["m.py | x = 0 #2 | 8 remove pass", "m.py | x = 0 #3 | 8 remove pass",
                    "m.py | x = 0 | 4 remove pass"]


def test_the_copies_of_a_line_in_a_firmware_module_have_their_own_keys():
    # pump_control.py resets the feed-forward filter (`self._ff_f = -1`) in several places:
    # an equivalents entry for one of them must not hide the others
    rel = "firmware/ecmo/control/pump_control.py"
    lines = open(os.path.join(mutate.ROOT, rel)).read().splitlines()
    ms = sorted((m for m in mutate.mutants(os.path.join(mutate.ROOT, rel))
                 if lines[m["line"] - 1].strip() == "self._ff_f = -1" and m["kind"] == "remove"),
                key=lambda m: m["line"])
    keys = [mutate.equivalent_key(rel, m, lines).split(" | ")[1] for m in ms]
    assert len(keys) >= 2, keys
    assert keys == ["self._ff_f = -1"] + ["self._ff_f = -1 #%d" % i for i in range(2, len(keys) + 1)]


def test_every_n_runs_a_systematic_sample_and_the_report_says_so(here, monkeypatch):
    monkeypatch.setenv("ECMO_MUTATE_WORK", "")
    n = len(_orig().splitlines())
    cmap = {(REL, i): set(TESTS) for i in range(1, n + 1)}
    monkeypatch.setattr(mutate, "coverage_map", lambda *a, **k: (cmap, {t: 0.05 for t in TESTS}))
    monkeypatch.setattr(mutate, "load_equivalent", lambda: {})
    every = 5
    want = [m for m in mutate.mutants(os.path.join(mutate.ROOT, REL))][::every]
    mutate.main(["--module", "safety/held.py", "--out", "o", "--jobs", "1", "--every", str(every),
                 "--doc", "report.md"])
    rep = json.load(open(os.path.join("o", "report.json")))
    st = rep["modules"][REL]
    assert st["every"] == every
    assert st["total"] + st["invalid"] == len(want)
    lines = [m["line"] for m in want]
    assert sorted(int(i.split(":")[1]) for i in rep["results"]) == sorted(lines)
    row = [ln for ln in open("report.md") if ln.startswith("| safety/held.py |")]
    assert len(row) == 1 and "1-in-5 sample" in row[0], row


def test_a_file_edited_while_the_coverage_map_runs_is_mapped_again_next_time(here, monkeypatch):
    # the map takes minutes: a test (or firmware) file edited meanwhile was recorded with its new
    # hash against the lines of its old version, and never mapped again
    state = {"edited": False, "maps": 0}
    real_hash = mutate._tree_hash

    def fake_hash(paths):
        if any(p.endswith("test_mut_held.py") for p in paths):
            return "new" if state["edited"] else "old"
        return real_hash(paths)

    class FakeMap:
        def __init__(self, cmd, **kw):
            state["maps"] += 1
            out = cmd[cmd.index("--map") + 1]
            with open(out, "w") as f:
                f.write(json.dumps({"test": "test_mut_held:test_x", "ok": True, "s": 0.1,
                                    "lines": {REL: [14]}}) + "\n")
            state["edited"] = True          # someone saves the file while the map runs

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(mutate, "_tree_hash", fake_hash)
    monkeypatch.setitem(mutate._W, "priv", [])
    monkeypatch.setattr(mutate.subprocess, "Popen", FakeMap)
    mutate.coverage_map(["test_mut_held"], here, 1)
    assert state["maps"] == 1
    mutate.coverage_map(["test_mut_held"], here, 1)
    assert state["maps"] == 2               # its key holds the old hash: mapped again
    mutate.coverage_map(["test_mut_held"], here, 1)
    assert state["maps"] == 2               # and now it is current


@pytest.mark.parametrize("bad", ["test_mut_resume", "test_mut_resume:", ":test_a", "a:b:c"])
def test_a_malformed_tests_option_is_a_clear_error_not_a_traceback(bad, capsys):
    from tools import mutate
    with pytest.raises(SystemExit) as e:
        mutate.main(["--module", "resume.py", "--only", "x", "--tests", bad])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--tests takes test_x:test_a,test_b" in err and "Traceback" not in err
