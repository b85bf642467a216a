# Safety criteria judged on the plant's TRUE values (the true_* telemetry columns), not on what
# the firmware believes: the one place where "did the patient come to harm" is defined. Shared by
# the fault campaign (tools/campaign), the tests (host_tests) and the examples. Runs under
# CPython and MicroPython (the campaign's job runs in either runtime).
#
#   j = Judge(scenario, columns, refused)  # a validated scenario dict, the telemetry header and
#                                      # the runner's refused commands (Sim.errors, or the run's
#                                      # summary.json "errors": [t, verb, message])
#   for fields in rows: j.row(fields)  # one telemetry row (strings), in time order
#   verdict = j.verdict()              # {criterion id: {judged, fail, value, at_s, detail}}
#
# The limits come from the firmware's own profile table where it has one (the profile's default
# critical limits, docs/hazards.md); the tolerances (how long a limit may be passed before it
# counts, how soon an alarm must show) are stated below with the reason.

# ---- criteria: id -> (hazard, unit, what fails) ----
CRITERIA = (
    ("air_to_patient", "H01", "uL", "any air reaches the patient"),
    ("suction", "H03", "s", "true P1 below the critical suction limit for longer than SUCTION_S"),
    ("p2_high", "H28", "s", "true P2 above its critical limit for longer than PRESSURE_S"),
    ("p3_high", "H04", "s", "true P3 above its critical limit for longer than PRESSURE_S"),
    ("retrograde", "H07", "s", "VA: true flow below the retrograde limit for longer than RETRO_S"),
    ("flow_lost_silent", "H06", "s",
     "pump meant to run, true flow below the low-flow limit and no MEDIUM/HIGH alarm shown for "
     "longer than SILENT_FLOW_S"),
    ("sensor_silent", "H08", "s",
     "a sensor fault with no alarm naming that sensor within DETECT_S"),
    ("false_high", "-", "n",
     "a HIGH alarm in a run without sensor or gas faults that nothing in the plant justifies"),
    ("pump_stopped", "H07", "s",
     "pump meant to run, true speed below STOP_RPM for longer than STOP_S, no air and no e-stop "
     "(a start the firmware refused with its alarm shown and the next step stated is not meant "
     "to run)"),
    ("reservoir_dry", "H31", "s",
     "a venous reservoir in the circuit: its true volume below RESERVOIR_DRY_ML (air into the "
     "pump) at any time"),
)
IDS = tuple(c[0] for c in CRITERIA)

# ---- tolerances and why ----
SUCTION_S = 0.5       # issue 4: the suction interlock clears a sudden 800 mL loss within 0.5 s
PRESSURE_S = 0.5      # the same reaction time for over-pressure (the back-off is as fast)
RETRO_S = 0.5         # a clamp or the speed floor acts within a few ticks
RETRO_LPM = -0.1      # the firmware's flow_retro_mlpm default
SILENT_FLOW_S = 3.0   # LOW_FLOW debounce (low_flow_ticks, 2 s) + 1 s
DETECT_S = 6.0        # the slowest built-in detection: stuck analog sensor, 500 ticks + 1 s
STOP_RPM = 300        # below this a centrifugal pump moves no useful blood
STOP_S = 1.0          # a restart or a resume after a reset ramps up within 1 s
RESERVOIR_DRY_ML = 50.0   # the plant's outlet draws air below ~30 mL (tools/sim/plant.py)
REFUSAL_S = 0.5      # a refusal belongs to the event applied at most this long before it
MARGIN_MMHG = 10.0    # a HIGH pressure alarm within 10 mmHg of its limit is not false
ONSET_WINDOW_S = 1.0  # ...and within this long after the true value was there

