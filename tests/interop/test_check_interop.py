"""Our thin_check against Debian's 0.9.0 on the same metadata: the upstream
images made by real kernels, metadata 0.9.0's thin_restore writes, and
mutations of it. We must pass whatever is sound and fail wherever 0.9.0
finds damage; where 0.9.0 misses damage (data counts, mapped_blocks, device
sets), we must still fail."""

import struct
import unittest

from metadata_image import Image
from thinmeta_test import (DAMAGED_UPSTREAM, TempDirTestCase, ours, restore_with_reference, theirs,
                           upstream_images)
import thin_xml


class UpstreamImages(TempDirTestCase):
    def test_sound_images_pass_and_damaged_ones_fail(self):
        for name, image in upstream_images(self.tmp).items():
            with self.subTest(image=name):
                ref = theirs("thin_check", "-q", image).returncode
                r = ours("thin_check", image)
                self.assertEqual(ref, 1 if name in DAMAGED_UPSTREAM else 0)
                self.assertEqual(r.returncode, ref, r)
                if name in DAMAGED_UPSTREAM:
                    self.assertIn("The metadata is damaged", r.stderr)

    def test_metadata_snapshot_checks_as_0_9_0_does(self):
        images = upstream_images(self.tmp)
        for name in ["tmeta_with_metadata_snap", "tmeta_with_corrupted_metadata_snap", "tmeta"]:
            with self.subTest(image=name):
                ref = theirs("thin_check", "-q", "-m", images[name]).returncode
                self.assertEqual(ours("thin_check", "-q", "-m", images[name]).returncode, ref)


class RestoredMetadata(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.pools = thin_xml.sample_pools()

    def restored(self, name):
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(self.pools[name]))
        return restore_with_reference(xml, self.path(name + ".bin"))

    def test_0_9_0_restore_output_passes_both(self):
        for name in self.pools:
            with self.subTest(pool=name):
                image = self.restored(name)
                self.assertEqual(theirs("thin_check", "-q", image).returncode, 0)
                r = ours("thin_check", image)
                self.assertEqual(r.returncode, 0, r)

    def mutate_and_compare(self, mutate, ours_rc, theirs_rc, ignore_rc=None):
        image = self.restored("snapshots")
        with Image(image) as img:
            mutate(img)
        self.assertEqual(theirs("thin_check", "-q", image).returncode, theirs_rc)
        r = ours("thin_check", image)
        self.assertEqual(r.returncode, ours_rc, r)
        if ignore_rc is not None:
            r = ours("thin_check", "--ignore-non-fatal-errors", image)
            self.assertEqual(r.returncode, ignore_rc, r)
        return r

    def test_damage_both_find(self):
        def bad_checksum(img):
            root = img.node(img.device_roots()[1])
            leaf = root.value64(2)
            data = img.read(leaf)
            data[200] ^= 1
            img.write(leaf, data)

        def metadata_count_too_low(img):
            img.set_metadata_count(img.device_roots()[0], 0)

        def leak(img):
            img.set_metadata_count(img.first_free_metadata_block(), 1)

        def bad_max_entries(img):
            root = img.device_roots()[2]
            n = img.node(root)
            struct.pack_into("<I", n.data, 20, 250)
            img.write_node(root, n)

        self.mutate_and_compare(bad_checksum, 1, 1, ignore_rc=1)
        self.mutate_and_compare(metadata_count_too_low, 1, 1, ignore_rc=1)
        self.mutate_and_compare(leak, 1, 1, ignore_rc=0)
        r = self.mutate_and_compare(bad_max_entries, 1, 1)
        self.assertIn("not a multiple of 3", r.stderr)

    def test_damage_only_we_find(self):
        def data_count_too_low(img):
            sb = img.superblock()
            b = next(b for b in range(sb["data_sm"][0]) if img.data_count(b) == 1)
            img.set_data_count(b, 0)

        def wrong_mapped_blocks(img):
            sb = img.superblock()
            leaf = img.node(sb["details_root"])
            value = bytearray(leaf.value(1))
            struct.pack_into("<Q", value, 0, 7)
            leaf.set_value(1, value)
            img.write_node(sb["details_root"], leaf)

        def bad_magic(img):
            img.patch_superblock(32, "<Q", 1234)

        for mutate in (data_count_too_low, wrong_mapped_blocks, bad_magic):
            with self.subTest(mutation=mutate.__name__):
                self.mutate_and_compare(mutate, 1, 0)


if __name__ == "__main__":
    unittest.main()
