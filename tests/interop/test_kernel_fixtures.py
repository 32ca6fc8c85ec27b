"""Pins the kernel-made fixtures (fixtures/kernel/): Debian's 0.9.0
thin_check passes each image, and 0.9.0 thin_dump (and thin_dump -m where a
metadata snapshot is held) prints exactly the stored expected dump."""

import gzip
import shutil
import unittest

from thinmeta_test import FIXTURES, TempDirTestCase, theirs

KERNEL_FIXTURES = FIXTURES / "kernel"
EXPECTED = {
    "thin-scattered": ["dump.xml"],
    "snapshots": ["dump.xml"],
    "snapshots-metadata-snap": ["dump.xml", "dump-m.xml"],
    "block-size-384": ["dump.xml"],
    "many-thins": ["dump.xml"],
}
DUMP_ARGS = {"dump.xml": [], "dump-m.xml": ["-m"]}


class KernelFixturesTest(TempDirTestCase):
    def test_the_fixture_files_are_all_there(self):
        present = sorted(p.name for p in KERNEL_FIXTURES.iterdir() if p.name != "README.md")
        wanted = sorted([f"{name}.bin.gz" for name in EXPECTED] +
                        [f"{name}.{suffix}" for name, suffixes in EXPECTED.items() for suffix in suffixes])
        self.assertEqual(present, wanted)

    def unpack(self, name):
        image = self.path(f"{name}.bin")
        with gzip.open(KERNEL_FIXTURES / f"{name}.bin.gz", "rb") as src, open(image, "wb") as dst:
            shutil.copyfileobj(src, dst)
        self.assertEqual(image.stat().st_size, 4 << 20)
        return image

    def test_reference_thin_check_passes(self):
        for name in EXPECTED:
            with self.subTest(fixture=name):
                r = theirs("thin_check", self.unpack(name))
                self.assertRan(r)

    def test_reference_thin_dump_matches_the_expected_dump(self):
        for name, suffixes in EXPECTED.items():
            image = self.unpack(name)
            for suffix in suffixes:
                with self.subTest(fixture=name, dump=suffix):
                    r = self.assertRan(theirs("thin_dump", *DUMP_ARGS[suffix], image))
                    expected = (KERNEL_FIXTURES / f"{name}.{suffix}").read_text()
                    self.assertEqual(r.stdout, expected)


if __name__ == "__main__":
    unittest.main()
