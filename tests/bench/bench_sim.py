#!/usr/bin/env python3
"""thin_sim's speed on image files: provisioning writes per second (with and
without data I/O), writes that break sharing with snapshots, pool messages
(metadata operations, each committed) per second, and the time a workload
takes to fill a metadata device of a given size (default 1 GiB).

Usage: tests/bench/bench_sim.py [--fill SIZE] [--writes N] [--messages N]
Needs THINMETA_BIN (default build/) to hold thin_sim. Work files go to a
temporary directory next to the source (sparse images; a few GiB of space
at most with --fill 1g).
"""

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

import benchlib

SIM = benchlib.ours("thin_sim")


def sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def timed(args):
    start = time.perf_counter()
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"{args} failed: {p.stderr[-2000:]}")
    return wall, p.stderr


def summary_number(stderr, pattern):
    m = re.search(pattern, stderr)
    if not m:
        raise RuntimeError(f"no {pattern!r} in {stderr!r}")
    return int(m.group(1))


def workload(work, meta_size, data_size, *options):
    meta = sparse(work / "meta.img", meta_size)
    data = sparse(work / "data.img", data_size)
    return timed([SIM, "workload", "--metadata", meta, "--data", data, *options])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fill", default="1g", help="metadata size to fill (e.g. 256m, 1g)")
    ap.add_argument("--writes", type=int, default=200000)
    ap.add_argument("--messages", type=int, default=20000)
    a = ap.parse_args()
    fill = int(a.fill[:-1]) << {"m": 20, "g": 30}[a.fill[-1].lower()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sim-", dir=benchlib.SOURCE) as d:
        work = Path(d)

        wall, err = workload(work, 256 << 20, 1 << 40, "--writes", str(a.writes), "--no-metadata-snap")
        rows.append(["provisioning writes, 64 KiB, no data I/O", a.writes, f"{wall:.2f}", f"{a.writes / wall:.0f}"])

        n = a.writes // 4
        wall, err = workload(work, 256 << 20, 64 << 30, "--writes", str(n), "--no-metadata-snap", "--data-io", "full")
        rows.append(["provisioning writes, 64 KiB, data written", n, f"{wall:.2f}", f"{n / wall:.0f}"])

        wall, err = workload(work, 1 << 30, 1 << 40, "--writes", str(a.writes), "--span", "100000",
                             "--snapshot-every", "500", "--no-metadata-snap")
        copies = summary_number(err, r"copied to break sharing (\d+)")
        rows.append(["writes with a snapshot every 500 (copies)", f"{a.writes} ({copies})", f"{wall:.2f}",
                     f"{a.writes / wall:.0f}"])

        script = work / "messages.txt"
        lines = []
        for i in range(a.messages // 4):
            lines += [f"create_thin {i}", f"create_snap {i + 500000} {i}", f"delete {i + 500000}",
                      f"set_transaction_id {i} {i + 1}"]
        script.write_text("\n".join(lines) + "\n")
        meta = sparse(work / "meta.img", 256 << 20)
        data = sparse(work / "data.img", 1 << 30)
        wall, _ = timed([SIM, "run", "-q", "--metadata", meta, "--data", data, script])
        rows.append(["pool messages (each committed)", len(lines), f"{wall:.2f}", f"{len(lines) / wall:.0f}"])

        wall, err = workload(work, fill, 1 << 42, "--snapshot-every", "500", "--metadata-target", "95")
        writes = summary_number(err, r"workload: (\d+) writes")
        rows.append([f"fill {a.fill} of metadata to 95%", f"{writes} writes", f"{wall:.2f}", f"{writes / wall:.0f}"])

    benchlib.print_table(rows, header=["what", "operations", "seconds", "per second"])


if __name__ == "__main__":
    main()
