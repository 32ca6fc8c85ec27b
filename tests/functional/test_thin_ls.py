"""thin_ls run as a user would: every column holds exactly what the pool's
mappings say (exclusive = no other mapping anywhere uses the data block),
laid out as 0.9.0 lays it out, for pools whose snapshots share subtrees
too; -m lists the metadata snapshot's devices; --no-headers drops the
header row; bad field lists and missing snapshots fail with exit status 1."""

import unittest
from collections import Counter

import thin_cow
import thin_xml
from metadata_image import Image
from thinmeta_test import PoolImageTestCase, evict_from_page_cache, ours

ALL_0_9_0 = ("DEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS,SHARED_BLOCKS,MAPPED_SECTORS,EXCLUSIVE_SECTORS,SHARED_SECTORS,"
             "MAPPED_BYTES,EXCLUSIVE_BYTES,SHARED_BYTES,MAPPED,EXCLUSIVE,SHARED,TRANSACTION,CREATE_TIME,SNAP_TIME")
HIGHEST = "DEV,HIGHEST_MAPPED_BLOCK,HIGHEST_BLOCK,HIGHEST_SECTOR,HIGHEST_BYTE,HIGHEST_MAPPED"


def ls(*args):
    return ours("thin_ls", *args)


def human(n):
    """0.9.0's units: whole units down to at most 1Mi, then one more unit
    rounded when more than 8Ki remain."""
    units = ["", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    i = 0
    while n > 1024 * 1024:
        n //= 1024
        i += 1
    if n > 8 * 1024:
        n = n // 1024 + (n % 1024 >= 512)
        i += 1
    return f"{n}{units[i]}"


def cell(field, dev, maps, exclusive, bs):
    mapped = len(maps)
    ex = exclusive
    sh = mapped - ex
    hi = max(maps) if maps else 0
    return {
        "DEV": dev.dev_id, "TRANSACTION": dev.transaction, "CREATE_TIME": dev.creation_time,
        "SNAP_TIME": dev.snap_time,
        "MAPPED_BLOCKS": mapped, "EXCLUSIVE_BLOCKS": ex, "SHARED_BLOCKS": sh,
        "MAPPED_SECTORS": mapped * bs, "EXCLUSIVE_SECTORS": ex * bs, "SHARED_SECTORS": sh * bs,
        "MAPPED_BYTES": mapped * bs * 512, "EXCLUSIVE_BYTES": ex * bs * 512, "SHARED_BYTES": sh * bs * 512,
        "MAPPED": human(mapped * bs * 512), "EXCLUSIVE": human(ex * bs * 512), "SHARED": human(sh * bs * 512),
        "HIGHEST_MAPPED_BLOCK": hi, "HIGHEST_BLOCK": hi, "HIGHEST_SECTOR": (hi + 1) * bs - 1,
        "HIGHEST_BYTE": (hi + 1) * bs * 512 - 1, "HIGHEST_MAPPED": human((hi + 1) * bs * 512 - 1),
    }[field]


def expected_ls(pool, model, fields, headers=True):
    """model: {dev_id: {vblock: data}} for every device of the pool."""
    refs = Counter(d for maps in model.values() for d in maps.values())
    names = fields.split(",")
    rows = [names] if headers else []
    for dev in sorted(pool.devices, key=lambda d: d.dev_id):
        maps = model[dev.dev_id]
        exclusive = sum(1 for d in maps.values() if refs[d] == 1)
        rows.append([str(cell(f, dev, maps, exclusive, pool.data_block_size)) for f in names])
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(len(names))]
    return "".join("".join(c.rjust(w) + " " for c, w in zip(r, widths)) + "\n" for r in rows)


class LsTestCase(PoolImageTestCase):

    def assertLs(self, args, expected):
        """thin_ls with the image (the last argument) in the page cache: it
        reads the leaves in the order of their parents."""
        with open(args[-1], "rb") as f:
            while f.read(1 << 20):
                pass
        self.assertLsAsItIs(args, expected)

    def assertLsFromDisk(self, args, expected):
        """thin_ls with the image out of the page cache: it reads the
        leaves in block order."""
        if not evict_from_page_cache(args[-1]):
            self.skipTest(f"{args[-1]} stays in the page cache here: reading from the disk not tried")
        self.assertLsAsItIs(args, expected)

    def assertLsAsItIs(self, args, expected):
        r = ls(*args)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertEqual(r.stdout, expected)



