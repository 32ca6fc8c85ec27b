"""thin_metadata_pack and thin_metadata_unpack with the packs of
thin-provisioning-tools 1.x: every upstream *.pack unpacks to the image
whose SHA256 is in raw/SHA256SUMS; packing then unpacking gives back every
image we have byte for byte (upstream images, kernel-made fixtures,
restored pools) and 0.9.0's thin_check passes the unpacked images it
passes originally; our encoding of each block is the one in the upstream
packs, so packs travel between the suites both ways."""

import unittest

import thin_xml
from kernel_images import kernel_fixture_images
from pack_file import entries, raw_records
from thinmeta_test import (DAMAGED_UPSTREAM, UPSTREAM, PoolImageTestCase, ours, reference, sha256_file, theirs,
                           upstream_images)


class PackInterop(PoolImageTestCase):
    def round_trip(self, image):
        p, out = self.path(image.name + ".pack"), self.path(image.name + ".out")
        self.assertRan(ours("thin_metadata_pack", "-i", image, "-o", p))
        self.assertRan(ours("thin_metadata_unpack", "-i", p, "-o", out))
        self.assertEqual(out.stat().st_size, image.stat().st_size)
        self.assertEqual(sha256_file(out), sha256_file(image))
        return p, out

    def test_upstream_packs_unpack_to_their_checksums(self):
        sums_file = UPSTREAM / "raw" / "SHA256SUMS"
        if not sums_file.exists():
            self.skipTest(f"{sums_file} is absent")
        sums = dict(reversed(line.split()) for line in sums_file.read_text().splitlines() if line.strip())
        packs = sorted(UPSTREAM.glob("*.pack"))
        self.assertEqual(len(packs), len(sums))
        for pack in packs:
            with self.subTest(pack=pack.name):
                out = self.path(pack.stem + ".bin")
                self.assertRan(ours("thin_metadata_unpack", "-i", pack, "-o", out))
                self.assertEqual(sha256_file(out), sums[out.name])

    def test_upstream_images_round_trip_and_check(self):
        reference("thin_check")
        for name, image in upstream_images(self.tmp).items():
            with self.subTest(image=name):
                _, out = self.round_trip(image)
                if name not in DAMAGED_UPSTREAM:
                    self.assertRan(theirs("thin_check", out))

    def test_our_block_encoding_is_upstreams(self):
        for name, image in upstream_images(self.tmp).items():
            with self.subTest(image=name):
                p, _ = self.round_trip(image)
                mine = {b: code for raw in raw_records(p) for b, _, code in entries(raw)}
                theirs_ = {b: code for raw in raw_records(UPSTREAM / f"{name}.pack") for b, _, code in entries(raw)}
                self.assertEqual(mine, theirs_)

    def test_kernel_fixtures_and_restored_pools_round_trip(self):
        reference("thin_check")
        images = list(kernel_fixture_images(self.tmp).values())
        images += [self.make_image(pool, name + ".bin") for name, pool in thin_xml.sample_pools().items()]
        for image in images:
            with self.subTest(image=image.name):
                _, out = self.round_trip(image)
                self.assertRan(theirs("thin_check", out))


if __name__ == "__main__":
    unittest.main()
