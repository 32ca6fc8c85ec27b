"""The write path against the real kernel: a short dm-thin script (pool
creation, create_thin, whole-block writes with flushes, create_snap, writes
that break sharing, delete, reserve_metadata_snap, a discard) runs on
Debian's 6.1 kernel under ../shared/kernel/kvm-dm; the same metadata
operations replayed through our pool_metadata (the hidden [.kernel] case of
unit_thin) must leave a byte-identical metadata image and the same pool
status numbers. Both images must pass 0.9.0's thin_check and dump."""

import os
import unittest

from thinmeta_test import BIN, KVM_DM, TempDirTestCase, reference, run

# Keep in step with replay() in tests/unit/thin/pool_metadata_kernel_replay_test.cc.
GUEST_SCRIPT = """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin0 bs=65536 seek=$1 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create pool --table "0 131072 thin-pool /dev/vda /dev/vdb 128 0"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
for b in 0 1 2 3 10 100; do wr $b; done
dmsetup suspend thin0
dmsetup message pool 0 "create_snap 1 0"
dmsetup resume thin0
for b in 1 3 200; do wr $b; done
dmsetup message pool 0 "delete 1"
dmsetup message pool 0 reserve_metadata_snap
wr 2
blkdiscard -o 655360 -l 65536 /dev/mapper/thin0
dd if=/dev/null of=/dev/mapper/thin0 count=0 conv=fsync 2>/dev/null
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove pool
"""


class KernelMetadataEquality(TempDirTestCase):
    def test_replay_matches_the_kernel_byte_for_byte(self):
        if not os.access(KVM_DM, os.X_OK):
            self.skipTest(f"{KVM_DM} is absent")
        thin_check = reference("thin_check")
        thin_dump = reference("thin_dump")
        unit_thin = BIN / "tests" / "unit_thin"
        if not unit_thin.exists():
            self.skipTest(f"{unit_thin} is not built")

        meta = self.path("meta.img")
        with open(meta, "wb") as f:
            f.truncate(16 << 20)
        with open(self.path("data.img"), "wb") as f:
            f.truncate(64 << 20)
        script = self.path("guest.sh")
        script.write_text(GUEST_SCRIPT)
        r = run([KVM_DM, "--disk", meta, "--disk", self.path("data.img"), script], timeout=300)
        if r.returncode in (124, 125):
            self.skipTest(f"the kernel did not run: {r.stderr[-500:]}")
        self.assertEqual(r.returncode, 0, r)
        status = [line[len("STATUS "):] for line in r.stdout.splitlines() if line.startswith("STATUS ")]
        self.assertEqual(len(status), 1, r)
        # The held metadata root is a block number: the kernel really took
        # a metadata snapshot.
        self.assertRegex(status[0], r"^0 131072 thin-pool 0 \d+/4096 8/1024 \d+ rw ")

        ours = self.path("ours.img")
        env = dict(os.environ, THINMETA_KERNEL_IMAGE=str(meta), THINMETA_REPLAY_OUT=str(ours),
                   THINMETA_KERNEL_STATUS=status[0])
        r = run([unit_thin, "[.kernel]"], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("All tests passed", r.stdout)
        self.assertEqual(meta.read_bytes(), ours.read_bytes())

        for image in (meta, ours):
            self.assertEqual(run([thin_check, image]).returncode, 0)
            dump = run([thin_dump, image])
            self.assertEqual(dump.returncode, 0, dump)
            self.assertIn('<device dev_id="0" mapped_blocks="6"', dump.stdout)
            self.assertNotIn('dev_id="1"', dump.stdout)
            dump_m = run([thin_dump, "-m", image])
            self.assertEqual(dump_m.returncode, 0, dump_m)
            self.assertIn('<single_mapping origin_block="10"', dump_m.stdout)


if __name__ == "__main__":
    unittest.main()
