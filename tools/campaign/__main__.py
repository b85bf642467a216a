# ecmo campaign / make campaign / python -m tools.campaign: fault campaigns on the simulated rig.
#   python -m tools.campaign --tier quick                   # the fixed sample of make test
#   python -m tools.campaign --tier full --budget-s 900     # the matrix + a random sample
#   python -m tools.campaign --scheduler tcp://host:8786    # the same on a Dask cluster
#   python -m tools.campaign --shard 1/4 ...                # one quarter (merge: --report-only)
# Results go to OUT/results*.jsonl (one line per run); a second call with the same OUT skips
# the runs already there for the same firmware and scenario (resume). Then OUT/report.md,
# OUT/heatmap.png and OUT/failures/*.json; --doc also writes docs/campaign.md and copies the
# failing scenarios to examples/campaign/.
import argparse
import datetime
import glob
import json
import os
import random
import subprocess
import sys
import time
import zlib

from tools.campaign import matrix, pool, report

DEFAULT_OUT = os.path.join(matrix.ROOT, "out", "campaign")
SAMPLE_N = 200


def _cases(a):
    boards = a.boards.split(",")
    profiles = a.profiles.split(",")
    timings = a.timings.split(",")
    if a.tier == "quick":
        cases = matrix.quick(a.seed)
    elif a.tier == "full":
        n = matrix.DECLARED_SAMPLE if a.sample is None else a.sample
        cases = matrix.declared(a.seed, boards, profiles, timings, n)
    else:
        cases = matrix.matrix(boards, profiles, timings, seed=a.seed)
        if a.tier == "exhaustive":
            n = SAMPLE_N if a.sample is None else a.sample
            cases += matrix.sample(n, a.seed, boards, profiles)
    if a.shard:
        k, n = a.shard
        cases = [c for c in cases if zlib.crc32(c["id"].encode()) % n == k - 1]
    # a fixed shuffle: a run cut short by --budget-s or --limit still covers the whole matrix
    random.Random(a.seed).shuffle(cases)
    if a.limit:
        cases = cases[:a.limit]
    return cases


