"""Timing helpers for the benchmarks: run a command, record wall time, CPU
time and peak memory, alternate our tool with 0.9.0's on the same input,
and print a table with the ratio.

Peak memory comes from GNU time's report on its child, not from this
process's rusage of its own children: Linux carries a process's peak RSS
across fork and exec, so a tool started straight from Python would report
at least the interpreter's size. /usr/bin/time is small, so the figures
start from about 1 MiB.
"""

import contextlib
import ctypes
import hashlib
import mmap
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SOURCE / "tests" / "lib"))
from thinmeta_test import evict_from_page_cache  # noqa: E402
BIN = Path(os.environ.get("THINMETA_BIN", SOURCE / "build"))
REFERENCE = Path("/usr/sbin")
GNU_TIME = "/usr/bin/time"


class Sample:
    def __init__(self, wall, cpu, rss_kb, rc, timed_out=False):
        self.wall, self.cpu, self.rss_kb, self.rc = wall, cpu, rss_kb, rc
        # Killed at the time limit: wall and CPU time are lower bounds.
        self.timed_out = timed_out


def _kill_children(pid):
    """SIGKILLs the processes `pid` started (GNU time's child, the tool)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        try:
            os.kill(int(child), signal.SIGKILL)
        except ProcessLookupError:
            pass


def measure(cmd, stdout=subprocess.DEVNULL, stdin=None, check=True, limit=None):
    """Runs cmd once; returns a Sample with wall/CPU seconds and peak RSS
    (KiB). stdout and stdin may be open files. Past `limit` seconds the
    tool is killed (GNU time still reports what it used until then) and the
    sample says so."""
    cmd = [str(c) for c in cmd]
    timed_out = False
    with tempfile.NamedTemporaryFile(prefix="thinmeta-time-", mode="r") as report:
        start = time.perf_counter()
        p = subprocess.Popen([GNU_TIME, "-q", "-o", report.name, "-f", "%x %U %S %M", *cmd],
                             stdout=stdout, stdin=stdin, stderr=subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_children(p.pid)
            _, err = p.communicate()
        wall = time.perf_counter() - start
        fields = report.read().split()
    err = err.decode(errors="replace")
    rc, user, system, rss = int(fields[-4]), float(fields[-3]), float(fields[-2]), int(fields[-1])
    if check and rc != 0 and not timed_out:
        raise RuntimeError(f"{' '.join(cmd)} failed with {rc}: {err[-2000:]}")
    return Sample(wall, user + system, rss, rc, timed_out)


def digest(cmd):
    """SHA-256 of a command's output, read in chunks (never held whole)."""
    h = hashlib.sha256()
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE)
    while chunk := p.stdout.read(1 << 20):
        h.update(chunk)
    if p.wait():
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed")
    return h.hexdigest()


def huge_page_buffer(size):
    """A private buffer of `size` bytes (at most 2 MiB) inside one huge page
    where the kernel gives them on madvise, as our tools' read buffers are:
    a direct read into it is one physically contiguous segment, which the
    block layer need not split (into 512 KiB pieces on a loop device, whose
    requests take 128 segments), so the floor is the fastest single read."""
    huge = 2 << 20
    area = mmap.mmap(-1, 2 * huge, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    view = memoryview(area)
    address = ctypes.addressof(ctypes.c_char.from_buffer(area))
    start = -address % huge
    area.madvise(mmap.MADV_HUGEPAGE, start, huge)
    buf = view[start:start + size]
    buf[:] = bytes(size)  # fault the page in now, as a huge one
    return buf


def read_floor(path, runs=3, direct=False):
    """The time to read the whole file or device once in 1 MiB requests,
    best of `runs`; `direct`: with O_DIRECT, around the page cache."""
    best = None
    buf = huge_page_buffer(1 << 20)  # page-aligned, as O_DIRECT needs
    for _ in range(runs):
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if direct else 0))
        try:
            start, offset = time.perf_counter(), 0
            while n := os.preadv(fd, [buf], offset):
                offset += n
            t = time.perf_counter() - start
        finally:
            os.close(fd)
        best = t if best is None else min(best, t)
    return best


def warm(path):
    """Reads a file once so both tools start from the same page cache."""
    read_floor(path, runs=1)


# Drops a file's pages from the page cache, so that the next read comes from
# the disk, as on a pool's first activation after boot; whether the cache is
# known to hold none of it afterwards. The tests' helper, shared.
evict = evict_from_page_cache


