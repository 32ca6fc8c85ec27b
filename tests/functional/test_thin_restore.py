"""thin_restore run as a user would: pools of every shape come back from our
thin_dump exactly as given (the 1.x def/ref form as its flat equivalent, with
the defs' leaves shared), the metadata written is exact (reference counts,
allocation counters, hints), bad XML of each kind gets its message with line
and column, exit status 1 and a zeroed superblock, and unusable outputs are
refused."""

import os
import re
import struct
import unittest

from metadata_image import ENTRIES_PER_BITMAP, Image
from thinmeta_test import SOURCE, TempDirTestCase, ours, run, tool
import restore_xml
import thin_xml

MiB = 1 << 20
BLOCK = 4096


def restore(*args):
    return ours("thin_restore", *args)


class RestoreCase(TempDirTestCase):
    def write_xml(self, text, name="in.xml"):
        p = self.path(name)
        p.write_text(text)
        return p

    def restored(self, text, size=64 * MiB, name="meta.bin", *extra):
        xml = self.write_xml(text, name + ".xml")
        image = self.zero_file(name, size)
        r = restore("-i", xml, "-o", image, *extra)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        return image

    def assertDumps(self, image, expected_xml):
        r = ours("thin_dump", image)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertEqual(r.stdout, expected_xml)
        r = ours("thin_check", "-q", image)
        self.assertEqual(r.returncode, 0, ours("thin_check", image))

    def assertFails(self, result, message):
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stdout, "", result)
        self.assertEqual(result.stderr, f"thin_restore: {message}\n")

    def assertZeroSuperblock(self, image):
        with open(image, "rb") as f:
            self.assertEqual(f.read(BLOCK), bytes(BLOCK))


class RoundTrip(RestoreCase):
    def test_sample_pools(self):
        for name, pool in thin_xml.sample_pools().items():
            with self.subTest(pool=name):
                text = thin_xml.to_xml(pool)
                self.assertDumps(self.restored(text, name=name), text)

    def test_pools_of_every_shape(self):
        for name, pool in restore_xml.round_trip_pools().items():
            with self.subTest(pool=name):
                text = thin_xml.to_xml(pool)
                self.assertDumps(self.restored(text, size=128 * MiB, name=name), text)

    def test_def_ref_form_restores_as_its_flat_form(self):
        pools = dict(restore_xml.edge_pools())
        pools["shared"] = restore_xml.shared_pool(seed=3)
        pools["shared_many"] = restore_xml.shared_pool(seed=4, nr_snapshots=12, nr_segments=60, keep=0.8)
        for name, sp in pools.items():
            with self.subTest(pool=name):
                image = self.restored(restore_xml.to_xml_with_defs(sp), name=name)
                self.assertDumps(image, thin_xml.to_xml(sp.pool))

    def test_restoring_twice_gives_the_same_bytes(self):
        text = thin_xml.to_xml(thin_xml.sample_pools()["snapshots"])
        a = self.restored(text, name="a.bin")
        b = self.restored(text, name="b.bin")
        self.assertEqual(a.read_bytes(), b.read_bytes())


def overflow_counts(img, root):
    return {k: struct.unpack("<I", v)[0] for k, v in img.entries(root)}


