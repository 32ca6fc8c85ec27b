#!/usr/bin/env python3
"""thin_metadata_pack and thin_metadata_unpack on a 1 GiB metadata image
(bench_thin_delta's pool: a 10M-mapping volume and two snapshots) and the
corpus image: pack size against the image and against gzip -1 of it, time
and peak memory of pack and unpack, and a byte-for-byte check of the
round trip. 0.9.0 has no pack tool; gzip is the yardstick.

Usage: tests/bench/bench_thin_metadata_pack.py [--size 1g] [--repeat 3]
"""

import argparse
import filecmp
import os
import subprocess
import sys
import tempfile
import time

import benchlib
import bench_thin_delta
import corpus


def gzip_size(path):
    start = time.perf_counter()
    p = subprocess.Popen(["gzip", "-1", "-c", str(path)], stdout=subprocess.PIPE)
    size = 0
    while chunk := p.stdout.read(1 << 20):
        size += len(chunk)
    p.wait()
    return size, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1g", choices=sorted(corpus.SIZES))
    ap.add_argument("--mappings", type=int, default=10_000_000, help="of bench_thin_delta's pool")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = tempfile.TemporaryDirectory(prefix="thinmeta-bench-", dir=corpus.CACHE)
    header = ["image", "MiB", "used MiB", "pack KiB", "gzip -1 KiB", "pack s", "pack cpu", "pack MiB",
              "unpack s", "unpack cpu", "unpack MiB", "gzip -1 s"]
    rows = []
    for name, img in (("snapshots", bench_thin_delta.build(args.mappings, print)),
                      ("corpus " + args.size, corpus.image(args.size))):
        benchlib.warm(img)
        pack, out = os.path.join(work.name, "p.pack"), os.path.join(work.name, "out.bin")
        packs = [benchlib.measure([benchlib.ours("thin_metadata_pack"), "-i", img, "-o", pack])
                 for _ in range(args.repeat)]
        unpacks = [benchlib.measure([benchlib.ours("thin_metadata_unpack"), "-i", pack, "-o", out])
                   for _ in range(args.repeat)]
        if not filecmp.cmp(img, out, shallow=False):
            sys.exit(f"{img}: pack then unpack did not give back the same bytes")
        gz, gz_time = gzip_size(img)
        best = lambda samples, attr: min(getattr(s, attr) for s in samples)
        rows.append([name, img.stat().st_size >> 20, img.stat().st_blocks * 512 >> 20, os.path.getsize(pack) >> 10,
                     gz >> 10, f"{best(packs, 'wall'):.2f}", f"{best(packs, 'cpu'):.2f}",
                     max(s.rss_kb for s in packs) >> 10, f"{best(unpacks, 'wall'):.2f}",
                     f"{best(unpacks, 'cpu'):.2f}", max(s.rss_kb for s in unpacks) >> 10, f"{gz_time:.2f}"])
        print(f"{name}: pack {rows[-1][3]} KiB in {rows[-1][5]} s, gzip -1 {rows[-1][4]} KiB", flush=True)
        os.unlink(out)
    benchlib.print_table(rows, header)


if __name__ == "__main__":
    main()
