#!/usr/bin/env python3
"""thin_ls, ours against 0.9.0: every column (exclusive and shared counts
need every mapping read) and the default columns, on the corpus pool (an
origin and snapshots laid out by thin_restore, nothing shared) and on
bench_thin_delta's pool (snapshots sharing almost all their leaves, as the
kernel makes them). Warm page cache, best of --repeat runs; checks that
both print the same table first.

Usage: tests/bench/bench_thin_ls.py [--size 1g] [--repeat 3]
"""

import argparse
import sys

import benchlib
import bench_thin_delta
import corpus

ALL = ("DEV,MAPPED_BLOCKS,EXCLUSIVE_BLOCKS,SHARED_BLOCKS,MAPPED_SECTORS,EXCLUSIVE_SECTORS,SHARED_SECTORS,"
       "MAPPED_BYTES,EXCLUSIVE_BYTES,SHARED_BYTES,MAPPED,EXCLUSIVE,SHARED,TRANSACTION,CREATE_TIME,SNAP_TIME")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1g", choices=sorted(corpus.SIZES))
    ap.add_argument("--mappings", type=int, default=10_000_000, help="of bench_thin_delta's pool")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    images = [("corpus " + args.size, corpus.image(args.size)),
              ("snapshots", bench_thin_delta.build(args.mappings, print))]
    rows = []
    for name, img in images:
        benchlib.warm(img)
        print(f"{name}: {img} ({img.stat().st_blocks * 512 >> 20} MiB used)", flush=True)
        for label, opts in (("every column", ["-o", ALL]), ("default columns", [])):
            cmd = [*opts, img]
            mine = bench_thin_delta.digest([benchlib.ours("thin_ls"), *cmd])
            if mine != bench_thin_delta.digest([benchlib.theirs("thin_ls"), *cmd]):
                sys.exit(f"thin_ls {cmd}: the outputs differ")
            c = benchlib.compare(f"ls {name}, {label}", [benchlib.ours("thin_ls"), *cmd],
                                 [benchlib.theirs("thin_ls"), *cmd], runs=args.repeat)
            rows.append(c.row())
            print(f"  {label}: ours {c.row()[1]} s, 0.9.0 {c.row()[2]} s", flush=True)
    benchlib.print_table(rows)


if __name__ == "__main__":
    main()