class ExactMetadata(RestoreCase):
    """What thin_dump cannot show: the superblock, counters and hints."""

    def check_space_map(self, img, root, bitmaps, count_of, nr_blocks):
        nr_allocated = 0
        for i, bitmap in enumerate(bitmaps):
            first = i * ENTRIES_PER_BITMAP
            n = min(ENTRIES_PER_BITMAP, nr_blocks - first)
            data = img.read(bitmap[0])
            free = [e for e in range(n) if count_of(first + e) == 0]
            for e in range(n):
                byte, s = 16 + e // 4, 2 * (e % 4)
                got = ((data[byte] >> s) & 1) << 1 | ((data[byte] >> (s + 1)) & 1)
                self.assertEqual(got, min(count_of(first + e), 3), f"block {first + e}")
            self.assertEqual(bitmap[1:], (len(free), free[0] if free else n), f"index entry {i}")
            nr_allocated += n - len(free)
        self.assertEqual(root[1], nr_allocated)

    def test_superblock_and_space_maps_are_exact(self):
        pool = thin_xml.sample_pools()["snapshots"]
        size = 20000 * BLOCK  # two metadata bitmaps
        image = self.restored(thin_xml.to_xml(pool), size=size)
        with Image(image) as img:
            sb = img.superblock()
            raw = img.read(0)
            self.assertEqual((sb["magic"], sb["version"], sb["blocknr"], sb["flags"]), (27022010, 2, 0, 0))
            self.assertEqual((sb["time"], sb["trans_id"], sb["held_root"]), (pool.time, pool.transaction, 0))
            md_nr_blocks, = struct.unpack_from("<Q", raw, 344)
            self.assertEqual(md_nr_blocks, 20000)
            self.assertEqual(sb["metadata_sm"][0], 20000)
            self.assertEqual(struct.unpack_from("<I", raw, 340)[0], 8)
            self.assertEqual(raw[364:], bytes(BLOCK - 364))

            # Data: a block's count is the number of leaves mapping it.
            data_counts = {}
            for root in img.device_roots().values():
                for leaf in img.leaves(root):
                    node = img.node(leaf)
                    for i in range(node.nr_entries):
                        b = node.value64(i) >> 24
                        data_counts[b] = data_counts.get(b, 0) + 1
            self.assertEqual(sb["data_sm"][0], pool.nr_data_blocks)
            data_index = [(struct.unpack_from("<QII", v)) for _, v in img.entries(sb["data_sm"][2])]
            overflow = overflow_counts(img, sb["data_sm"][3])
            self.assertEqual(overflow, {b: c for b, c in data_counts.items() if c >= 3})
            self.check_space_map(img, sb["data_sm"], data_index, lambda b: data_counts.get(b, 0),
                                 pool.nr_data_blocks)

            # Metadata: every block used is counted once (nothing is shared
            # in the flat form), the superblock, index and bitmaps included.
            index = img.read(sb["metadata_sm"][2])
            md_index = [struct.unpack_from("<QII", index, 16 + 16 * i) for i in range(2)]
            self.assertEqual(index[48:], bytes(BLOCK - 48))
            used = sb["metadata_sm"][1]
            self.assertEqual(overflow_counts(img, sb["metadata_sm"][3]), {})
            self.check_space_map(img, sb["metadata_sm"], md_index, lambda b: 1 if b < used else 0, 20000)

    def test_shared_leaves_are_counted_per_reference(self):
        sp = restore_xml.shared_pool(seed=5, nr_snapshots=6, nr_segments=40, keep=0.7)
        image = self.restored(restore_xml.to_xml_with_defs(sp))
        with Image(image) as img:
            sb = img.superblock()
            holders = {}
            per_device = 0
            for dev, root in img.device_roots().items():
                leaves = img.leaves(root)
                per_device += len(leaves)
                for leaf in leaves:
                    holders.setdefault(leaf, set()).add(dev)
            self.assertLess(len(holders), per_device * 0.6, "the defs' leaves are not shared")
            md_overflow = overflow_counts(img, sb["metadata_sm"][3])
            for leaf, devs in holders.items():
                got = img.metadata_count(leaf)
                if got == 3:
                    got = md_overflow[leaf]
                self.assertEqual(got, len(devs), f"leaf {leaf}")
            data_counts = {}
            for leaf in holders:
                node = img.node(leaf)
                for i in range(node.nr_entries):
                    b = node.value64(i) >> 24
                    data_counts[b] = data_counts.get(b, 0) + 1
            data_overflow = overflow_counts(img, sb["data_sm"][3])
            for b, want in data_counts.items():
                got = img.data_count(b)
                self.assertEqual(data_overflow.get(b, got) if got == 3 else got, want, f"data block {b}")
        self.assertEqual(ours("thin_check", "-q", image).returncode, 0)


BASE = ('<superblock uuid="" time="1" transaction="2" flags="0" version="2" data_block_size="128" '
        'nr_data_blocks="100">\n')
DEV0 = '  <device dev_id="0" mapped_blocks="1" transaction="0" creation_time="0" snap_time="0">\n'
EMPTY0 = DEV0.replace('mapped_blocks="1"', 'mapped_blocks="0"')
DEV1 = '  <device dev_id="1" mapped_blocks="1" transaction="0" creation_time="1" snap_time="1">\n'


def single(v, d, t=0):
    return f'    <single_mapping origin_block="{v}" data_block="{d}" time="{t}"/>\n'


def doc(*body):
    return BASE + "".join(body) + "</superblock>\n"


