"""thin_dump run as a user would: each sample pool dumps to exactly the text
it was made from (XML and human_readable), the options select what they
say, bad input gets a clear message and exit status 1, and a reader that
goes away ends the dump quietly with status 0."""

import os
import subprocess
import unittest

from metadata_image import Image
from thinmeta_test import TempDirTestCase, ours, restore_with_reference, tool
import thin_xml


def dump(*args):
    return ours("thin_dump", *args)


def human_text(pool, skip_mappings=False, nr_data_blocks=None):
    """The human_readable text 0.9.0 prints for `pool`."""
    nr = pool.nr_data_blocks if nr_data_blocks is None else nr_data_blocks
    lines = [f'begin superblock: "", {pool.time}, {pool.transaction}, {pool.flags}, {pool.version}, '
             f'{pool.data_block_size}, {nr}']
    for dev in sorted(pool.devices, key=lambda d: d.dev_id):
        lines += [f"device: {dev.dev_id}", f"mapped_blocks: {len(dev.mappings)}",
                  f"transaction: {dev.transaction}", f"creation time: {dev.creation_time}",
                  f"snap time: {dev.snap_time}"]
        if not skip_mappings:
            for v, d, n, t in thin_xml.runs(dev.mappings):
                if n == 1:
                    lines.append(f"    {v} -> {d}, {t}")
                else:
                    lines.append(f"    ({v}..{v + n - 1}) -> ({d}..{d + n - 1}), {t}")
        lines.append("")
    lines.append("end superblock")
    return "\n".join(lines) + "\n"


def only_devices(pool, ids):
    return thin_xml.Pool(time=pool.time, transaction=pool.transaction, flags=pool.flags, version=pool.version,
                         data_block_size=pool.data_block_size, nr_data_blocks=pool.nr_data_blocks,
                         devices=[d for d in pool.devices if d.dev_id in ids])


class DumpTestCase(TempDirTestCase):
    def make_image(self, pool, name="meta.bin"):
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(pool))
        return restore_with_reference(xml, self.path(name))

    def assertFails(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stdout, "", result)
        for f in fragments:
            self.assertIn(f, result.stderr, result)

    def assertOutput(self, result, expected):
        self.assertEqual((result.returncode, result.stderr), (0, ""), result)
        self.assertEqual(result.stdout, expected)