@contextlib.contextmanager
def loop_device(path):
    """The file as a read-only loop device that reads it with O_DIRECT
    (--direct-io=on), so every read of the device reaches the disk, as
    reads of a pool's metadata device do; None without root or loop
    devices."""
    if os.geteuid() != 0 or not Path("/dev/loop-control").exists():
        yield None
        return
    try:
        dev = subprocess.run(["losetup", "--find", "--show", "--read-only", "--direct-io=on", str(path)],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        yield None
        return
    try:
        yield Path(dev)
    finally:
        subprocess.run(["losetup", "--detach", dev], check=False)


def cold_read_floor(path, runs=3):
    """The time to read the whole file once in 1 MiB requests from the disk
    (evicted from the page cache before each run); None when eviction
    cannot be confirmed."""
    best = None
    for _ in range(runs):
        if not evict(path):
            return None
        t = read_floor(path, runs=1)
        best = t if best is None else min(best, t)
    return best


class Comparison:
    def __init__(self, name, ours, theirs):
        self.name, self.ours, self.theirs = name, ours, theirs

    @staticmethod
    def _best(samples, attr):
        return min(getattr(s, attr) for s in samples)

    def wall(self, which):
        return self._best(getattr(self, which), "wall")

    def cpu(self, which):
        return self._best(getattr(self, which), "cpu")

    def mib(self, which):
        return max(s.rss_kb for s in getattr(self, which)) / 1024

    def timed_out(self, which):
        return any(s.timed_out for s in getattr(self, which))

    def speedup(self):
        return self.wall("theirs") / self.wall("ours") if self.theirs and self.wall("ours") else None

    def memory_ratio(self):
        return self.mib("ours") / self.mib("theirs") if self.theirs and self.mib("theirs") else None

    def row(self):
        if not self.theirs:
            return [self.name, f"{self.wall('ours'):.2f}", "-", "-", f"{self.cpu('ours'):.2f}", "-",
                    f"{self.mib('ours'):.0f}", "-", "-"]
        ow, tw = self.wall("ours"), self.wall("theirs")
        # A reference killed at the time limit: its figures are lower bounds.
        at_least = ">" if self.timed_out("theirs") else ""
        return [self.name, f"{ow:.2f}", f"{at_least}{tw:.2f}", f"{at_least}{tw / ow:.1f}x" if ow else "-",
                f"{self.cpu('ours'):.2f}", f"{at_least}{self.cpu('theirs'):.2f}", f"{self.mib('ours'):.0f}",
                f"{at_least}{self.mib('theirs'):.0f}",
                (f"<{self.memory_ratio():.2f}" if at_least else f"{self.memory_ratio():.2f}") if self.mib("theirs") else "-"]


HEADER = ["operation", "ours s", "0.9.0 s", "speed-up", "ours cpu", "0.9.0 cpu", "ours MiB", "0.9.0 MiB",
          "mem ratio"]


def compare(name, ours_cmd, theirs_cmd, runs=3, before=None, stdout=None, stdin=None, slow=None, limit=None):
    """Alternates the two commands `runs` times each (theirs may be None:
    ours alone); `before` runs before every run (e.g. to reset an output
    file); `stdout`/`stdin` are callables returning the files for a run.
    After a first round where either took longer than `slow` seconds, no
    more rounds are run. The reference is killed after `limit` seconds."""
    ours, theirs = [], []
    for _ in range(runs):
        for cmd, out in ((ours_cmd, ours), (theirs_cmd, theirs)):
            if cmd is None:
                continue
            if before:
                before()
            so = stdout() if stdout else subprocess.DEVNULL
            si = stdin() if stdin else None
            try:
                out.append(measure(cmd, stdout=so, stdin=si, limit=limit if cmd is theirs_cmd else None))
            finally:
                for f in (so, si):
                    if hasattr(f, "close"):
                        f.close()
        if slow is not None and max(s.wall for s in ours + theirs) > slow:
            break
    return Comparison(name, ours, theirs)


def format_table(rows, header=HEADER, markdown=False):
    """The rows as aligned text, or as a markdown table."""
    if markdown:
        lines = ["| " + " | ".join(map(str, header)) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))
    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def print_table(rows, header=HEADER, file=sys.stdout):
    print(format_table(rows, header), file=file)


def ours(name):
    return BIN / name


def theirs(name):
    return REFERENCE / name


def raise_limits():
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    except (ValueError, OSError):
        pass
