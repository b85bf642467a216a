# REPL help and the settings docs, from the settings table (ecmo/table.py). Imported only when
# asked for: none of it is needed to run the rig, and a board's heap is small.
from ecmo import table as T


def describe(name, rpm_max=None):
    # one line for help and docs: name, unit, bounds, defaults (allocates: REPL side)
    r = T.ROWS[name]
    if r[T.SCALE] == 0:
        return "%s: one of %s; default %s (VA), %s (VV)" % (name, "/".join(r[T.LO]), r[T.VA], r[T.VV])
    hi = r[T.HI] if r[T.HI] is not None else (rpm_max if rpm_max is not None else "RPM_MAX")
    dflt = str(r[T.VA]) if r[T.VA] == r[T.VV] else "%s VA, %s VV" % (r[T.VA], r[T.VV])
    tail = ""
    if r[T.SAFER]:
        tail = "; confirm=True to set %s than the default" % ("lower" if r[T.SAFER] == 1 else "higher")
    return "%s [%s]: %s..%s, default %s%s" % (name, r[T.UNIT], r[T.LO], hi, dflt, tail)


# rig.help(): every public command of the rig, grouped; host_tests/fw/test_help.py fails when a
# public method of Rig is missing here.
_COMMANDS = """ecmo-rig %s -- commands (rig.<name>)
pump
  status()                 one line: state, profile, mode, setpoint, flow, RPM, P1/P2/P3, dP, alarms,
                           which sensors are zeroed (status_line(): the same line as a string)
  run() / standby()        start the pump / operator stop (VA closes the return line)
  mode('rpm'|'flow'|'pressure'|'zero')  control mode, bumpless (mode(): the one in use);
                           'pressure': the P1 servo, 'zero': VA weaning, zero net flow
  set_rpm(rpm)             speed setpoint (rpm mode)
  set_flow(lpm)            flow setpoint in L/min (flow mode)
  set_p1(mmhg)             drainage pressure target (pressure mode)
  gains(kp, ki, kd)        flow PID gains: RPM/(L/min), RPM/(L/min*s), RPM/(L/min/s)
  servo_gains(kp, ki, kd)  P1 servo gains: RPM/mmHg, RPM/(mmHg*s), RPM/(mmHg/s)
  clamp(closed)            operator clamp of the return line
  lift_clot_ceiling()      let the speed rise above where it was when CLOT came (until it clears)
  pump_map(a, b, c, err_pct)   the pump's H-Q-RPM map in use (no arguments: show it)
  identify() / identify_status() / identify_fit()   identify the map on the rig (docs/sensor-trust.md)
gas
  set_sweep(lpm)           sweep gas setpoint, L/min (0 closes the valve)
  set_fio2(fio2)           FiO2 target, 0.21..1.0 (or 21..100 %%)
  sweep_gains(kp, ki, kd)  sweep PID gains (valve steps per L/min ...)
  gas_status()             one line: sweep, FiO2, temperature, saturation, gas alarms
  gas_limits() / gas_limit(name, value, confirm=False)   the oxygenator's interlock limits
alarms
  alarms() / log(n)        alarms shown now / last n alarm events
  ack()                    acknowledge alarms: audio paused, alarms stay visible
  deaired()                after an air stop: the line between detector and clamp is de-aired
  restart()                release a latched air / e-stop stop once clear, acknowledged (and de-aired)
  blind()                  interlocks that cannot see, or see through a substitute
settings
  limits() / limit(name, value, confirm=False)   safety limits; looser than the default needs confirm
  profile('VA'|'VV', confirm=False)   switch profile: limits go to that profile's defaults
  telemetry(hz)            CSV rows on this link ('TLM ...', header '#TLM ...'), 0 = off, max %d
  telemetry_header() / telemetry_row()   the header and one row as strings
  save() / load()          settings to / from flash (load: a bad file changes nothing;
                           looser limits while running need load(confirm=True))
  expect_reset() / reboot()   the next reset is planned / a planned reset: standby, no alarm
  start() / halt()         the loop's timer on / off (bench use: halt stops the pump first)
calibration (pump stopped; docs/checklist.md)
  zero('p1'|'p2'|'p3'|'all')   zero the transducers open to air (zero_limit(name): the largest offset)
  zero('flow')             zero the flow probe, line clamped (rig.clamp(True))
  collect()                twice, pump running: a timed collection's mean flow and seconds
  calibrate_flow((reading_lpm, ml, s), (reading_lpm, ml, s))   two timed collections (bucket test)
  calibration()            zeros and flow calibration in use, with their times
  calibrate_air() / calibrate_o2()   the O2 cell in room air / in 100 %% O2
  help()                   this list"""


def commands(version, telemetry_max_hz):
    return _COMMANDS % (version, telemetry_max_hz)
