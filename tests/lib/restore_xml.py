"""XML in the 1.x form, with <def> blocks of mappings that devices share
through <ref>, and the flat pool it stands for.

A pool is an origin and its snapshots. The origin's mappings fall into
segments; each segment is a def. A snapshot refers to a segment it left
alone and holds its own copy, partly rewritten, of one it changed; between
segments every device has some mappings of its own. Restoring the def form
must give the same mappings as the flat form (thin_xml.to_xml of `pool`),
with the unchanged segments' leaves shared.
"""

import random
from dataclasses import dataclass, field

import thin_xml


@dataclass
class SharedPool:
    pool: thin_xml.Pool                          # the flat equivalent
    defs: dict = field(default_factory=dict)     # name -> [(vblock, data, time)]
    layouts: dict = field(default_factory=dict)  # dev_id -> [("ref", name) | ("maps", [...])]


def mapping_lines(mappings, indent):
    pad = " " * indent
    out = []
    for v, d, n, t in thin_xml.runs(mappings):
        if n == 1:
            out.append(f'{pad}<single_mapping origin_block="{v}" data_block="{d}" time="{t}"/>')
        else:
            out.append(f'{pad}<range_mapping origin_begin="{v}" data_begin="{d}" length="{n}" time="{t}"/>')
    return out


def to_xml_with_defs(sp):
    pool = sp.pool
    lines = [f'<superblock uuid="" time="{pool.time}" transaction="{pool.transaction}" '
             f'flags="{pool.flags}" version="{pool.version}" data_block_size="{pool.data_block_size}" '
             f'nr_data_blocks="{pool.nr_data_blocks}">']
    for name, mappings in sp.defs.items():
        lines.append(f'  <def name="{name}">')
        lines += mapping_lines(mappings, 4)
        lines.append("  </def>")
    for dev in sorted(pool.devices, key=lambda d: d.dev_id):
        lines.append(f'  <device dev_id="{dev.dev_id}" mapped_blocks="{len(dev.mappings)}" '
                     f'transaction="{dev.transaction}" creation_time="{dev.creation_time}" '
                     f'snap_time="{dev.snap_time}">')
        for kind, what in sp.layouts[dev.dev_id]:
            if kind == "ref":
                lines.append(f'    <ref name="{what}"/>')
            else:
                lines += mapping_lines(what, 4)
        lines.append("  </device>")
    lines.append("</superblock>")
    return "\n".join(lines) + "\n"


def expand(sp):
    """Fills each device's mapping list from its layout."""
    for dev in sp.pool.devices:
        maps = []
        for kind, what in sp.layouts[dev.dev_id]:
            maps += sp.defs[what] if kind == "ref" else what
        dev.mappings = maps
    return sp


SEGMENT_SIZES = [1, 10, 60, 83, 84, 85, 200, 252, 253, 400, 600, 2000]


def shared_pool(seed=1, nr_snapshots=3, nr_segments=30, keep=0.6, gap_mappings=(0, 0, 3, 90)):
    """An origin and snapshots of it sharing the segments they left alone."""
    rng = random.Random(seed)
    alloc = thin_xml.Allocator()
    sp = SharedPool(pool=thin_xml.Pool(time=nr_snapshots, transaction=nr_snapshots + 1))
    origin = thin_xml.Device(0, snap_time=nr_snapshots)
    snaps = [thin_xml.Device(i, transaction=i, creation_time=i, snap_time=i) for i in range(1, nr_snapshots + 1)]
    devices = [origin] + snaps
    for dev in devices:
        sp.layouts[dev.dev_id] = []

    v = 0
    for s in range(nr_segments):
        # Each device's own mappings in the gap before the segment.
        for dev in devices:
            n = rng.choice(gap_mappings)
            if n:
                t = dev.creation_time
                sp.layouts[dev.dev_id].append(("maps", [(v + i, alloc.take(), t) for i in range(n)]))
        v += max(gap_mappings) + 1
        size = rng.choice(SEGMENT_SIZES)
        segment = []
        while len(segment) < size:
            run = min(rng.choice([1, 1, 3, 20]), size - len(segment))
            first = alloc.take(run)
            segment.extend((v + i, first + i, 0) for i in range(run))
            v += run + rng.choice([0, 1, 5])
        name = f"seg{s}"
        sp.defs[name] = segment
        sp.layouts[0].append(("ref", name))
        for snap in snaps:
            if rng.random() < keep:
                sp.layouts[snap.dev_id].append(("ref", name))
            else:
                changed = [(vb, alloc.take(), snap.creation_time) if rng.random() < 0.2 else (vb, d, t)
                           for vb, d, t in segment]
                sp.layouts[snap.dev_id].append(("maps", changed))
        v += 7
    sp.pool.devices = devices
    sp.pool.nr_data_blocks = alloc.next + 17
    return expand(sp)


