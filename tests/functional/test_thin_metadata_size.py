"""thin_metadata_size run as a user would: the estimate of 0.9.0's formula
(1 superblock block, one block per thin, leaves of 126 mappings) in each
unit and output form, sizes given with unit suffixes or in sectors, and a
clear message and exit status 1 for whatever is missing or wrong."""

import unittest

from thinmeta_test import TempDirTestCase, ours


def size(*args):
    return ours("thin_metadata_size", *args)


def sentence(value, unit, block, pool, thins):
    return (f"thin_metadata_size - {value} {unit} estimated metadata area size for "
            f'"--block-size={block} --pool-size={pool} --max-thins={thins}"\n')


class Estimates(TempDirTestCase):
    def assertPrints(self, args, stdout, stderr=""):
        r = size(*args)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, stdout, stderr), r)

    def test_the_formula(self):
        # 1 TiB at 64 KiB is 2^24 blocks: 133152 leaves of 126 mappings (0.9.0
        # computes 2 * 2^31 sectors / 128 / 252), one block per thin, one
        # superblock.
        blocks = 1 + 2 * 2**31 // 128 // 252 + 1000
        self.assertPrints(["-b", "64k", "-s", "1t", "-m", "1000"],
                          sentence(blocks * 8, "sectors", "64kibibytes", "1tebibytes", "1000"))
        self.assertPrints(["-b", "128", "-s", "2097152", "-m", "10"],
                          sentence(1128, "sectors", "128sectors", "2097152sectors", "10"))
        self.assertPrints(["--block-size=64k", "--pool-size=1g", "--max-thins=1000"],
                          sentence(9048, "sectors", "64kibibytes", "1gibibytes", "1000"))

    def test_units_of_the_answer(self):
        args = ["-b", "64k", "-s", "1t", "-m", "1000"]
        for unit, text in [("b", "549490688 bytes"), ("s", "1073224 sectors"), ("k", "536612 kibibytes"),
                           ("K", "549490.69 kilobytes"), ("m", "524.04 mebibytes"), ("M", "549.49 megabytes"),
                           ("g", "0.51 gibibytes"), ("T", "5.49e-04 terabytes"), ("mebi", "524.04 mebibytes"),
                           ("kilo", "549490.69 kilobytes"), ("z", "4.65e-13 zebibytes")]:
            with self.subTest(unit=unit):
                value, name = text.split()
                self.assertPrints(args + ["-u", unit], sentence(value, name, "64kibibytes", "1tebibytes", "1000"))

    def test_numeric_forms(self):
        args = ["-b", "64k", "-s", "1t", "-m", "1000", "-u", "g"]
        self.assertPrints(args + ["-n"], "0.51\n")
        self.assertPrints(args + ["--numeric-only"], "0.51\n")
        for form, text in [("short", "0.51g"), ("s", "0.51g"), ("sh", "0.51g"), ("long", "0.51gibibytes"),
                           ("l", "0.51gibibytes")]:
            with self.subTest(form=form):
                self.assertPrints(args + [f"-n{form}"], text + "\n")
                self.assertPrints(args + [f"--numeric-only={form}"], text + "\n")

    def test_size_suffixes(self):
        self.assertPrints(["-b", "65536b", "-s", "10G", "-m", "5", "-u", "b"],
                          sentence(4984832, "bytes", "65536bytes", "10gigabytes", "5"))
        self.assertPrints(["-b", "64kib", "-s", "1t", "-m", "1"],
                          sentence(1065232, "sectors", "64kibibytes", "1tebibytes", "1"))
        # A unit on the count multiplies it, as in 0.9.0.
        self.assertPrints(["-b", "64k", "-s", "1t", "-m", "1k"],
                          sentence(1073416, "sectors", "64kibibytes", "1tebibytes", "1kibibytes"))
        self.assertPrints(["-b", "00128", "-s", "2097152", "-m", "010"],
                          sentence(1128, "sectors", "00128sectors", "2097152sectors", "010"))

    def test_block_sizes_0_9_0_refused(self):
        # Not a power of two, but a multiple of 64 KiB: the kernel takes it.
        self.assertPrints(["-b", "192k", "-s", "1t", "-m", "10"],
                          sentence(355160, "sectors", "192kibibytes", "1tebibytes", "10"))

    def test_notes(self):
        self.assertPrints(["-b", "1k", "-s", "1g", "-m", "1"],
                          sentence(66592, "sectors", "1kibibytes", "1gibibytes", "1"),
                          "thin_metadata_size: note: a block size of 2 sectors is not one the kernel accepts (a "
                          "multiple of 64 KiB up to 1 GiB)\n")
        self.assertPrints(["-b", "64k", "-s", "10p", "-m", "5", "-n"], "10907853496\n",
                          "thin_metadata_size: note: that is more than the 4161600 blocks (15.88 GiB) of metadata "
                          "a pool can use: larger blocks need less\n")


class Errors(TempDirTestCase):
    def assertFails(self, args, message, usage_hint=False):
        r = size(*args)
        hint = "Try 'thin_metadata_size --help' for the options.\n" if usage_hint else ""
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "", f"thin_metadata_size: {message}\n{hint}"), r)

    def test_missing_options(self):
        self.assertFails(["-s", "1t", "-m", "1"], "--block-size is required", True)
        self.assertFails(["-b", "64k", "-m", "1"], "--pool-size is required", True)
        self.assertFails(["-b", "64k", "-s", "1t"], "--max-thins is required", True)

    def test_bad_values(self):
        base = {"-b": "64k", "-s": "1t", "-m": "1"}
        for opt, value, message in [
                ("-b", "0", "--block-size: the block size must be at least one sector"),
                ("-s", "0k", "--pool-size: the pool size must be at least one sector"),
                ("-m", "0", "--max-thins: there must be at least one thin device"),
                ("-s", "64k", "--pool-size: the pool must be larger than a block"),
                ("-b", "64x", "--block-size: 'x' is not a unit (bskKmMgGtTpPeEzZyY or the start of a unit's name)"),
                ("-b", "k", "--block-size: 'k' does not start with a number"),
                ("-s", "1.5g", "--pool-size: '.5g' is not a unit (bskKmMgGtTpPeEzZyY or the start of a unit's "
                               "name)"),
                ("-s", "99999999999999999999", "--pool-size: 99999999999999999999 is too large"),
                ("-s", "16777216y", "--pool-size: 16777216yobibytes is too large")]:
            with self.subTest(option=opt, value=value):
                args = {**base, opt: value}
                self.assertFails([a for kv in args.items() for a in kv], message)

    def test_bad_unit_and_form(self):
        args = ["-b", "64k", "-s", "1t", "-m", "1"]
        self.assertFails(args + ["-u", "x"], "--unit: 'x' is not a unit (bskKmMgGtTpPeEzZyY or the start of a "
                                             "unit's name)")
        self.assertFails(args + ["-nx"], "--numeric-only: 'x' is neither short nor long")
        # The form must be attached; a separate word is not taken for it.
        self.assertFails(args + ["-n", "short"], "unexpected argument 'short'", True)

    def test_help_and_version(self):
        r = size("-h")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: thin_metadata_size -b BLOCK_SIZE -s POOL_SIZE -m MAX_THINS "
                                            "[options]\n"), r.stdout)
        for opt in ["--block-size", "--pool-size", "--max-thins", "--unit", "--numeric-only", "--help",
                    "--version"]:
            self.assertIn(opt, r.stdout)
        r = size("-V")
        self.assertEqual((r.returncode, r.stdout), (0, ours("thin_dump", "-V").stdout))


if __name__ == "__main__":
    unittest.main()
