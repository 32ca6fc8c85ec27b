"""Our thin_restore against Debian's 0.9.0 tools: whatever we restore, 0.9.0's
thin_dump gives back the flat XML it came from and 0.9.0's thin_check (which
recounts every metadata reference) passes it; 0.9.0's own thin_restore goes
through the same round trip, so the test itself is checked; dumps of metadata
made by real kernels restore to the same dumps; and every XML involved is
valid for xml/thinmeta.rng."""

import unittest

from thinmeta_test import (DAMAGED_UPSTREAM, SOURCE, TempDirTestCase, ours, restore_with_reference, run, theirs,
                           tool, upstream_images)
import restore_xml
import thin_xml

MiB = 1 << 20


class RestoreInterop(TempDirTestCase):
    def restore_ours(self, text, name, size=128 * MiB):
        xml = self.path(name + ".xml")
        xml.write_text(text)
        image = self.zero_file(name + ".bin", size)
        r = ours("thin_restore", "-i", xml, "-o", image)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        return image

    def assertRoundTrip(self, image, expected):
        """0.9.0 (and our) thin_dump give back `expected`; both thin_checks pass."""
        r = theirs("thin_dump", image)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, expected)
        r = theirs("thin_check", image)
        self.assertEqual(r.returncode, 0, r)
        r = ours("thin_dump", image)
        self.assertEqual((r.returncode, r.stdout), (0, expected))
        self.assertEqual(ours("thin_check", "-q", image).returncode, 0, ours("thin_check", image))

    def assertValid(self, *paths):
        r = run([tool("tests/xml_validate"), SOURCE / "xml" / "thinmeta.rng", *paths])
        self.assertEqual(r.returncode, 0, r)


class FlatForm(RestoreInterop):
    def pools(self):
        pools = dict(thin_xml.sample_pools())
        pools.update(restore_xml.round_trip_pools())
        return pools

    def test_ours_round_trips_through_0_9_0(self):
        for name, pool in self.pools().items():
            with self.subTest(pool=name):
                text = thin_xml.to_xml(pool)
                self.assertRoundTrip(self.restore_ours(text, name), text)

    def test_0_9_0_restore_round_trips_the_same_way(self):
        # The same pools through 0.9.0's thin_restore: the round trip the
        # test above asks of us holds for the reference too. (0.9.0 writes
        # half-full leaves, so the million singles need more room.)
        for name, pool in self.pools().items():
            with self.subTest(pool=name):
                text = thin_xml.to_xml(pool)
                xml = self.path(name + ".xml")
                xml.write_text(text)
                image = restore_with_reference(xml, self.path(name + ".ref.bin"), size=256 * MiB)
                self.assertRoundTrip(image, text)

    def test_generated_xml_is_valid_for_the_schema(self):
        paths = []
        for name, pool in thin_xml.sample_pools().items():
            p = self.path(name + ".xml")
            p.write_text(thin_xml.to_xml(pool))
            paths.append(p)
        self.assertValid(*paths)


class SharedLeafForm(RestoreInterop):
    def test_def_ref_xml_restores_to_its_flat_form(self):
        pools = dict(restore_xml.edge_pools())
        pools["shared"] = restore_xml.shared_pool(seed=7, nr_snapshots=4, nr_segments=50)
        pools["shared_deep"] = restore_xml.shared_pool(seed=8, nr_snapshots=2, nr_segments=200, keep=0.9)
        for name, sp in pools.items():
            with self.subTest(pool=name):
                text = restore_xml.to_xml_with_defs(sp)
                p = self.path(name + ".defs.xml")
                p.write_text(text)
                self.assertValid(p)
                # 0.9.0 does not know the form.
                refused = theirs("thin_restore", "-i", p, "-o", self.zero_file("ref.bin", 4 * MiB))
                self.assertEqual(refused.returncode, 1, refused)
                self.assertRoundTrip(self.restore_ours(text, name), thin_xml.to_xml(sp.pool))


class KernelMadeMetadata(RestoreInterop):
    def test_dumps_of_upstream_images_restore_to_the_same_dumps(self):
        for name, image in upstream_images(self.tmp).items():
            if name in DAMAGED_UPSTREAM:
                continue
            with self.subTest(image=name):
                dump = theirs("thin_dump", image)
                self.assertEqual(dump.returncode, 0, dump)
                xml = self.path(name + ".xml")
                xml.write_text(dump.stdout)
                self.assertValid(xml)
                self.assertRoundTrip(self.restore_ours(dump.stdout, name + ".restored", size=64 * MiB),
                                     dump.stdout)


if __name__ == "__main__":
    unittest.main()
