"""thin_repair on the metadata real kernels made (../shared/fixtures/upstream):
the three damaged images come back as metadata both checkers pass, with the
devices expected; the sound ones come back with the same devices and
mappings; and tmeta_with_empty_roots, damaged here, does not fall back to
the empty root an earlier transaction committed."""

import shutil
import tempfile
import unittest
from pathlib import Path

from thinmeta_test import DAMAGED_UPSTREAM, TempDirTestCase, ours, sha256_file, theirs, upstream_images
from test_damage_matrix import damage, dumped_mappings

# The devices of the damaged images (see ../shared/fixtures/upstream/README.md
# and the scripts that made them):
# - corrupted_tmeta_with_metadata_snap: thin 1 was created, a metadata
#   snapshot taken, thin 2 created and thin 1 deleted; then thin 2's root,
#   both top-level roots and the space-map roots were zeroed. Thin 2 must
#   come back (its mappings, none, are lost with its root); thin 1 may,
#   from the transaction before its deletion.
# - tmeta_with_corrupted_metadata_snap: one thin device; only the metadata
#   snapshot's superblock is zeroed.
# - tmeta_device_id_reuse_with_corrupted_thins: thin 1 (an id deleted and
#   reused); only the metadata snapshot's tree of it is broken.
REQUIRED = {
    "corrupted_tmeta_with_metadata_snap": {2},
    "tmeta_with_corrupted_metadata_snap": {1},
    "tmeta_device_id_reuse_with_corrupted_thins": {1},
}
ALLOWED = {
    "corrupted_tmeta_with_metadata_snap": {1, 2},
    "tmeta_with_corrupted_metadata_snap": {1},
    "tmeta_device_id_reuse_with_corrupted_thins": {1},
}


class UpstreamRepair(TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        cls._dir = Path(tempfile.mkdtemp(prefix="thinmeta-upstream-"))
        try:
            cls.images = upstream_images(cls._dir)
        except unittest.SkipTest:
            shutil.rmtree(cls._dir)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls._dir)

    def repaired(self, image):
        """Repairs a copy of image; checks the copy is left as it was and
        the output passes both checkers. Returns (output, result)."""
        source = self.path("input-" + image.name)
        shutil.copy(image, source)
        before = sha256_file(source)
        out = self.zero_file(image.name + ".repaired", image.stat().st_size)
        r = ours("thin_repair", "-i", source, "-o", out)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(sha256_file(source), before, "thin_repair wrote to its input")
        self.assertEqual(ours("thin_check", out).returncode, 0, ours("thin_check", out))
        self.assertEqual(theirs("thin_check", out).returncode, 0, theirs("thin_check", out))
        return out, r

    def test_damaged_images(self):
        for name in sorted(DAMAGED_UPSTREAM):
            with self.subTest(image=name):
                image = self.images[name]
                self.assertEqual(ours("thin_check", image).returncode, 1)
                out, r = self.repaired(image)
                devices = set(dumped_mappings(ours("thin_dump", out).stdout))
                self.assertLessEqual(REQUIRED[name], devices, r.stderr)
                self.assertLessEqual(devices, ALLOWED[name], r.stderr)
                # thin_dump --repair prints what thin_repair wrote.
                d = ours("thin_dump", "--repair", image)
                self.assertEqual(d.returncode, 0, d)
                self.assertEqual(d.stdout, ours("thin_dump", out).stdout)

    def test_lost_root_is_reported(self):
        _, r = self.repaired(self.images["corrupted_tmeta_with_metadata_snap"])
        self.assertIn("thin device 2: recovered 0 mappings; lost the mappings of virtual blocks 0 onwards", r.stderr)

    def test_live_metadata_wins_over_a_broken_snapshot(self):
        for name in ("tmeta_with_corrupted_metadata_snap", "tmeta_device_id_reuse_with_corrupted_thins"):
            with self.subTest(image=name):
                image = self.images[name]
                out, r = self.repaired(image)
                self.assertIn("the superblock and its trees read back whole", r.stderr)
                self.assertEqual(theirs("thin_dump", out).stdout, theirs("thin_dump", image).stdout)

    def test_sound_images_come_back_whole(self):
        for name in sorted(set(self.images) - DAMAGED_UPSTREAM):
            with self.subTest(image=name):
                image = self.images[name]
                out, _ = self.repaired(image)
                self.assertEqual(ours("thin_dump", out).stdout, ours("thin_dump", image).stdout)

    def test_empty_roots_are_not_preferred(self):
        # Thin 1 was created (an empty root committed), written (64
        # blocks), then snapshotted as thin 2. With the live top level or
        # details tree lost, thin 1 must keep its 64 mappings.
        image = self.images["tmeta_with_empty_roots"]
        for kind in ("top-leaf", "details-leaf"):
            with self.subTest(kind=kind):
                damaged = self.path(f"{kind}.bin")
                shutil.copy(image, damaged)
                self.assertIsNotNone(damage(damaged, kind, 0))
                out, r = self.repaired(damaged)
                got = dumped_mappings(theirs("thin_dump", out).stdout)
                self.assertEqual(len(got[1]), 64, r.stderr)
                if kind == "details-leaf":
                    # Both keep everything; thin 1's snap_time from an older
                    # details tree is raised so the shared blocks stay shared.
                    self.assertEqual(len(got[2]), 64, r.stderr)
                    self.assertRegex(r.stderr, r"thin device 1: snap_time raised from 0 to 1")


if __name__ == "__main__":
    unittest.main()
