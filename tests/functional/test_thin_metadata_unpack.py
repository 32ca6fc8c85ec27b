"""thin_metadata_unpack run as a user would: pack files written here by hand
(literal blocks, the instructions of the format, records in any order)
unpack to exactly the image they describe, of the size the header gives;
every kind of damage (magic, version, block size, truncation anywhere,
zlib damage, trailing bytes, blocks past the end, blocks that decode to
something without a metadata checksum, bad instructions) fails with exit
status 1, a message saying what is wrong, and no output file."""

import struct
import unittest
import zlib

from metadata_image import BLOCK, SALT_BITMAP, SALT_NODE, SALT_SUPERBLOCK, crc32c_raw
from thinmeta_test import TempDirTestCase, ours

MAGIC = 0xa537a0aa6309ef77


def unpack(*args):
    return ours("thin_metadata_unpack", *args)


def sealed(seed, salt, location):
    """A 4 KiB block of varied bytes with its location and checksum set."""
    b = bytearray((seed * 7 + i * 13) % 256 for i in range(BLOCK))
    struct.pack_into("<Q", b, 8, location)
    struct.pack_into("<I", b, 0, crc32c_raw(b[4:]) ^ salt)
    return bytes(b)


def literal(block):
    return bytes([0xa2]) + struct.pack("<H", len(block)) + block


def record(entries):
    """entries: [(block number, encoded bytes)] -> one compressed record."""
    raw = b"".join(struct.pack("<Q", b) + code for b, code in entries)
    z = zlib.compress(raw)
    return struct.pack("<Q", len(z)) + z


def header(nr_blocks, magic=MAGIC, version=3, block_size=4096):
    return struct.pack("<4Q", magic, version, block_size, nr_blocks)


def shifted_leaf(location):
    """A full mapping leaf (keys 0..251 mapped to data blocks 1000.. at time 5)
    and its encoding with counted steps, a repeat and a shifted run."""
    hdr = bytearray(32)
    struct.pack_into("<IIQIII", hdr, 0, 0, 2, location, 252, 252, 8)
    tail = bytes(BLOCK - 32 - 252 * 16)
    block = bytearray(hdr) + b"".join(struct.pack("<Q", i) for i in range(252))
    block += b"".join(struct.pack("<Q", ((1000 + i) << 24) | 5) for i in range(252)) + tail
    struct.pack_into("<I", block, 0, crc32c_raw(block[4:]) ^ SALT_NODE)
    code = bytes([0xa1, 32]) + block[:32]
    code += bytes([0x01, 0, 0x80, 251, 0x11])  # keys: set 0; count 251: pos 1
    code += bytes([0xb0, 252])  # a shifted run of 252 values
    code += bytes([0x02]) + struct.pack("<H", 1000) + bytes([0x80, 251, 0x11])  # high parts
    code += bytes([0x01, 5, 0x60, 251])  # low parts: set 5; repeat 251
    code += bytes([0xa1, len(tail)]) + tail
    return code, bytes(block)


class UnpackTestCase(TempDirTestCase):
    def write_pack(self, data, name="in.pack"):
        p = self.path(name)
        p.write_bytes(data)
        return p

    def assertUnpacks(self, data, image):
        out = self.path("out.img")
        r = unpack("-i", self.write_pack(data), "-o", out)
        self.assertEqual((r.returncode, r.stderr, r.stdout), (0, "", ""), r)
        self.assertEqual(out.read_bytes(), image)

    def assertFails(self, data, *fragments):
        out = self.path("out.img")
        r = unpack("-i", self.write_pack(data), "-o", out)
        self.assertEqual(r.returncode, 1, r)
        for f in fragments:
            self.assertIn(f, r.stderr, r)
        left = sorted(p.name for p in self.tmp.iterdir() if p.name.startswith("out.img"))
        self.assertEqual(left, [], r)


class UnpackGoodPacks(UnpackTestCase):
    def test_literal_blocks_in_any_order(self):
        sb, node, bm = sealed(1, SALT_SUPERBLOCK, 0), sealed(2, SALT_NODE, 5), sealed(3, SALT_BITMAP, 9)
        data = header(12) + record([(5, literal(node)), (9, literal(bm))]) + record([(0, literal(sb))])
        image = sb + bytes(4 * BLOCK) + node + bytes(3 * BLOCK) + bm + bytes(2 * BLOCK)
        self.assertUnpacks(data, image)

    def test_a_later_copy_of_a_block_wins(self):
        a, b = sealed(1, SALT_NODE, 2), sealed(9, SALT_NODE, 2)
        self.assertUnpacks(header(3) + record([(2, literal(a))]) + record([(2, literal(b))]),
                           bytes(2 * BLOCK) + b)

    def test_many_records_and_later_copies(self):
        # More records than cores decode at once: each block's last copy in
        # file order is the one unpacked.
        copies = {b: [sealed(10 * b + k, SALT_NODE, b) for k in range(3)] for b in range(6)}
        records = [record([(b, literal(copies[b][k]))]) for k in range(3) for b in range(6)]
        self.assertUnpacks(header(6) + b"".join(records), b"".join(copies[b][2] for b in range(6)))

    def test_from_a_pipe(self):
        node = sealed(2, SALT_NODE, 1)
        out = self.path("out.img")
        r = ours("thin_metadata_unpack", "-i", "/dev/stdin", "-o", out, input=header(2) + record([(1, literal(node))]),
                 text=False)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(out.read_bytes(), bytes(BLOCK) + node)

    def test_instructions(self):
        code, block = shifted_leaf(1)
        self.assertUnpacks(header(2) + record([(1, code)]), bytes(BLOCK) + block)