def merge_maps(layout):
    """Joins neighbouring ("maps", ...) items, as a dumper would print them."""
    out = []
    for kind, what in layout:
        if kind == "maps" and out and out[-1][0] == "maps":
            out[-1] = ("maps", out[-1][1] + what)
        else:
            out.append((kind, what))
    return out


def edge_pools():
    """Small def/ref pools for the corners of leaf sharing. {name: SharedPool}"""
    pools = {}

    def make(name, defs, layouts):
        devices = [thin_xml.Device(dev_id, creation_time=dev_id, snap_time=5) for dev_id in layouts]
        used = [d for m in defs.values() for _, d, _ in m]
        used += [d for lay in layouts.values() for k, w in lay if k == "maps" for _, d, _ in w]
        sp = SharedPool(pool=thin_xml.Pool(time=5, nr_data_blocks=max(used, default=0) + 1, devices=devices),
                        defs=defs, layouts={k: merge_maps(v) for k, v in layouts.items()})
        pools[name] = expand(sp)

    def maps(first_v, first_d, n, t=0):
        return [(first_v + i, first_d + i, t) for i in range(n)]

    # A whole small root leaf shared by two devices.
    make("shared_root", {"a": maps(0, 0, 50)}, {0: [("ref", "a")], 1: [("ref", "a")]})
    # A whole tree of full leaves shared, plus one device adding to either end.
    make("shared_tree", {"a": maps(100, 0, 2000)},
         {0: [("ref", "a")], 1: [("maps", maps(0, 5000, 10)), ("ref", "a"), ("maps", maps(3000, 6000, 10))]})
    # Leaf sets too small to stand as leaves between others.
    make("small_defs", {"a": maps(0, 0, 83), "b": maps(100, 100, 84), "c": maps(200, 200, 1)},
         {0: [("ref", "a"), ("ref", "b"), ("ref", "c")], 1: [("ref", "b")], 2: [("ref", "c"), ("maps", maps(500, 900, 5))]})
    # An empty def.
    make("empty_def", {"e": [], "a": maps(0, 0, 300)}, {0: [("ref", "e"), ("ref", "a")], 1: [("ref", "a")]})
    return pools


def round_trip_pools(seed=11, big=True):
    """Flat pools of the shapes restore must get right, beyond
    thin_xml.sample_pools(): {name: thin_xml.Pool}."""
    rng = random.Random(seed)
    pools = {}

    a = thin_xml.Allocator()
    pools["one_device"] = thin_xml.Pool(nr_data_blocks=100, devices=[thin_xml.linear_device(0, a, 1)])

    a = thin_xml.Allocator()
    devs = [thin_xml.random_device(i, a, rng.choice([0, 1, 5, 20]), 100, rng, time=i % 3, transaction=i,
                                   creation_time=i % 7, snap_time=i % 7 + 2)
            for i in range(1000)]
    pools["thousand_devices"] = thin_xml.Pool(time=9, transaction=1001, nr_data_blocks=a.next + 3, devices=devs)

    a = thin_xml.Allocator()
    origin = thin_xml.random_device(5, a, 20000, 60000, rng)
    snaps = [origin] + [thin_xml.snapshot_of(origin, 5 + i, a, rng, 0.1, time=i, transaction=i)
                        for i in range(1, 6)]
    pools["snapshots_sharing_90"] = thin_xml.Pool(time=5, transaction=6, nr_data_blocks=a.next, devices=snaps)

    # Data blocks held by 300 devices: counts past what a byte holds.
    a = thin_xml.Allocator()
    origin = thin_xml.random_device(0, a, 200, 1000, rng)
    snaps = [origin] + [thin_xml.snapshot_of(origin, i, a, rng, 0.05, time=i, transaction=i)
                        for i in range(1, 300)]
    pools["three_hundred_snapshots"] = thin_xml.Pool(time=299, transaction=300, nr_data_blocks=a.next,
                                                     devices=snaps)

    a = thin_xml.Allocator(10)
    ranges = [thin_xml.linear_device(1, a, 300000, start=7, time=2),
              thin_xml.linear_device(2, a, 252 * 252 + 1, start=2**40, time=1, snap_time=3),
              thin_xml.linear_device(3, a, 253)]
    pools["long_ranges"] = thin_xml.Pool(time=3, data_block_size=2097152, nr_data_blocks=a.next, devices=ranges)

    if big:
        n = 1_000_000
        singles = thin_xml.Device(9, mappings=[(3 * i + 1, i, i % 5) for i in range(n)], snap_time=5)
        pools["million_singles"] = thin_xml.Pool(time=5, nr_data_blocks=n, devices=[singles])
    return pools