class Formats(DumpTestCase):
    def test_every_sample_pool_dumps_to_its_xml(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                image = self.make_image(pool, name + ".bin")
                self.assertOutput(dump(image), thin_xml.to_xml(pool))

    def test_every_sample_pool_dumps_to_its_human_readable_text(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                image = self.make_image(pool, name + ".bin")
                self.assertOutput(dump("-f", "human_readable", image), human_text(pool))
                self.assertOutput(dump("--format=human_readable", image), human_text(pool))

    def test_format_xml_is_the_default(self):
        pool = thin_xml.sample_pools()["many_devices"]
        image = self.make_image(pool)
        self.assertOutput(dump("--format", "xml", image), thin_xml.to_xml(pool))

    def test_unknown_and_custom_formats_are_refused(self):
        image = self.make_image(thin_xml.sample_pools()["empty"])
        for fmt in ["json", "custom"]:
            with self.subTest(format=fmt):
                self.assertFails(dump("-f", fmt, image), f"unknown dump format '{fmt}'",
                                 "xml and human_readable")


class Selection(DumpTestCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["many_devices"]
        self.image = self.make_image(self.pool)

    def test_skip_mappings(self):
        self.assertOutput(dump("--skip-mappings", self.image), thin_xml.to_xml(self.pool, skip_mappings=True))
        self.assertOutput(dump("--skip-mappings", "-f", "human_readable", self.image),
                          human_text(self.pool, skip_mappings=True))

    def test_one_device(self):
        self.assertOutput(dump("--dev-id", "9", self.image), thin_xml.to_xml(only_devices(self.pool, {9})))

    def test_devices_come_once_each_in_id_order(self):
        r = dump("--dev-id", "30", "--dev-id", "3", "--dev-id=30", "-f", "human_readable", self.image)
        self.assertOutput(r, human_text(only_devices(self.pool, {3, 30})))

    def test_dev_id_with_skip_mappings(self):
        r = dump("--dev-id", "0", "--skip-mappings", self.image)
        self.assertOutput(r, thin_xml.to_xml(only_devices(self.pool, {0}), skip_mappings=True))

    def test_missing_device_is_an_error(self):
        # 0.9.0 prints an empty pool and exits 0; we refuse.
        self.assertFails(dump("--dev-id", "3", "--dev-id", "4", self.image),
                         str(self.image), "there is no device 4 in the metadata (it holds 60 devices)")

    def test_dev_id_must_be_a_number(self):
        for bad in ["x", "-1", "1.5", "2x"]:
            with self.subTest(dev_id=bad):
                self.assertFails(dump(f"--dev-id={bad}", self.image), "--dev-id", "not a non-negative whole number")


class OutputFile(DumpTestCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        self.image = self.make_image(self.pool)

    def test_o_writes_the_file_and_nothing_to_stdout(self):
        out = self.path("dump.xml")
        self.assertOutput(dump("-o", out, self.image), "")
        self.assertEqual(out.read_text(), thin_xml.to_xml(self.pool))

    def test_o_replaces_an_existing_file(self):
        out = self.path("dump.txt")
        out.write_text("x" * 10_000_000)
        self.assertOutput(dump("-f", "human_readable", "--output", out, self.image), "")
        self.assertEqual(out.read_text(), human_text(self.pool))

    def test_o_is_left_alone_when_the_input_is_bad(self):
        out = self.path("dump.xml")
        out.write_text("keep me")
        self.assertFails(dump("-o", out, self.path("missing.bin")), "No such file or directory")
        self.assertFails(dump("-o", out, "--dev-id", "77", self.image), "there is no device 77")
        self.assertEqual(out.read_text(), "keep me")

    def test_o_in_a_missing_directory(self):
        bad = self.path("no/such/dir.xml")
        self.assertFails(dump("-o", bad, self.image), str(bad), "No such file or directory")

    def test_o_on_a_full_disk(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("/dev/full is absent")
        self.assertFails(dump("-o", "/dev/full", self.image), "cannot write /dev/full: No space left on device")


class MetadataSnapshot(DumpTestCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        self.image = self.make_image(self.pool)

    def plant(self):
        """Takes a metadata snapshot, then changes the live superblock's time
        and transaction so the two can be told apart."""
        with Image(self.image) as img:
            where = img.plant_metadata_snapshot()
            img.patch_superblock(44, "<I", 77)
            img.patch_superblock(48, "<Q", 88)
        return where

    def snapshot_xml(self):
        snap = only_devices(self.pool, {d.dev_id for d in self.pool.devices})
        snap.nr_data_blocks = 0
        return thin_xml.to_xml(snap)

    def test_m_reads_the_held_snapshot(self):
        self.plant()
        self.assertOutput(dump("-m", self.image), self.snapshot_xml())
        self.assertOutput(dump("--metadata-snap", self.image), self.snapshot_xml())
        self.assertOutput(dump(self.image, "-m", "-f", "human_readable"),
                          human_text(self.pool, nr_data_blocks=0))
        live = dump(self.image)
        self.assertIn('time="77" transaction="88"', live.stdout.splitlines()[0])

    def test_m_with_the_block(self):
        where = self.plant()
        self.assertOutput(dump(f"-m{where}", self.image), self.snapshot_xml())
        self.assertOutput(dump(f"--metadata-snap={where}", self.image), self.snapshot_xml())

    def test_m_with_a_block_that_is_no_superblock(self):
        self.plant()
        self.assertFails(dump("-m1", self.image), str(self.image), "superblock at block 1")
        self.assertFails(dump("-m999999999", self.image), "superblock location 999999999 is past the end")

    def test_m_without_a_snapshot(self):
        self.assertFails(dump("-m", self.image), str(self.image), "there is no metadata snapshot")
        self.assertFails(dump("-m0", self.image), "there is no metadata snapshot")

    def test_m_block_must_be_a_number(self):
        self.assertFails(dump("-mx", self.image), "--metadata-snap", "not a non-negative whole number")


class BadInput(DumpTestCase):
    def test_missing_file(self):
        p = self.path("missing.bin")
        self.assertFails(dump(p), f"thin_dump: {p}: No such file or directory")

    def test_directory(self):
        self.assertFails(dump(self.tmp), f"{self.tmp}: is a directory")

    def test_file_smaller_than_a_block(self):
        p = self.path("small.bin")
        p.write_bytes(b"\1" * 4095)
        self.assertFails(dump(p), str(p), "too small to hold metadata (4095 bytes")

    def test_xml_file(self):
        p = self.path("pool.xml")
        p.write_text(thin_xml.to_xml(thin_xml.sample_pools()["single_mappings"]))
        self.assertFails(dump(p), str(p), "superblock at block 0: bad checksum", "looks like an XML dump")

    def test_zeroed_metadata(self):
        p = self.zero_file("zero.bin", 4 << 20)
        self.assertFails(dump(p), str(p), "superblock at block 0: bad checksum", "all zeros")

    def test_no_input_and_two_inputs(self):
        self.assertFails(dump(), "no input given")
        self.assertFails(dump("a.bin", "b.bin"), "unexpected argument 'b.bin'")

    def test_unknown_option(self):
        self.assertFails(dump("--frobnicate", "a.bin"), "--frobnicate")


class TreeDamage(DumpTestCase):
    """Damage in a mapping tree: exit 1 with a message naming the file, the
    device and the block, after whatever was printed before it."""

    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        self.image = self.make_image(self.pool)
        self.img = Image(self.image)
        self.addCleanup(self.img.close)
        self.roots = self.img.device_roots()

    def assertDamage(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result)
        for f in (str(self.image),) + fragments:
            self.assertIn(f, result.stderr, result)
        # Devices before the damaged one were printed in full.
        self.assertTrue(result.stdout.startswith('<superblock uuid="" time="5"'), result)

    def internal_root(self, dev):
        root = self.img.node(self.roots[dev])
        self.assertFalse(root.is_leaf)
        return root

    def test_bad_checksum_in_a_leaf(self):
        leaf = self.internal_root(2).value64(1)
        data = self.img.read(leaf)
        data[200] ^= 0xFF
        self.img.write(leaf, data)
        self.assertDamage(dump(self.image), "mapping tree of device 2", f"block {leaf}", "bad checksum")

    def test_cycle(self):
        root = self.internal_root(3)
        root.set_value64(1, self.roots[3])
        self.img.write_node(self.roots[3], root)
        self.assertDamage(dump(self.image), "mapping tree of device 3", "cycle")

    def test_child_past_the_end_of_the_device(self):
        root = self.internal_root(4)
        root.set_value64(0, 1_000_000_000)
        self.img.write_node(self.roots[4], root)
        self.assertDamage(dump(self.image), "mapping tree of device 4",
                          "block 1000000000 is past the end of the metadata (4096 blocks)")

    def test_truncated_image(self):
        self.img.close()
        with open(self.image, "r+b") as f:
            f.truncate(64 * 4096)
        r = dump(self.image)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(f"{self.image}: ", r.stderr)
        self.assertIn("past the end of the metadata (64 blocks)", r.stderr)
        self.assertIn("covers 4096 blocks but the file holds only 64: is the image truncated?", r.stderr)

    def test_damage_in_an_unselected_device_is_not_read(self):
        leaf = self.internal_root(2).value64(1)
        data = self.img.read(leaf)
        data[200] ^= 0xFF
        self.img.write(leaf, data)
        self.assertOutput(dump("--dev-id", "1", self.image), thin_xml.to_xml(only_devices(self.pool, {1})))
        self.assertEqual(dump("--skip-mappings", self.image).returncode, 0)

    def test_mapping_tree_without_details(self):
        sb = self.img.superblock()
        leaf = self.img.node(sb["details_root"])
        self.assertTrue(leaf.is_leaf)
        leaf.set_key(0, 9)  # device 0's details now say device 9
        # Keep the keys ascending: 9 sorts after 1..5, so move it last.
        entries = [(leaf.key(i), leaf.value(i)) for i in range(leaf.nr_entries)]
        entries.sort()
        for i, (k, v) in enumerate(entries):
            leaf.set_key(i, k)
            leaf.set_value(i, v)
        self.img.write_node(sb["details_root"], leaf)
        self.assertFails(dump(self.image), str(self.image), "mappings present for device 0")


class ClosedOutput(DumpTestCase):
    def big_image(self):
        # 40000 lone mappings: about 2.6 MB of XML, more than every buffer
        # between the dump and its reader.
        pool = thin_xml.Pool(nr_data_blocks=100_000, devices=[
            thin_xml.Device(1, mappings=[(2 * i, 2 * i, 0) for i in range(40_000)])])
        return self.make_image(pool, "big.bin")

    def test_head_ends_the_dump_quietly(self):
        image = self.big_image()
        for fmt in ["xml", "human_readable"]:
            with self.subTest(format=fmt):
                p = subprocess.run(["bash", "-c", 'set -o pipefail; "$0" -f "$1" "$2" | head -1',
                                    str(tool("thin_dump")), fmt, str(image)],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual((p.returncode, p.stderr), (0, ""), p)
                self.assertEqual(len(p.stdout.splitlines()), 1)

    def test_reader_gone_midway_is_status_0(self):
        image = self.big_image()
        with subprocess.Popen([str(tool("thin_dump")), str(image)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as p:
            first = p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read()
            rc = p.wait(timeout=60)
        self.assertTrue(first.startswith(b"<superblock"))
        self.assertEqual((rc, err), (0, b""))


class Usage(DumpTestCase):
    def test_help(self):
        r = dump("-h")
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(r.stdout.startswith("Usage: thin_dump [options] {device|file}\n"), r)
        for option in ["--format", "--output", "--metadata-snap", "--dev-id", "--skip-mappings", "--version"]:
            self.assertIn(option, r.stdout)

    def test_version(self):
        r = dump("-V")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"^\d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    unittest.main()
