"""The write path against the real kernel: short dm-thin scripts (pool
creation, create_thin, whole-block writes with flushes, create_snap, writes
that break sharing, delete, reserve_metadata_snap, discards; one that
splits mapping leaves and merges them again; one that grows the data and
metadata devices; one of snapshots of snapshots with data counts in the
overflow tree; one that closes the pool and opens it again; one with 178
data bitmaps; one whose full leaves split two into three) run on
Debian's 6.1 kernel
under ../shared/kernel/kvm-dm; the same metadata operations replayed
through our pool_metadata (the hidden [.kernel] case of unit_thin) must
leave a byte-identical metadata image and the same pool status numbers, and
the image must pass 0.9.0's thin_check and dump. Every write is followed by
a flush, so no periodic commit can fall in between (see
../shared/simdiff/README.md)."""

import os
import unittest
from pathlib import Path

import kernel
from thinmeta_test import BIN, TempDirTestCase, reference, run

# Keep in step with replay_basic() in tests/unit/thin/pool_metadata_kernel_replay_test.cc.
BASIC_SCRIPT = """\
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


# Keep in step with replay_splits(): 300 mappings in one device (leaf
# splits), a snapshot whose shared two-level tree is then changed, a second
# device, a discard of 200 blocks without passdown (removal with merges).
SPLITS_SCRIPT = """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create pool --table "0 131072 thin-pool /dev/vda /dev/vdb 128 0 1 no_discard_passdown"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
i=0; while [ $i -lt 300 ]; do wr 0 $(( (i * 7) % 300 )); i=$((i + 1)); done
dmsetup suspend thin0
dmsetup message pool 0 "create_snap 1 0"
dmsetup resume thin0
for b in 5 60 130 200 270 299; do wr 0 $b; done
dmsetup message pool 0 "create_thin 2"
dmsetup create thin2 --table "0 2097152 thin /dev/mapper/pool 2"
for b in 0 1 2 3 4 5 6 7 8 9; do wr 2 $b; done
blkdiscard -o $((50 * 65536)) -l $((200 * 65536)) /dev/mapper/thin0
dd if=/dev/null of=/dev/mapper/thin0 count=0 conv=fsync 2>/dev/null
dmsetup message pool 0 "delete 1"
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove thin2
dmsetup remove pool
"""


# Keep in step with replay_growth(): the pool's data device grows from 1024
# to 32768 blocks and its metadata device (a linear device over the image)
# from 4096 to 20480 blocks; the pool takes each in when resumed.
GROWTH_SCRIPT = """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create meta --table "0 32768 linear /dev/vda 0"
dmsetup create pool --table "0 131072 thin-pool /dev/mapper/meta /dev/vdb 128 0"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
i=0; while [ $i -lt 20 ]; do wr 0 $i; i=$((i + 1)); done
dmsetup load pool --table "0 4194304 thin-pool /dev/mapper/meta /dev/vdb 128 0"
dmsetup resume pool
while [ $i -lt 30 ]; do wr 0 $i; i=$((i + 1)); done
dmsetup suspend pool
dmsetup load meta --table "0 163840 linear /dev/vda 0"
dmsetup resume meta
dmsetup resume pool
while [ $i -lt 40 ]; do wr 0 $i; i=$((i + 1)); done
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove pool
dmsetup remove meta
"""


# Keep in step with replay_sharing(): snapshots of snapshots, leaves shared
# three and four ways (data counts of 3 and more in the overflow tree), a
# shared tree deleted, a metadata snapshot taken and released, an id reused.
SHARING_SCRIPT = """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
msg() { dmsetup message pool 0 "$1"; }
dmsetup create pool --table "0 131072 thin-pool /dev/vda /dev/vdb 128 0"
msg "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
i=0; while [ $i -lt 30 ]; do wr 0 $i; i=$((i + 1)); done
dmsetup suspend thin0
msg "create_snap 1 0"
msg "create_snap 2 0"
dmsetup resume thin0
msg "create_snap 3 1"
wr 0 5
dmsetup create thin1 --table "0 2097152 thin /dev/mapper/pool 1"
wr 1 7
dmsetup create thin2 --table "0 2097152 thin /dev/mapper/pool 2"
wr 2 9
msg reserve_metadata_snap
msg "delete 3"
wr 0 11
msg release_metadata_snap
msg "set_transaction_id 0 7"
dmsetup remove thin2
msg "delete 2"
msg "create_thin 3"
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove thin1
dmsetup remove pool
"""


# Keep in step with replay_reopen(): two boots on the same images, so the
# second opens the pool the first closed (allocation cursors back at 0).
REOPEN_SCRIPTS = ["""\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create pool --table "0 131072 thin-pool /dev/vda /dev/vdb 128 0"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
for b in 0 1 2 3 4 5; do wr 0 $b; done
blkdiscard -o 0 -l 131072 /dev/mapper/thin0
dd if=/dev/null of=/dev/mapper/thin0 count=0 conv=fsync 2>/dev/null
dmsetup remove thin0
dmsetup remove pool
""", """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create pool --table "0 131072 thin-pool /dev/vda /dev/vdb 128 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
for b in 10 11 12; do wr 0 $b; done
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove pool
"""]


# Keep in step with replay_big_data(): 2900000 data blocks (a sparse 190 GiB
# data image) need 178 bitmaps, more than the kernel's 64-entry cache of
# index entries and more than a leaf of the data space map's index tree.
BIG_DATA_SCRIPT = """\
set -e
yes A | head -c 65536 > /tmp/pat
wr() { dd if=/tmp/pat of=/dev/mapper/thin$1 bs=65536 seek=$2 count=1 oflag=direct conv=fsync,notrunc 2>/dev/null; }
dmsetup create pool --table "0 371200000 thin-pool /dev/vda /dev/vdb 128 0"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
for b in 0 1 2; do wr 0 $b; done
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove pool
"""


# Keep in step with replay_wide(): 1280 mappings written in runs of 40 whose
# starts jump about, so full leaves in the middle split two into three and
# lend entries to their siblings. The host's GNU dd (copied into the guest)
# writes with O_DSYNC: every block is its own transaction. Two discards
# without passdown then remove most of it (leaves merge, centres go).
WIDE_SCRIPT = """\
set -e
yes A | head -c 2621440 > /tmp/pat
wr() { /usr/local/bin/dd if=/tmp/pat of=/dev/mapper/thin0 bs=65536 seek=$1 count=$2 oflag=direct,dsync conv=notrunc 2>/dev/null; }
dmsetup create pool --table "0 262144 thin-pool /dev/vda /dev/vdb 128 0 1 no_discard_passdown"
dmsetup message pool 0 "create_thin 0"
dmsetup create thin0 --table "0 2097152 thin /dev/mapper/pool 0"
for c in 0 16 8 24 4 12 20 28 2 6 10 14 18 22 26 30 1 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31; do wr $((c * 60)) 40; done
blkdiscard -o $((300 * 65536)) -l $((1000 * 65536)) /dev/mapper/thin0
dd if=/dev/null of=/dev/mapper/thin0 count=0 conv=fsync 2>/dev/null
blkdiscard -o $((1500 * 65536)) -l $((100 * 65536)) /dev/mapper/thin0
dd if=/dev/null of=/dev/mapper/thin0 count=0 conv=fsync 2>/dev/null
echo "STATUS $(dmsetup status pool)"
dmsetup remove thin0
dmsetup remove pool
"""


class KernelMetadataEquality(TempDirTestCase):
    def test_basic_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("basic", BASIC_SCRIPT, r"^0 131072 thin-pool 0 \d+/4096 8/1024 \d+ rw ")
        self.assertIn('<device dev_id="0" mapped_blocks="6"', dump)
        self.assertNotIn('dev_id="1"', dump)

    def test_splits_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("splits", SPLITS_SCRIPT, r"^0 131072 thin-pool 0 \d+/4096 110/1024 - rw ")
        self.assertIn('<device dev_id="0" mapped_blocks="100"', dump)
        self.assertIn('<device dev_id="2" mapped_blocks="10"', dump)

    def test_growth_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("growth", GROWTH_SCRIPT, r"^0 4194304 thin-pool 0 \d+/20480 40/32768 - rw ",
                            meta_size=128 << 20, data_size=2 << 30)
        self.assertIn('nr_data_blocks="32768"', dump)
        self.assertIn('<device dev_id="0" mapped_blocks="40"', dump)

    def test_sharing_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("sharing", SHARING_SCRIPT, r"^0 131072 thin-pool 7 \d+/4096 33/1024 - rw ")
        self.assertIn('transaction="7"', dump)
        self.assertIn('<device dev_id="1" mapped_blocks="30"', dump)
        self.assertIn('<device dev_id="3" mapped_blocks="0"', dump)
        self.assertNotIn('dev_id="2"', dump)

    def test_reopen_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("reopen", REOPEN_SCRIPTS, r"^0 131072 thin-pool 0 \d+/4096 7/1024 - rw ")
        # Reopened, the allocator starts again from data block 0.
        self.assertIn('<range_mapping origin_begin="10" data_begin="0" length="2"', dump)

    def test_big_data_replay_matches_the_kernel_byte_for_byte(self):
        dump = self.compare("big_data", BIG_DATA_SCRIPT, r"^0 371200000 thin-pool 0 \d+/4096 3/2900000 - rw ",
                            data_size=190 << 30)
        self.assertIn('nr_data_blocks="2900000"', dump)

    def test_wide_replay_matches_the_kernel_byte_for_byte(self):
        gnu_dd = Path("/usr/bin/dd")
        if not gnu_dd.exists():
            self.skipTest("no /usr/bin/dd to copy into the guest")
        dump = self.compare("wide", WIDE_SCRIPT, r"^0 262144 thin-pool 0 \d+/4096 520/2048 - rw ",
                            data_size=128 << 20, bins=[gnu_dd])
        self.assertIn('<device dev_id="0" mapped_blocks="520"', dump)

    def compare(self, scenario, guest_script, status_pattern, meta_size=16 << 20, data_size=64 << 20, bins=()):
        """Runs the script on the kernel and the replay; returns 0.9.0's dump."""
        kernel.require_kernel()
        thin_check = reference("thin_check")
        thin_dump = reference("thin_dump")
        unit_thin = BIN / "tests" / "unit_thin"
        if not unit_thin.exists():
            self.skipTest(f"{unit_thin} is not built")

        meta, data = kernel.make_images(self.tmp, meta_size, data_size)
        scripts = guest_script if isinstance(guest_script, list) else [guest_script]
        stdout = ""
        for text in scripts:
            stdout += kernel.run_guest(text, disks=[meta, data], bins=bins, timeout=300).output
        status = [line[len("STATUS "):] for line in stdout.splitlines() if line.startswith("STATUS ")]
        self.assertEqual(len(status), 1, stdout)
        self.assertRegex(status[0], status_pattern)

        ours = self.path("ours.img")
        env = dict(os.environ, THINMETA_KERNEL_IMAGE=str(meta), THINMETA_REPLAY_OUT=str(ours),
                   THINMETA_KERNEL_STATUS=status[0], THINMETA_SCENARIO=scenario)
        r = run([unit_thin, "[.kernel]"], env=env)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("All tests passed", r.stdout)
        self.assertEqual(meta.read_bytes(), ours.read_bytes())

        self.assertEqual(run([thin_check, ours]).returncode, 0)
        dump = run([thin_dump, ours])
        self.assertEqual(dump.returncode, 0, dump)
        if scenario == "basic":  # the one that keeps a metadata snapshot
            dump_m = run([thin_dump, "-m", ours])
            self.assertEqual(dump_m.returncode, 0, dump_m)
            self.assertIn('<single_mapping origin_block="10"', dump_m.stdout)
        return dump.stdout


if __name__ == "__main__":
    unittest.main()
