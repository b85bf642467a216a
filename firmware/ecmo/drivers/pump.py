# Centrifugal pump motor: PWM speed command (duty_u16), enable pin, tachometer pulses (pin IRQ).
# The BLDC controller closes its own speed loop; duty maps linearly to 0..rpm_max.
from micropython import const
from machine import Pin, disable_irq, enable_irq
from ecmo.drivers import pins
from time import ticks_us, ticks_diff

_TACH_TIMEOUT_US = const(300000)  # no pulse for 0.3 s: below ~100 RPM at 2 pulses/rev, call it stopped
_US_PER_MIN = const(60000000)
_TACH_MAX_PULSES = const(1000)     # pulses summed between two reads, at most
_WIN = const(51)                   # counter mode: reads kept (50 periods: 0.5 s at 100 Hz)
_WIN_PULSES = const(32)            # counter mode: the window ends once it holds this many pulses


class Pump:
    # pwm: the speed command's PWM at duty 0; enable: an output already at its "off" level;
    # tach: an input with its pull-up. The wiring makes them in that order (ecmo/wiring.py):
    # enable off and duty 0 before anything else, so a reset never starts the pump by itself.
    # count: a hardware pulse counter on the tach (ESP32 machine.Counter): the speed comes from
    # counts over a window of tick times instead of a soft IRQ's late time stamps (issue #20).
    def __init__(self, pwm, enable, tach, rpm_max=5000, pulses_per_rev=2, enable_level=1,
                 count=None):
        self._rpm_max = rpm_max
        self._ppr = pulses_per_rev
        self._on = enable_level
        self._off = 1 - enable_level
        self._en = enable
        self.cut = (enable, self._off)   # the stop's first write, done in the air/e-stop IRQ
        self._pwm = pwm
        self.duty_u16 = 0
        self.enabled = False
        self.rpm_cmd = 0
        self.rpm = 0          # measured by the tachometer
        self.win = 1          # ticks the reading spans (its mean over them): 1 with the pin IRQ
                              # (pulses since the last read); the counter's window up to 50
        self._acc_us = 0
        self._n = 0
        self._t_last = ticks_us()
        self._stalled = True      # no pulse seen yet
        self._tach = tach
        self._count = count
        if count is not None:
            self._cn = [0] * _WIN        # counter value at each of the last reads
            self._ct = [self._t_last] * _WIN   # ticks_us of each
            self._ci = 0                 # next slot
            self._cfill = 0              # valid slots (0 after a stop: a fresh window)
            self._c_last = count.value()
            self._t_change = self._t_last
        else:
            pins.irq(self._tach, self._irq, Pin.IRQ_FALLING)

    def _irq(self, _pin):
        t = ticks_us()
        d = ticks_diff(t, self._t_last)
        self._t_last = t
        # the first pulse after a stall only starts the clock (its gap may even have wrapped);
        # the sum is bounded so a long unread run cannot outgrow a small int in this handler
        if self._stalled or d <= 0 or d >= _TACH_TIMEOUT_US:
            self._stalled = False
            return
        if self._n < _TACH_MAX_PULSES:
            self._acc_us += d
            self._n += 1

    def drive(self, rpm, enable):
        if rpm < 0:
            rpm = 0
        elif rpm > self._rpm_max:
            rpm = self._rpm_max
        if not enable:
            rpm = 0
        d = rpm * 65535 // self._rpm_max
        self._pwm.duty_u16(d)
        self._en.value(self._on if enable else self._off)
        self.duty_u16 = d
        if not enable and self.enabled:
            self._forget()
        self.enabled = enable
        self.rpm_cmd = rpm

    def stop(self):
        # called from the air/e-stop hard IRQ (after its own enable write): two pin writes and
        # a few stores, nothing else
        self._en.value(self._off)
        self._pwm.duty_u16(0)
        self.duty_u16 = 0
        self.enabled = False
        self.rpm_cmd = 0
        self._forget()

    def _forget(self):
        # The motor was switched off: the last speed reading no longer holds (it would stay up
        # to 300 ms otherwise, and VA opens the return line on it). Measure afresh from the
        # next pulses; a rotor still coasting shows again within two of them.
        self.rpm = 0
        self._stalled = True
        if self._count is not None:
            self._cfill = 0

    def _read_count(self):
        # counts between this read and one up to 0.5 s back, as far back as _WIN_PULSES need:
        # +-1 count in 32 at speed (1.5 %), coarser below ~2000 rpm where 0.5 s holds fewer
        n = self._count.value()  # pyright: ignore[reportOptionalMemberAccess] (only with one)
        t = ticks_us()
        i = self._ci
        self._cn[i] = n
        self._ct[i] = t
        self._ci = i + 1 if i + 1 < _WIN else 0
        if self._cfill < _WIN:
            self._cfill += 1
        if n != self._c_last:
            self._c_last = n
            self._t_change = t
        elif ticks_diff(t, self._t_change) > _TACH_TIMEOUT_US:
            self.rpm = 0        # (no _stalled here: only the pin IRQ reads it)
            return 0
        j = i
        k = 1
        dn = 0
        while k < self._cfill:
            j = j - 1 if j else _WIN - 1
            dn = n - self._cn[j]
            k += 1
            if dn >= _WIN_PULSES:
                break
        if dn > 0:
            dt = ticks_diff(t, self._ct[j])
            per = dt // dn
            if per > 0:
                self.rpm = _US_PER_MIN // (per * self._ppr)
                self.win = k - 1
        return 0

    def read(self):
        if self._count is not None:
            return self._read_count()
        st = disable_irq()
        acc = self._acc_us
        n = self._n
        t_last = self._t_last
        self._acc_us = 0
        self._n = 0
        enable_irq(st)
        if n:
            self.rpm = _US_PER_MIN // ((acc // n) * self._ppr)
        elif ticks_diff(ticks_us(), t_last) > _TACH_TIMEOUT_US:
            self.rpm = 0
            self._stalled = True
        return 0
