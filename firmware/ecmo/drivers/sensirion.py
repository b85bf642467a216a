# CRC-8 shared by Sensirion parts (SLF3S liquid flow, SFM3000 gas flow): poly 0x31, init 0xFF.
from micropython import const

_POLY = const(0x31)


def crc8(buf, start, n):
    crc = 0xFF
    for i in range(start, start + n):
        crc ^= buf[i]
        for _ in range(8):
            if crc & 0x80:
                crc = ((crc << 1) ^ _POLY) & 0xFF
            else:
                crc = (crc << 1) & 0xFF
    return crc


def word_ok(buf, i):
    # a data word is 2 bytes followed by their CRC
    return crc8(buf, i, 2) == buf[i + 2]
