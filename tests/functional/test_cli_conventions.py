"""The command-line conventions every tool keeps: -h prints usage and exits 0,
-V prints the bare version line and exits 0, an unknown option or a missing
argument exits 1 (never 2: LVM reads 2 from thin_check as "not installed")
with a message on stderr. Tools not built yet are skipped."""

import re
import unittest

from thinmeta_test import BIN, SOURCE, run

TOOLS = ["thin_check", "thin_dump", "thin_restore", "thin_repair", "thin_delta", "thin_ls",
         "thin_rmap", "thin_trim", "thin_metadata_size", "thin_metadata_pack",
         "thin_metadata_unpack", "thin_sim"]
# Tools that do something useful with no arguments at all: none so far.
RUN_WITHOUT_ARGUMENTS = set()


def all_tools():
    """The tools above plus any other thin_* program in the build directory."""
    built = {p.name for p in BIN.glob("thin_*") if p.is_file() and p.stat().st_mode & 0o111}
    return TOOLS + sorted(built - set(TOOLS))


def project_version():
    """MAJOR.MINOR.PATCH from the top CMakeLists.txt, which the tools print."""
    text = (SOURCE / "CMakeLists.txt").read_text()
    return re.search(r"project\(thinmeta VERSION (\d+\.\d+\.\d+)", text).group(1)


class CliConventionsTest(unittest.TestCase):
    def built(self, name):
        path = BIN / name
        if not path.exists():
            self.skipTest(f"{name} is not built in {BIN}")
        return path

    def tool_run(self, path, *args):
        return run([path, *args], input="", timeout=60)

    def test_help_prints_usage_and_exits_0(self):
        for name in all_tools():
            with self.subTest(tool=name):
                path = self.built(name)
                for option in ("-h", "--help"):
                    r = self.tool_run(path, option)
                    self.assertEqual(r.returncode, 0, r)
                    self.assertTrue(r.stdout.startswith(f"Usage: {name} "), r)
                    self.assertEqual(r.stderr, "", r)

    def test_version_prints_one_bare_line_and_exits_0(self):
        version = project_version()
        for name in all_tools():
            with self.subTest(tool=name):
                path = self.built(name)
                for option in ("-V", "--version"):
                    r = self.tool_run(path, option)
                    self.assertEqual(r.returncode, 0, r)
                    self.assertEqual(r.stdout, version + "\n", r)
                    self.assertEqual(r.stderr, "", r)

    def test_unknown_option_exits_1_with_a_message(self):
        for name in all_tools():
            with self.subTest(tool=name):
                r = self.tool_run(self.built(name), "--no-such-option")
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("--no-such-option", r.stderr, r)

    def test_no_arguments_exits_1_with_a_message(self):
        for name in all_tools():
            if name in RUN_WITHOUT_ARGUMENTS:
                continue
            with self.subTest(tool=name):
                r = self.tool_run(self.built(name))
                self.assertEqual(r.returncode, 1, r)
                self.assertNotEqual(r.stderr.strip(), "", r)


if __name__ == "__main__":
    unittest.main()