class UnpackDamagedPacks(UnpackTestCase):
    def setUp(self):
        super().setUp()
        self.good = header(8) + record([(0, literal(sealed(1, SALT_SUPERBLOCK, 0)))]) + record(
            [(3, literal(sealed(2, SALT_NODE, 3))), (7, literal(sealed(3, SALT_NODE, 7)))])

    def test_header(self):
        self.assertFails(header(8, magic=1) + self.good[32:], "not a pack file")
        self.assertFails(header(8, version=2) + self.good[32:], "version 2 is not supported")
        self.assertFails(header(8, block_size=512) + self.good[32:], "block size 512 is not supported")
        self.assertFails(b"", "too short to be a pack file")
        self.assertFails(self.good[:31], "too short to be a pack file")
        self.assertFails(self.good[:32], "holds nothing after its header")

    def test_truncated_anywhere(self):
        first_len, = struct.unpack_from("<Q", self.good, 32)
        boundary = 32 + 8 + first_len
        for n in range(33, len(self.good)):
            if n != boundary:
                with self.subTest(length=n):
                    self.assertFails(self.good[:n], "truncated")
        # A cut exactly between two records cannot be seen (the format has
        # no record count): what is there unpacks, the rest reads as zeros.
        self.assertUnpacks(self.good[:boundary], sealed(1, SALT_SUPERBLOCK, 0) + bytes(7 * BLOCK))

    def test_damaged_records(self):
        first_len, = struct.unpack_from("<Q", self.good, 32)
        flipped = bytearray(self.good)
        flipped[32 + 8 + first_len // 2] ^= 0xFF
        self.assertFails(bytes(flipped), "record 1", "damaged")
        z = zlib.compress(struct.pack("<Q", 0) + literal(sealed(1, SALT_SUPERBLOCK, 0)))
        self.assertFails(header(8) + struct.pack("<Q", len(z) + 3) + z + b"xyz", "3 bytes after its compressed data")
        self.assertFails(header(8) + struct.pack("<Q", 1 << 40), "record 1 claims")

    def test_the_first_fault_in_the_file_is_reported(self):
        node = literal(sealed(2, SALT_NODE, 3))
        bad_block = record([(9, node)])
        cut = record([(3, node)])[:-5]
        self.assertFails(header(8) + record([(3, node)]) + bad_block + cut, "record 2: block 9 is past the end")
        self.assertFails(header(8) + record([(3, node)]) * 5 + bad_block + record([(2, literal(bytes(BLOCK)))]),
                         "record 6: block 9 is past the end")

    def test_bad_blocks(self):
        self.assertFails(header(8) + record([(8, literal(sealed(1, SALT_NODE, 8)))]),
                         "block 8 is past the end of the image (8 blocks)")
        self.assertFails(header(8) + record([(2, literal(bytes(BLOCK)))]),
                         "block 2 decodes to a block without a metadata checksum")
        self.assertFails(header(8) + record([(2, bytes([0xc0]))]), "block 2: unknown instruction 12")
        self.assertFails(header(8) + record([(2, bytes([0x03, 1, 2, 3]))]), "bad operand width 3")
        self.assertFails(header(8) + record([(2, literal(bytes(100)))]), "block 2: the encoded block ends early")
        self.assertFails(header(8) + record([(2, literal(bytes(BLOCK))[:-1])]), "runs past the end of the record")
        self.assertFails(header(8) + record([(2, literal(sealed(1, SALT_NODE, 2)) + bytes(3))]),
                         "a block number is cut short")
        # Shifted runs nested in each other's columns (it overflowed the stack).
        self.assertFails(header(8) + record([(2, bytes([0xb0, 1]) * 100000)]),
                         "block 2: shifted runs nested more than 4 deep")

    def test_existing_output_is_left_alone(self):
        out = self.path("keep.img")
        out.write_bytes(b"precious")
        r = unpack("-i", self.write_pack(self.good[:50]), "-o", out)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(out.read_bytes(), b"precious")
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["in.pack", "keep.img"])

    def test_bad_paths(self):
        r = unpack("-i", self.path("missing.pack"), "-o", self.path("out.img"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("missing.pack", r.stderr)
        r = unpack("-i", self.write_pack(self.good), "-o", self.tmp)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("not a regular file", r.stderr)


if __name__ == "__main__":
    unittest.main()
