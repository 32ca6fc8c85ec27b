"""Benchmark metadata of a chosen size, built once and cached.

A corpus image is described by how many mappings its origin volume has and
how many snapshots diverge from it; the XML is streamed (never held in
memory) and restored with a thin_restore (0.9.0's by default, which lays
each device out in its own tree). Images are cached under
$THINMETA_BENCH_DIR (default /var/tmp/thinmeta-bench) by their parameters.
"""

import os
import random
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("THINMETA_BENCH_DIR", "/var/tmp/thinmeta-bench"))

# name: (origin mappings, snapshots, fraction each snapshot rewrites, metadata file size)
SIZES = {
    "64m": (500_000, 3, 0.05, 256 << 20),
    "1g": (6_000_000, 4, 0.05, 2 << 30),
    "4g": (24_000_000, 4, 0.05, 8 << 30),
}


def origin_runs(seed, nr_mappings):
    """Yields (vbegin, dbegin, length, time) of a fragmented origin volume:
    runs of 1 to 64 blocks, small holes, data scattered over the pool."""
    rng = random.Random(seed)
    v, d, left = 0, 0, nr_mappings
    while left > 0:
        n = min(left, rng.choice([1, 1, 2, 3, 8, 16, 64]))
        d += rng.choice([0, 0, 0, 1, 7, 100])
        yield v, d, n, rng.randint(0, 3)
        v += n + rng.choice([0, 0, 0, 1, 4])
        d += n
        left -= n


def write_xml(path, nr_mappings, nr_snapshots, rewrite, seed=1):
    """Streams the XML of an origin and its diverged snapshots to `path`."""
    last = 0
    for _, d, n, _ in origin_runs(seed, nr_mappings):
        last = d + n
    total = last + int(nr_mappings * rewrite * nr_snapshots) + 1000
    with open(path, "w") as f:
        f.write(f'<superblock uuid="" time="{nr_snapshots + 4}" transaction="1" flags="0" version="2" '
                f'data_block_size="128" nr_data_blocks="{total}">\n')
        next_free = last
        for dev in range(nr_snapshots + 1):
            rng = random.Random(seed * 1000 + dev)
            f.write(f'  <device dev_id="{dev}" mapped_blocks="{nr_mappings}" transaction="0" '
                    f'creation_time="{dev}" snap_time="{nr_snapshots}">\n')
            for v, d, n, t in origin_runs(seed, nr_mappings):
                if dev and rng.random() < rewrite:
                    d, t = next_free, 4 + dev
                    next_free += n
                if n == 1:
                    f.write(f'    <single_mapping origin_block="{v}" data_block="{d}" time="{t}"/>\n')
                else:
                    f.write(f'    <range_mapping origin_begin="{v}" data_begin="{d}" length="{n}" time="{t}"/>\n')
            f.write("  </device>\n")
        f.write("</superblock>\n")


def image(size, restore="/usr/sbin/thin_restore", log=print):
    """Path of the cached corpus image of the given size class."""
    nr, snaps, rewrite, file_size = SIZES[size]
    CACHE.mkdir(parents=True, exist_ok=True)
    img = CACHE / f"corpus-{size}.bin"
    if img.exists():
        return img
    xml = CACHE / f"corpus-{size}.xml"
    log(f"building {img} ({nr} mappings x {snaps + 1} devices) ...")
    write_xml(xml, nr, snaps, rewrite)
    tmp = img.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.truncate(file_size)
    subprocess.run([restore, "-i", str(xml), "-o", str(tmp)], check=True)
    tmp.rename(img)
    xml.unlink()
    return img
