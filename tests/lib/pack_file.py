"""Reads pack files (thin_metadata_pack's version-3 format, shared with
thin-provisioning-tools 1.x) with a decoder written apart from ours, for
tests that check what a pack holds."""

import struct
import zlib

from metadata_image import BLOCK

MAGIC = 0xa537a0aa6309ef77


class PackMachine:
    """Runs pack instructions (the format of thin-provisioning-tools 1.x)."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def operand(self, width):
        v = int.from_bytes(self.data[self.pos:self.pos + width], "little")
        self.pos += width
        return v

    def run(self, out, wanted):
        while len(out) < wanted:
            self.instruction(out, 1)

    def instruction(self, out, times):
        b = self.byte()
        tag, nib = b >> 4, b & 15
        while tag in (7, 8):
            times = nib if tag == 7 else (nib << 8) | self.byte()
            b = self.byte()
            tag, nib = b >> 4, b & 15
        emit = lambda: out.extend(struct.pack("<Q", self.base))
        if tag == 0:
            self.base = self.operand(nib)
            for _ in range(times):
                emit()
        elif tag in (1, 2, 3, 4):
            delta = nib if tag in (1, 3) else self.operand(nib)
            for _ in range(times):
                self.base = (self.base + delta if tag in (1, 2) else self.base - delta) % (1 << 64)
                emit()
        elif tag in (5, 6):
            for _ in range(nib if tag == 5 else (nib << 8) | self.byte()):
                emit()
        elif tag in (9, 10):
            n = nib if tag == 9 else self.operand(nib)
            out.extend(self.data[self.pos:self.pos + n])
            self.pos += n
        elif tag == 11:
            n = (nib << 8) | self.byte()
            high, low = bytearray(), bytearray()
            self.run(high, 8 * n)
            self.run(low, 8 * n)
            for i in range(n):
                h, = struct.unpack_from("<Q", high, 8 * i)
                l, = struct.unpack_from("<Q", low, 8 * i)
                out.extend(struct.pack("<Q", ((h << 24) | (l & 0xFFFFFF)) % (1 << 64)))
        else:
            raise ValueError(f"bad tag {tag}")

    def block(self):
        self.base = 0
        out = bytearray()
        self.run(out, BLOCK)
        assert len(out) == BLOCK
        return bytes(out)


def read_pack(path):
    """(header fields, [[(block number, block bytes)] per record])."""
    with open(path, "rb") as f:
        header = struct.unpack("<4Q", f.read(32))
    return header, [[(b, block) for b, block, _ in entries(raw)] for raw in raw_records(path)]


def entries(raw):
    """The (block number, block bytes, encoding) entries of an inflated record."""
    m = PackMachine(raw)
    out = []
    while m.pos < len(raw):
        b, = struct.unpack_from("<Q", raw, m.pos)
        start = m.pos = m.pos + 8
        block = m.block()
        out.append((b, block, bytes(raw[start:m.pos])))
    return out


def raw_records(path):
    """The inflated records of a pack file."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 32
    while pos < len(data):
        n, = struct.unpack_from("<Q", data, pos)
        out.append(zlib.decompress(data[pos + 8:pos + 8 + n]))
        pos += 8 + n
    return out
