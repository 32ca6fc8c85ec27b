"""Generates thin_dump-format XML (the flat 0.9.0 format) for tests.

A pool is described as devices with mapping lists; the generator writes the
exact text 0.9.0's thin_dump would print for it (range_mapping for runs of
consecutive virtual and data blocks with equal time, single_mapping
otherwise), so a dump of the restored metadata can be compared byte for
byte.
"""

import random
from dataclasses import dataclass, field


@dataclass
class Device:
    dev_id: int
    transaction: int = 0
    creation_time: int = 0
    snap_time: int = 0
    # (virtual block, data block, time), ascending by virtual block
    mappings: list = field(default_factory=list)


@dataclass
class Pool:
    time: int = 0
    transaction: int = 0
    flags: int = 0
    version: int = 2
    data_block_size: int = 128
    nr_data_blocks: int = 1024
    devices: list = field(default_factory=list)


def runs(mappings):
    """Groups sorted mappings into (vbegin, dbegin, length, time) runs."""
    out = []
    for v, d, t in mappings:
        if out:
            v0, d0, n, t0 = out[-1]
            if v == v0 + n and d == d0 + n and t == t0:
                out[-1] = (v0, d0, n + 1, t0)
                continue
        out.append((v, d, 1, t))
    return out


def to_xml(pool, skip_mappings=False):
    lines = [f'<superblock uuid="" time="{pool.time}" transaction="{pool.transaction}" '
             f'flags="{pool.flags}" version="{pool.version}" data_block_size="{pool.data_block_size}" '
             f'nr_data_blocks="{pool.nr_data_blocks}">']
    for dev in sorted(pool.devices, key=lambda d: d.dev_id):
        lines.append(f'  <device dev_id="{dev.dev_id}" mapped_blocks="{len(dev.mappings)}" '
                     f'transaction="{dev.transaction}" creation_time="{dev.creation_time}" '
                     f'snap_time="{dev.snap_time}">')
        if not skip_mappings:
            for v, d, n, t in runs(dev.mappings):
                if n == 1:
                    lines.append(f'    <single_mapping origin_block="{v}" data_block="{d}" time="{t}"/>')
                else:
                    lines.append(f'    <range_mapping origin_begin="{v}" data_begin="{d}" '
                                 f'length="{n}" time="{t}"/>')
        lines.append("  </device>")
    lines.append("</superblock>")
    return "\n".join(lines) + "\n"


class Allocator:
    """Hands out data blocks in order, as a fresh pool would."""

    def __init__(self, first=0):
        self.next = first

    def take(self, n=1):
        b = self.next
        self.next += n
        return b


def linear_device(dev_id, alloc, nr_blocks, start=0, time=0, **kw):
    """A device with nr_blocks consecutive mappings (one long run)."""
    first = alloc.take(nr_blocks)
    return Device(dev_id, mappings=[(start + i, first + i, time) for i in range(nr_blocks)], **kw)


def random_device(dev_id, alloc, nr_blocks, span, rng, time=0, **kw):
    """nr_blocks mappings scattered over virtual blocks [0, span)."""
    vblocks = sorted(rng.sample(range(span), nr_blocks))
    return Device(dev_id, mappings=[(v, alloc.take(), time) for v in vblocks], **kw)


def snapshot_of(origin, dev_id, alloc, rng, changed_fraction, time, transaction=0):
    """A snapshot sharing most data blocks with `origin`; a fraction of its
    blocks were rewritten (new data blocks, newer time). As in the kernel,
    taking it sets the origin's snap_time to the snapshot's time."""
    origin.snap_time = max(origin.snap_time, time)
    maps = []
    for v, d, t in origin.mappings:
        if rng.random() < changed_fraction:
            maps.append((v, alloc.take(), time))
        else:
            maps.append((v, d, t))
    return Device(dev_id, transaction=transaction, creation_time=time, snap_time=time, mappings=maps)


def sample_pools(seed=1):
    """A set of pools of different shapes for round-trip and interop tests.

    Returns {name: Pool}."""
    rng = random.Random(seed)
    pools = {}

    a = Allocator()
    pools["empty"] = Pool(nr_data_blocks=1000)
    pools["one_device_no_mappings"] = Pool(devices=[Device(0)], nr_data_blocks=1000)
    pools["single_mappings"] = Pool(nr_data_blocks=10000, transaction=3,
                                    devices=[random_device(1, a, 500, 5000, rng)])
    a = Allocator(100)
    pools["long_range"] = Pool(nr_data_blocks=200000, devices=[linear_device(7, a, 100000, start=50)])

    a = Allocator()
    origin = random_device(0, a, 3000, 20000, rng, time=0)
    snaps = [origin]
    for i in range(1, 6):
        snaps.append(snapshot_of(origin, i, a, rng, 0.1, time=i, transaction=i))
    pools["snapshots"] = Pool(time=5, transaction=9, nr_data_blocks=a.next + 100, devices=snaps)

    a = Allocator()
    devs = [random_device(i * 3, a, rng.randint(0, 40), 1000, rng, time=rng.randint(0, 3),
                          transaction=i, creation_time=i % 4, snap_time=i % 4 + 1)
            for i in range(60)]
    pools["many_devices"] = Pool(time=4, transaction=70, nr_data_blocks=a.next + 10, devices=devs)

    a = Allocator()
    mixed = []
    v = 0
    for _ in range(2000):
        n = rng.choice([1, 1, 2, 5, 30])
        t = rng.randint(0, 2)
        first = a.take(n)
        mixed.extend((v + i, first + i, t) for i in range(n))
        v += n + rng.choice([0, 0, 1, 7])
    pools["mixed_runs"] = Pool(time=2, nr_data_blocks=a.next, data_block_size=256,
                               devices=[Device(42, mappings=mixed, snap_time=2)])
    return pools
