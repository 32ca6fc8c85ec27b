"""Our thin_dump against Debian's 0.9.0 on the same metadata: the upstream
images made by real kernels and metadata 0.9.0's thin_restore writes. Where
0.9.0 dumps, we print the same bytes (XML and human_readable, with and
without --skip-mappings and --dev-id, and with -m where there is a metadata
snapshot); where it fails, we fail with exit status 1."""

import re
import tempfile
import unittest

from metadata_image import Image
from thinmeta_test import DAMAGED_UPSTREAM, TempDirTestCase, ours, restore_with_reference, theirs, upstream_images
import thin_xml


def device_ids(image, *args):
    """The device ids 0.9.0 dumps, in order."""
    r = theirs("thin_dump", "--skip-mappings", *args, image)
    if r.returncode:
        raise AssertionError(f"0.9.0 thin_dump failed: {r}")
    return [int(i) for i in re.findall(r'<device dev_id="(\d+)"', r.stdout)]


def option_sets(ids):
    """Selections to compare: everything, no mappings, one device, two."""
    sets = [[], ["--skip-mappings"]]
    if ids:
        sets.append(["--dev-id", str(ids[-1])])
    if len(ids) > 1:
        sets.append(["--dev-id", str(ids[-1]), "--dev-id", str(ids[0]), "--skip-mappings"])
    return sets


class DumpInteropCase(TempDirTestCase):
    def assertSameDump(self, image, *args):
        ref = theirs("thin_dump", *args, image, text=False)
        self.assertEqual(ref.returncode, 0, ref)
        r = ours("thin_dump", *args, image, text=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""), r)
        self.assertTrue(r.stdout == ref.stdout, f"output of {args} differs from 0.9.0's")

    def assertSameDumps(self, image, snapshot=False):
        """Every format and selection, live and (if present) the snapshot."""
        modes = [[]] + ([["-m"]] if snapshot else [])
        for mode in modes:
            for selection in option_sets(device_ids(image, *mode)):
                for fmt in ["xml", "human_readable"]:
                    args = [*mode, "-f", fmt, *selection]
                    with self.subTest(args=args):
                        self.assertSameDump(image, *args)


class UpstreamImages(DumpInteropCase):
    @classmethod
    def setUpClass(cls):
        cls._images_dir = tempfile.TemporaryDirectory(prefix="thinmeta-upstream-")
        cls.images = upstream_images(cls._images_dir.name)

    @classmethod
    def tearDownClass(cls):
        cls._images_dir.cleanup()

    def test_sound_images_dump_as_0_9_0_does(self):
        for name, image in self.images.items():
            if name in DAMAGED_UPSTREAM:
                continue
            with self.subTest(image=name):
                with Image(image) as img:
                    held = img.superblock()["held_root"]
                self.assertSameDumps(image, snapshot=held != 0)

    def test_we_fail_where_0_9_0_fails(self):
        failures = set()
        for name, image in self.images.items():
            for mode in [[], ["-m"]]:
                for fmt in ["xml", "human_readable"]:
                    args = [*mode, "-f", fmt]
                    with self.subTest(image=name, args=args):
                        ref = theirs("thin_dump", *args, image, text=False)
                        r = ours("thin_dump", *args, image, text=False)
                        if ref.returncode:
                            failures.add((name, *mode))
                            self.assertEqual(r.returncode, 1, r)
                            self.assertIn(str(image).encode(), r.stderr)
                        else:
                            self.assertEqual((r.returncode, r.stderr), (0, b""), r)
                            self.assertTrue(r.stdout == ref.stdout)
        # The damage 0.9.0 finds in these images (the README's list), and
        # -m where there is no snapshot.
        for expected in [("corrupted_tmeta_with_metadata_snap",),
                         ("tmeta_with_corrupted_metadata_snap", "-m"),
                         ("tmeta_device_id_reuse_with_corrupted_thins", "-m"),
                         ("tmeta", "-m")]:
            self.assertIn(expected, failures)

    def test_snapshot_at_its_block(self):
        image = self.images["tmeta_with_metadata_snap"]
        with Image(image) as img:
            held = img.superblock()["held_root"]
        self.assertSameDump(image, f"-m{held}")
        self.assertSameDump(image, f"--metadata-snap={held}", "-f", "human_readable")


class RestoredMetadata(DumpInteropCase):
    def restored(self, name):
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(thin_xml.sample_pools()[name]))
        return restore_with_reference(xml, self.path(name + ".bin"))

    def test_sample_pools_dump_as_0_9_0_does(self):
        for name in thin_xml.sample_pools():
            with self.subTest(pool=name):
                self.assertSameDumps(self.restored(name))

    def test_planted_metadata_snapshot(self):
        image = self.restored("snapshots")
        with Image(image) as img:
            where = img.plant_metadata_snapshot()
            img.patch_superblock(48, "<Q", 99)  # the live transaction moves on
        self.assertSameDumps(image, snapshot=True)
        self.assertSameDump(image, f"-m{where}", "--dev-id", "2")

    def test_needs_check_flag_and_large_numbers(self):
        pool = thin_xml.Pool(time=16_777_215, transaction=2**40, flags=1, data_block_size=2097152,
                             nr_data_blocks=200_000, devices=[
                                 thin_xml.Device(16_777_215, transaction=2**40, creation_time=16_777_215,
                                                 snap_time=16_777_215,
                                                 mappings=[(2**40 - 3, 199_997, 16_777_215),
                                                           (2**40 - 2, 199_998, 16_777_215),
                                                           (2**63, 5, 1)])])
        xml = self.path("big.xml")
        xml.write_text(thin_xml.to_xml(pool))
        image = restore_with_reference(xml, self.path("big.bin"))
        self.assertSameDumps(image)

    def mutated(self, mutate):
        image = self.restored("snapshots")
        with Image(image) as img:
            mutate(img, img.device_roots())
        return image

    def test_tree_damage_fails_both(self):
        def bad_leaf(img, roots):
            leaf = img.node(roots[2]).value64(1)
            data = img.read(leaf)
            data[300] ^= 0xFF
            img.write(leaf, data)

        def past_end(img, roots):
            root = img.node(roots[4])
            root.set_value64(0, 1_000_000_000)
            img.write_node(roots[4], root)

        def not_a_node(img, roots):
            root = img.node(roots[1])
            root.set_value64(0, 0)  # the superblock
            img.write_node(roots[1], root)

        for mutate in [bad_leaf, past_end, not_a_node]:
            with self.subTest(damage=mutate.__name__):
                image = self.mutated(mutate)
                self.assertNotEqual(theirs("thin_dump", image).returncode, 0)
                r = ours("thin_dump", image)
                self.assertEqual(r.returncode, 1, r)

    def test_missing_device_is_where_we_differ(self):
        # 0.9.0 prints a pool without devices and exits 0; we refuse.
        image = self.restored("snapshots")
        ref = theirs("thin_dump", "--dev-id", "99", image)
        self.assertEqual(ref.returncode, 0)
        self.assertNotIn("<device", ref.stdout)
        r = ours("thin_dump", "--dev-id", "99", image)
        self.assertEqual((r.returncode, r.stdout), (1, ""), r)
        self.assertIn("there is no device 99", r.stderr)


if __name__ == "__main__":
    unittest.main()