def _shard(s):
    try:
        k, n = (int(x) for x in s.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("--shard takes K/N, e.g. 2/4")
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError("--shard K/N needs 1 <= K <= N")
    return k, n


def load_results(out, fw=None):
    # every result line in OUT (all shards); the last one of a case wins
    res = {}
    for p in sorted(glob.glob(os.path.join(out, "results*.jsonl"))):
        with open(p) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except ValueError:
                    continue        # a line cut by an interrupted run
                if fw is None or r.get("fw") == fw:
                    res[r["id"]] = r
    return res


def _git(*args):
    try:
        return subprocess.run(["git"] + list(args), cwd=matrix.ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def fw_version():
    with open(os.path.join(matrix.ROOT, "firmware", "ecmo", "__init__.py")) as f:
        for line in f:
            if line.startswith("VERSION"):
                return line.split("=", 1)[1].strip().strip("\"'")
    return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ecmo campaign", description="fault campaign on the "
                                 "simulated rig, judged on the plant's true values")
    ap.add_argument("--tier", choices=("quick", "full", "matrix", "exhaustive"), default="full",
                    help="quick: the fixed sample of make test; full: the declared campaign "
                    "(every disturbance, every fault kind, equivalent kinds and axes in rotation, "
                    "about 480 runs: tools/campaign/matrix.py declared(), the default); matrix: "
                    "the whole cross product (about 9700 runs); exhaustive: matrix + a seeded "
                    "random sample of larger combinations")
    ap.add_argument("--sample", type=int, default=None,
                    help="random combinations (full: %d, exhaustive: %d)"
                    % (matrix.DECLARED_SAMPLE, SAMPLE_N))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--boards", default=",".join(matrix.BOARDS))
    ap.add_argument("--profiles", default=",".join(matrix.PROFILES))
    ap.add_argument("--timings", default=",".join(matrix.TIMINGS))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="local worker processes (default: all cores)")
    ap.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    ap.add_argument("--shard", type=_shard, help="run only part K of N (K/N)")
    ap.add_argument("--limit", type=int, help="at most this many runs")
    ap.add_argument("--budget-s", type=float, help="hand out no new run after this many seconds")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--fresh", action="store_true", help="ignore results already in OUT")
    ap.add_argument("--report-only", action="store_true", help="no runs: report OUT as it is")
    ap.add_argument("--doc", action="store_true",
                    help="write docs/campaign.md and copy failing scenarios to examples/campaign")
    ap.add_argument("--list", action="store_true", help="print the case ids and stop")
    ap.add_argument("--recheck", metavar="DIR",
                    help="run the failing cases of the campaign in DIR again (one per kind of "
                    "failure first) on the firmware as it is now")
    ap.add_argument("--compare", metavar="DIR",
                    help="report: say for each failure whether the runs in DIR (a --recheck) "
                    "still fail")
    a = ap.parse_args(argv)
    for name in ("boards", "profiles", "timings"):
        allowed = {"boards": matrix.BOARDS, "profiles": matrix.PROFILES,
                   "timings": matrix.TIMINGS}[name]
        bad = [x for x in getattr(a, name).split(",") if x not in allowed]
        if bad:
            print("error: --%s: unknown %s (known: %s)" % (name, ", ".join(bad),
                                                           ", ".join(allowed)), file=sys.stderr)
            return 2
    if a.workers < 1 or (a.limit is not None and a.limit < 0) or (a.sample or 0) < 0:
        print("error: --workers, --limit and --sample must be positive", file=sys.stderr)
        return 2
    if a.recheck:
        cases = recheck_cases(a.recheck)
        if a.limit:
            cases = cases[:a.limit]
        a.tier = "recheck"
    else:
        cases = _cases(a)
    if a.list:
        for c in cases:
            print(c["id"])
        return 0
    os.makedirs(a.out, exist_ok=True)
    fw = pool.firmware_hash()
    # a report of OUT as it is takes its results whatever firmware made them (named below)
    done = {} if a.fresh else load_results(a.out, None if a.report_only else fw)
    if a.fresh:
        for p in glob.glob(os.path.join(a.out, "results*.jsonl")):
            os.remove(p)
    commit = _git("rev-parse", "--short", "HEAD")
    todo = [c for c in cases if c["id"] not in done
            or done[c["id"]]["scenario_hash"] != pool.scenario_hash(matrix.scenario(c))]
    if a.report_only:
        todo = []
    where = a.scheduler or "%d local worker processes" % a.workers
    print("[campaign] %s tier: %d cases, %d already done, %d to run on %s (%s)"
          % (a.tier, len(cases), len(cases) - len(todo), len(todo), where, a.runtime), flush=True)
    missing = matrix.verbs_not_covered()
    if missing:
        print("[campaign] scenario verbs no disturbance uses yet: %s" % ", ".join(missing))
    t0 = time.time()
    deadline = t0 + a.budget_s if a.budget_s else None
    name = "results.jsonl" if not a.shard else "results-%d-of-%d.jsonl" % a.shard
    ran = 0
    if todo:
        gen = (pool.run_dask(todo, a.scheduler, a.runtime, deadline) if a.scheduler
               else pool.run_local(todo, a.workers, a.runtime, deadline))
        with open(os.path.join(a.out, name), "a") as f:
            try:
                ran = _collect(gen, f, fw, commit, done, len(todo), t0)
            except KeyboardInterrupt:
                print("[campaign] interrupted: the runs so far are kept (run again to resume)")
            except (OSError, TimeoutError) as e:
                print("error: %s: %s" % (a.scheduler or "local pool", e), file=sys.stderr)
                return 1
    wall = time.time() - t0
    results = [done[c["id"]] for c in cases if c["id"] in done]
    meta = {"tier": a.tier, "cases": len(cases), "runs": len(results), "ran_now": ran,
            "wall_s": round(wall, 1), "where": where, "runtime": a.runtime, "fw": fw,
            "version": fw_version(), "commit": commit,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seed": a.seed, "not_covered": missing,
            "run_wall_s": round(sum(r.get("wall_s", 0) for r in results), 1),
            "cpu_s": round(sum(r.get("cpu_s") or 0 for r in results), 1)}
    if a.report_only:
        _meta_of_run(a.out, results, meta)
    compare = load_results(a.compare) if a.compare else None
    _write(a, results, meta, compare)
    failing = [r for r in results if r["failed"]]
    print("[campaign] %d runs (%d of %d cases), %d failing; %.0f s wall; report %s"
          % (len(results), len(results), len(cases), len(failing), wall,
             os.path.join(a.out, "report.md")))
    return 0


