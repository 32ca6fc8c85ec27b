"""thin_check run as a user would: sound metadata passes, each kind of damage
is reported in the user's terms with exit status 1, bad input gets a clear
message, and the options do what they say."""

import struct
import unittest

from metadata_image import Image, Node, SALT_NODE
from thinmeta_test import TempDirTestCase, ours, restore_with_reference, run, tool, upstream_images
import thin_xml


def check(*args):
    return ours("thin_check", *args)


# The stage thin_check shows when the data space map's counts and the
# fingerprint of the mappings' references differ, and it walks again to
# count each data block's.
RECOUNT = "counting the references to each data block"


class CheckTestCase(TempDirTestCase):
    pool_name = "snapshots"

    def make_image(self, pool_name=None, name="meta.bin"):
        pool = thin_xml.sample_pools()[pool_name or self.pool_name]
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(pool))
        return restore_with_reference(xml, self.path(name)), pool

    def restore_ranges(self, name, nr_data_blocks, length, devices, image_bytes):
        """An image restored by our thin_restore of devices that each map
        `length` blocks from virtual block 0: (dev_id, data_begin,
        creation_time) each."""
        lines = ['<superblock uuid="" time="1" transaction="1" flags="0" version="2" '
                 f'data_block_size="128" nr_data_blocks="{nr_data_blocks}">']
        for dev, data_begin, created in devices:
            lines += [f'  <device dev_id="{dev}" mapped_blocks="{length}" transaction="0" '
                      f'creation_time="{created}" snap_time="1">',
                      f'    <range_mapping origin_begin="0" data_begin="{data_begin}" length="{length}" time="0"/>',
                      '  </device>']
        lines.append('</superblock>')
        xml = self.path(name + ".xml")
        xml.write_text("\n".join(lines) + "\n")
        image = self.path(name + ".bin")
        with open(image, "wb") as f:
            f.truncate(image_bytes)
        r = ours("thin_restore", "-q", "-i", xml, "-o", image)
        self.assertEqual(r.returncode, 0, r)
        return image

    def assertFails(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result)
        for f in fragments:
            self.assertIn(f, result.stderr, result)