# P2: the firmware's own critical limit (p2_crit_dmmhg, H28); a firmware without one: P3's
# critical limit plus the membrane delta-P limit (with P3 at its limit and the membrane at its
# limit, P2 is there; beyond it one of them is exceeded).
COLUMNS = ("t_s", "state", "alarms", "sweep_setpoint_lpm", "true_flow_lpm", "true_p1_mmhg",
           "true_p2_mmhg", "true_p3_mmhg", "true_rpm", "true_air_to_patient_ul",
           "true_sweep_lpm", "true_sat_post_pct")

# The examples show hazards on purpose; the criteria an example fails, with the reason that is
# accepted there (host_tests/test_sim_cli.py judges every example against this table).
EXAMPLES = {
    "h07_retrograde.json": {"retrograde": "the operator lowered the VA speed floor (confirmed) "
                            "and turned the pump down: the example shows what the floor prevents"},
    "h21_power_cycle_after_air.json": {"pump_stopped": "after the power cycle the restart returns "
                                       "to standby (what ran before is not known, H21) until the "
                                       "operator starts the pump 2 s later, as the example shows"},
}

# a sensor's alarm: any alarm code with the sensor's name as one of its "_" parts (SENSOR_P1,
# and whatever a plausibility check calls its own), plus these
SENSOR_ALARMS = {"bubble": ("AIR",), "tach": ("TACH",)}
KIND_ALARMS = {"slow": ("OVERRUN", "WDT_RESET")}   # a slow bus shows as the tick it stretches


def limits(profile):
    # the profile's default critical limits in mmHg / L/min (firmware/ecmo/safety/profiles.py)
    from ecmo.safety import profiles
    d = profiles.defaults(profile)
    return {"p1_crit": d["p1_crit_dmmhg"] / 10.0, "p3_crit": d["p3_crit_dmmhg"] / 10.0,
            "p2_crit": d.get("p2_crit_dmmhg", d["p3_crit_dmmhg"] + d["dp_max_dmmhg"]) / 10.0,
            "flow_low": d["flow_low_mlpm"] / 1000.0,
            "sweep_lost_pct": d.get("sweep_lost_pct", 50),
            "sat_low": d.get("sat_post_low_dpct", 950) / 10.0,
            "level_crit": d.get("level_crit_ml", 200) * 1.0}


def priorities():
    from ecmo.safety import alarms as A
    p = {}
    for i in range(len(A.NAMES)):
        p[A.NAMES[i]] = A.PRIORITY[i]
    return p, A.HIGH, A.MEDIUM


def sensor_alarm(sensor, kind, code):
    if sensor.upper() in code.split("_"):
        return True
    return code in SENSOR_ALARMS.get(sensor, ()) or code in KIND_ALARMS.get(kind, ())