def _collect(gen, f, fw, commit, done, n, t0):
    # writes each result as it comes (a kill loses at most the line being written)
    nfail = 0
    i = 0
    for i, r in enumerate(gen, 1):
        r["fw"] = fw
        r["commit"] = commit
        f.write(json.dumps(r) + "\n")
        f.flush()
        done[r["id"]] = r
        if r["failed"]:
            nfail += 1
        if i % 50 == 0 or i == n:
            print("[campaign] %d/%d runs, %d failing, %.0f s" % (i, n, nfail, time.time() - t0),
                  flush=True)
    return i


def _meta_of_run(out, results, meta):
    # --report-only: the firmware, commit, date and timing of the run that made the results
    # results of one firmware tree made from several commits (only the campaign's own files
    # differ, which the tree hash leaves out) are one campaign: the commits are named
    fws = {}
    commits = {}
    for r in results:
        fws[r.get("fw")] = fws.get(r.get("fw"), 0) + 1
    if fws:
        meta["fw"] = max(fws.items(), key=lambda kv: kv[1])[0]
        for r in results:
            if r.get("fw") == meta["fw"]:
                c = r.get("commit") or "?"
                commits[c] = commits.get(c, 0) + 1
        meta["commit"] = "/".join(sorted(commits, key=lambda c: -commits[c]))
        if len(fws) > 1:
            meta["mixed"] = len(fws)
    try:
        with open(os.path.join(out, "summary.json")) as f:
            old = json.load(f)
        for k in ("wall_s", "ran_now", "where", "date", "version", "runtime"):
            if k in old:
                meta[k] = old[k]
    except (OSError, ValueError):
        pass


def recheck_cases(d):
    # the failing cases of an earlier campaign: one of each kind of failure (criteria failed,
    # fault kinds, disturbance) first, then the rest, so a --limit still covers every kind
    res = sorted(load_results(d).values(), key=lambda r: r["id"])
    first, rest, seen = [], [], set()
    for r in res:
        if not r["failed"]:
            continue
        c = r["case"]
        key = (tuple(r["failed"]), tuple(k for _, k, _ in c["faults"]), c["dist"])
        (rest if key in seen else first).append(c)
        seen.add(key)
    return first + rest


def _write(a, results, meta, compare=None):
    from tools.campaign import docs
    fails = report.write_failures(results, os.path.join(a.out, "failures"))
    hm = report.heatmap(results, os.path.join(a.out, "heatmap.png"))
    report.heatmap(results, os.path.join(a.out, "heatmap_kinds.png"), by_kind=True)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(meta, f, indent=1)
    rel = lambda i: os.path.relpath(fails.get(i, ""), matrix.ROOT) if i in fails else i
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(docs.page(results, meta, rel, hm and os.path.relpath(hm, a.out), compare))
    if a.doc:
        docs.publish(results, meta, hm, compare)


if __name__ == "__main__":
    sys.exit(main())