BAD_XML = {
    "unknown element": (doc(DEV0, "    <mapping/>\n", "  </device>\n"), "3:5: unknown element <mapping>"),
    "unknown attribute": (doc(DEV0.replace("snap_time", "colour=\"red\" snap_time"), "  </device>\n"),
                          "2:3: <device> has an unknown attribute colour"),
    "missing attribute": (doc(DEV0, '    <single_mapping origin_block="1" time="0"/>\n', "  </device>\n"),
                          "3:5: <single_mapping> lacks the attribute data_block"),
    "bad number": (doc(DEV0, single(1, "0x10"), "  </device>\n"),
                   '3:5: <single_mapping> attribute data_block="0x10" is not a whole number from 0 to '
                   "18446744073709551615"),
    "negative number": (doc(DEV0.replace('dev_id="0"', 'dev_id="-1"'), "  </device>\n"),
                        '2:3: <device> attribute dev_id="-1" is not a whole number from 0 to 4294967295'),
    "out of order": (doc(DEV0, single(5, 1), single(4, 2), "  </device>\n"),
                     "4:5: device 0: the mapping of virtual block 4 follows that of virtual block 5: mappings "
                     "must come in ascending order of virtual block, each block once"),
    "mapped twice": (doc(DEV0, '    <range_mapping origin_begin="5" data_begin="1" length="3" time="0"/>\n',
                         single(7, 20), "  </device>\n"),
                     "4:5: device 0: virtual block 7 is mapped twice"),
    "range overlapping": (doc(DEV0, '    <range_mapping origin_begin="5" data_begin="1" length="3" time="0"/>\n',
                              single(6, 20), "  </device>\n"),
                          "4:5: device 0: the mapping of virtual block 6 follows that of virtual block 7: "
                          "mappings must come in ascending order of virtual block, each block once"),
    "data block past the end": (doc(DEV0, '    <range_mapping origin_begin="5" data_begin="98" length="3" '
                                          'time="0"/>\n', "  </device>\n"),
                                "3:5: device 0: data block 100 is past the end of the data device "
                                "(nr_data_blocks 100)"),
    "time beyond 24 bits": (doc(DEV0, single(7, 20, 16777216), "  </device>\n"),
                            "3:5: device 0: time 16777216 of virtual block 7 does not fit in the 24 bits a "
                            "mapping keeps"),
    "zero length": (doc(DEV0, '    <range_mapping origin_begin="5" data_begin="1" length="0" time="0"/>\n',
                        "  </device>\n"), "3:5: device 0: a mapping of length 0 at virtual block 5"),
    "unrelated devices share a block": (
        doc(DEV0, single(7, 20), "  </device>\n", DEV1, single(7, 20), "  </device>\n"),
        "6:5: device 1 maps data block 20 (time 0), which an earlier device maps as its own (that device's "
        "snap_time is not later than 0): the kernel would write to it in place. Only a device and its "
        "snapshots may share data blocks"),
    "a device that would not see sharing": (
        doc(DEV1, single(7, 20, 1), "  </device>\n", DEV0.replace('dev_id="0"', 'dev_id="2"').replace(
            'snap_time="0"', 'snap_time="5"'), single(7, 20, 1), "  </device>\n"),
        "6:5: device 2 maps data block 20 (time 1), which an earlier device maps as its own (that device's "
        "snap_time is not later than 1): the kernel would write to it in place. Only a device and its "
        "snapshots may share data blocks"),
    "this device would not see sharing": (
        doc(DEV1.replace('snap_time="1"', 'snap_time="2"'), single(7, 20, 1), "  </device>\n",
            DEV1.replace('dev_id="1"', 'dev_id="4"'), single(7, 20, 1), "  </device>\n"),
        "6:5: device 4 maps data block 20 (time 1), which is mapped elsewhere too, but its snap_time 1 is not "
        "later than 1: the kernel would not see the block as shared and would write to it in place. Only a "
        "device and its snapshots may share data blocks"),
    "same block twice in a device": (doc(DEV0, single(7, 20), single(9, 20), "  </device>\n"),
                                     "4:5: device 0 maps data block 20 (time 0), which is mapped elsewhere too, "
                                     "but its snap_time 0 is not later than 0: the kernel would not see the block "
                                     "as shared and would write to it in place. Only a device and its snapshots "
                                     "may share data blocks"),
    "device twice": (doc(EMPTY0, "  </device>\n", EMPTY0, "  </device>\n"), "4:3: device 0 appears twice"),
    "not well formed": (doc(DEV0, "  </devic>\n"), "3:5: mismatched tag"),
    "text": (doc("  hello\n"), "2:1: text is not expected here: the format holds only elements and "
                               "attributes"),
    "mapping outside a device": (doc(single(1, 1)), "2:5: <single_mapping> cannot be inside <superblock>"),
    "device inside a device": (doc(DEV0, DEV1, "  </device>\n", "  </device>\n"),
                               "3:3: <device> cannot be inside <device>"),
    "element inside a mapping": (doc(DEV0, '    <single_mapping origin_block="1" data_block="1" time="0">'
                                           '<x/></single_mapping>\n', "  </device>\n"),
                                 "3:62: <x> cannot be inside <single_mapping>"),
    "two roots": (doc() + BASE.replace(">", "/>"), "3:1: junk after document element"),
    "not the root": ('<device dev_id="0" mapped_blocks="0" transaction="0" creation_time="0" snap_time="0"/>\n',
                     "1:1: <device> must be inside <superblock>"),
    "empty file": ("", "1:1: no element found"),
    "doctype": ('<!DOCTYPE superblock [<!ENTITY a "b">]>\n' + doc(), "1:22: DOCTYPE declarations are not accepted"),
    "ref to no def": (doc(DEV0, '    <ref name="x"/>\n', "  </device>\n"),
                      '3:5: device 0: ref to "x", which no def before it defines'),
    "def twice": (doc('  <def name="a">\n  </def>\n', '  <def name="a">\n  </def>\n'),
                  '4:3: def "a" is defined twice'),
    "ref out of order": (doc('  <def name="a">\n', single(3, 3), "  </def>\n", DEV1, single(5, 5, 0),
                             '    <ref name="a"/>\n', "  </device>\n"),
                         '7:5: device 1: the mappings of "a" start at virtual block 3, not after virtual block 5: '
                         "mappings must come in ascending order of virtual block, each block once"),
    "def shared by an unrelated device": (
        doc('  <def name="a">\n', single(3, 3), "  </def>\n", DEV1, '    <ref name="a"/>\n', "  </device>\n",
            DEV0.replace('dev_id="0"', 'dev_id="2"'), '    <ref name="a"/>\n', "  </device>\n"),
        "9:5: devices 1 and 2 share leaves, but device 2 has a snap_time not later than the newest mapping in "
        "them (time 0): the kernel would write to shared blocks in place. Only a device and its snapshots may "
        "share leaves"),
    "unknown flags": (BASE.replace('flags="0"', 'flags="2"') + "</superblock>\n",
                      "1:1: unknown superblock flags 2 (only 1, needs_check, is defined)"),
    "unknown version": (BASE.replace('version="2"', 'version="3"') + "</superblock>\n",
                        "1:1: unknown metadata version 3 (1 and 2 are known; 2 is written)"),
    "uuid too long": (BASE.replace('uuid=""', 'uuid="0123456789abcdef0"') + "</superblock>\n",
                      '1:1: the uuid "0123456789abcdef0" is longer than 16 bytes'),
    "zero block size": (BASE.replace('data_block_size="128"', 'data_block_size="0"') + "</superblock>\n",
                        "1:1: the data block size is 0"),
    "too many data blocks": (BASE.replace('nr_data_blocks="100"', 'nr_data_blocks="1099511627777"') +
                             "</superblock>\n",
                             "1:1: nr_data_blocks 1099511627777 is more than a mapping can address "
                             "(1099511627776)"),
    "more data than metadata can map": (BASE.replace('nr_data_blocks="100"', 'nr_data_blocks="67917312001"') +
                                        "</superblock>\n",
                                        "1:1: nr_data_blocks 67917312001 needs 4161601 space map bitmaps, more "
                                        "blocks than the largest metadata device holds (4161600)"),
}