class SoundMetadata(CheckTestCase):
    def test_every_sample_pool_passes(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                image, _ = self.make_image(name, name + ".bin")
                r = check(image)
                self.assertEqual(r.returncode, 0, r)
                self.assertEqual(r.stdout.splitlines()[0], f"TRANSACTION_ID={pool.transaction}")
                self.assertNotIn("error", r.stderr)

    def test_quiet_prints_nothing(self):
        image, _ = self.make_image()
        r = check("-q", image)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_upstream_images_with_shared_trees_pass(self):
        images = upstream_images(self.tmp)
        for name in ["tmeta", "tmeta_with_metadata_snap", "tmeta_with_shared_internal_root",
                     "tmeta_with_shared_internals_and_leaves", "tmeta_device_id_reuse"]:
            with self.subTest(image=name):
                self.assertEqual(check("-q", images[name]).returncode, 0)

    def test_metadata_snapshot_is_checked_with_m(self):
        images = upstream_images(self.tmp)
        self.assertEqual(check("-q", "-m", images["tmeta_with_metadata_snap"]).returncode, 0)
        r = check("-m", images["tmeta"])
        self.assertFails(r, "there is no metadata snapshot")


class TreeDamage(CheckTestCase):
    def setUp(self):
        super().setUp()
        self.image, self.pool = self.make_image()
        self.img = Image(self.image)
        self.addCleanup(self.img.close)
        self.roots = self.img.device_roots()

    def second_leaf(self, dev):
        """A bottom leaf of `dev` that is not the first, with its key range."""
        root = self.img.node(self.roots[dev])
        self.assertFalse(root.is_leaf)
        return root.value64(1), root.key(1), root.key(2)

    def test_bad_checksum_names_device_block_and_virtual_blocks(self):
        leaf, begin, end = self.second_leaf(3)
        data = self.img.read(leaf)
        data[100] ^= 0xFF
        self.img.write(leaf, data)
        r = check(self.image)
        self.assertFails(r, f"mapping tree of thin device 3, block {leaf} (virtual blocks [{begin}, {end})): bad checksum",
                         f"thin device 3: the mappings of virtual blocks {begin}..{end - 1} are unreadable",
                         f"damaged metadata blocks: {leaf}", "run thin_repair")

    def test_keys_out_of_order(self):
        leaf, _, _ = self.second_leaf(2)
        n = self.img.node(leaf)
        k0, k1 = n.key(3), n.key(4)
        n.set_key(3, k1)
        n.set_key(4, k0)
        self.img.write_node(leaf, n)
        self.assertFails(check(self.image), f"block {leaf}", "keys out of order")

    def test_parent_key_above_child(self):
        root_block = self.roots[1]
        root = self.img.node(root_block)
        root.set_key(2, root.key(2) + 1)
        self.img.write_node(root_block, root)
        self.assertFails(check(self.image), "is below its parent's key")

    def test_cycle_is_named(self):
        root_block = self.roots[4]
        root = self.img.node(root_block)
        root.set_value64(1, root_block)
        self.img.write_node(root_block, root)
        self.assertFails(check(self.image), "cycle")

    def test_child_past_end_of_device(self):
        root_block = self.roots[0]
        root = self.img.node(root_block)
        root.set_value64(0, 10 ** 9)
        self.img.write_node(root_block, root)
        self.assertFails(check(self.image), "points to block 1000000000, past the end of the metadata")

    def test_child_past_32_bits(self):
        # The walk keeps 32-bit block numbers: a pointer past them must be
        # reported whole, not cut to block 5.
        root_block = self.roots[0]
        root = self.img.node(root_block)
        root.set_value64(0, 2 ** 40 + 5)
        self.img.write_node(root_block, root)
        self.assertFails(check(self.image),
                         f"mapping tree of thin device 0, block {2 ** 40 + 5} (virtual blocks",
                         f"points to block {2 ** 40 + 5}, past the end of the metadata")

    def test_root_past_32_bits(self):
        self.img.patch_superblock(320, "<Q", 2 ** 33)
        self.assertFails(check(self.image),
                         f"mapping tree (top level), block {2 ** 33} (device ids",
                         f"points to block {2 ** 33}, past the end of the metadata")

    def test_tree_deeper_than_any_b_tree(self):
        # Device 3's tree under a chain of 64 one-entry internal nodes: its
        # old root lies 64 levels down, one more than a reference can say.
        template = self.img.node(self.roots[3])
        self.assertFalse(template.is_leaf)
        chain = []
        for b in range(1, self.img.superblock()["metadata_sm"][0]):
            if len(chain) == 64:
                break
            if self.img.metadata_count(b) == 0:
                chain.append(b)
        self.assertEqual(len(chain), 64)
        for b, child in zip(chain, chain[1:] + [self.roots[3]]):
            n = Node(template.data)
            struct.pack_into("<Q", n.data, 8, b)
            n.set_nr_entries(1)
            n.set_key(0, 0)
            n.set_value64(0, child)
            self.img.write_node(b, n)
        top_block = self.img.superblock()["mapping_root"]
        top = self.img.node(top_block)
        self.assertTrue(top.is_leaf)
        index = [top.key(i) for i in range(top.nr_entries)].index(3)
        top.set_value64(index, chain[0])
        self.img.write_node(top_block, top)
        self.assertFails(check(self.image),
                         f"mapping tree of thin device 3, block {self.roots[3]} (virtual blocks [0, end)): "
                         "lies 64 levels below its tree's root, deeper than any sound b-tree (63 at most)")

    def test_device_missing_from_details(self):
        sb = self.img.superblock()
        leaf = self.img.node(sb["details_root"])
        self.assertTrue(leaf.is_leaf)
        last = leaf.key(leaf.nr_entries - 1)
        leaf.set_nr_entries(leaf.nr_entries - 1)
        self.img.write_node(sb["details_root"], leaf)
        self.assertFails(check(self.image),
                         f"thin device {last} has a mapping tree but is missing from the device details tree")

    def test_wrong_mapped_blocks(self):
        sb = self.img.superblock()
        leaf = self.img.node(sb["details_root"])
        value = bytearray(leaf.value(0))
        struct.pack_into("<Q", value, 0, 12345)
        leaf.set_value(0, value)
        self.img.write_node(sb["details_root"], leaf)
        self.assertFails(check(self.image),
                         "thin device 0: its details say 12345 mapped blocks, but its mapping tree holds 3000")

    def test_mapping_past_end_of_data_device(self):
        highest = max(d for dev in self.pool.devices for _, d, _ in dev.mappings)
        self.img.patch_superblock(64, "<Q", highest)
        self.assertFails(check(self.image), "point past the end of the data device")

    def test_skip_mappings_and_super_block_only_do_not_read_bottom_trees(self):
        leaf, _, _ = self.second_leaf(3)
        data = self.img.read(leaf)
        data[100] ^= 0xFF
        self.img.write(leaf, data)
        self.assertEqual(check("-q", "--skip-mappings", self.image).returncode, 0)
        self.assertEqual(check("-q", "--super-block-only", self.image).returncode, 0)


class ManyLeaves(CheckTestCase):
    """A pool of thousands of mapping leaves, read in many batches while the
    batch before is counted: shared data blocks count twice, and each leaf
    with mappings past the end of the data device is reported."""

    def setUp(self):
        super().setUp()
        # Device 1, a snapshot of device 0, shares its data blocks
        # 0-399,999 (each counted twice); device 2 maps 400,000-799,999.
        self.image = self.restore_ranges("many", 1_000_000, 400_000, [(0, 0, 0), (1, 0, 1), (2, 400_000, 0)],
                                         64 << 20)

    def test_counts_match(self):
        r = check("-q", self.image)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_mappings_past_end_are_reported_per_leaf(self):
        # The data device cut to 600,000 blocks: device 2's mappings from
        # virtual block 200,000 on point past its end.
        img = Image(self.image)
        img.patch_superblock(64, "<Q", 600000)
        # The leaf that holds virtual block 200,000 maps a run of data blocks
        # that crosses the end: only its entries from there on are past it.
        for leaf in img.leaves(img.device_roots()[2]):
            node = img.node(leaf)
            keys = [node.key(i) for i in range(node.nr_entries)]
            if keys[0] < 200000 <= keys[-1]:
                crossing, within, past = leaf, 200000 - keys[0], keys[-1] - 200000 + 1
        img.close()
        self.assertGreater(within, 8)  # long enough to be counted as a run
        r = check(self.image)
        self.assertFails(r, f"mapping tree of thin device 2, block {crossing}: {past} mappings (the first at "
                            "virtual block 200000) point past the end of the data device (600000 blocks)")
        past_end = [l for l in r.stderr.splitlines() if "point past the end of the data device" in l]
        self.assertEqual(len(past_end), 10)  # then counted but not shown
        self.assertTrue(all(l.startswith("  mapping tree of thin device 2, block ") for l in past_end), past_end)


class LargeDataSpaceMap(CheckTestCase):
    """A data device of 10 million blocks: 613 bitmaps, compared on both
    cores (bitmaps 256-511 on the second), and reported in block order."""

    nr_data_blocks = 10_000_000
    high = 9_990_000  # in bitmap 612, the last

    def setUp(self):
        super().setUp()
        # Devices 0 and 4 map data blocks 0-999 and 8,000,000-8,000,999
        # (bitmaps 0 and 490); devices 1-3 all map 1,000 blocks from `high`
        # (counts of 3, in the ref-count tree).
        devices = [(0, 0, 0), (1, self.high, 0), (2, self.high, 0), (3, self.high, 0), (4, 8_000_000, 0)]
        self.image = self.restore_ranges("large", self.nr_data_blocks, 1000, devices, 16 << 20)
        self.img = Image(self.image)
        self.addCleanup(self.img.close)

    def test_sound(self):
        self.assertEqual(self.img.data_count(self.high), 3)
        r = check("-q", self.image)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_sound_data_space_map_needs_no_recount(self):
        # The fingerprints of the mappings' references and of the stored
        # counts (bitmaps on both cores, and the ref-count tree's counts of
        # 3) agree: no second walk.
        r = check(self.image)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr.splitlines()[-1], "checking space map counts")
        self.assertNotIn(RECOUNT, r.stderr)

    def test_findings_of_both_cores_in_block_order(self):
        self.img.set_data_count(6_000_000, 1)    # a leak in bitmap 367
        self.img.set_data_count(10, 0)           # too low, bitmap 0
        self.img.set_data_count(self.high + 5, 2)  # too low, bitmap 612
        r = check(self.image)
        self.assertIn(RECOUNT, r.stderr)
        first = "data block 10: reference count 0 in the space map, but 1 references found"
        leak = "data block 6000000 is marked in use (count 1) but nothing refers to it"
        last = f"data block {self.high + 5}: reference count 2 in the space map, but 3 references found"
        self.assertFails(r, first, leak, last)
        self.assertLess(r.stderr.index(first), r.stderr.index(leak))
        self.assertLess(r.stderr.index(leak), r.stderr.index(last))

    def test_damaged_bitmap_compared_on_the_second_core(self):
        bitmap = self.img.data_bitmap(300)
        data = self.img.read(bitmap)
        data[50] ^= 1
        self.img.write(bitmap, data)
        self.assertFails(check(self.image), "data space map bitmap 300 (blocks 4896000..4912319",
                         f"at block {bitmap}) bad checksum")

    def test_nr_allocated_totals_both_cores(self):
        nr_allocated = self.img.superblock()["data_sm"][1]
        self.assertEqual(nr_allocated, 3000)
        self.img.patch_superblock(72, "<Q", nr_allocated + 1)
        r = check(self.image)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(f"the data space map says {nr_allocated + 1} blocks are in use, but its bitmaps count "
                      f"{nr_allocated}\n", r.stderr)


