#!/usr/bin/env python3
"""thin_check, ours against 0.9.0 on the same image: full check and
--skip-mappings, warm page cache, alternating runs; prints time, CPU and
peak memory of each and the ratio, and the floor (one sequential read).

Usage: tests/bench/bench_check.py [SIZE...]   (SIZE: 64m, 1g, 4g; default 1g)
"""

import sys

import benchlib
import corpus


def main(sizes):
    rows = []
    for size in sizes:
        img = corpus.image(size)
        benchlib.warm(img)
        floor = benchlib.read_floor(img)
        print(f"{size}: {img} ({img.stat().st_blocks * 512 >> 20} MiB used); one sequential read: {floor:.2f} s",
              flush=True)
        for label, extra in (("thin_check", []), ("thin_check --skip-mappings", ["--skip-mappings"])):
            c = benchlib.compare(f"{size} {label}", [benchlib.ours("thin_check"), "-q", *extra, img],
                                 [benchlib.theirs("thin_check"), "-q", *extra, img])
            rows.append(c.row())
            print(f"  {label}: ours {c.row()[1]} s, 0.9.0 {c.row()[2]} s", flush=True)
    benchlib.print_table(rows)


if __name__ == "__main__":
    main(sys.argv[1:] or ["1g"])