class BadInput(RestoreCase):
    def test_each_kind_of_bad_xml(self):
        good = thin_xml.to_xml(thin_xml.sample_pools()["single_mappings"])
        for kind, (text, message) in BAD_XML.items():
            with self.subTest(kind=kind):
                # The output held valid metadata before.
                image = self.restored(good, size=4 * MiB, name="out.bin")
                xml = self.write_xml(text, "bad.xml")
                self.assertFails(restore("-i", xml, "-o", image), f"{xml}:{message}")
                self.assertZeroSuperblock(image)
                self.assertNotEqual(ours("thin_check", "-q", image).returncode, 0)

    def test_bad_xml_is_also_invalid_for_the_schema(self):
        validate = tool("tests/xml_validate")
        schema = self.schema()
        schema_blind = {"out of order", "mapped twice", "range overlapping", "data block past the end",
                        "unrelated devices share a block", "a device that would not see sharing",
                        "this device would not see sharing", "same block twice in a device", "device twice",
                        "ref to no def", "def twice", "ref out of order", "def shared by an unrelated device",
                        "empty file", "not well formed", "two roots", "doctype", "more data than metadata can map"}
        for kind, (text, _) in BAD_XML.items():
            with self.subTest(kind=kind):
                if kind in schema_blind:
                    continue
                xml = self.write_xml(text, "bad.xml")
                r = run([validate, schema, xml])
                self.assertEqual(r.returncode, 1, r)
                self.assertEqual(r.stdout, f"{xml}: invalid\n")

    def schema(self):
        return SOURCE / "xml" / "thinmeta.rng"

    def test_missing_input(self):
        image = self.zero_file("out.bin", MiB)
        missing = self.path("none.xml")
        self.assertFails(restore("-i", missing, "-o", image), f"{missing}: no such file: the input must be an "
                                                              "existing file")

    def test_input_is_a_directory(self):
        image = self.zero_file("out.bin", MiB)
        self.assertFails(restore("-i", self.tmp, "-o", image), f"{self.tmp}: read failed: Is a directory")
        self.assertZeroSuperblock(image)


