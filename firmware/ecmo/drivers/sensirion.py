# CRC-8 of Sensirion parts: poly 0x31 (x^8+x^5+x^4+1), no reflection, no final XOR. The start
# value differs by part: 0xFF for the SLF3S (SF06-LF datasheet), 0x00 for the SFM3000
# (Sensirion's application note on the SFM3000's CRC checksum).
# By a 256-byte table made once at import (bytes: constant, nothing allocated per call): one
# lookup a byte instead of eight shift-and-test steps. A tick checks four words (three on the
# SLF3S, one on the SFM3000): 0.1 ms of bit loops a word on the emulated Pico.
from micropython import const

_POLY = const(0x31)
INIT_SLF3S = const(0xFF)
INIT_SFM3000 = const(0x00)


def _crc8_bits(buf, start, n, init):
    # the definition, bit by bit (builds the table; the tests hold the table to it)
    crc = init
    for i in range(start, start + n):
        crc ^= buf[i]
        for _ in range(8):
            if crc & 0x80:
                crc = ((crc << 1) ^ _POLY) & 0xFF
            else:
                crc = (crc << 1) & 0xFF
    return crc


_TABLE = bytes(_crc8_bits((v,), 0, 1, 0) for v in range(256))


def crc8(buf, start, n, init=INIT_SLF3S):
    t = _TABLE
    crc = init
    for i in range(start, start + n):
        crc = t[crc ^ buf[i]]
    return crc


def word_ok(buf, i, init=INIT_SLF3S):
    # a data word is 2 bytes followed by their CRC
    t = _TABLE
    return t[t[init ^ buf[i]] ^ buf[i + 1]] == buf[i + 2]