class SpaceMapDamage(CheckTestCase):
    def setUp(self):
        super().setUp()
        self.image, self.pool = self.make_image()
        self.img = Image(self.image)
        self.addCleanup(self.img.close)

    def test_metadata_leak_is_non_fatal(self):
        b = self.img.first_free_metadata_block()
        self.img.set_metadata_count(b, 1)
        r = check(self.image)
        self.assertFails(r, f"metadata block {b} is marked in use (count 1) but nothing refers to it")
        self.assertEqual(check("-q", "--ignore-non-fatal-errors", self.image).returncode, 0)

    def test_metadata_count_too_low_is_fatal(self):
        b = self.img.device_roots()[2]
        self.img.set_metadata_count(b, 0)
        r = check(self.image)
        self.assertFails(r, f"metadata block {b}: reference count 0 in the space map, but 1 references found")
        self.assertEqual(check("-q", "--ignore-non-fatal-errors", self.image).returncode, 1)

    def test_data_count_too_low_is_fatal(self):
        data_block = next(d for _, d, _ in self.pool.devices[0].mappings if self.img.data_count(d) in (1, 2))
        stored = self.img.data_count(data_block)
        self.img.set_data_count(data_block, stored - 1)
        self.assertFails(check(self.image), f"data block {data_block}: reference count {stored - 1} in the space map, "
                                            f"but {stored} references found")

    def test_data_leak(self):
        sb = self.img.superblock()
        used = {d for dev in self.pool.devices for _, d, _ in dev.mappings}
        free = next(b for b in range(sb["data_sm"][0]) if b not in used)
        self.img.set_data_count(free, 1)
        self.assertFails(check(self.image), f"data block {free} is marked in use (count 1) but nothing refers to it")

    def overflow_entry(self):
        """The first leaf of the data ref-count tree, and its first entry's
        block and count (counts of 3 or more live there)."""
        leaf = self.img.leaves(self.img.superblock()["data_sm"][3])[0]
        node = self.img.node(leaf)
        self.assertGreater(node.nr_entries, 0)
        return leaf, node.key(0), struct.unpack("<I", node.value(0))[0]

    def test_wrong_count_in_the_ref_count_tree(self):
        leaf, b, count = self.overflow_entry()
        self.assertEqual(self.img.data_count(b), 3)
        node = self.img.node(leaf)
        node.set_value(0, struct.pack("<I", count + 1))
        self.img.write_node(leaf, node)
        r = check(self.image)
        self.assertFails(r, f"data block {b}: reference count {count + 1} in the space map, but {count} references "
                            "found\n")
        self.assertEqual(r.stderr.count("references found"), 1, r.stderr)

    def test_free_block_marked_for_the_ref_count_tree(self):
        # Nothing refers to the block and the tree has no entry: the
        # references agree, but the bitmap and the tree do not.
        sb = self.img.superblock()
        used = {d for dev in self.pool.devices for _, d, _ in dev.mappings}
        free = next(b for b in range(sb["data_sm"][0]) if b not in used)
        self.img.set_data_count(free, 3)
        r = check(self.image)
        self.assertFails(r, f"data block {free}: its bitmap says the count is 3 or more, but the ref-count tree has "
                            "no entry for it")
        self.assertIn(RECOUNT, r.stderr)

    def test_bitmap_points_to_a_missing_ref_count_entry(self):
        b = next(d for _, d, _ in self.pool.devices[0].mappings if self.img.data_count(d) in (1, 2))
        self.img.set_data_count(b, 3)
        r = check(self.image)
        self.assertFails(r, f"data block {b}: its bitmap says the count is 3 or more, but the ref-count tree has no "
                            "entry for it")
        self.assertNotIn("references found", r.stderr)

    def test_ref_count_entry_its_bitmap_does_not_point_to(self):
        _, b, count = self.overflow_entry()
        self.img.set_data_count(b, 2)
        self.assertFails(check(self.image),
                         f"data block {b}: reference count 2 in the space map, but {count} references found",
                         f"the ref-count tree holds a count for block {b} but its bitmap does not refer to it")

    def test_nr_allocated_is_compared_with_the_bitmaps(self):
        # The bitmaps' blocks in use (counts of 3 or more among them) total
        # the superblock's figure; one more is reported, as a warning.
        nr_allocated = self.img.superblock()["data_sm"][1]
        self.img.patch_superblock(72, "<Q", nr_allocated + 1)
        r = check(self.image)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn(f"the data space map says {nr_allocated + 1} blocks are in use, but its bitmaps count "
                      f"{nr_allocated}\n", r.stderr)
        # The counts agree, so their fingerprints settle it without a recount.
        self.assertNotIn(RECOUNT, r.stderr)

    def test_damaged_data_bitmap(self):
        bitmap = self.img.data_bitmap(0)
        data = self.img.read(bitmap)
        data[50] ^= 1
        self.img.write(bitmap, data)
        self.assertFails(check(self.image), f"data space map bitmap 0", f"at block {bitmap}) bad checksum")