class Outputs(RestoreCase):
    def setUp(self):
        super().setUp()
        self.text = thin_xml.to_xml(thin_xml.sample_pools()["snapshots"])
        self.xml = self.write_xml(self.text)

    def test_output_must_exist(self):
        missing = self.path("none.bin")
        self.assertFails(restore("-i", self.xml, "-o", missing),
                         f"{missing}: no such file: the output must be an existing block device or a file large "
                         "enough for the metadata (thin_metadata_size estimates the size)")
        self.assertFalse(missing.exists())

    def test_output_must_not_be_the_input(self):
        self.assertFails(restore("-i", self.xml, "-o", self.xml),
                         f"{self.xml} is the input file: the output must be another file or device")
        link = self.path("link.xml")
        os.link(self.xml, link)
        self.assertFails(restore("-i", self.xml, "-o", link),
                         f"{link} is the input file: the output must be another file or device")
        self.assertEqual(self.xml.read_text(), self.text)

    def test_output_directory(self):
        self.assertFails(restore("-i", self.xml, "-o", self.tmp),
                         f"{self.tmp}: is a directory, not a metadata device or image file")

    def needed_blocks(self):
        image = self.restored(self.text, size=8 * MiB, name="big.bin")
        with Image(image) as img:
            return img.superblock()["metadata_sm"][1]

    def test_too_small_says_what_it_needs(self):
        need = self.needed_blocks()
        for have in [0, 1, 5, need - 1]:
            with self.subTest(blocks=have):
                image = self.zero_file("small.bin", have * BLOCK)
                self.assertFails(restore("-i", self.xml, "-o", image),
                                 f"{image} is too small: the metadata needs {need} blocks ({need * BLOCK} bytes, "
                                 f"{-(-need * BLOCK // MiB)} MiB) but it has {have} blocks ({have * BLOCK} bytes, "
                                 f"{-(-have * BLOCK // MiB)} MiB)")
                if have:
                    self.assertZeroSuperblock(image)
        image = self.zero_file("exact.bin", need * BLOCK)
        r = restore("-i", self.xml, "-o", image)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertDumps(image, self.text)
        with Image(image) as img:
            self.assertEqual(img.superblock()["metadata_sm"][:2], (need, need))

    def test_a_larger_output_than_metadata_can_use(self):
        image = self.zero_file("huge.bin", 4161601 * BLOCK)
        r = restore("-i", self.xml, "-o", image)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {image} holds 4161601 blocks; metadata uses at most "
                                   "4161600 (the rest is left unused)\n")
        self.assertDumps(image, self.text)
        with Image(image) as img:
            self.assertEqual(img.superblock()["metadata_sm"][0], 4161600)
            self.assertEqual(struct.unpack_from("<Q", img.read(0), 344)[0], 4161600)


