"""Metadata from our thin_restore in the real kernel (6.1, through kvm-dm):
the pool activates, each thin device reports the mapped size and highest
block the XML gave it and reads back the data blocks the XML mapped (shared
leaves included), the pool's used-metadata figure shows nr_allocated is
exact, and the kernel can allocate, break sharing, discard and commit on
top of it, leaving metadata both thin_checks pass."""

import random
import re
import unittest

from kernel import GuestScript, make_images, run_guest
from metadata_image import Image
from thinmeta_test import TempDirTestCase, ours, theirs
import restore_xml
import thin_xml

BLOCK_SECTORS = 128
BLOCK_BYTES = BLOCK_SECTORS * 512
DATA_BLOCKS = 16384  # a 1 GiB data device
META_BLOCKS = 1024   # 4 MiB of metadata
TAG = 63


def tag_of(data_block):
    return f"data block {data_block}".ljust(TAG)


def mappings_of(dump_text):
    """{dev_id: {vblock: (data block, time)}} from thin_dump XML."""
    out, dev = {}, None
    for line in dump_text.splitlines():
        if m := re.search(r'<device dev_id="(\d+)"', line):
            dev = out.setdefault(int(m.group(1)), {})
        elif m := re.search(r'single_mapping origin_block="(\d+)" data_block="(\d+)" time="(\d+)"', line):
            dev[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
        elif m := re.search(r'range_mapping origin_begin="(\d+)" data_begin="(\d+)" length="(\d+)" time="(\d+)"',
                            line):
            v, d, n, t = map(int, m.groups())
            dev.update({v + i: (d + i, t) for i in range(n)})
    return out


class RestoredPoolInTheKernel(TempDirTestCase):
    def test_kernel_uses_and_commits_restored_metadata(self):
        rng = random.Random(5)
        sp = restore_xml.shared_pool(seed=21, nr_snapshots=2, nr_segments=12)
        pool = sp.pool
        self.assertLessEqual(pool.nr_data_blocks, DATA_BLOCKS)
        pool.nr_data_blocks = DATA_BLOCKS
        maps = {dev.dev_id: {v: (d, t) for v, d, t in dev.mappings} for dev in pool.devices}

        meta, data = make_images(self.tmp, META_BLOCKS * 4096, DATA_BLOCKS * BLOCK_BYTES)
        xml = self.path("pool.xml")
        xml.write_text(restore_xml.to_xml_with_defs(sp))
        r = ours("thin_restore", "-i", xml, "-o", meta)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        with Image(meta) as img:
            nr_allocated = img.superblock()["metadata_sm"][1]
        # Tag the start of every mapped data block with its number.
        with open(data, "r+b") as f:
            for d in {d for m in maps.values() for d, _ in m.values()}:
                f.seek(d * BLOCK_BYTES)
                f.write((tag_of(d) + "\n").encode())

        # Blocks to read: some mapped (shared ones among them), some not.
        reads = []
        for dev_id, m in maps.items():
            mapped = sorted(m)
            reads += [(dev_id, v) for v in rng.sample(mapped, 30)]
            reads += [(dev_id, v) for v in rng.sample([v for v in range(max(mapped)) if v not in m], 5)]
        shared = sorted(v for v in maps[0] if maps[1].get(v) == maps[0][v])
        unmapped0 = max(maps[0]) + 10
        cow = shared[len(shared) // 2]
        discarded = sorted(maps[2])[3]

        s = GuestScript(block_size=BLOCK_SECTORS)
        s.create_pool()
        for dev_id in maps:
            s.activate(dev_id)
            s.status(f"thin{dev_id}")
        s.status("pool")
        s.add(f"rd() {{ echo \"read $1 $2 $(dd if=/dev/mapper/thin$1 bs={BLOCK_BYTES} skip=$2 count=1 "
              f"iflag=direct 2>/dev/null | head -c {TAG} | tr -d '\\000')\"; }}")
        for dev_id, v in reads:
            s.add(f"rd {dev_id} {v}")
        s.write(0, [unmapped0], "new in 0")
        s.write(1, [cow], "rewritten in 1")
        s.discard(2, discarded, 1)
        for dev_id, v in [(0, unmapped0), (1, cow), (0, cow), (2, discarded)]:
            s.add(f"rd {dev_id} {v}")
        s.remove_all()
        guest = run_guest(s, disks=[meta, data])

        # What the kernel saw in the restored metadata.
        # Status lines start "0 <length> <target>".
        for dev_id, m in maps.items():
            self.assertEqual([line.split()[3:] for line in guest.statuses(f"thin{dev_id}")],
                             [[str(len(m) * BLOCK_SECTORS), str((max(m) + 1) * BLOCK_SECTORS - 1)]])
        used_data = len({d for m in maps.values() for d, _ in m.values()})
        reserve = min(4096, META_BLOCKS // 10)
        pool_status = guest.statuses("pool")[0].split()[3:]
        self.assertEqual(pool_status[:4], [str(pool.transaction), f"{nr_allocated + reserve}/{META_BLOCKS}",
                                           f"{used_data}/{DATA_BLOCKS}", "-"])
        got = dict(((int(a), int(b)), rest) for a, b, rest in
                   re.findall(r"^read (\d+) (\d+) ?(.*)$", guest.output, re.M))
        for dev_id, v in reads:
            want = tag_of(maps[dev_id][v][0]).rstrip() if v in maps[dev_id] else ""
            self.assertEqual(got[(dev_id, v)].rstrip(), want, f"device {dev_id} block {v}")
        self.assertEqual(got[(0, unmapped0)].rstrip(), "new in 0")
        self.assertEqual(got[(1, cow)].rstrip(), "rewritten in 1")
        self.assertEqual(got[(0, cow)].rstrip(), tag_of(maps[0][cow][0]).rstrip())
        self.assertEqual(got[(2, discarded)], "")

        # What the kernel committed on top of it.
        self.assertEqual(theirs("thin_check", meta).returncode, 0)
        self.assertEqual(ours("thin_check", "-q", meta).returncode, 0, ours("thin_check", meta))
        dump = ours("thin_dump", meta)
        self.assertEqual(dump.returncode, 0, dump)
        after = mappings_of(dump.stdout)
        new0 = after[0].pop(unmapped0)
        self.assertEqual(new0[1], pool.time)
        self.assertEqual(after[0], maps[0])
        new1 = after[1].pop(cow)
        self.assertNotEqual(new1[0], maps[1][cow][0])
        self.assertEqual(new1[1], pool.time)
        self.assertEqual({v: m for v, m in after[1].items()}, {v: m for v, m in maps[1].items() if v != cow})
        self.assertEqual(after[2], {v: m for v, m in maps[2].items() if v != discarded})
        used = {d for m in maps.values() for d, _ in m.values()}
        self.assertNotIn(new0[0], used)
        self.assertNotIn(new1[0], used)


if __name__ == "__main__":
    unittest.main()