class LsOfRestoredPools(LsTestCase):
    def test_sample_pools_every_column(self):
        for name, pool in thin_xml.sample_pools().items():
            image = self.make_image(pool, name + ".bin")
            model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
            for fields in (ALL_0_9_0, HIGHEST):
                with self.subTest(pool=name, fields=fields):
                    self.assertLs(["-o", fields, image], expected_ls(pool, model, fields))
                    self.assertLsFromDisk(["-o", fields, image], expected_ls(pool, model, fields))
            with self.subTest(pool=name, fields="default"):
                self.assertLs([image], expected_ls(pool, model, "DEV,MAPPED,CREATE_TIME,SNAP_TIME"))
                self.assertLs(["--no-headers", image],
                              expected_ls(pool, model, "DEV,MAPPED,CREATE_TIME,SNAP_TIME", headers=False))

    def test_a_block_mapped_twice_is_shared(self):
        # Device 1 maps data block 7 twice, device 2 maps 8 once and 9, which
        # device 3 maps too.
        pool = thin_xml.Pool(nr_data_blocks=100, devices=[
            thin_xml.Device(1, mappings=[(0, 7, 0), (5, 7, 0), (6, 20, 0)]),
            thin_xml.Device(2, mappings=[(0, 8, 0), (1, 9, 0)]),
            thin_xml.Device(3, mappings=[(4, 9, 0)])])
        image = self.make_image(pool)
        self.assertLs(["-o", "DEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS,SHARED_BLOCKS,HIGHEST_MAPPED_BLOCK", image],
                      "DEV MAPPED_BLOCKS EXCLUSIVE_BLOCKS SHARED_BLOCKS HIGHEST_MAPPED_BLOCK \n"
                      "  1             3                1             2                    6 \n"
                      "  2             2                1             1                    1 \n"
                      "  3             1                0             1                    4 \n")

    def test_field_lists(self):
        pool = thin_xml.sample_pools()["many_devices"]
        image = self.make_image(pool)
        model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
        # A trailing comma ends the list, as in 0.9.0; fields may repeat.
        self.assertLs(["-o", "SNAP_TIME,DEV,DEV,", image], expected_ls(pool, model, "SNAP_TIME,DEV,DEV"))
        # An empty list prints nothing at all, as 0.9.0 does.
        self.assertLs(["-o", "", image], "")
        self.assertFails(ls("-o", "DEV,,MAPPED", image), "unknown field ''")
        self.assertFails(ls("-o", "DEV,mapped", image), "unknown field 'mapped'")
        self.assertFails(ls("--format=BLOCKS", image), "unknown field 'BLOCKS'")

    def test_more_devices_than_16_bits_tell_apart(self):
        # Beyond 65,536 devices the exclusive blocks are asked about with
        # wider questions; each device's one block is its own.
        n = (1 << 16) + 2
        pool = thin_xml.Pool(nr_data_blocks=n, devices=[thin_xml.Device(i, mappings=[(0, i, 0)]) for i in range(n)])
        image = self.make_image(pool, size=320 << 20)
        model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
        fields = "DEV,EXCLUSIVE_BLOCKS"
        self.assertLs(["-o", fields, image], expected_ls(pool, model, fields))
        self.assertLsFromDisk(["-o", fields, image], expected_ls(pool, model, fields))


