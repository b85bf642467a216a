# CRC-8 of Sensirion parts: poly 0x31 (x^8+x^5+x^4+1), no reflection, no final XOR. The start
# value differs by part: 0xFF for the SLF3S (SF06-LF datasheet), 0x00 for the SFM3000
# (Sensirion's application note on the SFM3000's CRC checksum).
from micropython import const

_POLY = const(0x31)
INIT_SLF3S = const(0xFF)
INIT_SFM3000 = const(0x00)


def crc8(buf, start, n, init=INIT_SLF3S):
    crc = init
    for i in range(start, start + n):
        crc ^= buf[i]
        for _ in range(8):
            if crc & 0x80:
                crc = ((crc << 1) ^ _POLY) & 0xFF
            else:
                crc = (crc << 1) & 0xFF
    return crc


def word_ok(buf, i, init=INIT_SLF3S):
    # a data word is 2 bytes followed by their CRC
    return crc8(buf, i, 2, init) == buf[i + 2]
