"""thin_repair and thin_dump --repair run as a user (or LVM) would: sound
metadata comes back with the same devices and mappings, damage is repaired
and reported per device, the input is never written, LVM's invocation with
a stray empty argument works, and outputs that are too small or are the
input are refused with a message saying why."""

import gzip
import pathlib
import re
import shutil
import struct
import unittest

from metadata_image import SALT_NODE, Image
from thinmeta_test import FIXTURES, TempDirTestCase, ours, sha256_file
import thin_xml

MiB = 1 << 20


def repair(*args):
    return ours("thin_repair", *args)


def without_superblock_line(xml):
    return xml.split("\n", 1)[1]


class RepairCase(TempDirTestCase):
    def kernel_fixture(self, name="snapshots-metadata-snap"):
        image = self.path(f"{name}.bin")
        with gzip.open(FIXTURES / "kernel" / f"{name}.bin.gz", "rb") as src, open(image, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return image

    def restored(self, pool, name="meta.bin", size=16 * MiB):
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(pool))
        image = self.zero_file(name, size)
        r = ours("thin_restore", "-i", xml, "-o", image)
        self.assertEqual(r.returncode, 0, r)
        return image

    def repaired(self, image, *args, size=None):
        """Repairs image into a new file; checks the input is unchanged and
        the output passes thin_check. Returns (output, result)."""
        out = self.zero_file(image.name + ".repaired", size or image.stat().st_size)
        before = sha256_file(image)
        r = repair("-i", image, "-o", out, *args)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(sha256_file(image), before, "thin_repair wrote to its input")
        c = ours("thin_check", out)
        self.assertEqual(c.returncode, 0, c)
        return out, r

    def dump(self, image, *args):
        r = ours("thin_dump", *args, image)
        self.assertEqual(r.returncode, 0, r)
        return r.stdout


class SoundMetadata(RepairCase):
    def test_sample_pools_come_back_whole(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                image = self.restored(pool, name + ".bin")
                out, r = self.repaired(image)
                self.assertEqual(self.dump(out), thin_xml.to_xml(pool))
                self.assertIn("the superblock and its trees read back whole", r.stderr)

    def test_kernel_pool_with_shared_leaves_and_metadata_snapshot(self):
        image = self.kernel_fixture()
        out, _ = self.repaired(image)
        # The held metadata snapshot is not carried over; the live pool is.
        self.assertEqual(self.dump(out), self.dump(image))
        with Image(out) as img:
            self.assertEqual(img.superblock()["held_root"], 0)

    def test_quiet(self):
        image = self.kernel_fixture()
        out = self.zero_file("out.bin", 4 * MiB)
        r = repair("-q", "-i", image, "-o", out)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_overrides_replace_the_superblocks_values(self):
        image = self.kernel_fixture()
        out, _ = self.repaired(image, "--transaction-id", "77", "--nr-data-blocks", "20000")
        first = self.dump(out).splitlines()[0]
        self.assertIn('transaction="77"', first)
        self.assertIn('nr_data_blocks="20000"', first)


class Invocation(RepairCase):
    def test_lvm_passes_an_empty_argument_first(self):
        # LVM 2.03.16: thin_repair '' -i <tmeta> -o <spare>
        image = self.kernel_fixture()
        out = self.zero_file("spare.bin", 4 * MiB)
        r = repair("", "-i", image, "-o", out)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(ours("thin_check", "-q", out).returncode, 0)
        self.assertEqual(self.dump(out), self.dump(image))

    def test_output_too_small_says_what_it_needs(self):
        image = self.kernel_fixture()
        before = sha256_file(image)
        out = self.zero_file("small.bin", 64 << 10)
        r = repair("-i", image, "-o", out)
        self.assertEqual((r.returncode, r.stdout), (1, ""), r)
        self.assertRegex(r.stderr, rf"^thin_repair: {re.escape(str(out))} is too small: the metadata needs \d+ blocks")
        self.assertEqual(sha256_file(image), before)
        with open(out, "rb") as f:
            self.assertEqual(f.read(4096), bytes(4096), "the output must not look like metadata")

    def test_output_is_the_input(self):
        image = self.kernel_fixture()
        before = sha256_file(image)
        r = repair("-i", image, "-o", image)
        self.assertEqual((r.returncode, r.stdout), (1, ""), r)
        self.assertEqual(r.stderr, f"thin_repair: {image} is the input file: the output must be another file or "
                                   f"device\n")
        self.assertEqual(sha256_file(image), before)

    def test_input_and_output_are_both_needed(self):
        image = self.kernel_fixture()
        for args in (["-i", image], ["-o", image], []):
            with self.subTest(args=args):
                r = repair(*args)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("both the input (-i) and the output (-o) must be given", r.stderr)

    def test_missing_input(self):
        out = self.zero_file("out.bin", 4 * MiB)
        r = repair("-i", self.path("absent.bin"), "-o", out)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("No such file or directory", r.stderr)

    def test_missing_output_is_reported_before_the_input_is_read(self):
        # Read first, this input would fail on its lost superblock: only the
        # output's problem may be named.
        image = self.zero_file("zeroed.bin", 4 * MiB)
        missing = self.path("absent-out.bin")
        r = repair("-i", image, "-o", missing)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stderr, f"thin_repair: {missing}: no such file: the output must be an existing block "
                                   "device or a file large enough for the metadata (thin_metadata_size estimates "
                                   "the size)\n")
        self.assertEqual(r.stdout, "")
        self.assertFalse(pathlib.Path(missing).exists())

    def test_bad_data_block_size_override(self):
        image = self.kernel_fixture()
        out = self.zero_file("out.bin", 4 * MiB)
        r = repair("-i", image, "-o", out, "--data-block-size", "100")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--data-block-size 100: the kernel takes multiples of 128 sectors from 128 to 2097152",
                      r.stderr)


