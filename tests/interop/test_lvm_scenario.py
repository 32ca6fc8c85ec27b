"""Real LVM2 (2.03.16) driving our tools on the real kernel: the scenario of
../shared/lvm/lvm-scenario.sh (thin pool, thin LV, snapshot, writes,
deactivation and activation with thin_check, damaged metadata that must
stop activation, lvconvert --repair with thin_repair and thin_dump, the data
read back after the repair) with our thin_check, thin_dump, thin_repair and
thin_restore installed in a directory of their own, once with LVM's default
thin_check options (-q) and once with -q --clear-needs-check-flag, the
default of LVM builds configured with THIN_CHECK_NEEDS_CHECK.

Skips, saying why, when ../shared/lvm is absent, when lvm2 is not installed
on the host (../shared/lvm/setup installs it) or when kvm-dm cannot run.
"""

import re
import shutil
import unittest
from pathlib import Path

import kernel
from thinmeta_test import BIN, SHARED, TempDirTestCase, run

SCENARIO = SHARED / "lvm" / "lvm-scenario.sh"
TOOLS = ("thin_check", "thin_dump", "thin_repair", "thin_restore")
CLEAR_NEEDS_CHECK = 'global/thin_check_options=["-q","--clear-needs-check-flag"]'


def unavailable_reason():
    if not SCENARIO.is_file():
        return f"{SCENARIO} is absent (../shared is not beside the checkout)"
    if not shutil.which("lvm") and not Path("/usr/sbin/lvm").exists() and not Path("/sbin/lvm").exists():
        return "lvm2 is not installed on the host: run ../shared/lvm/setup"
    return kernel.unavailable_reason()


class LvmScenario(TempDirTestCase):
    def setUp(self):
        super().setUp()
        reason = unavailable_reason()
        if reason:
            self.skipTest(reason)
        # Our tools, installed as separate binaries in a directory of their
        # own (lvm-run copies them and their libraries into the guest).
        self.tools = self.path("sbin")
        self.tools.mkdir()
        for name in TOOLS:
            built = BIN / name
            if not built.exists():
                self.skipTest(f"{name} is not built in {BIN}")
            shutil.copy2(built, self.tools / name)

    def scenario(self, *conf):
        work = self.path("work")
        args = [SCENARIO, "--tools", self.tools, "--workdir", work]
        for c in conf:
            args += ["--conf", c]
        r = run(args, timeout=1500)
        summary = re.findall(r"^lvm: (\d+) passed, (\d+) failed$", r.stdout, re.M)
        failures = "\n".join(line for line in r.stdout.splitlines() if line.startswith("FAILED"))
        self.assertEqual(r.returncode, 0, f"{failures}\n--- last output:\n{r.stdout[-6000:]}\n{r.stderr[-2000:]}")
        self.assertTrue(summary, r.stdout[-3000:])
        passed, failed = map(int, summary[-1])
        self.assertEqual(failed, 0, failures)
        self.assertGreater(passed, 0)
        return (work / "tool-calls.txt").read_text()

    def assertCalled(self, calls, pattern):
        self.assertRegex(calls, re.compile(pattern, re.M), calls)

    def test_default_thin_check_options(self):
        calls = self.scenario()
        self.assertCalled(calls, r"^\[lvchange -ay vg\] thin_check -q /dev/mapper/vg-pool_tmeta => 1$")
        self.assertCalled(calls, r"^\[lvconvert --repair vg/pool\] thin_repair '' -i /dev/mapper/vg-pool_tmeta "
                                 r"-o /dev/mapper/vg-lvol0_pmspare => 0$")

    def test_clear_needs_check_flag(self):
        calls = self.scenario(CLEAR_NEEDS_CHECK)
        self.assertCalled(calls, r"^\[lvchange -ay vg\] thin_check -q --clear-needs-check-flag "
                                 r"/dev/mapper/vg-pool_tmeta => 0$")
        self.assertCalled(calls, r"^\[lvchange -ay vg\] thin_check -q --clear-needs-check-flag "
                                 r"/dev/mapper/vg-pool_tmeta => 1$")
        self.assertNotRegex(calls, re.compile(r"thin_check -q /dev", re.M))


if __name__ == "__main__":
    unittest.main()
