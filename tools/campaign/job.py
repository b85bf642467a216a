# One campaign run, in the simulator's runtime (CPython or the MicroPython unix port):
#   python tools/campaign/job.py < scenario.json
# runs the scenario on the simulated rig (tools/sim/run.py), judges its telemetry against the
# shared safety criteria (tools/sim/criteria.py) and prints one line "CAMPAIGN-RESULT {json}".
# Whatever else the run prints (REPL echoes) comes before it.
import sys
import json


def _here():
    f = __file__ if "__file__" in globals() else sys.argv[0]
    f = f.replace("\\", "/")
    i = f.rfind("/")
    return f[:i] if i >= 0 else "."


sys.path.insert(0, _here() + "/../sim")
import run  # noqa: E402  (sets up the firmware, board and fake-machine paths)
import criteria  # noqa: E402

MARK = "CAMPAIGN-RESULT "


def _cpu_s():
    # the process's own CPU time where the runtime has it (CPython), else None
    try:
        import resource
        u = resource.getrusage(resource.RUSAGE_SELF)
        return round(u.ru_utime + u.ru_stime, 3)
    except (ImportError, AttributeError):
        return None


GAP_US = 10000      # one tick period: a longer silence gets rows of the plant's own


def _watch_gaps(sim, cols):
    # The criteria judge the plant, which goes on while the firmware does not tick (a hung loop
    # before the watchdog, a reboot, a stretched bus): where no telemetry row came for a tick
    # period, add one with the plant's true values now and the firmware's last shown state.
    import machine
    tcols = sim.world.true_columns()
    where = []
    for i, c in enumerate(cols):
        if c in tcols:
            where.append((i, tcols.index(c)))
    step = sim.world.step_ms
    st = [0, 0]         # rows seen, time of the last row

    def watched(n=1):
        step(n)
        now = machine.sim_now_us()
        if len(sim.rows) != st[0]:
            st[0] = len(sim.rows)
            st[1] = now
        elif sim.rows and now - st[1] >= GAP_US:
            r = list(sim.rows[-1])
            tv = sim.world.true_row().split(",")
            r[0] = "%d.%03d" % (now // 1000000, (now // 1000) % 1000)
            for i, j in where:
                r[i] = tv[j]
            sim.rows.append(tuple(r))
            st[0] = len(sim.rows)
            st[1] = now
    sim.world.step_ms = watched


def judge(sc):
    sim = run.Sim(sc, progress=False, keep_rows=True)
    cols = [c for c in criteria.COLUMNS if c in sim.columns]
    sim.keep_rows = cols
    _watch_gaps(sim, cols)
    s = sim.run()
    v = criteria.judge_rows(sim.sc, cols, sim.rows, sim.errors)
    return {"verdict": v, "alarms_first_s": s["alarms_first_s"], "boots": s["boots"],
            "errors": s["errors"], "lowest": s["lowest"], "peak": s["peak"],
            "air_to_patient_ul": s["air_to_patient_ul"], "ticks": s["ticks"], "rows": len(sim.rows),
            "cpu_s": _cpu_s()}


def main():
    sc = json.loads(sys.stdin.read())
    out = judge(sc)
    print(MARK + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
