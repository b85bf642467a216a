# A telemetry row's numbers as text, written into the row's buffer by native (viper) code: on
# the emulated Pico one 6-digit number cost 120-140 us as bytecode and 13 us here, and a row
# of ~20 numbers from 1.05 ms to 0.54 ms (docs/bench.md). Viper works on machine integers:
# the row's numbers are small ints (|v| < 2^30 on a board), at most 10 digits.
# Native code runs only on the architecture it was compiled for: the simulated board (the unix
# port on the host) boots the .mpy files made for the Pico, refuses this one, and the row uses
# telemetry._fixed, the bytecode writer of the same text (host_tests/fw/test_telemetry_row.py
# checks the two byte for byte). Under CPython the decorator does nothing and this is Python.
import sys
import micropython
from micropython import const

_LIM = const(398)      # telemetry._LIM: a number that would end past it is not written

if sys.implementation.name != "micropython":
    def ptr8(b):       # viper's byte-pointer cast; CPython indexes the bytearray itself
        return b


@micropython.viper
def put_fixed(buf, n: int, v: int, decimals: int) -> int:
    # v in units of 10**-decimals as "%.<decimals>f" text at buf[n:]; the new position (n,
    # after a sign, when the number does not fit): the same bytes as telemetry._fixed
    p = ptr8(buf)
    if v < 0:
        p[n] = 45
        n += 1
        v = 0 - v
    k = 1              # digits, and t = 10**(k-1): the first digit's power of ten
    t = 1
    while k < 10 and t * 10 <= v:
        t *= 10
        k += 1
    while k <= decimals:       # "0.005": a zero before the point
        k += 1
        t *= 10
    end = n + k
    q = -1             # where the point goes
    if decimals:
        q = end - decimals
        end += 1
    if end > _LIM:
        return n
    i = n
    while t:           # left to right by subtraction (no division in the loop's digits)
        if i == q:
            p[i] = 46
            i += 1
        d = 48
        while v >= t:
            v -= t
            d += 1
        p[i] = d
        i += 1
        t = t // 10
    return end
