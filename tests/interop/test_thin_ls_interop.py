"""thin_ls against Debian's 0.9.0: the same table, byte for byte (every
0.9.0 column, the default columns, --no-headers, live and -m), for the
upstream images, the kernel-made fixtures, a pool the kernel writes live,
restored pools, and copy-on-write snapshots sharing subtrees. Where 0.9.0
fails, ours fails too."""

import unittest

import kernel  # noqa: F401  (the live pool boots qemu: ctest's kvm_dm lock)
import thin_cow
import thin_xml
from kernel_images import LiveKernelPoolTestCase, kernel_fixture_images
from metadata_image import Image
from thinmeta_test import PoolImageTestCase, ours, reference, theirs, upstream_images

ALL = ("DEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS,SHARED_BLOCKS,MAPPED_SECTORS,EXCLUSIVE_SECTORS,SHARED_SECTORS,"
       "MAPPED_BYTES,EXCLUSIVE_BYTES,SHARED_BYTES,MAPPED,EXCLUSIVE,SHARED,TRANSACTION,CREATE_TIME,SNAP_TIME")
VARIANTS = (["-o", ALL], [], ["--no-headers", "-o", "SHARED,DEV,EXCLUSIVE_BLOCKS"])


class LsComparison:
    """Compares our thin_ls with 0.9.0's (a mixin for test cases)."""

    def check_image(self, image):
        with Image(image) as img:
            snaps = [False, True] if img.superblock()["held_root"] else [False]
        for snap in snaps:
            for args in VARIANTS:
                args = (["-m"] if snap else []) + args
                with self.subTest(image=image.name, args=args):
                    want = theirs("thin_ls", *args, image)
                    got = ours("thin_ls", *args, image)
                    if want.returncode == 0:
                        self.assertEqual((got.returncode, got.stderr), (0, ""), got)
                        self.assertEqual(got.stdout, want.stdout)
                    else:
                        self.assertEqual(got.returncode, 1, (got, want))


class LsInterop(LsComparison, PoolImageTestCase):
    def setUp(self):
        super().setUp()
        reference("thin_ls")

    def test_upstream_images(self):
        for image in upstream_images(self.tmp).values():
            self.check_image(image)

    def test_kernel_fixtures(self):
        for image in kernel_fixture_images(self.tmp).values():
            self.check_image(image)

    def test_restored_pools(self):
        for name, pool in thin_xml.sample_pools().items():
            self.check_image(self.make_image(pool, name + ".bin"))

    def test_copy_on_write_snapshots(self):
        maps = [(v, v, 0) for v in range(60000)]
        pool = thin_xml.Pool(time=1, nr_data_blocks=200000, devices=[
            thin_xml.Device(i, mappings=maps if i == 1 else []) for i in range(1, 6)])
        image = self.make_image(pool, size=128 << 20)
        img = thin_cow.Image(image)
        for snap, origin in ((2, 1), (3, 1), (4, 3)):
            img.snapshot(origin, snap)
        nxt = 100000
        for dev, vs in ((1, range(0, 3000)), (2, range(20000, 20500, 7)), (3, range(59000, 60000)),
                        (4, range(100, 200))):
            for v in vs:
                img.overwrite(dev, v, nxt)
                nxt += 1
        img.reserve_metadata_snap()
        for v in range(30000, 30300):
            img.overwrite(4, v, nxt)
            nxt += 1
        img.close()
        self.check_image(image)


class LsInteropLiveKernel(LsComparison, LiveKernelPoolTestCase):
    REFERENCE = "thin_ls"

    def test_live_and_from_the_metadata_snapshot(self):
        self.check_image(self.image)


if __name__ == "__main__":
    unittest.main()
