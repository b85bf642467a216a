# A flash image (.bin, from address 0 of the Pico's flash) as a UF2 file, the format the RP2040's
# boot ROM takes by drag and drop. The format (github.com/microsoft/uf2, README): 512-byte blocks,
# each with two start magics, flags, its target address, 256 bytes of payload, its index, the
# block count, a family ID (flag 0x2000) and an end magic. Written here because the image build
# runs without picotool (it is fetched from the network by the pico-sdk's CMake).
import struct

MAGIC0 = 0x0A324655
MAGIC1 = 0x9E5D5157
MAGIC_END = 0x0AB16F30
FLAG_FAMILY = 0x00002000
RP2040_FAMILY = 0xE48BFF56
FLASH_BASE = 0x10000000
PAYLOAD = 256


def from_bin(data, base=FLASH_BASE, family=RP2040_FAMILY):
    n = (len(data) + PAYLOAD - 1) // PAYLOAD
    out = bytearray()
    for i in range(n):
        chunk = data[i * PAYLOAD:(i + 1) * PAYLOAD]
        chunk = chunk + bytes(PAYLOAD - len(chunk))
        head = struct.pack("<8I", MAGIC0, MAGIC1, FLAG_FAMILY, base + i * PAYLOAD, PAYLOAD, i, n,
                           family)
        block = head + chunk + bytes(476 - PAYLOAD) + struct.pack("<I", MAGIC_END)
        out += block
    return bytes(out)


def to_bin(uf2, base=FLASH_BASE):
    # the flash contents a UF2 describes (gaps as 0xFF), for checks
    img = bytearray()
    for o in range(0, len(uf2), 512):
        m0, m1, _flags, addr, size, _i, _n, _fam = struct.unpack_from("<8I", uf2, o)
        (end,) = struct.unpack_from("<I", uf2, o + 508)
        if (m0, m1, end) != (MAGIC0, MAGIC1, MAGIC_END):
            raise ValueError("block %d: not a UF2 block" % (o // 512))
        off = addr - base
        if len(img) < off + size:
            img += b"\xff" * (off + size - len(img))
        img[off:off + size] = uf2[o + 32:o + 32 + size]
    return bytes(img)