class LsOfSharedTrees(LsTestCase):
    def test_snapshots_sharing_subtrees(self):
        maps = [(v, v, 0) for v in range(30000)]
        pool = thin_xml.Pool(time=1, nr_data_blocks=200000, devices=[
            thin_xml.Device(1, mappings=maps), thin_xml.Device(2), thin_xml.Device(3), thin_xml.Device(4)])
        image = self.make_image(pool, size=64 << 20)
        model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
        img = thin_cow.Image(image)
        img.snapshot(1, 2)
        img.snapshot(1, 3)
        model[2] = dict(model[1])
        model[3] = dict(model[1])
        nxt = 100000
        for dev, vs in ((1, range(0, 500)), (2, range(10000, 10050)), (3, range(0, 20)), (1, range(29990, 30000))):
            for v in vs:
                img.overwrite(dev, v, nxt)
                model[dev][v] = nxt
                nxt += 1
        held = img.reserve_metadata_snap()
        then = {k: dict(m) for k, m in model.items()}
        for v in range(20000, 20100):
            img.overwrite(2, v, nxt)
            model[2][v] = nxt
            nxt += 1
        img.remove(3, 15000)
        del model[3][15000]
        img.close()
        # Details the test pool model does not track: creation and snap times.
        live = thin_xml.Pool(time=1, nr_data_blocks=200000, devices=[
            thin_xml.Device(1, snap_time=1), thin_xml.Device(2, creation_time=1, snap_time=1),
            thin_xml.Device(3, creation_time=1, snap_time=1), thin_xml.Device(4)])
        for fields in (ALL_0_9_0, HIGHEST):
            with self.subTest(fields=fields):
                self.assertLs(["-o", fields, image], expected_ls(live, model, fields))
                self.assertLsFromDisk(["-o", fields, image], expected_ls(live, model, fields))
                for m in ("-m", f"-m{held}", f"--metadata-snap={held}"):
                    self.assertLs([m, "-o", fields, image], expected_ls(live, then, fields))
        for fields in (ALL_0_9_0, HIGHEST):
            with self.subTest(fields=fields, read="from the disk"):
                self.assertLsFromDisk(["-o", fields, image], expected_ls(live, model, fields))
                self.assertLsFromDisk(["-m", "-o", fields, image], expected_ls(live, then, fields))

    def test_trees_of_several_levels(self):
        # Over 252 leaves: roots of height 2, whose counts are summed from
        # the nodes below, and whose highest mapping is found through them.
        maps = [(v, v, 0) for v in range(80000)]
        pool = thin_xml.Pool(time=1, nr_data_blocks=200000, devices=[
            thin_xml.Device(1, mappings=maps), thin_xml.Device(2)])
        image = self.make_image(pool, size=64 << 20)
        model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
        img = thin_cow.Image(image)
        img.snapshot(1, 2)
        model[2] = dict(model[1])
        for v in range(60001, 80000, 2):
            img.remove(2, v)
            del model[2][v]
        for v in range(100, 300):
            img.overwrite(1, v, 100000 + v)
            model[1][v] = 100000 + v
        img.close()
        live = thin_xml.Pool(time=1, nr_data_blocks=200000, devices=[
            thin_xml.Device(1, snap_time=1), thin_xml.Device(2, creation_time=1, snap_time=1)])
        with Image(image) as img:
            top = img.node(img.superblock()["mapping_root"])
            for i in range(top.nr_entries):
                self.assertFalse(img.node(img.node(top.value64(i)).value64(0)).is_leaf)
        for fields in (ALL_0_9_0, HIGHEST):
            with self.subTest(fields=fields):
                self.assertLs(["-o", fields, image], expected_ls(live, model, fields))
                self.assertLsFromDisk(["-o", fields, image], expected_ls(live, model, fields))


class LsErrors(LsTestCase):
    def test_no_metadata_snapshot(self):
        image = self.make_image(thin_xml.sample_pools()["single_mappings"])
        self.assertFails(ls("-m", image), "there is no metadata snapshot")

    def test_not_metadata(self):
        self.assertFails(ls(self.zero_file("blank.bin", 1 << 20)), "superblock", "all zeros")
        self.assertFails(ls(self.path("missing.bin")), "missing.bin")

    def test_damaged_leaf(self):
        pool = thin_xml.sample_pools()["snapshots"]
        image = self.make_image(pool)
        with Image(image) as img:
            top = img.node(img.superblock()["mapping_root"])
            root = {top.key(i): top.value64(i) for i in range(top.nr_entries)}[4]
            leaf = img.leaves(root)[-1]
            data = img.read(leaf)
            data[100] ^= 1
            img.write(leaf, data)
        self.assertFails(ls("-o", "DEV,EXCLUSIVE_BLOCKS", image), f"block {leaf}", "bad checksum")
        # Columns that need no mappings do not read them.
        r = ls("-o", "DEV,MAPPED_BLOCKS", image)
        self.assertEqual(r.returncode, 0, r)

    def test_leaf_keys_outside_their_parent_bounds(self):
        # A sound leaf (checksum and order right) holding a key its parent
        # sends elsewhere: the tree is damaged, and thin_ls says where.
        pool = thin_xml.Pool(time=1, nr_data_blocks=10000, devices=[
            thin_xml.Device(1, mappings=[(v, v, 0) for v in range(2000)])])
        image = self.make_image(pool)
        with Image(image) as img:
            top = img.node(img.superblock()["mapping_root"])
            root = {top.key(i): top.value64(i) for i in range(top.nr_entries)}[1]
            parent = img.node(root)
            self.assertGreater(parent.nr_entries, 2)
            leaf_block = parent.value64(1)
            leaf = img.node(leaf_block)
            lowest = parent.key(1)
            leaf.set_key(0, lowest - 1)
            img.write_node(leaf_block, leaf)
        self.assertFails(ls("-o", "DEV,EXCLUSIVE_BLOCKS", image), "device 1", f"block {leaf_block}",
                         f"first key {lowest - 1} is below the parent's key {lowest}")


if __name__ == "__main__":
    unittest.main()
