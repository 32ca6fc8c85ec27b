"""thin_trim as a user runs it: unused data blocks of an image file become
holes and used ones keep their bytes; a loop block device gets the same
through BLKDISCARD, as 0.9.0's thin_trim does; damaged metadata or the wrong
data device is refused with the data untouched."""

import os
import shutil
import subprocess
import unittest

from metadata_image import Image
from thinmeta_test import TempDirTestCase, ours, reference, restore_with_reference, run
import thin_xml

BLOCK_BYTES = 128 * 512


class TrimTestCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        xml = self.path("pool.xml")
        xml.write_text(thin_xml.to_xml(self.pool))
        self.meta = restore_with_reference(xml, self.path("meta.bin"))
        self.used = {d for dev in self.pool.devices for _, d, _ in dev.mappings}
        self.data = self.path("data.bin")
        self.fill(self.data)

    def fill(self, path):
        with open(path, "wb") as f:
            for b in range(self.pool.nr_data_blocks):
                f.write(bytes([b % 251 + 1]) * BLOCK_BYTES)

    def assertTrimmed(self, path):
        with open(path, "rb") as f:
            for b in range(self.pool.nr_data_blocks):
                block = f.read(BLOCK_BYTES)
                want = bytes([b % 251 + 1]) * BLOCK_BYTES if b in self.used else bytes(BLOCK_BYTES)
                self.assertEqual(block, want, f"data block {b} ({'used' if b in self.used else 'free'})")

    def assertFails(self, result, fragment):
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(fragment, result.stderr, result)


class ImageFile(TrimTestCase):
    def assertHoles(self, path):
        """Each free data block is a hole of the file and each used one is
        data (asked of the file system with SEEK_HOLE and SEEK_DATA: a
        count of allocated sectors would include the file system's own
        extent blocks, which punching holes adds)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            for b in range(self.pool.nr_data_blocks):
                at = b * BLOCK_BYTES
                if b in self.used:
                    self.assertEqual(os.lseek(fd, at, os.SEEK_DATA), at, f"used data block {b} is not data")
                else:
                    self.assertEqual(os.lseek(fd, at, os.SEEK_HOLE), at, f"free data block {b} is not a hole")
        finally:
            os.close(fd)

    def test_free_blocks_become_holes(self):
        r = ours("thin_trim", "--metadata-dev", self.meta, "--data-dev", self.data)
        self.assertEqual(r.returncode, 0, r)
        free = self.pool.nr_data_blocks - len(self.used)
        self.assertIn(f"discarded {free} of {self.pool.nr_data_blocks} data blocks", r.stderr)
        self.assertTrimmed(self.data)
        self.assertEqual(os.stat(self.data).st_size, self.pool.nr_data_blocks * BLOCK_BYTES)
        self.assertHoles(self.data)

    def test_damaged_metadata_is_refused_and_nothing_discarded(self):
        with Image(self.meta) as img:
            img.set_metadata_count(img.device_roots()[0], 0)
        before = os.stat(self.data).st_blocks
        r = ours("thin_trim", "--metadata-dev", self.meta, "--data-dev", self.data)
        self.assertFails(r, "the metadata does not check clean")
        self.assertEqual(os.stat(self.data).st_blocks, before)

    def test_a_data_device_too_small_is_refused(self):
        with open(self.data, "r+b") as f:
            f.truncate(BLOCK_BYTES * 10)
        r = ours("thin_trim", "--metadata-dev", self.meta, "--data-dev", self.data)
        self.assertFails(r, "is this the right data device?")

    def test_both_devices_are_required(self):
        self.assertFails(ours("thin_trim", "--metadata-dev", self.meta), "both --metadata-dev and --data-dev")


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("losetup"), "needs root and losetup for a loop device")
class LoopDevice(TrimTestCase):
    def attach(self, path):
        p = subprocess.run(["losetup", "--find", "--show", str(path)], capture_output=True, text=True)
        if p.returncode != 0:
            self.skipTest(f"cannot attach a loop device: {p.stderr.strip()}")
        device = p.stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", device])
        return device

    def zeroed_blocks(self, path):
        with open(path, "rb") as f:
            return {b for b in range(self.pool.nr_data_blocks) if f.read(BLOCK_BYTES) == bytes(BLOCK_BYTES)}

    def test_discards_what_0_9_0_does_but_its_off_by_one(self):
        theirs_data = self.path("theirs.bin")
        self.fill(theirs_data)
        ours_dev, theirs_dev = self.attach(self.data), self.attach(theirs_data)

        r = ours("thin_trim", "--metadata-dev", self.meta, "--data-dev", ours_dev)
        self.assertEqual(r.returncode, 0, r)
        r = run([reference("thin_trim"), "--metadata-dev", self.meta, "--data-dev", theirs_dev])
        self.assertEqual(r.returncode, 0, r)
        subprocess.run(["sync"])
        self.assertTrimmed(self.data)

        # 0.9.0 discards each free run from the block before it: a block in
        # use, whose data it destroys. We discard exactly the free blocks.
        free = set(range(self.pool.nr_data_blocks)) - self.used
        before_runs = {b - 1 for b in free if b > 0 and b - 1 not in free}
        self.assertEqual(self.zeroed_blocks(self.data), free)
        self.assertEqual(self.zeroed_blocks(theirs_data), free | before_runs)
        self.assertTrue(before_runs and before_runs <= self.used)


if __name__ == "__main__":
    unittest.main()
