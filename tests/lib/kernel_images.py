"""Metadata the real kernel wrote, for interop tests: the committed fixtures
(fixtures/kernel/, made through ../shared/kernel/kvm-dm) and a pool written
live through kvm-dm with snapshots sharing leaves and internal nodes and a
held metadata snapshot.

A test module that boots the kernel through this module also says
`import kernel`: that is how tests/CMakeLists.txt puts it under the kvm_dm
resource lock, one qemu at a time."""

import tempfile
import unittest

import kernel
from thinmeta_test import FIXTURES, gunzip_images, reference


def kernel_fixture_images(directory):
    """Unpacks fixtures/kernel/*.bin.gz into `directory`; returns {name: path}."""
    return gunzip_images(FIXTURES / "kernel", directory)


def snapshot_pool_script():
    """Thin 0 gets 3000 blocks (a tree of some two dozen leaves under an
    internal root); snapshot 1 of 0; copy-on-write runs, scattered blocks
    and new blocks on 0; snapshot 2 of 1; writes to 1; a metadata
    snapshot; more writes to 0 and 2. Each write is one sector of a block
    (skip_block_zeroing), so the guest writes little data."""
    s = kernel.GuestScript(features=("skip_block_zeroing",))
    s.add("head -c 512 /dev/zero | tr '\\0' x > /tmp/sector",
          # prov DEV FIRST COUNT STEP: one sector in each of COUNT blocks
          'prov() { i=0; while [ $i -lt $3 ]; do dd if=/tmp/sector of=/dev/mapper/thin$1 bs=512 '
          'seek=$((($2 + i * $4) * 128)) count=1 oflag=direct conv=notrunc 2>/dev/null || return 1; '
          'i=$((i + 1)); done; }')
    s.create_pool().create_thin(0)
    s.add("prov 0 0 3000 1").flush(0)
    s.create_snap(1, 0, activate=True)
    s.add("prov 0 1000 150 1", "prov 0 2500 20 17", "prov 0 5000 300 1").flush(0)
    s.create_snap(2, 1, activate=True)
    s.add("prov 1 200 40 1").flush(1)
    s.reserve_metadata_snap()
    s.add("prov 0 100 30 3", "prov 2 2900 50 1").flush(0).flush(2)
    return s.remove_all()


def kernel_snapshot_pool(directory):
    """Runs snapshot_pool_script in the kernel; returns the metadata image.
    Skips the test when kvm-dm cannot run here."""
    meta, data = kernel.make_images(directory, meta_size=16 << 20, data_size=1 << 30)
    kernel.run_guest(snapshot_pool_script(), disks=[meta, data])
    data.unlink()
    return meta


class LiveKernelPoolTestCase(unittest.TestCase):
    """Test cases on one kernel_snapshot_pool, made once for the class in
    cls.image. REFERENCE names the 0.9.0 tool the tests compare with; the
    class is skipped when it or kvm-dm is missing."""

    REFERENCE = None

    @classmethod
    def setUpClass(cls):
        if cls.REFERENCE:
            reference(cls.REFERENCE)
        cls._tmp = tempfile.TemporaryDirectory(prefix="thinmeta-test-")
        cls.image = kernel_snapshot_pool(cls._tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