class BlockDevice(RestoreCase):
    """On a loop device: written through O_DIRECT, refused while in use."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("loop devices need root")
        backing = self.zero_file("backing.bin", 16 * MiB)
        r = run(["losetup", "--find", "--show", backing])
        if r.returncode != 0:
            self.skipTest(f"no loop device: {r.stderr.strip()}")
        self.device = r.stdout.strip()
        self.addCleanup(run, ["losetup", "--detach", self.device])
        self.text = thin_xml.to_xml(thin_xml.sample_pools()["snapshots"])
        self.xml = self.write_xml(self.text)

    def test_restore_to_a_block_device(self):
        r = restore("-i", self.xml, "-o", self.device)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertDumps(self.device, self.text)

    def test_a_device_in_use_is_left_alone(self):
        self.assertEqual(restore("-i", self.xml, "-o", self.device).returncode, 0)
        fd = os.open(self.device, os.O_RDONLY | os.O_EXCL)
        try:
            self.assertFails(restore("-i", self.xml, "-o", self.device),
                             f"{self.device}: the device is in use (is the pool active?); deactivate the pool "
                             "before restoring its metadata")
        finally:
            os.close(fd)
        self.assertDumps(self.device, self.text)


class Options(RestoreCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["single_mappings"]
        self.xml = self.write_xml(thin_xml.to_xml(self.pool))
        self.image = self.zero_file("out.bin", 4 * MiB)

    def expect(self, **changes):
        pool = thin_xml.Pool(**{**self.pool.__dict__, **changes})
        return thin_xml.to_xml(pool)

    def test_overrides(self):
        for args, changes in [(["--transaction-id", "77"], {"transaction": 77}),
                              (["--data-block-size", "256"], {"data_block_size": 256}),
                              (["--nr-data-blocks", "123456"], {"nr_data_blocks": 123456})]:
            with self.subTest(args=args):
                r = restore("-i", self.xml, "-o", self.image, *args)
                self.assertEqual((r.returncode, r.stderr), (0, ""), r)
                self.assertDumps(self.image, self.expect(**changes))

    def test_long_option_names(self):
        r = restore("--input", self.xml, "--output", self.image, "--quiet")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""), r)
        self.assertDumps(self.image, thin_xml.to_xml(self.pool))

    def test_nr_data_blocks_override_is_checked(self):
        last = max(d for _, d, _ in self.pool.devices[0].mappings)
        r = restore("-i", self.xml, "-o", self.image, "--nr-data-blocks", str(last))
        self.assertEqual(r.returncode, 1, r)
        self.assertRegex(r.stderr, rf"^thin_restore: {re.escape(str(self.xml))}:\d+:5: device 1: data block {last} "
                                   rf"is past the end of the data device \(nr_data_blocks {last}\)\n$")
        self.assertZeroSuperblock(self.image)

    def test_bad_option_values(self):
        for opt in ["--transaction-id", "--data-block-size", "--nr-data-blocks"]:
            with self.subTest(option=opt):
                r = restore("-i", self.xml, "-o", self.image, opt, "x1")
                self.assertEqual(r.returncode, 1, r)
                self.assertEqual(r.stderr, f"thin_restore: option {opt}: 'x1' is not a non-negative whole number\n"
                                           "Try 'thin_restore --help' for the options.\n")
        r = restore("-i", self.xml, "-o", self.image, "--data-block-size", "4294967296")
        self.assertEqual(r.stderr, "thin_restore: option --data-block-size: 4294967296 is more than a superblock "
                                   "can hold\nTry 'thin_restore --help' for the options.\n")

    def test_input_and_output_are_required(self):
        self.assertEqual(restore("-o", self.image).stderr, "thin_restore: no input file given (-i)\n"
                                                           "Try 'thin_restore --help' for the options.\n")
        self.assertEqual(restore("-i", self.xml).stderr, "thin_restore: no output file given (-o)\n"
                                                         "Try 'thin_restore --help' for the options.\n")
        r = restore("-i", self.xml, "-o", self.image, "extra")
        self.assertEqual((r.returncode, r.stderr), (1, "thin_restore: unexpected argument 'extra'\n"
                                                       "Try 'thin_restore --help' for the options.\n"))

    def test_help_and_version(self):
        r = restore("-h")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: thin_restore -i <input xml file> -o <output device or file> "
                                            "[options]\n"), r.stdout)
        for opt in ["--input", "--output", "--transaction-id", "--data-block-size", "--nr-data-blocks",
                    "--quiet", "--help", "--version"]:
            self.assertIn(opt, r.stdout)
        r = restore("-V")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^\d+\.\d+\.\d+\n$")
        self.assertEqual(r.stdout, ours("thin_dump", "-V").stdout)


class Progress(RestoreCase):
    def run_on_terminal(self, *extra):
        """Runs a restore with stderr on a pseudo-terminal; returns what it printed there."""
        import pty
        import subprocess
        text = thin_xml.to_xml(restore_xml.round_trip_pools(big=False)["snapshots_sharing_90"])
        xml = self.write_xml(text)
        image = self.zero_file("out.bin", 64 * MiB)
        primary, secondary = pty.openpty()
        try:
            p = subprocess.run([tool("thin_restore"), "-i", xml, "-o", image, *extra], stderr=secondary,
                               stdout=subprocess.PIPE, timeout=600)
            os.close(secondary)
            secondary = None
            out = b""
            while True:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(primary)
            if secondary is not None:
                os.close(secondary)
        self.assertEqual(p.returncode, 0)
        return out.decode()

    def test_progress_on_a_terminal(self):
        shown = self.run_on_terminal()
        self.assertIn("\r\x1b[Krestoring: 100%", shown)
        self.assertTrue(shown.endswith("\r\x1b[K"), repr(shown))

    def test_no_progress_when_quiet(self):
        self.assertEqual(self.run_on_terminal("-q"), "")


class Warnings(RestoreCase):
    def run_warned(self, text, *extra):
        xml = self.write_xml(text)
        image = self.zero_file("out.bin", 4 * MiB)
        return xml, image, restore("-i", xml, "-o", image, *extra)

    def test_mapped_blocks_is_recounted(self):
        text = doc(DEV0.replace('mapped_blocks="1"', 'mapped_blocks="5"'), single(7, 20), "  </device>\n")
        xml, image, r = self.run_warned(text)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {xml}:4:3: device 0: mapped_blocks says 5 but the "
                                   "device has 1 mappings; 1 is written\n")
        self.assertDumps(image, doc(DEV0, single(7, 20), "  </device>\n"))
        xml, image, r = self.run_warned(text, "-q")
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)

    def test_ignored_and_unused_things(self):
        text = (BASE.replace('nr_data_blocks="100"', 'nr_data_blocks="100" metadata_snap="7"') +
                '  <def name="lonely">\n' + single(1, 1) + "  </def>\n</superblock>\n")
        xml, image, r = self.run_warned(text)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {xml}:1:1: metadata_snap 7 ignored: a dump does not "
                                   "hold the metadata snapshot, so none is restored\n"
                                   f"thin_restore: warning: {xml}:5:1: def \"lonely\" is never referenced\n")
        self.assertDumps(image, BASE + "</superblock>\n")
        with Image(image) as img:
            self.assertEqual(img.data_count(1), 0)

    def test_unused_defs_give_their_data_blocks_back_once(self):
        # "b" holds the leaf of "a"; nothing uses "b", and device 0 maps
        # the same data block itself, so its count must end at 1.
        dev = DEV0.replace('snap_time="0"', 'snap_time="5"')
        text = doc('  <def name="a">\n', single(1, 1), "  </def>\n", '  <def name="b">\n', '    <ref name="a"/>\n',
                   "  </def>\n", '  <def name="c">\n  </def>\n', dev, single(1, 1), "  </device>\n")
        xml, image, r = self.run_warned(text)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {xml}:13:1: def \"b\" is never referenced\n"
                                   f"thin_restore: warning: {xml}:13:1: def \"c\" is never referenced\n")
        self.assertDumps(image, doc(dev, single(1, 1), "  </device>\n"))
        with Image(image) as img:
            self.assertEqual(img.data_count(1), 1)

    def test_block_size_the_kernel_refuses(self):
        xml, image, r = self.run_warned(BASE.replace('"128"', '"100"') + "</superblock>\n")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {xml}:1:1: data block size 100 sectors: the kernel "
                                   "accepts only multiples of 128 sectors up to 2097152\n")

    def test_a_device_id_the_kernel_refuses(self):
        text = doc(EMPTY0.replace('dev_id="0"', 'dev_id="16777216"'), "  </device>\n")
        xml, image, r = self.run_warned(text)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, f"thin_restore: warning: {xml}:2:3: device 16777216: the kernel cannot "
                                   "activate ids above 16777215\n")


if __name__ == "__main__":
    unittest.main()
