"""tests/lib/kernel.py against the real kernel: one boot runs the pieces a
GuestScript writes (pool, thin, pattern writes, an LVM-style snapshot, a
discard, a metadata snapshot, status, clean removal), and 0.9.0's
thin_dump and the data image show that each did what it says."""

import unittest

import kernel
from thinmeta_test import TempDirTestCase, theirs

SUPERBLOCK = ('<superblock uuid="" time="1" transaction="{transaction}" flags="0" version="2" '
              'data_block_size="128" nr_data_blocks="{nr_data_blocks}">')
ORIGIN_AT_METADATA_SNAP = [
    '  <device dev_id="0" mapped_blocks="3" transaction="0" creation_time="0" snap_time="1">',
    '    <single_mapping origin_block="0" data_block="0" time="0"/>',
    '    <single_mapping origin_block="2" data_block="1" time="0"/>',
    '    <single_mapping origin_block="3" data_block="4" time="1"/>',
    '  </device>',
]
ORIGIN_AT_END = [
    '  <device dev_id="0" mapped_blocks="4" transaction="0" creation_time="0" snap_time="1">',
    '    <single_mapping origin_block="0" data_block="0" time="0"/>',
    '    <single_mapping origin_block="2" data_block="1" time="0"/>',
    '    <single_mapping origin_block="3" data_block="4" time="1"/>',
    '    <single_mapping origin_block="10" data_block="5" time="1"/>',
    '  </device>',
]
SNAPSHOT = [
    '  <device dev_id="1" mapped_blocks="4" transaction="0" creation_time="1" snap_time="1">',
    '    <single_mapping origin_block="0" data_block="0" time="0"/>',
    '    <range_mapping origin_begin="2" data_begin="1" length="3" time="0"/>',
    '  </device>',
]


class KernelHelperTest(TempDirTestCase):
    def test_guest_script_pieces_do_what_they_say(self):
        kernel.require_kernel()
        meta, data = kernel.make_images(self.tmp)
        s = kernel.GuestScript(block_size=128)
        s.create_pool()
        s.create_thin(0)
        s.write(0, [0, (2, 3)], "first")
        s.create_snap(1, 0)                 # thin0 is active: suspended around the message
        s.write(0, [3], "second")           # shared with 1: copied to a new data block
        s.discard(0, 4, 1)                  # unmaps 4 in 0 only
        s.set_transaction_id(0, 5)
        s.reserve_metadata_snap()
        s.write(0, [10], "third")
        s.status()
        s.remove_all()
        self.assertEqual(s.active, [])
        run = kernel.run_guest(s, disks=[meta, data])
        self.assertTrue(run.kernel, run)

        [status] = run.statuses()
        fields = status.split()
        self.assertEqual(fields[2:4], ["thin-pool", "5"], status)
        self.assertEqual(fields[5], "6/16384", status)   # data blocks 0-5 in use
        self.assertNotEqual(fields[6], "-", status)       # the held metadata root

        dump = self.assertRan(theirs("thin_dump", meta)).stdout
        self.assertEqual(dump.splitlines(), [SUPERBLOCK.format(transaction=5, nr_data_blocks=16384),
                                             *ORIGIN_AT_END, *SNAPSHOT, "</superblock>"])
        dump_m = self.assertRan(theirs("thin_dump", "-m", meta)).stdout
        self.assertEqual(dump_m.splitlines(), [SUPERBLOCK.format(transaction=5, nr_data_blocks=0),
                                               *ORIGIN_AT_METADATA_SNAP, *SNAPSHOT, "</superblock>"])

        block = 128 * 512
        with open(data, "rb") as f:
            for data_block, tag in [(0, "first"), (1, "first"), (3, "first"), (4, "second"), (5, "third")]:
                with self.subTest(data_block=data_block):
                    f.seek(data_block * block)
                    self.assertEqual(f.read(block), kernel.block_pattern(tag, 128))


if __name__ == "__main__":
    unittest.main()
