# Venous reservoir level (issue 17, H31): optional per board file, entry LEVEL.
#   {"kind": "switch", "pin": 21, "active_level": 1}: a digital low-level switch (optical or
#       capacitive, on the reservoir wall at the low mark); active = the level is below it.
#       The input is pulled toward "low", so a cut wire reads as a low level (the safe side:
#       the speed comes down slowly, the pump is not stopped).
#   {"kind": "analog", "adc": 28, "cal": (...), "rails": (...), "limits": (...)}: an analog
#       level in mL (ultrasonic or capacitive strip), an AnalogSensor like the pressures; its
#       open/short/range status is the failed-sensor case.
# The analog kind is built by the wiring from ecmo/drivers/analog.py; this is the switch.


class LevelSwitch:
    def __init__(self, pin, active_level=1):
        self._pin = pin
        self._active = active_level
        self.low = False         # all a switch has: no status, no value (the supervisor and
                                 # the telemetry read `low` when the board's LEVEL is a switch)

    def read(self):
        self.low = self._pin.value() == self._active
