"""thin_rmap against Debian's 0.9.0 and against the mappings 0.9.0's
thin_dump lists for every device. Ours lists exactly what the dumps say,
for every device; 0.9.0's thin_rmap walks a subtree shared by snapshots for
the first device that reaches it only, so its lines are a subset of ours,
equal where nothing is shared, and missing the other devices where leaves
are shared (pinned down on tmeta, the kernel fixtures and the live pool)."""

import re
import unittest

import kernel  # noqa: F401  (the live pool boots qemu: ctest's kvm_dm lock)
import thin_cow
import thin_xml
from kernel_images import LiveKernelPoolTestCase, kernel_fixture_images
from rmap_model import rmap_lines
from thinmeta_test import PoolImageTestCase, ours, reference, theirs, upstream_images


def dumped_mappings(image):
    """{device: {vblock: data}} from 0.9.0's thin_dump; None if it fails."""
    r = theirs("thin_dump", image)
    if r.returncode != 0:
        return None
    model, dev = {}, None
    num = lambda line, name: int(re.search(name + r'="(\d+)"', line).group(1))
    for line in r.stdout.splitlines():
        if "<device " in line:
            dev = model.setdefault(num(line, "dev_id"), {})
        elif "<single_mapping" in line:
            dev[num(line, "origin_block")] = num(line, "data_block")
        elif "<range_mapping" in line:
            v, d, n = num(line, "origin_begin"), num(line, "data_begin"), num(line, "length")
            dev.update((v + i, d + i) for i in range(n))
    return model


def mappings_of(lines):
    """The (data block, device, virtual block) triples of thin_rmap lines."""
    out = set()
    for line in lines:
        a, b, dev, v = map(int, re.fullmatch(r"data (\d+)\.\.(\d+) -> thin\((\d+)\) (\d+)\.\.\d+", line).groups())
        out.update((a + i, dev, v + i) for i in range(b - a))
    return out


class RmapComparison:
    """Checks our thin_rmap against the dumps and 0.9.0's thin_rmap; returns
    how many mappings 0.9.0 left out."""

    def check_image(self, image):
        model = dumped_mappings(image)
        if model is None:
            got = ours("thin_rmap", "--region", "0..1000", image)
            want = theirs("thin_rmap", "--region", "0..1000", image)
            if want.returncode != 0:
                self.assertEqual(got.returncode, 1, got)
            return 0
        top = max([d for m in model.values() for d in m.values()], default=0) + 1
        missing = 0
        for regions in ([(0, top)], [(0, max(1, top // 7))], [(top // 2, top // 2 + 40), (3, 9), (5, 12)]):
            args = [a for b, e in regions for a in ("--region", f"{b}..{e}")]
            with self.subTest(image=image.name, regions=regions):
                got = ours("thin_rmap", *args, image)
                self.assertEqual((got.returncode, got.stderr), (0, ""), got)
                lines = got.stdout.splitlines()
                self.assertEqual(lines, rmap_lines(model, regions))
                want = theirs("thin_rmap", *args, image)
                self.assertEqual(want.returncode, 0, want)
                # Everything 0.9.0 reports, we report; where it reports
                # everything, the lines are the same (0.9.0 orders lines of
                # equal data ranges arbitrarily).
                mine, its = mappings_of(lines), mappings_of(want.stdout.splitlines())
                self.assertLessEqual(its, mine)
                if its == mine:
                    self.assertEqual(sorted(want.stdout.splitlines()), sorted(lines))
                missing += len(mine) - len(its)
        return missing


class RmapInterop(RmapComparison, PoolImageTestCase):
    def setUp(self):
        super().setUp()
        reference("thin_rmap")

    def test_upstream_images(self):
        missing = {name: self.check_image(image) for name, image in upstream_images(self.tmp).items()}
        # 0.9.0 leaves out every snapshot but one of a shared leaf: much of tmeta.
        self.assertGreater(missing["tmeta"], 10000)

    def test_kernel_fixtures(self):
        missing = {name: self.check_image(image) for name, image in kernel_fixture_images(self.tmp).items()}
        self.assertEqual(missing["thin-scattered"], 0)
        self.assertGreater(missing["snapshots"], 0)

    def test_restored_pools_share_nothing(self):
        for name, pool in thin_xml.sample_pools().items():
            self.assertEqual(self.check_image(self.make_image(pool, name + ".bin")), 0)

    def test_copy_on_write_snapshots(self):
        maps = [(v, 2 * v, 0) for v in range(20000)]
        pool = thin_xml.Pool(time=1, nr_data_blocks=100000, devices=[
            thin_xml.Device(1, mappings=maps), thin_xml.Device(2), thin_xml.Device(3)])
        image = self.make_image(pool, size=64 << 20)
        img = thin_cow.Image(image)
        img.snapshot(1, 2)
        img.snapshot(1, 3)
        for v in range(4000, 4100):
            img.overwrite(3, v, 50001 + 2 * v)
        img.close()
        self.assertGreater(self.check_image(image), 0)


class RmapInteropLiveKernel(RmapComparison, LiveKernelPoolTestCase):
    REFERENCE = "thin_rmap"

    def test_every_device_of_a_shared_block(self):
        self.assertGreater(self.check_image(self.image), 0)


if __name__ == "__main__":
    unittest.main()