class NeedsCheckFlag(CheckTestCase):
    def test_flag_cleared_only_after_a_clean_check(self):
        image, _ = self.make_image()
        with Image(image) as img:
            img.patch_superblock(4, "<I", 1)
            r = check("--clear-needs-check-flag", image)
            self.assertEqual(r.returncode, 0, r)
            self.assertIn("cleared the needs_check flag", r.stderr)
            self.assertEqual(img.superblock()["flags"], 0)

            img.patch_superblock(4, "<I", 1)
            b = img.first_free_metadata_block()
            img.set_metadata_count(b, 1)
            r = check("--clear-needs-check-flag", image)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("the needs_check flag was left set", r.stderr)
            self.assertEqual(img.superblock()["flags"], 1)

    def test_flagged_but_sound_metadata_passes(self):
        image, _ = self.make_image()
        with Image(image) as img:
            img.patch_superblock(4, "<I", 1)
        r = check(image)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("needs_check", r.stderr)


class AutoRepair(CheckTestCase):
    def test_leaks_are_freed_and_the_flag_cleared(self):
        image, pool = self.make_image()
        with Image(image) as img:
            leaked_metadata = img.first_free_metadata_block()
            img.set_metadata_count(leaked_metadata, 1)
            used = {d for dev in pool.devices for _, d, _ in dev.mappings}
            leaked_data = next(b for b in range(img.superblock()["data_sm"][0]) if b not in used)
            img.set_data_count(leaked_data, 1)
            img.patch_superblock(4, "<I", 1)
        before = ours("thin_dump", image).stdout.replace('flags="1"', 'flags="0"', 1)

        r = check("--auto-repair", image)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("freed 1 leaked metadata blocks and 1 leaked data blocks", r.stderr)
        self.assertIn("cleared the needs_check flag", r.stderr)
        with Image(image) as img:
            self.assertEqual(img.metadata_count(leaked_metadata), 0)
            self.assertEqual(img.data_count(leaked_data), 0)
            self.assertEqual(img.superblock()["flags"], 0)
        self.assertEqual(check("-q", image).returncode, 0)
        self.assertEqual(ours("thin_dump", image).stdout, before)

    def test_worse_damage_is_left_alone(self):
        image, _ = self.make_image()
        with Image(image) as img:
            img.set_metadata_count(img.first_free_metadata_block(), 1)
            img.set_metadata_count(img.device_roots()[1], 0)
        with open(image, "rb") as f:
            before = f.read()
        r = check("--auto-repair", image)
        self.assertFails(r, "nothing was repaired")
        with open(image, "rb") as f:
            self.assertEqual(f.read(), before)


