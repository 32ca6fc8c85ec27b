"""thin_sim against the real kernel: ../shared/simdiff/diff-sim runs
generated scripts through Linux 6.1's dm-thin (under qemu, kvm-dm) and
through thin_sim, and compares the metadata (thin_dump), the data image,
the output lines and the exit status. A few seeds that between them cover
every block size, feature, external origins, crashes in the middle and at
the end, metadata snapshots, and short writes into reused blocks."""

import os
import tempfile
import unittest

from kernel import require_kernel
from thinmeta_test import REFERENCE_DIR, SHARED, run, tool

DIFF_SIM = SHARED / "simdiff" / "diff-sim"
# 2: 384-sector blocks, no passdown; 5: an origin; 16: 1024-sector blocks,
# skip zeroing, an origin, crashes; 17: skip zeroing, crashes, short writes
# into reused blocks; 22: ignore_discard; 30: 384, an origin, crash at the end.
SEEDS = ["2", "5", "16", "17", "22", "30"]


class SimAgainstKernel(unittest.TestCase):
    def test_generated_scripts_match_the_kernel(self):
        if not DIFF_SIM.is_file():
            self.skipTest(f"{DIFF_SIM} is absent")
        require_kernel()
        sim = tool("thin_sim")
        dump = REFERENCE_DIR / "thin_dump"
        if not dump.exists():
            dump = tool("thin_dump")
        with tempfile.TemporaryDirectory(prefix="thinmeta-simdiff-") as work:
            r = run([DIFF_SIM, "--workdir", work, sim, dump, *SEEDS], timeout=1500,
                    env={**os.environ, "SIMDIFF_CACHE": os.environ.get("SIMDIFF_CACHE", "/tmp/simdiff-cache")})
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(r.stdout.endswith(f"simdiff: {len(SEEDS)} passed, 0 failed\n"), r)


if __name__ == "__main__":
    unittest.main()
