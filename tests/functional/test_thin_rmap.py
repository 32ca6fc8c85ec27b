"""thin_rmap run as a user would: for data blocks in the regions asked for,
every device and virtual block mapping them, in runs of consecutive blocks,
sorted by data block, then device, then virtual block. A block that
snapshots share through a shared subtree is listed for every device (0.9.0
lists only the first device to reach the subtree: see the interop test).
Bad regions fail with exit status 1."""

import unittest

import thin_cow
import thin_xml
from rmap_model import rmap_lines
from thinmeta_test import PoolImageTestCase, ours


def rmap(*args):
    return ours("thin_rmap", *args)


def expected_rmap(model, regions):
    return "".join(line + "\n" for line in rmap_lines(model, regions))


class RmapTestCase(PoolImageTestCase):

    def assertRmap(self, image, regions, expected):
        args = []
        for b, e in regions:
            args += ["--region", f"{b}..{e}"]
        r = rmap(*args, image)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertEqual(r.stdout, expected)


class RmapOfPools(RmapTestCase):
    def test_sample_pools(self):
        for name, pool in thin_xml.sample_pools().items():
            image = self.make_image(pool, name + ".bin")
            model = {d.dev_id: {v: b for v, b, _ in d.mappings} for d in pool.devices}
            top = pool.nr_data_blocks
            for regions in ([(0, top)], [(0, 1)], [(top // 3, top // 3 + 50)], [(5, 40), (30, 90), (top - 10, top)]):
                with self.subTest(pool=name, regions=regions):
                    self.assertRmap(image, regions, expected_rmap(model, regions))

    def test_runs_break_where_blocks_stop_running(self):
        pool = thin_xml.Pool(nr_data_blocks=100, devices=[
            thin_xml.Device(1, mappings=[(0, 10, 0), (1, 11, 1), (2, 12, 0), (3, 20, 0), (5, 21, 0)]),
            thin_xml.Device(2, mappings=[(7, 10, 0), (8, 11, 0)])])
        image = self.make_image(pool)
        self.assertRmap(image, [(0, 100)], "data 10..13 -> thin(1) 0..3\n"
                                           "data 10..12 -> thin(2) 7..9\n"
                                           "data 20..21 -> thin(1) 3..4\n"
                                           "data 21..22 -> thin(1) 5..6\n")
        # A region cuts a run.
        self.assertRmap(image, [(11, 12), (20, 22)], "data 11..12 -> thin(1) 1..2\n"
                                                     "data 11..12 -> thin(2) 8..9\n"
                                                     "data 20..21 -> thin(1) 3..4\n"
                                                     "data 21..22 -> thin(1) 5..6\n")
        self.assertRmap(image, [(50, 60)], "")

    def test_shared_subtrees_list_every_device(self):
        maps = [(v, v, 0) for v in range(20000)]
        pool = thin_xml.Pool(nr_data_blocks=100000, devices=[
            thin_xml.Device(1, mappings=maps), thin_xml.Device(2), thin_xml.Device(3)])
        image = self.make_image(pool, size=64 << 20)
        model = {1: dict((v, d) for v, d, _ in maps)}
        img = thin_cow.Image(image)
        img.snapshot(1, 2)
        img.snapshot(2, 3)
        model[2] = dict(model[1])
        model[3] = dict(model[1])
        for v in range(5000, 5100):
            img.overwrite(2, v, 50000 + v)
            model[2][v] = 50000 + v
        img.deepen(3)
        img.close()
        for regions in ([(0, 100000)], [(4990, 5110)], [(55000, 55050), (19999, 20000)]):
            with self.subTest(regions=regions):
                self.assertRmap(image, regions, expected_rmap(model, regions))


class RmapErrors(RmapTestCase):
    def setUp(self):
        super().setUp()
        self.image = self.make_image(thin_xml.sample_pools()["single_mappings"])


    def test_bad_regions(self):
        self.assertFails(rmap(self.image), "no regions given")
        self.assertFails(rmap("--region", "5..5", self.image), "region '5..5' is empty")
        self.assertFails(rmap("--region", "9..2", self.image), "is empty")
        self.assertFails(rmap("--region", "5-9", self.image), "BEGIN..END")
        self.assertFails(rmap("--region", "x..9", self.image), "whole numbers")
        self.assertFails(rmap("--region", "1..9"), "no input")

    def test_not_metadata(self):
        self.assertFails(rmap("--region", "0..10", self.zero_file("blank.bin", 1 << 20)), "superblock")


if __name__ == "__main__":
    unittest.main()