class BadInput(CheckTestCase):
    def test_missing_file(self):
        self.assertFails(check(self.path("nope")), "nope: No such file or directory")

    def test_directory(self):
        self.assertFails(check(self.tmp), "is a directory")

    def test_file_smaller_than_a_block(self):
        p = self.path("small")
        p.write_bytes(b"x" * 100)
        self.assertFails(check(p), "too small to hold metadata (100 bytes")

    def test_xml_file(self):
        p = self.path("dump.xml")
        p.write_text(thin_xml.to_xml(thin_xml.sample_pools()["long_range"]) * 20)
        self.assertFails(check(p), "bad checksum", "looks like an XML dump")

    def test_zeroed_metadata(self):
        p = self.zero_file("zero.bin", 4 << 20)
        self.assertFails(check(p), "superblock at block 0: bad checksum", "all zeros")

    def test_truncated_image(self):
        image, _ = self.make_image()
        with open(image, "r+b") as f:
            f.truncate(64 * 4096)
        self.assertFails(check(image), "the image is truncated")

    def test_bad_magic(self):
        image, _ = self.make_image()
        with Image(image) as img:
            img.patch_superblock(32, "<Q", 1234)
        self.assertFails(check(image), "bad magic number 1234")

    def test_no_input_and_unknown_option_exit_1(self):
        r = run([tool("thin_check")])
        self.assertEqual(r.returncode, 1, r)
        r = check("--frobnicate", self.path("x"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("frobnicate", r.stderr)


if __name__ == "__main__":
    unittest.main()
