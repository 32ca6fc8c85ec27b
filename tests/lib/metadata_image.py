"""Reads and edits thin-pool metadata images block by block, for tests.

Knows just enough of the format (spec sections 1-5) to find structures and
to plant exact damage: change a field, reseal the checksum, set a bitmap
entry. It never decides what is valid; the tools under test do.
"""

import struct

BLOCK = 4096
SALT_SUPERBLOCK = 160774
SALT_NODE = 121107
SALT_BITMAP = 240779
SALT_INDEX = 160478
ENTRIES_PER_BITMAP = 16320


def _crc_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c_raw(data, crc=0xFFFFFFFF):
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def block_checksum(block, salt):
    return crc32c_raw(block[4:]) ^ salt


class Node:
    """A b-tree node block."""

    def __init__(self, data):
        self.data = bytearray(data)

    flags = property(lambda s: struct.unpack_from("<I", s.data, 4)[0])
    blocknr = property(lambda s: struct.unpack_from("<Q", s.data, 8)[0])
    nr_entries = property(lambda s: struct.unpack_from("<I", s.data, 16)[0])
    max_entries = property(lambda s: struct.unpack_from("<I", s.data, 20)[0])
    value_size = property(lambda s: struct.unpack_from("<I", s.data, 24)[0])
    is_leaf = property(lambda s: s.flags == 2)

    def key(self, i):
        return struct.unpack_from("<Q", self.data, 32 + 8 * i)[0]

    def set_key(self, i, k):
        struct.pack_into("<Q", self.data, 32 + 8 * i, k)

    def value_offset(self, i):
        return 32 + 8 * self.max_entries + self.value_size * i

    def value64(self, i):
        return struct.unpack_from("<Q", self.data, self.value_offset(i))[0]

    def set_value64(self, i, v):
        struct.pack_into("<Q", self.data, self.value_offset(i), v)

    def value(self, i):
        o = self.value_offset(i)
        return bytes(self.data[o:o + self.value_size])

    def set_value(self, i, v):
        o = self.value_offset(i)
        self.data[o:o + len(v)] = v

    def set_nr_entries(self, n):
        struct.pack_into("<I", self.data, 16, n)


class Image:
    """A metadata image file opened for reading and writing."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "r+b")

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self, b):
        self.f.seek(b * BLOCK)
        return bytearray(self.f.read(BLOCK))

    def write(self, b, data, salt=None):
        data = bytearray(data)
        if salt is not None:
            struct.pack_into("<I", data, 0, block_checksum(data, salt))
        self.f.seek(b * BLOCK)
        self.f.write(data)
        self.f.flush()

    # superblock
    def superblock(self):
        d = self.read(0)
        f = {}
        f["flags"], f["blocknr"] = struct.unpack_from("<IQ", d, 4)
        f["magic"], f["version"], f["time"], f["trans_id"], f["held_root"] = struct.unpack_from("<QIIQQ", d, 32)
        f["data_sm"] = struct.unpack_from("<QQQQ", d, 64)
        f["metadata_sm"] = struct.unpack_from("<QQQQ", d, 192)
        f["mapping_root"], f["details_root"] = struct.unpack_from("<QQ", d, 320)
        f["data_block_size"], = struct.unpack_from("<I", d, 336)
        return f

    def patch_superblock(self, offset, fmt, value, location=0):
        d = self.read(location)
        struct.pack_into(fmt, d, offset, value)
        self.write(location, d, SALT_SUPERBLOCK)

    def node(self, b):
        return Node(self.read(b))

    def write_node(self, b, node):
        self.write(b, node.data, SALT_NODE)

    def leaves(self, root):
        """Leaf block numbers of a single-level tree, in key order."""
        n = self.node(root)
        if n.is_leaf:
            return [root]
        out = []
        for i in range(n.nr_entries):
            out.extend(self.leaves(n.value64(i)))
        return out

    def entries(self, root):
        """(key, value bytes) of a single-level tree, in key order."""
        out = []
        for leaf in self.leaves(root):
            n = self.node(leaf)
            out.extend((n.key(i), n.value(i)) for i in range(n.nr_entries))
        return out

    def device_roots(self):
        """{device id: bottom-level root}."""
        sb = self.superblock()
        return {k: struct.unpack("<Q", v)[0] for k, v in self.entries(sb["mapping_root"])}

    # space maps
    def metadata_bitmap(self, index):
        sb = self.superblock()
        ib = self.read(sb["metadata_sm"][2])
        return struct.unpack_from("<Q", ib, 16 + 16 * index)[0]

    def data_bitmap(self, index):
        sb = self.superblock()
        for k, v in self.entries(sb["data_sm"][2]):
            if k == index:
                return struct.unpack_from("<Q", v, 0)[0]
        raise KeyError(index)

    @staticmethod
    def _entry_pos(e):
        return 16 + e // 4, 2 * (e % 4)

    def bitmap_entry(self, bitmap_block, e):
        d = self.read(bitmap_block)
        byte, s = self._entry_pos(e)
        return ((d[byte] >> s) & 1) << 1 | ((d[byte] >> (s + 1)) & 1)

    def set_bitmap_entry(self, bitmap_block, e, value):
        d = self.read(bitmap_block)
        byte, s = self._entry_pos(e)
        d[byte] = (d[byte] & ~(3 << s)) | ((value >> 1) & 1) << s | (value & 1) << (s + 1)
        self.write(bitmap_block, d, SALT_BITMAP)

    def metadata_count(self, b):
        return self.bitmap_entry(self.metadata_bitmap(b // ENTRIES_PER_BITMAP), b % ENTRIES_PER_BITMAP)

    def set_metadata_count(self, b, value):
        self.set_bitmap_entry(self.metadata_bitmap(b // ENTRIES_PER_BITMAP), b % ENTRIES_PER_BITMAP, value)

    def data_count(self, b):
        return self.bitmap_entry(self.data_bitmap(b // ENTRIES_PER_BITMAP), b % ENTRIES_PER_BITMAP)

    def set_data_count(self, b, value):
        self.set_bitmap_entry(self.data_bitmap(b // ENTRIES_PER_BITMAP), b % ENTRIES_PER_BITMAP, value)

    def first_free_metadata_block(self):
        sb = self.superblock()
        for b in range(1, sb["metadata_sm"][0]):
            if self.metadata_count(b) == 0:
                return b
        raise ValueError("no free metadata block")

    # metadata snapshot
    def plant_metadata_snapshot(self):
        """Copies the live superblock to the first free metadata block, as
        reserve_metadata_snap does (block number set, space-map roots zeroed),
        and makes it the held root. Reference counts are left alone: enough
        for readers (dump -m, delta -m), not for thin_check. Returns the
        copy's block number."""
        where = self.first_free_metadata_block()
        copy = self.read(0)
        struct.pack_into("<Q", copy, 8, where)
        copy[64:320] = bytes(256)
        self.write(where, copy, SALT_SUPERBLOCK)
        self.patch_superblock(56, "<Q", where)
        return where