class LostSuperblock(RepairCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        self.image = self.restored(self.pool)
        with open(self.image, "r+b") as f:
            f.write(bytes(4096))

    def test_the_pool_values_must_be_given(self):
        out = self.zero_file("out.bin", 16 * MiB)
        r = repair("-i", self.image, "-o", out)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stderr, f"thin_repair: {self.image}: the superblock is damaged and no copy of it survives, "
                                   f"so the data block size is unknown: give it with --data-block-size (in sectors, "
                                   f"as the pool was created)\n")

    def test_given_values_rebuild_the_pool(self):
        p = self.pool
        out, r = self.repaired(self.image, "--data-block-size", str(p.data_block_size), "--nr-data-blocks",
                               str(p.nr_data_blocks), "--transaction-id", str(p.transaction))
        self.assertIn("the superblock is damaged: scanning the device for its trees", r.stderr)
        self.assertEqual(without_superblock_line(self.dump(out)), without_superblock_line(thin_xml.to_xml(p)))
        first = self.dump(out).splitlines()[0]
        for field in (f'transaction="{p.transaction}"', f'data_block_size="{p.data_block_size}"',
                      f'nr_data_blocks="{p.nr_data_blocks}"'):
            self.assertIn(field, first)

    def test_the_metadata_snapshots_copy_stands_in(self):
        image = self.kernel_fixture()
        with open(image, "r+b") as f:
            f.write(bytes(4096))
        out, r = self.repaired(image)
        self.assertRegex(r.stderr, r"found a copy of the superblock \(a metadata snapshot\) at block \d+")
        self.assertIn('data_block_size="128"', self.dump(out).splitlines()[0])


class Damage(RepairCase):
    def test_a_lost_leaf_is_reported_and_the_rest_kept(self):
        image = self.kernel_fixture("snapshots")
        with Image(image) as img:
            root = img.device_roots()[0]
            node = img.node(root)
            leaf, begin, end = node.value64(1), node.key(1), node.key(2)
            data = img.read(leaf)
            data[200] ^= 0xFF
            img.write(leaf, data)
        out, r = self.repaired(image)
        self.assertIn(f"thin device 0: block {leaf} (virtual blocks [{begin}, {end})): bad checksum", r.stderr)
        self.assertRegex(r.stderr, rf"thin device 0: recovered \d+ mappings; lost the mappings of virtual blocks "
                                   rf"{begin}\.\.{end - 1}\n")
        device0 = self.dump(out).split('<device dev_id="0"')[1].split("</device>")[0]
        lost = [m for m in re.findall(r'origin_(?:block|begin)="(\d+)"', device0) if begin <= int(m) < end]
        self.assertEqual(lost, [], "mappings of the damaged leaf came back")

    def test_sharing_devices_get_snap_times_that_show_it(self):
        # Device 1's details say it was never snapshotted, but it shares
        # leaves with device 3: the kernel would write to shared blocks in
        # place. The repair raises its snap_time.
        image = self.kernel_fixture("snapshots")
        with Image(image) as img:
            details_root = img.superblock()["details_root"]
            leaf = img.node(details_root)
            self.assertTrue(leaf.is_leaf)
            i = next(i for i in range(leaf.nr_entries) if leaf.key(i) == 1)
            value = bytearray(leaf.value(i))
            struct.pack_into("<II", value, 16, 0, 0)
            leaf.set_value(i, value)
            img.write(details_root, leaf.data, SALT_NODE)
        out, r = self.repaired(image)
        self.assertRegex(r.stderr, r"thin device 1: snap_time raised from 0 to \d+: it shares data blocks")
        self.assertEqual(without_superblock_line(self.dump(out)).count("<device"), 4)


class DumpRepair(RepairCase):
    def test_prints_what_thin_repair_writes(self):
        image = self.kernel_fixture("snapshots")
        with Image(image) as img:
            leaf = img.node(img.device_roots()[3]).value64(0)
            data = img.read(leaf)
            data[300] ^= 1
            img.write(leaf, data)
        self.assertEqual(ours("thin_dump", image).returncode, 1)
        r = ours("thin_dump", "--repair", image)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("thin device 3: recovered", r.stderr)
        out, _ = self.repaired(image)
        self.assertEqual(r.stdout, self.dump(out))

    def test_overrides_need_repair(self):
        image = self.kernel_fixture()
        r = ours("thin_dump", "--transaction-id", "3", image)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("go with --repair", r.stderr)


if __name__ == "__main__":
    unittest.main()
