"""thin_metadata_pack run as a user would: the pack file holds the version-3
header and zlib records of every block that carries a metadata checksum
(checked here with an independent decoder of the pack instructions), it
unpacks to the image byte for byte, sparse and dense copies of an image
pack alike, and bad input fails with exit status 1 and no output file."""

import struct
import unittest

import thin_xml
from metadata_image import (BLOCK, SALT_BITMAP, SALT_INDEX, SALT_NODE, SALT_SUPERBLOCK, crc32c_raw)
from pack_file import MAGIC, read_pack
from thinmeta_test import PoolImageTestCase, ours

SALTS = (SALT_SUPERBLOCK, SALT_NODE, SALT_BITMAP, SALT_INDEX)


def pack(*args):
    return ours("thin_metadata_pack", *args)


def unpack(*args):
    return ours("thin_metadata_unpack", *args)


def is_metadata(block):
    return any(block) and (struct.unpack_from("<I", block)[0] ^ crc32c_raw(block[4:])) in SALTS


class PackTestCase(PoolImageTestCase):

    def assertFails(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result)
        for f in fragments:
            self.assertIn(f, result.stderr, result)

    def assertNoStrayFiles(self, *names):
        left = sorted(p.name for p in self.tmp.iterdir() if p.name.startswith(names))
        self.assertEqual(left, [n for n in names if (self.tmp / n).exists()], left)


class PackRoundTrip(PackTestCase):
    def test_sample_pools_unpack_byte_for_byte(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                image = self.make_image(pool, name + ".bin")
                p, out = self.path(name + ".pack"), self.path(name + ".out")
                self.assertEqual(pack("-i", image, "-o", p).returncode, 0)
                r = unpack("--input", p, "--output", out)
                self.assertEqual((r.returncode, r.stderr), (0, ""), r)
                self.assertEqual(out.read_bytes(), image.read_bytes())

    def test_pack_holds_every_checksummed_block_and_nothing_else(self):
        pool = thin_xml.sample_pools()["snapshots"]
        image = self.make_image(pool, size=24 << 20)
        # A block no tool checksums, and a freed node with a good checksum
        # beyond anything the space maps allocate.
        data = bytearray(image.read_bytes())
        data[3000 * BLOCK:3000 * BLOCK + 5] = b"junk!"
        data[4000 * BLOCK:4001 * BLOCK] = data[1 * BLOCK:2 * BLOCK]
        image.write_bytes(bytes(data))
        p = self.path("meta.pack")
        r = pack("-i", image, "-o", p)
        self.assertEqual((r.returncode, r.stderr, r.stdout), (0, "", ""), r)
        header, records = read_pack(p)
        self.assertEqual(header, (MAGIC, 3, 4096, len(data) // BLOCK))
        packed = [(b, blk) for rec in records for b, blk in rec]
        self.assertTrue(all(len(rec) <= 1024 for rec in records))
        self.assertEqual(len(records), (len(packed) + 1023) // 1024)
        want = [b for b in range(len(data) // BLOCK) if is_metadata(data[b * BLOCK:(b + 1) * BLOCK])]
        self.assertIn(4000, want)
        self.assertNotIn(3000, want)
        self.assertEqual([b for b, _ in packed], want)
        for b, blk in packed:
            self.assertEqual(blk, bytes(data[b * BLOCK:(b + 1) * BLOCK]), b)
        # The unknown block does not survive; everything else does.
        out = self.path("meta.out")
        self.assertEqual(unpack("-i", p, "-o", out).returncode, 0)
        data[3000 * BLOCK:3000 * BLOCK + 5] = bytes(5)
        self.assertEqual(out.read_bytes(), bytes(data))

    def test_sparse_and_dense_images_pack_alike(self):
        image = self.make_image(thin_xml.sample_pools()["long_range"], size=64 << 20)
        dense = self.path("dense.bin")
        dense.write_bytes(image.read_bytes())  # written out: no holes
        a, b = self.path("a.pack"), self.path("b.pack")
        self.assertEqual(pack("-i", image, "-o", a).returncode, 0)
        self.assertEqual(pack("-i", dense, "-o", b).returncode, 0)
        self.assertEqual(a.read_bytes(), b.read_bytes())

    def test_an_existing_output_is_replaced(self):
        image = self.make_image(thin_xml.sample_pools()["single_mappings"])
        p = self.path("meta.pack")
        p.write_bytes(b"old contents" * 10000)
        self.assertEqual(pack("-i", image, "-o", p).returncode, 0)
        self.assertEqual(read_pack(p)[0][0], MAGIC)
        self.assertNoStrayFiles("meta.pack")


class PackErrors(PackTestCase):
    def test_input_that_is_not_metadata(self):
        blank = self.zero_file("blank.bin", 1 << 20)
        self.assertFails(pack("-i", blank, "-o", self.path("x.pack")), "no metadata blocks")
        self.assertFails(pack("-i", self.path("missing"), "-o", self.path("x.pack")), "missing")
        self.assertFails(pack("-i", self.tmp, "-o", self.path("x.pack")), "is a directory")
        self.assertNoStrayFiles("x.pack")

    def test_a_failure_leaves_an_existing_output_alone(self):
        out = self.path("keep.pack")
        out.write_bytes(b"precious")
        self.assertFails(pack("-i", self.zero_file("blank.bin", 1 << 20), "-o", out), "no metadata blocks")
        self.assertEqual(out.read_bytes(), b"precious")
        self.assertNoStrayFiles("keep.pack")

    def test_bad_outputs_and_options(self):
        image = self.make_image(thin_xml.sample_pools()["single_mappings"])
        self.assertFails(pack("-i", image, "-o", self.path("no/such/dir/x.pack")), "no/such/dir")
        self.assertFails(pack("-i", image, "-o", self.tmp), "not a regular file")
        self.assertFails(pack("-i", image), "no output given")
        self.assertFails(pack("-o", self.path("x.pack")), "no input given")
        self.assertNoStrayFiles("x.pack")


if __name__ == "__main__":
    unittest.main()
