"""The README's incremental backup, run as a user would: a full backup of one
snapshot, then only the blocks thin_delta -m reports as changed copied in
from a later snapshot, leaves a backup equal to that snapshot."""

import os
import unittest

from thinmeta_test import BIN, SOURCE, TempDirTestCase, reference, run, tool


class IncrementalBackup(TempDirTestCase):
    def test_backup_equals_the_second_snapshot(self):
        tool("thin_sim")
        tool("thin_delta")
        env = dict(os.environ, THINMETA_BIN=str(BIN))
        r = run([SOURCE / "examples" / "incremental-backup", self.tmp], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.splitlines(), [
            "full backup of snapshot 1: 8192 KiB written",
            "incremental backup: copied 6 blocks of 128",
            "the backup equals snapshot 2",
        ])
        with open(self.path("backup.img"), "rb") as a, open(self.path("snap2.img"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_0_9_0_reports_the_same_changes(self):
        tool("thin_sim")
        env = dict(os.environ, THINMETA_BIN=str(BIN))
        self.assertEqual(run([SOURCE / "examples" / "incremental-backup", self.tmp], env=env).returncode, 0)
        ours = self.path("delta.xml").read_text()
        # The metadata snapshot was released at the end; take it again to
        # ask 0.9.0 the same question.
        sim = run([BIN / "thin_sim", "message", "--metadata", self.path("meta.img"), "--data",
                   self.path("data.img"), "reserve_metadata_snap"])
        self.assertEqual(sim.returncode, 0, sim)
        theirs = run([reference("thin_delta"), "-m", "--snap1", "1", "--snap2", "2", self.path("meta.img")])
        self.assertEqual(theirs.returncode, 0, theirs)
        self.assertEqual(theirs.stdout, ours)


if __name__ == "__main__":
    unittest.main()
