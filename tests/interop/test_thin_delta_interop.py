"""thin_delta against Debian's 0.9.0: byte-for-byte the same output (simple
and --verbose, live metadata and -m) for every pair of devices of the
upstream images, the kernel-made fixtures, a pool the kernel writes live,
restored pools, and copy-on-write snapshots with shared subtrees, holes and
trees of different heights. Where 0.9.0 fails, ours fails too."""

import random
import unittest

import kernel  # noqa: F401  (the live pool boots qemu: ctest's kvm_dm lock)
import thin_cow
import thin_xml
from kernel_images import LiveKernelPoolTestCase, kernel_fixture_images
from metadata_image import Image
from thinmeta_test import PoolImageTestCase, ours, reference, theirs, upstream_images


def devices(image, metadata_snap=False):
    """Device ids, as 0.9.0's thin_ls lists them; [] if it cannot."""
    r = theirs("thin_ls", *(["-m"] if metadata_snap else []), "--no-headers", "-o", "DEV", image)
    return [int(x) for x in r.stdout.split()] if r.returncode == 0 else []


def held_root(image):
    with Image(image) as img:
        return img.superblock()["held_root"]


class DeltaComparison:
    """Compares our thin_delta with 0.9.0's (a mixin for test cases)."""

    def assertSameDelta(self, image, args):
        want = theirs("thin_delta", *args, image)
        got = ours("thin_delta", *args, image)
        if want.returncode == 0:
            self.assertEqual((got.returncode, got.stderr), (0, ""), got)
            self.assertEqual(got.stdout, want.stdout, args)
        else:
            self.assertEqual(got.returncode, 1, (got, want))

    def check_image(self, image, pairs=None):
        """Every pair of devices (or `pairs`), live and from the metadata
        snapshot; --verbose for neighbouring devices only when there are many."""
        for snap in ([False, True] if held_root(image) else [False]):
            ids = devices(image, snap) or [1]
            for a, b in pairs or [(a, b) for a in ids for b in ids]:
                near = len(ids) <= 5 or abs(ids.index(a) - ids.index(b)) <= 1 if a in ids and b in ids else True
                for v in ((False, True) if near else (False,)):
                    with self.subTest(image=image.name, m=snap, left=a, right=b, verbose=v):
                        self.assertSameDelta(image, (["-m"] if snap else []) + (["--verbose"] if v else []) +
                                             ["--thin1", str(a), "--thin2", str(b)])


class DeltaInterop(DeltaComparison, PoolImageTestCase):
    def setUp(self):
        super().setUp()
        reference("thin_delta")

    def test_upstream_images(self):
        for name, image in upstream_images(self.tmp).items():
            self.check_image(image)

    def test_kernel_fixtures(self):
        for name, image in kernel_fixture_images(self.tmp).items():
            ids = devices(image)
            pairs = [(a, b) for a in ids for b in ids] if len(ids) < 20 else [(a, b) for a, b in zip(ids, ids[1:])]
            self.check_image(image, pairs)

    def test_restored_pools(self):
        for name, pool in thin_xml.sample_pools().items():
            ids = sorted(d.dev_id for d in pool.devices)[:5]
            self.check_image(self.make_image(pool, name + ".bin"), [(a, b) for a in ids for b in ids])

    def test_copy_on_write_snapshots(self):
        for seed in range(12):
            rng = random.Random(seed)
            n = rng.choice([300, 5000, 40000])
            holes = rng.random() < 0.5
            maps, v = [], 0
            for d in range(n):
                maps.append((v, d, 0))
                v += 1 + (holes and rng.random() < 0.05)
            pool = thin_xml.Pool(time=1, nr_data_blocks=3 * n + 10000,
                                 devices=[thin_xml.Device(1, mappings=maps), thin_xml.Device(2),
                                          thin_xml.Device(3)])
            image = self.make_image(pool, f"cow{seed}.bin", size=64 << 20)
            img = thin_cow.Image(image)
            img.snapshot(1, 2)
            img.snapshot(2, 3)
            vbs = [m[0] for m in maps]
            nxt = n
            start = rng.randrange(len(vbs))
            for vb in vbs[start:start + rng.randint(1, 400)] + rng.sample(vbs, min(n, 30)):
                img.overwrite(rng.choice([1, 2, 3]), vb, nxt)
                nxt += 1
            if rng.random() < 0.5:
                try:
                    img.deepen(rng.choice([1, 2, 3]))
                except ValueError:
                    pass
            if rng.random() < 0.5:
                img.reserve_metadata_snap()
                for vb in rng.sample(vbs, min(n, 20)):
                    img.overwrite(rng.choice([1, 3]), vb, nxt)
                    nxt += 1
            img.close()
            self.check_image(image)


class DeltaInteropLiveKernel(DeltaComparison, LiveKernelPoolTestCase):
    REFERENCE = "thin_delta"

    def test_every_pair_live_and_from_the_metadata_snapshot(self):
        self.check_image(self.image)


if __name__ == "__main__":
    unittest.main()
