"""Repaired metadata in the real kernel (6.1, through kvm-dm): a pool the
kernel wrote (a volume, a snapshot of it, copy-on-write writes, a held
metadata snapshot, writes after it, a new volume) is damaged on the host in
several ways, repaired by our thin_repair, and each repaired metadata
activates in the kernel beside the same data device: the pool comes up
read-write, every thin device thin_repair recovered activates, and reads
back exactly the data its recovered mappings point to, which is the data
written to it (or, where a device came back as an older version, the data
of that version); blocks not mapped read zeros."""

import hashlib
import re
import shutil
import unittest

import kernel
from kernel import GuestScript, block_pattern, make_images, run_guest
from thinmeta_test import TempDirTestCase, ours, theirs
from test_damage_matrix import damage, dumped_mappings

BLOCK_SECTORS = 128
BLOCK_BYTES = BLOCK_SECTORS * 512
DATA_BLOCKS = 1024   # a 64 MiB data device
META_BYTES = 4 << 20
READ_BLOCKS = 200    # each thin device is read over its first 200 blocks

# Damage planted in copies of the kernel's metadata, each repaired.
CASES = {
    "data-bitmap": ("data-bitmap", 0),         # loses nothing
    "superblock": ("superblock-checksum", 0),  # the metadata snapshot's copy stands in
    "mapping-root": ("mapping-root", 0),       # a device back from the metadata snapshot
    "top-leaf": ("top-leaf", 0),               # devices from older top levels
    "mapping-leaf": ("mapping-leaf", 1),
}


def written_pool():
    """The workload, and what each thin device holds at the end:
    {dev: {block: tag}}."""
    s = GuestScript(block_size=BLOCK_SECTORS)
    truth = {}

    def write(dev, begin, length, tag):
        s.write(dev, [(begin, length)], tag)
        truth.setdefault(dev, {}).update({b: tag for b in range(begin, begin + length)})

    s.create_pool().create_thin(0)
    write(0, 0, 100, "origin A")
    write(0, 150, 20, "origin B")
    s.create_snap(1, 0, activate=True)
    truth[1] = dict(truth[0])
    write(0, 10, 20, "origin C after the snapshot")
    write(1, 40, 10, "snapshot D")
    s.reserve_metadata_snap()
    write(0, 60, 10, "origin E after the metadata snapshot")
    s.create_thin(2)
    write(2, 0, 30, "new volume F")
    s.remove_all()
    return s, truth


def expected_sha256(mappings, data_image):
    """The sha256 of a thin device's first READ_BLOCKS blocks: each mapped
    block reads its data block, the rest zeros."""
    h = hashlib.sha256()
    with open(data_image, "rb") as f:
        for v in range(READ_BLOCKS):
            if v in mappings:
                f.seek(mappings[v] * BLOCK_BYTES)
                h.update(f.read(BLOCK_BYTES))
            else:
                h.update(bytes(BLOCK_BYTES))
    return h.hexdigest()


def read_back_script(names, devices, data_disk):
    """Activates each repaired metadata (disks /dev/vda, ...) in turn with
    the data disk, and prints each device's status and sha256."""
    bsz = BLOCK_BYTES
    lines = ["set -e", f'data={data_disk}', 'len=$(blockdev --getsz $data)']
    for i, name in enumerate(names):
        meta = f"/dev/vd{chr(ord('a') + i)}"
        lines.append(f'dmsetup create pool --table "0 $len thin-pool {meta} $data {BLOCK_SECTORS} 0 0"')
        lines.append(f'echo "pool {name}: $(dmsetup status pool)"')
        for dev in devices[name]:
            lines.append(f'dmsetup create thin{dev} --table "0 {kernel.THIN_SECTORS} thin /dev/mapper/pool {dev}"')
            lines.append(f'echo "sum {name} {dev} $(dd if=/dev/mapper/thin{dev} bs={bsz} count={READ_BLOCKS} '
                         f'2>/dev/null | sha256sum | cut -d" " -f1)"')
            lines.append(f"dmsetup remove thin{dev}")
        lines.append("dmsetup remove pool")
    return "\n".join(lines) + "\n"


class RepairedMetadataInTheKernel(TempDirTestCase):
    def test_repaired_pools_activate_and_read_back(self):
        kernel.require_kernel()
        meta, data = make_images(self.tmp, META_BYTES, DATA_BLOCKS * BLOCK_BYTES)
        script, truth = written_pool()
        run_guest(script, disks=[meta, data])
        self.assertEqual(theirs("thin_check", meta).returncode, 0)
        original = dumped_mappings(ours("thin_dump", meta).stdout)
        held = dumped_mappings(ours("thin_dump", "-m", meta).stdout)
        # The kernel wrote what the workload says.
        for dev, blocks in truth.items():
            self.assertEqual(sorted(v for v, _, _ in original[dev]), sorted(blocks))

        repaired, devices, expected = [], {}, {}
        for name, (kind, seed) in CASES.items():
            damaged = self.path(f"{name}.damaged")
            shutil.copy(meta, damaged)
            self.assertIsNotNone(damage(damaged, kind, seed), name)
            out = self.zero_file(f"{name}.repaired", META_BYTES)
            r = ours("thin_repair", "-i", damaged, "-o", out)
            self.assertEqual(r.returncode, 0, r)
            self.assertEqual(ours("thin_check", out).returncode, 0, ours("thin_check", out))
            self.assertEqual(theirs("thin_check", out).returncode, 0, theirs("thin_check", out))
            got = dumped_mappings(ours("thin_dump", out).stdout)
            for dev, maps in got.items():
                # Every mapping recovered is one the pool had, now or when
                # the metadata snapshot was taken.
                stray = maps - original.get(dev, set()) - held.get(dev, set())
                self.assertEqual(stray, set(), f"{name}: thin device {dev}")
            repaired.append(out)
            devices[name] = sorted(got)
            expected[name] = {dev: expected_sha256({v: d for v, d, _ in maps}, data) for dev, maps in got.items()}

        # Damage that loses no mapping gives the pool back whole.
        self.assertEqual(dumped_mappings(ours("thin_dump", repaired[0]).stdout), original)

        run = run_guest(read_back_script(list(CASES), devices, f"/dev/vd{chr(ord('a') + len(repaired))}"),
                        disks=[*repaired, data])
        for name in CASES:
            status = re.search(rf"^pool {name}: (.*)$", run.output, re.M)
            self.assertIsNotNone(status, run.output)
            fields = status.group(1).split()
            self.assertEqual(fields[2], "thin-pool", status.group(0))
            self.assertEqual(fields[7], "rw", f"{name}: the pool is not read-write: {status.group(0)}")
            for dev in devices[name]:
                m = re.search(rf"^sum {name} {dev} ([0-9a-f]{{64}})$", run.output, re.M)
                self.assertIsNotNone(m, f"{name}: thin device {dev} did not read back\n{run.output}")
                self.assertEqual(m.group(1), expected[name][dev], f"{name}: thin device {dev}")

        # The untouched devices of the no-loss case read back the tags
        # written to them.
        with open(data, "rb") as f:
            for dev, blocks in truth.items():
                maps = {v: d for v, d, _ in original[dev]}
                for v, tag in blocks.items():
                    f.seek(maps[v] * BLOCK_BYTES)
                    self.assertEqual(f.read(BLOCK_BYTES), block_pattern(tag, BLOCK_SECTORS), f"thin {dev} block {v}")


if __name__ == "__main__":
    unittest.main()
