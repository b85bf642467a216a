# Running campaign cases: each case is one OS process (tools/campaign/job.py in the simulator's
# runtime), so runs share nothing, a hung firmware is killed by its timeout, and a case gives the
# same verdict wherever it runs. Locally a thread per core keeps that many processes busy; with a
# Dask scheduler address the same function runs on the cluster's workers (dask.distributed),
# which need a checkout of this repository at the same revision (see docs/campaign.md).
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from tools.campaign import matrix

ROOT = matrix.ROOT
JOB = os.path.join(ROOT, "tools", "campaign", "job.py")
MARK = "CAMPAIGN-RESULT "
TIMEOUT_S = 300         # a 24 s scenario takes about 1 s; far beyond that the run is hung
MP_HEAP = "16M"


def runtime_cmd(runtime):
    if runtime == "micropython":
        exe = os.path.join(os.path.dirname(sys.executable), "micropython")
        if not os.path.exists(exe):
            import shutil
            exe = shutil.which("micropython")
        if exe is None:
            raise RuntimeError("`micropython` not found: run `make venv` (or --runtime cpython)")
        return [exe, "-X", "heapsize=" + MP_HEAP, JOB]
    return [sys.executable, JOB]


def scenario_hash(sc):
    return hashlib.sha1(json.dumps(sc, sort_keys=True).encode()).hexdigest()[:12]


def firmware_hash():
    # what a result depends on besides its scenario (scenario_hash): the firmware, the boards,
    # the simulated rig with its judge, and the job that runs it (not the matrix or the report:
    # a changed matrix keeps the runs of the cases it still has)
    h = hashlib.sha1()
    h.update(b"tools/campaign/job.py")
    with open(JOB, "rb") as fh:
        h.update(fh.read())
    for sub in ("firmware", "boards", os.path.join("tools", "sim")):
        base = os.path.join(ROOT, sub)
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for f in sorted(files):
                if f.endswith((".py", ".json")):
                    p = os.path.join(dirpath, f)
                    h.update(os.path.relpath(p, ROOT).encode())
                    with open(p, "rb") as fh:
                        h.update(fh.read())
    return h.hexdigest()[:12]


def run_case(case, runtime="cpython", timeout=TIMEOUT_S):
    # one case -> its result (a JSON-able dict); never raises for a failed run
    sc = matrix.scenario(case)
    t0 = time.perf_counter()
    res = {"id": case["id"], "case": case, "scenario_hash": scenario_hash(sc), "runtime": runtime,
           "verdict": None, "failed": [], "error": None}
    env = dict(os.environ, MICROPYPATH=".frozen")
    try:
        p = subprocess.run(runtime_cmd(runtime), input=json.dumps(sc), capture_output=True,
                           text=True, timeout=timeout, cwd=ROOT, env=env)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith(MARK)]
        if p.returncode != 0 or not line:
            tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
            res["error"] = "runner exit %d: %s" % (p.returncode, " | ".join(tail))
        else:
            out = json.loads(line[-1][len(MARK):])
            res.update(out)
    except subprocess.TimeoutExpired:
        res["error"] = "no result within %d s (hung run)" % timeout
    from tools.sim import criteria
    if res["verdict"] is not None:
        res["failed"] = criteria.failed(res["verdict"])
    if res["error"]:
        res["failed"] = res["failed"] + ["run_error"]
    res["wall_s"] = round(time.perf_counter() - t0, 3)
    return res


def run_local(cases, workers, runtime="cpython", deadline=None):
    # yields results as they finish; stops handing out cases after `deadline` (time.time())
    with ThreadPoolExecutor(max_workers=workers) as ex:
        pending = set()
        it = iter(cases)
        def top_up():
            while len(pending) < workers * 2:
                if deadline is not None and time.time() >= deadline:
                    return
                c = next(it, None)
                if c is None:
                    return
                pending.add(ex.submit(run_case, c, runtime))
        top_up()
        while pending:
            done = next(as_completed(pending))
            pending.discard(done)
            yield done.result()
            top_up()


def run_dask(cases, scheduler, runtime="cpython", deadline=None):
    # the same cases on a Dask cluster; `scheduler` is an address (tcp://host:8786) or a Client
    from dask.distributed import Client, as_completed as dask_completed
    client = scheduler if hasattr(scheduler, "submit") else Client(scheduler, timeout=30)
    try:
        nw = max(1, sum(client.nthreads().values()))
        it = iter(cases)
        ac = dask_completed()
        n = 0
        for _ in range(nw * 2):
            c = next(it, None)
            if c is None:
                break
            ac.add(client.submit(run_case, c, runtime, pure=False, key="case-" + c["id"]))
            n += 1
        for fut in ac:
            yield fut.result()
            fut.release()
            if deadline is not None and time.time() >= deadline:
                continue
            c = next(it, None)
            if c is not None:
                ac.add(client.submit(run_case, c, runtime, pure=False, key="case-" + c["id"]))
    finally:
        if client is not scheduler:
            client.close()
