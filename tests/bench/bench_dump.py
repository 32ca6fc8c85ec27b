#!/usr/bin/env python3
"""Benchmark: our thin_dump against Debian's 0.9.0 on a large pool.

Generates the XML of a pool (an origin and snapshots sharing most of its
data blocks, with a mix of single mappings and runs), restores it with
0.9.0's thin_restore into a sparse image (kept in --work between runs),
then times both thin_dumps (best of --repeat runs, output to /dev/null) and
measures their peak RSS with /usr/bin/time -v. Checks that both print the
same bytes, and prints the figures side by side with the ratio.

    tests/bench/bench_dump.py --bin build-dump [--mappings 2000000 --snapshots 4]
"""

import argparse
import hashlib
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path


def write_pool_xml(path, nr_mappings, nr_snapshots, seed):
    """Streams the XML of an origin with nr_mappings mappings and
    nr_snapshots snapshots that rewrote about a tenth of it. Returns the
    number of data blocks used."""
    origin_runs = []
    rng = random.Random(seed)
    v = d = 0
    left = nr_mappings
    while left:
        n = min(left, rng.choice([1, 1, 1, 2, 3, 8, 16, 64]))
        origin_runs.append((v, d, n))
        v += n + rng.choice([0, 0, 1, 5, 100])
        d += n + rng.choice([0, 0, 0, 3])
        left -= n
    next_data = d
    with open(path, "w") as out:
        # nr_data_blocks: room for the origin and every rewritten block.
        nr_data = next_data + nr_mappings * nr_snapshots // 5 + 1024
        out.write(f'<superblock uuid="" time="{nr_snapshots}" transaction="{nr_snapshots + 1}" flags="0" '
                  f'version="2" data_block_size="128" nr_data_blocks="{nr_data}">\n')
        for dev in range(nr_snapshots + 1):
            out.write(f'  <device dev_id="{dev}" mapped_blocks="{nr_mappings}" transaction="{dev}" '
                      f'creation_time="{dev}" snap_time="{dev}">\n')
            lines = []
            for vb, db, n in origin_runs:
                if dev and rng.random() < 0.1:
                    # A rewritten stretch: new data blocks, a newer time.
                    lines.append(f'    <range_mapping origin_begin="{vb}" data_begin="{next_data}" '
                                 f'length="{n}" time="{dev}"/>\n' if n > 1 else
                                 f'    <single_mapping origin_block="{vb}" data_block="{next_data}" '
                                 f'time="{dev}"/>\n')
                    next_data += n
                elif n > 1:
                    lines.append(f'    <range_mapping origin_begin="{vb}" data_begin="{db}" length="{n}" time="0"/>\n')
                else:
                    lines.append(f'    <single_mapping origin_block="{vb}" data_block="{db}" time="0"/>\n')
                if len(lines) >= 10000:
                    out.writelines(lines)
                    lines.clear()
            out.writelines(lines)
            out.write("  </device>\n")
        out.write("</superblock>\n")
    assert next_data < nr_data
    return nr_data


def measure(cmd):
    """Runs cmd with stdout to /dev/null; returns (seconds, peak RSS KiB)."""
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    elapsed = time.perf_counter() - start
    if p.returncode:
        sys.exit(f"{cmd} failed:\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return elapsed, rss


def digest(cmd):
    h = hashlib.sha256()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as p:
        for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
            h.update(chunk)
    if p.returncode:
        sys.exit(f"{cmd} failed")
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build", help="build directory holding our thin_dump")
    ap.add_argument("--reference", default="/usr/sbin", help="directory of the 0.9.0 tools")
    ap.add_argument("--work", default="/tmp/thinmeta-bench-dump", help="where the XML and image are kept")
    ap.add_argument("--mappings", type=int, default=2_000_000, help="mappings of the origin")
    ap.add_argument("--snapshots", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", default="xml", choices=["xml", "human_readable"])
    args = ap.parse_args()

    ours = Path(args.bin) / "thin_dump"
    theirs = Path(args.reference) / "thin_dump"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    stem = f"pool-{args.mappings}x{args.snapshots + 1}-s{args.seed}"
    image = work / f"{stem}.bin"
    if not image.exists():
        xml = work / f"{stem}.xml"
        print(f"generating {xml} ...", flush=True)
        write_pool_xml(xml, args.mappings, args.snapshots, args.seed)
        partial = work / f"{stem}.partial"
        with open(partial, "wb") as f:
            f.truncate(4 << 30)  # sparse; 0.9.0 lays the metadata out from the start
        print(f"restoring with 0.9.0 into {image} ...", flush=True)
        t = time.perf_counter()
        subprocess.run([Path(args.reference) / "thin_restore", "-i", xml, "-o", partial], check=True)
        print(f"  ({time.perf_counter() - t:.1f} s)")
        partial.rename(image)
        xml.unlink()

    cmd_ours = [str(ours), "-f", args.format, str(image)]
    cmd_theirs = [str(theirs), "-f", args.format, str(image)]
    if digest(cmd_ours) != digest(cmd_theirs):
        sys.exit("the outputs differ")
    measure(cmd_ours)  # warm the page cache
    best = {}
    for name, cmd in (("0.9.0", cmd_theirs), ("ours", cmd_ours)):
        runs = [measure(cmd) for _ in range(args.repeat)]
        best[name] = (min(r[0] for r in runs), max(r[1] for r in runs))
    used = os.stat(image).st_blocks * 512
    print(f"image {image} ({used >> 20} MiB allocated), "
          f"{args.mappings * (args.snapshots + 1)} mappings, format {args.format}")
    for name, (secs, rss) in best.items():
        print(f"  {name:6} {secs:8.3f} s  peak RSS {rss / 1024:8.1f} MiB")
    t0, r0 = best["0.9.0"]
    t1, r1 = best["ours"]
    print(f"  speed-up {t0 / t1:.2f}x, memory ours/0.9.0 {r1 / r0:.2f}")


if __name__ == "__main__":
    main()