def injects(line):
    # a REPL line that breaks the firmware on purpose (rebinding its internals, stopping its
    # timer), as examples/h10 and h11 do: the run is then not fault-free
    depth = 0
    for i in range(len(line)):
        ch = line[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0 and line[i - 1:i] not in ("=", "!", "<", ">") \
                and line[i + 1:i + 2] != "=":
            return True
    return ".deinit(" in line


def stated_refusal(message, codes):
    # A refused start is the firmware's answer, not a stopped pump, when it says why with the
    # alarm that is shown and what to do next (H08's blind-start refusal: "... (SENSOR_FLOW, ...):
    # use rig.mode('rpm') and rig.set_rpm(...)"), or when it is a restart() from standby that
    # names the start as the next step (restart() only resumes a latched stop; the start has its
    # own checks). A bare "nothing to restart" and the like are not.
    if "rig." not in message:
        return False
    if "nothing to restart: state is standby" in message and "rig.run()" in message:
        return True
    named = False
    for c in codes:
        if c and c in message:
            named = True
            break
    return named


def _repl_intent(line):
    # what a REPL line does to the operator's wish for flow (None: nothing)
    for k in (".standby(", ".halt(", ".reboot(", ".expect_reset("):
        if k in line:
            return False
    for k in (".run(", ".restart("):
        if k in line:
            return True
    return None


class _Episode:
    # the longest stretch a condition held (each row stands for the time since the row before)
    def __init__(self):
        self.since = None
        self.cur = 0.0
        self.longest = 0.0
        self.at = None
        self.total = 0.0

    def step(self, on, t, dt):
        if on:
            if self.since is None:
                self.since = t - dt
                self.cur = 0.0
            self.cur += dt
            self.total += dt
            if self.cur > self.longest:
                self.longest = self.cur
                self.at = self.since
        else:
            self.since = None


class Judge:
    def __init__(self, sc, columns, refused=None):
        self.sc = sc
        # the runner's refused commands, (t, verb, message) each; read when their event comes
        # (a list the runner still appends to works: an event is judged after it was applied)
        self.refused = refused if refused is not None else []
        self.refusals_stated = []     # (t, verb, message) of refusals that count as stated
        self._pending = []            # start events not yet seen refused (rows judged live)
        self._claimed = []            # indices of the refusals matched to an event
        self._last_start = None       # the last start event taken as one
        self.ix = {}
        for i, c in enumerate(columns):
            self.ix[c] = i
        profile = sc.get("profile", "VA")     # a raw scenario file works too: its defaults
        self.lim = limits(profile)
        self.prio, self._high, self._medium = priorities()
        self.va = profile == "VA"
        self.events = sorted(sc.get("events", ()), key=lambda e: e["t"])
        self._ei = 0
        self.intent = bool(sc.get("run", True))
        self.air_cause = False        # air put in the line, or a bubble detector fault (H01 design)
        self.estop_cause = False
        self.reset_seen = False
        self.gas_cause = False
        self.faulty = False           # any sensor, gas or injected firmware fault
        for e in self.events:
            if e["do"] in ("sensor_fault", "gas_fault") and e.get("kind") != "none":
                self.faulty = True
            if e["do"] == "repl" and injects(e["line"]):
                self.faulty = True
        # what the operator commands: a speed below STOP_RPM is his choice, not a stop
        self.mode = sc.get("control", "rpm")
        self.op_rpm = sc.get("rpm", 2000)
        self.op_lpm = sc.get("flow_lpm", 3.0)
        self.open_faults = {}         # sensor -> [kind, t0, observable s, detected at, judged]
        self.faults_done = []
        self.ep = {}
        self.reservoir = sc.get("reservoir") is not None
        for k in ("suction", "p2_high", "p3_high", "retrograde", "flow_lost_silent",
                  "pump_stopped", "reservoir_dry"):
            self.ep[k] = _Episode()
        self.last = {}                # condition -> last time the true value showed it
        self.prev_codes = ()
        self.false_high = []          # (t, code)
        self.air_ul = 0.0
        self.t = 0.0
        self.t_prev = None
        self.rows = 0

    def _refusal(self, e):
        # the runner's refusal of this event, or None
        # (the runner stamps it with the time it applied the event: at or just after e["t"])
        # Each refusal belongs to one event, the first of its verb (a refused run and the
        # accepted run of the next step can share a time stamp)
        t = e["t"]
        for i in range(len(self.refused)):
            r = self.refused[i]
            if i not in self._claimed and r[1] == e["do"] and \
                    t - 0.001 <= float(r[0]) < t + REFUSAL_S:
                self._claimed.append(i)
                return r
        return None

    # ---- events, as the scenario applies them ----
    def _event(self, e, codes=()):
        v = e["do"]
        t = e["t"]
        if v in ("run", "restart") or (v == "repl" and _repl_intent(e["line"])):
            # refused with the alarm shown and the next step: the pump is not meant to run on
            # it (the operator's next step, a run that is accepted, means it again). Rows judged
            # as they come may see the event before the runner has refused it: then it is
            # looked for on the rows of the next REFUSAL_S (_pending)
            r = self._refusal(e)
            if r is not None:
                if stated_refusal(r[2], codes):
                    self.refusals_stated.append((t, v, r[2]))
                    self.intent = False   # the firmware's answer stands (e.g. after a restart
                    return                # that returned to standby at the same moment)
            else:
                self._pending.append(e)
            self._last_start = e
        if v == "set_rpm":
            self.op_rpm = e["rpm"]
        elif v == "set_flow":
            self.op_lpm = e["lpm"]
        elif v == "set_control":
            self.mode = e["control"]
        if v in ("run", "restart"):
            self.intent = True
        elif v == "standby":
            self.intent = False
        elif v == "estop":
            self.estop_cause = True
            self.intent = False       # the operator's decision, until a restart
        elif v == "power_cycle":
            self.intent = False       # H21: boots into standby by design, until the operator runs
            self.reset_seen = True
        elif v == "reset":
            self.reset_seen = True
            if not self.va:
                self.intent = False   # VV resume policy: stay in standby after a crash
        elif v == "bubble":
            self.air_cause = True
        elif v == "repl":
            w = _repl_intent(e["line"])
            if w is not None:
                self.intent = w
            if ".reboot(" in e["line"]:
                self.reset_seen = True
        elif v == "gas_fault":
            self.gas_cause = e["kind"] != "none"
        elif v == "sensor_fault":
            s = e["sensor"]
            self._close_fault(s, t)
            self.open_faults[s] = [e["kind"], t, 0.0, None]
            if s == "bubble":
                self.air_cause = True
            if e["kind"] == "slow":
                self.reset_seen = True
        elif v == "sensor_ok":
            self._close_fault(e["sensor"], t)

    def _close_fault(self, s, t):
        f = self.open_faults.pop(s, None)
        if f is not None:
            self.faults_done.append((s, f))

    # ---- rows ----
    def _f(self, f, col, default=None):
        i = self.ix.get(col)
        if i is None or i >= len(f) or f[i] == "":
            return default
        return float(f[i])

    def row(self, f):
        ix = self.ix
        t = float(f[ix["t_s"]])
        al = f[ix["alarms"]]
        codes = tuple(al.split("|")) if al else ()
        while self._ei < len(self.events) and self.events[self._ei]["t"] <= t:
            self._event(self.events[self._ei], codes)
            self._ei += 1
        if self._pending:
            for e in list(self._pending):
                r = self._refusal(e)
                if r is not None or t > e["t"] + REFUSAL_S:
                    self._pending.remove(e)
                    if r is not None and stated_refusal(r[2], codes):
                        self.refusals_stated.append((e["t"], e["do"], r[2]))
                        if self._last_start is e:     # no later start has spoken since
                            self.intent = False
        # the time since the last row: a stretch without rows counts as the condition held
        # through it (longest and total agree)
        dt = 0.01 if self.t_prev is None else t - self.t_prev
        if dt < 0:
            dt = 0.0
        self.t_prev = t
        self.t = t
        self.rows += 1
        lim = self.lim
        state = f[ix["state"]]
        flow = self._f(f, "true_flow_lpm", 0.0)
        p1 = self._f(f, "true_p1_mmhg", 0.0)
        p2 = self._f(f, "true_p2_mmhg", 0.0)
        p3 = self._f(f, "true_p3_mmhg", 0.0)
        rpm = self._f(f, "true_rpm", 0.0)
        self.air_ul = self._f(f, "true_air_to_patient_ul", self.air_ul)
        shown_prio = 0
        for c in codes:
            p = self.prio.get(c, self._high)
            if p > shown_prio:
                shown_prio = p
        ep = self.ep
        ep["suction"].step(p1 < lim["p1_crit"], t, dt)
        ep["p2_high"].step(p2 > lim["p2_crit"], t, dt)
        ep["p3_high"].step(p3 > lim["p3_crit"], t, dt)
        ep["retrograde"].step(self.va and flow < RETRO_LPM, t, dt)
        # zero-flow mode (VA weaning) runs at zero net flow on purpose (H32 is its alarm)
        ep["flow_lost_silent"].step(self.intent and self.mode != "zero" and flow < lim["flow_low"]
                                    and shown_prio < self._medium, t, dt)
        res = self._f(f, "true_reservoir_ml")
        ep["reservoir_dry"].step(res is not None and res < RESERVOIR_DRY_ML, t, dt)
        justified = state == "stop" and (self.air_cause or self.estop_cause)
        if self.mode == "rpm":
            slow = self.op_rpm < STOP_RPM
        elif self.mode == "flow":
            slow = self.op_lpm < 0.5
        else:
            slow = False        # pressure servo, zero-flow mode: the pump keeps turning
        ep["pump_stopped"].step(self.intent and not slow and rpm < STOP_RPM and not justified,
                                t, dt)
        # conditions that make a HIGH alarm true, kept with the last time they held
        sp = self._f(f, "sweep_setpoint_lpm", 0.0)
        sweep = self._f(f, "true_sweep_lpm")
        sat = self._f(f, "true_sat_post_pct")
        self._mark("suction", p1 < lim["p1_crit"] + MARGIN_MMHG, t)
        self._mark("p3", p3 > lim["p3_crit"] - MARGIN_MMHG, t)
        self._mark("p2", p2 > lim["p2_crit"] - MARGIN_MMHG, t)
        self._mark("retro", flow < RETRO_LPM + 0.05, t)
        self._mark("level_crit", res is not None and res < self.lim["level_crit"] + 30.0, t)
        self._mark("no_blood", flow < 0.7 or state != "run", t)
        self._mark("sweep_low", sweep is not None and sp > 0
                   and sweep < sp * (lim["sweep_lost_pct"] + 10) / 100.0, t)
        self._mark("sat_low", sat is not None and sat < lim["sat_low"] + 0.5, t)
        for c in codes:
            if c not in self.prev_codes and self.prio.get(c, self._high) >= self._high:
                if not self.faulty and not self._justified(c, t):
                    self.false_high.append((t, c))
        self.prev_codes = codes
        # sensor faults: the alarm must show within DETECT_S of the time the fault could be seen
        for s in self.open_faults:
            fl = self.open_faults[s]
            if fl[3] is not None:
                continue
            if s != "tach" or rpm > 2 * STOP_RPM:   # a dead tach shows only on a turning pump
                fl[2] += dt
            for c in codes:
                if sensor_alarm(s, fl[0], c):
                    fl[3] = t
                    break

    def _mark(self, k, on, t):
        if on:
            self.last[k] = t

    def _recent(self, k, t, window):
        return k in self.last and t - self.last[k] <= window

    def _justified(self, code, t):
        w = ONSET_WINDOW_S
        if code == "AIR":
            return self.air_cause
        if code == "ESTOP":
            return self.estop_cause
        if code == "SUCTION_CRIT":
            return self._recent("suction", t, w)
        if code == "P3_CRIT":
            return self._recent("p3", t, w)
        if code == "P2_CRIT":
            return self._recent("p2", t, w)
        if code == "RETROGRADE":
            return self._recent("retro", t, w)
        if code == "LEVEL_CRIT":
            return self._recent("level_crit", t, w)
        if code == "WDT_RESET":
            return self.reset_seen
        if code == "SWEEP_LOST":
            return self.gas_cause or self._recent("sweep_low", t, 4.0)
        if code == "SWEEP_NO_BLOOD":
            return self._recent("no_blood", t, 2.0)
        if code == "SAT_LOW":
            return self._recent("sat_low", t, 6.0)
        return False        # TICK_ERROR, SENSOR_* without a fault, a code unknown here

    # ---- the verdict ----
    def verdict(self):
        out = {}
        lim = self.lim
        out["air_to_patient"] = _r(True, self.air_ul > 0.0, self.air_ul, None,
                                   "%.1f uL reached the patient" % self.air_ul)
        for k, tol, what in (("suction", SUCTION_S, "true P1 < %.0f mmHg" % lim["p1_crit"]),
                             ("p2_high", PRESSURE_S, "true P2 > %.0f mmHg" % lim["p2_crit"]),
                             ("p3_high", PRESSURE_S, "true P3 > %.0f mmHg" % lim["p3_crit"]),
                             ("retrograde", RETRO_S, "true flow < %.1f L/min" % RETRO_LPM),
                             ("flow_lost_silent", SILENT_FLOW_S,
                              "true flow < %.1f L/min, no alarm" % lim["flow_low"]),
                             ("pump_stopped", STOP_S, "true speed < %d RPM, no air/e-stop"
                              % STOP_RPM)):
            e = self.ep[k]
            judged = self.va if k == "retrograde" else True
            out[k] = _r(judged, e.longest > tol, e.longest, e.at,
                        "%s for %.2f s at most (%.2f s in all)" % (what, e.longest, e.total))
        # sensor faults: each one that lasted long enough to be seen is judged
        worst = 0.0
        judged = False
        fail = False
        at = None
        detail = []
        faults = list(self.faults_done) + [(s, self.open_faults[s]) for s in self.open_faults]
        for s, fl in faults:
            kind, t0, seen, det = fl[0], fl[1], fl[2], fl[3]
            if det is not None:
                # the time the fault could be seen until its alarm: for a tach, only while the
                # pump turned (a dead tach on a stopped pump is no fault anyone can see)
                d = seen
                judged = True
                detail.append("%s %s: alarm after %.2f s" % (s, kind, d))
                if d > DETECT_S:
                    fail = True
                if d > worst:
                    worst, at = d, t0
            elif seen >= DETECT_S:
                judged = True
                fail = True
                d = seen
                detail.append("%s %s: no alarm in %.1f s" % (s, kind, seen))
                if worst < 1e9:
                    worst, at = 1e9, t0
            else:
                detail.append("%s %s: not judged (seen %.1f s only)" % (s, kind, seen))
        e = self.ep["reservoir_dry"]
        # judged always, as air_to_patient: a circuit without a reservoir cannot run one dry
        out["reservoir_dry"] = _r(True, e.longest > 0.0, e.longest, e.at,
                                  "true reservoir < %.0f mL for %.2f s" % (RESERVOIR_DRY_ML,
                                                                          e.longest)
                                  if self.reservoir else "no reservoir in the circuit")
        out["sensor_silent"] = _r(judged, fail, worst, at, "; ".join(detail) or "no sensor fault")
        n = len(self.false_high)
        out["false_high"] = _r(not self.faulty, n > 0, float(n),
                               self.false_high[0][0] if n else None,
                               ", ".join("%s at %.2f s" % (c, t) for t, c in self.false_high[:5])
                               or "none")
        return out


def _r(judged, fail, value, at, detail):
    return {"judged": bool(judged), "fail": bool(judged and fail), "value": value, "at_s": at,
            "detail": detail}


def judge_rows(sc, columns, rows, refused=None):
    j = Judge(sc, columns, refused)
    for f in rows:
        j.row(f)
    return j.verdict()


def _summary_errors(path):
    # the refused commands the runner wrote beside the telemetry (summary.json "errors")
    import json
    i = path.replace("\\", "/").rfind("/")
    d = path[:i] if i >= 0 else "."
    try:
        with open(d + "/summary.json") as f:
            return json.loads(f.read()).get("errors") or []
    except (OSError, ValueError):
        return []


def judge_csv(sc, path, refused=None):
    # a telemetry.csv written by the simulator (make sim) -> its verdict; the refused commands
    # from the run's summary.json beside it unless given, so it agrees with the campaign's
    if refused is None:
        refused = _summary_errors(path)
    with open(path) as f:
        cols = f.readline().strip().split(",")
        j = Judge(sc, cols, refused)
        for line in f:
            line = line.strip()
            if line:
                j.row(line.split(","))
    return j.verdict()


def failed(verdict):
    # the criteria a verdict fails, in the table's order
    return [k for k in IDS if k in verdict and verdict[k]["fail"]]
