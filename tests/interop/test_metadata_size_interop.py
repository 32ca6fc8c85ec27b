"""Our thin_metadata_size against Debian's 0.9.0, which it follows: the same
output, byte for byte, for every unit, form and suffix 0.9.0 handles right;
and the few places we differ on purpose, each shown."""

import itertools
import unittest

from thinmeta_test import TempDirTestCase, ours, theirs


class SameAs0_9_0(TempDirTestCase):
    def assertSame(self, args):
        ref = theirs("thin_metadata_size", *args)
        r = ours("thin_metadata_size", *args)
        self.assertEqual(ref.returncode, 0, ref)
        self.assertEqual((r.returncode, r.stdout), (0, ref.stdout), r)

    def test_sizes_units_and_forms(self):
        blocks = ["128", "64k", "65536b", "1m", "512k", "1024kib"]
        pools = ["10g", "1t", "100T", "1p", "2097152", "3G", "1099511627776b"]
        thins = ["1", "1000", "1k", "100000"]
        for b, s, m in itertools.product(blocks, pools, thins):
            with self.subTest(block=b, pool=s, thins=m):
                self.assertSame(["-b", b, "-s", s, "-m", m])

    def test_every_output_unit_and_form(self):
        for unit, form in itertools.product("bskKmMgGtTpPeE", ["", "-n", "-nshort", "-nlong", "-ns", "-nl"]):
            with self.subTest(unit=unit, form=form):
                self.assertSame(["-b", "64k", "-s", "3t", "-m", "77", "-u", unit] + ([form] if form else []))

    def test_unit_names_and_prefixes(self):
        for unit in ["bytes", "sect", "kibibytes", "kilo", "mebi", "mega", "gi", "giga", "tebibytes", "peta"]:
            with self.subTest(unit=unit):
                self.assertSame(["--block-size=64k", "--pool-size=1p", "--max-thins=10", f"--unit={unit}"])


class WhereWeDiffer(TempDirTestCase):
    def test_block_sizes_that_are_not_powers_of_two(self):
        # 0.9.0 refuses them; the kernel takes any multiple of 64 KiB.
        ref = theirs("thin_metadata_size", "-b", "192k", "-s", "1t", "-m", "1")
        self.assertEqual((ref.returncode, ref.stderr), (1, "thin_metadata_size - block size must be 2^^N\n"))
        r = ours("thin_metadata_size", "-b", "192k", "-s", "1t", "-m", "1")
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)

    def test_sizes_echoed_in_sectors_whatever_the_output_unit(self):
        # 0.9.0 names a suffix-less size in the -u unit given before it.
        args = ["-u", "k", "-b", "128", "-s", "2097152", "-m", "10"]
        self.assertIn('"--block-size=128kibibytes --pool-size=2097152kibibytes',
                      theirs("thin_metadata_size", *args).stdout)
        self.assertIn('"--block-size=128sectors --pool-size=2097152sectors', ours("thin_metadata_size", *args).stdout)

    def test_units_beyond_64_bits(self):
        # 0.9.0's zebibyte and yobibyte factors overflow; ours do not.
        args = ["-b", "64k", "-s", "1t", "-m", "1", "-n", "-u"]
        self.assertEqual(theirs("thin_metadata_size", *args, "z").stdout, "0\n")
        self.assertEqual(ours("thin_metadata_size", *args, "z").stdout, "4.62e-13\n")

    def test_a_separate_word_after_n(self):
        # 0.9.0 ignores it; we refuse it rather than print what was not asked.
        args = ["-b", "64k", "-s", "1t", "-m", "1", "-n", "short"]
        self.assertEqual(theirs("thin_metadata_size", *args).returncode, 0)
        self.assertEqual(ours("thin_metadata_size", *args).returncode, 1)


if __name__ == "__main__":
    unittest.main()
