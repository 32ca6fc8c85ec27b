#!/usr/bin/env python3
"""thin_delta, ours against 0.9.0: snapshots of a volume with 10M mappings
that differ from it in 1%, 0.1% and 0.01% of it.

The volume (device 1) maps virtual blocks 0..N-1 to fragmented data
(runs of 1 to 64 blocks); 0.9.0's thin_restore lays it out. Snapshots
are then made as the kernel makes them (tests/lib/thin_cow.py: the
snapshot takes the origin's root, each write copies the path it changes)
and each rewrites part of the volume: in clusters of N/10,000 blocks (a
workload that touches a few areas), 100 of them (device 2: 1%), 10
(device 4: 0.1%) or 1 (device 5: 0.01%); device 3 rewrites 1% at random
(every leaf touched: the worst case for sharing). The image is cached in
$THINMETA_BENCH_DIR.

Prints, for each diff (simple and --verbose), wall and CPU time and peak
memory of both tools, best of --repeat runs, warm page cache, after
checking that both print the same bytes; then our time against the
number of blocks that differ: thin_delta's cost should follow the
difference, not the volume.

Usage: tests/bench/bench_thin_delta.py [--mappings 10000000] [--repeat 3]
"""

import argparse
import hashlib
import random
import subprocess
import sys
from pathlib import Path

import benchlib
import corpus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import thin_cow  # noqa: E402


def write_xml(path, nr, seed=3):
    """Device 1 maps 0..nr-1 to runs of fragmented data; the other devices
    are empty until they become snapshots. Returns the data blocks used."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        body, v, d = [], 0, 0
        while v < nr:
            n = min(nr - v, rng.choice([1, 2, 4, 8, 16, 32, 64]))
            d += rng.choice([0, 0, 1, 3])
            body.append(f'    <range_mapping origin_begin="{v}" data_begin="{d}" length="{n}" time="0"/>\n'
                        if n > 1 else f'    <single_mapping origin_block="{v}" data_block="{d}" time="0"/>\n')
            v += n
            d += n
        used = d
        f.write(f'<superblock uuid="" time="2" transaction="1" flags="0" version="2" data_block_size="128" '
                f'nr_data_blocks="{used + nr // 20}">\n')
        f.write(f'  <device dev_id="1" mapped_blocks="{nr}" transaction="0" creation_time="0" snap_time="2">\n')
        f.writelines(body)
        f.write("  </device>\n")
        for dev in SNAPSHOTS:
            f.write(f'  <device dev_id="{dev}" mapped_blocks="0" transaction="0" creation_time="{dev - 1}" '
                    f'snap_time="{dev - 1}">\n  </device>\n')
        f.write("</superblock>\n")
    return used


# Snapshots of device 1: those rewritten in clusters of nr/10,000 blocks (and
# how many clusters), and device 3, rewritten at random in 1% of the volume.
CLUSTERED = {2: 100, 4: 10, 5: 1}
SNAPSHOTS = (2, 3, 4, 5)
DIFFS = (("clustered 1%", "2"), ("scattered 1%", "3"), ("clustered 0.1%", "4"), ("clustered 0.01%", "5"))


def image_path(nr):
    return corpus.CACHE / f"delta-snapshots-{len(SNAPSHOTS)}-{nr}.bin"


def differing_blocks(nr, snapshot):
    """Blocks the snapshot maps differently from device 1 (clusters may
    overlap: an upper bound)."""
    return CLUSTERED[snapshot] * (nr // 10000) if snapshot in CLUSTERED else nr // 100


def build(nr, log):
    """The cached image; made by a child process, so that the memory the
    making takes is not counted against the tools timed later (a child's
    peak RSS starts at its parent's)."""
    img = image_path(nr)
    if not img.exists():
        subprocess.run([sys.executable, __file__, "--build-only", "--mappings", str(nr)], check=True)
    return img


def make(nr, log):
    corpus.CACHE.mkdir(parents=True, exist_ok=True)
    img = image_path(nr)
    xml = img.with_suffix(".xml")
    tmp = img.with_suffix(".tmp")
    log(f"building {img}: a volume of {nr} mappings and snapshots differing in 1%, 0.1% and 0.01% ...")
    used = write_xml(xml, nr)
    with open(tmp, "wb") as f:
        f.truncate(max(1 << 30, nr * 128 + 4095) // 4096 * 4096)
    subprocess.run([str(benchlib.theirs("thin_restore")), "-i", str(xml), "-o", str(tmp)], check=True)
    xml.unlink()
    rng = random.Random(4)
    cow = thin_cow.Image(tmp)
    for dev in SNAPSHOTS:
        cow.snapshot(1, dev, time=dev - 1)
    nxt = used
    for dev, clusters in CLUSTERED.items():
        for _ in range(clusters):
            start = rng.randrange(nr - nr // 10000)
            for v in range(start, start + nr // 10000):
                cow.overwrite(dev, v, nxt)
                nxt += 1
    for v in rng.sample(range(nr), nr // 100):
        cow.overwrite(3, v, nxt)
        nxt += 1
    cow.close()
    tmp.rename(img)
    return img


def digest(cmd):
    """SHA-256 and length of a command's output, read in chunks: the bench
    process stays small, and so does the peak RSS its children start from."""
    h, n = hashlib.sha256(), 0
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE)
    while chunk := p.stdout.read(1 << 16):
        h.update(chunk)
        n += len(chunk)
    if p.wait():
        sys.exit(f"{cmd} failed")
    return h.hexdigest(), n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mappings", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        make(args.mappings, lambda m: print(m, flush=True))
        return
    img = build(args.mappings, print)
    benchlib.warm(img)
    print(f"{img}: {img.stat().st_blocks * 512 >> 20} MiB used", flush=True)
    rows, cost = [], []
    for name, snapshot in DIFFS:
        for verbose in ([], ["--verbose"]):
            cmd = ["--thin1", "1", "--thin2", snapshot, *verbose, img]
            mine, theirs = digest([benchlib.ours("thin_delta"), *cmd]), digest([benchlib.theirs("thin_delta"), *cmd])
            if mine != theirs:
                sys.exit(f"outputs differ for {cmd}: ours {mine}, 0.9.0 {theirs}")
            label = f"delta {name}{' --verbose' if verbose else ''} ({mine[1] >> 10} KiB out)"
            c = benchlib.compare(label, [benchlib.ours("thin_delta"), *cmd], [benchlib.theirs("thin_delta"), *cmd],
                                 runs=args.repeat)
            rows.append(c.row())
            print(f"  {label}: ours {c.row()[1]} s, 0.9.0 {c.row()[2]} s", flush=True)
            if not verbose:
                blocks = differing_blocks(args.mappings, int(snapshot))
                # Wall time: GNU time counts CPU time in 10 ms ticks.
                cost.append([name, f"{blocks:,}", f"{c.wall('ours') * 1000:.1f}",
                             f"{c.wall('ours') * 1e6 / blocks:.2f}", f"{c.wall('theirs') * 1000:.0f}"])
    benchlib.print_table(rows)
    print()
    benchlib.print_table(cost, ["diff (simple)", "blocks differing", "ours ms", "ours us per block",
                                "0.9.0 ms"])


if __name__ == "__main__":
    main()
