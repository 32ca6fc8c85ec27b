"""Timing helpers for the benchmarks: run a command, record wall time, CPU
time and peak memory (from the kernel's rusage of the child), alternate our
tool with 0.9.0's on the same input, and print a table with the ratio."""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("THINMETA_BIN", SOURCE / "build"))
REFERENCE = Path("/usr/sbin")


class Sample:
    def __init__(self, wall, cpu, rss_kb, rc):
        self.wall, self.cpu, self.rss_kb, self.rc = wall, cpu, rss_kb, rc


def measure(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd once; returns a Sample with wall/CPU seconds and peak RSS."""
    start = time.perf_counter()
    p = subprocess.Popen([str(c) for c in cmd], stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed with {rc}: {err[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, rc)


def read_floor(path, runs=3):
    """The time to read the whole file once in 1 MiB requests (warm cache)."""
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        with open(path, "rb", buffering=0) as f:
            while f.read(1 << 20):
                pass
        t = time.perf_counter() - start
        best = t if best is None else min(best, t)
    return best


def warm(path):
    """Reads a file once so both tools start from the same page cache."""
    read_floor(path, runs=1)


class Comparison:
    def __init__(self, name, ours, theirs):
        self.name, self.ours, self.theirs = name, ours, theirs

    @staticmethod
    def _best(samples, attr):
        return min(getattr(s, attr) for s in samples)

    def row(self):
        ow, tw = self._best(self.ours, "wall"), self._best(self.theirs, "wall")
        oc, tc = self._best(self.ours, "cpu"), self._best(self.theirs, "cpu")
        om, tm = max(s.rss_kb for s in self.ours) / 1024, max(s.rss_kb for s in self.theirs) / 1024
        return [self.name, f"{ow:.2f}", f"{tw:.2f}", f"{tw / ow:.1f}x" if ow else "-",
                f"{oc:.2f}", f"{tc:.2f}", f"{om:.0f}", f"{tm:.0f}", f"{om / tm:.2f}" if tm else "-"]


HEADER = ["operation", "ours s", "0.9.0 s", "speed-up", "ours cpu", "0.9.0 cpu", "ours MiB", "0.9.0 MiB",
          "mem ratio"]


def compare(name, ours_cmd, theirs_cmd, runs=3, before=None):
    """Alternates the two commands `runs` times each; `before` runs before
    every run (e.g. to reset an output file)."""
    ours, theirs = [], []
    for _ in range(runs):
        for cmd, out in ((ours_cmd, ours), (theirs_cmd, theirs)):
            if before:
                before()
            out.append(measure(cmd))
    return Comparison(name, ours, theirs)


def print_table(rows, header=HEADER, file=sys.stdout):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))
    print(line(header), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in rows:
        print(line(r), file=file)


def ours(name):
    return BIN / name


def theirs(name):
    return REFERENCE / name


def raise_limits():
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    except (ValueError, OSError):
        pass
