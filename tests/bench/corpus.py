"""Benchmark metadata of a chosen size, built once with our own tools and
cached under $THINMETA_BENCH_DIR (default /var/tmp/thinmeta-bench).

Two kinds of image, each named by the metadata it holds (64m, 1g, 4g, ...):

  sim-SIZE.bin  what a kernel pool leaves after a long life, made by
                `thin_sim workload`: four volumes written at random (a
                fragmented volume) and in runs, snapshots taken as they are
                written (sharing leaves with their volumes and each other),
                discards, and a metadata snapshot held halfway through.
                Then `thin_sim run` takes two snapshots of volume 0 and
                rewrites 1% and 0.1% of it, for thin_delta.
                SIZE.json beside it says what it holds.
  xml-SIZE.xml  generated XML of an origin and 4 snapshots that each
                rewrote 5% of it (runs of 1 to 64 blocks, small holes), and
  xml-SIZE.bin  that XML restored by our thin_restore.

The data device holds 1024 bytes per metadata byte (a data block per 64
bytes of metadata at 64 KiB blocks), as LVM sizes a pool's metadata.
"""

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import benchlib

CACHE = Path(os.environ.get("THINMETA_BENCH_DIR", "/var/tmp/thinmeta-bench"))
GIB = 1 << 30
BLOCK = 4096
DATA_BLOCK_BYTES = 64 << 10

# Our thin_restore lays out about 1 GiB of metadata per 11.4 million
# origin mappings of write_xml's shape (5 devices, 5% rewritten).
ORIGIN_MAPPINGS_PER_GIB = 11_400_000
# thin_sim workload: snapshots of a volume are taken about this many times
# over the whole run (the interval grows with the size).
SNAPSHOTS_PER_RUN = 24
WRITES_PER_GIB = 8_000_000

# Virtual block at which the delta rewrites start, and the devices they make.
DELTA_SNAPSHOTS = {"1%": 16_000_000, "0.1%": 16_000_001}


def parse_size(text):
    """'64m', '1g', '4g' -> bytes."""
    units = {"m": 20, "g": 30}
    return int(float(text[:-1]) * (1 << units[text[-1].lower()]))


def _superblock_field(image, offset):
    with open(image, "rb") as f:
        sb = f.read(BLOCK)
    return int.from_bytes(sb[offset:offset + 8], "little")


def in_use(image):
    """Bytes of metadata the metadata space map says are in use (its root's
    nr_allocated, at 192 + 8 in the superblock)."""
    return _superblock_field(image, 200) * BLOCK


def data_blocks(image):
    """Blocks of the data device (the data space map root's nr_blocks)."""
    return _superblock_field(image, 64)


def sparse(path, size):
    path.unlink(missing_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


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


def _devices(nr_mappings, nr_snapshots, rewrite, seed):
    """Yields, per device, a generator of its runs; rewritten runs take new
    data blocks after the origin's. Ends with (None, data blocks used)."""
    last = 0
    for _, d, n, _ in origin_runs(seed, nr_mappings):
        last = d + n
    next_free = [last]

    def device(dev):
        rng = random.Random(seed * 1000 + dev)
        for v, d, n, t in origin_runs(seed, nr_mappings):
            if dev and rng.random() < rewrite:
                d, t = next_free[0], 4 + dev
                next_free[0] += n
            yield v, d, n, t

    for dev in range(nr_snapshots + 1):
        yield dev, device(dev)
    yield None, next_free[0]


def write_xml(path, nr_mappings, nr_snapshots, rewrite, seed=1):
    """Streams the XML of an origin and its diverged snapshots to `path`."""
    total = None
    for dev, runs in _devices(nr_mappings, nr_snapshots, rewrite, seed):
        if dev is None:
            total = runs
        else:
            for _ in runs:
                pass
    with open(path, "w") as f:
        f.write(f'<superblock uuid="" time="{nr_snapshots + 4}" transaction="1" flags="0" version="2" '
                f'data_block_size="128" nr_data_blocks="{total}">\n')
        for dev, runs in _devices(nr_mappings, nr_snapshots, rewrite, seed):
            if dev is None:
                break
            f.write(f'  <device dev_id="{dev}" mapped_blocks="{nr_mappings}" transaction="0" '
                    f'creation_time="{dev}" snap_time="{nr_snapshots}">\n')
            lines = []
            for v, d, n, t in runs:
                if n == 1:
                    lines.append(f'    <single_mapping origin_block="{v}" data_block="{d}" time="{t}"/>\n')
                else:
                    lines.append(f'    <range_mapping origin_begin="{v}" data_begin="{d}" length="{n}" time="{t}"/>\n')
                if len(lines) >= 10000:
                    f.writelines(lines)
                    lines.clear()
            f.writelines(lines)
            f.write("  </device>\n")
        f.write("</superblock>\n")


def _in_child(function, *args):
    """Runs a generator of this module in a child process, so that this one
    stays small (the tools timed later inherit nothing from it, but a small
    bench process is cheap insurance)."""
    subprocess.run([sys.executable, __file__, function, *map(str, args)], check=True)


def xml_file(size, log=print):
    """The cached generated XML for the given size class."""
    CACHE.mkdir(parents=True, exist_ok=True)
    xml = CACHE / f"xml-{size}.xml"
    if not xml.exists():
        nr = round(parse_size(size) / GIB * ORIGIN_MAPPINGS_PER_GIB)
        log(f"generating {xml}: {nr} mappings x 5 devices ...")
        tmp = xml.with_suffix(".partial")
        _in_child("write_xml", tmp, nr, 4, 0.05)
        tmp.rename(xml)
    return xml


def restore_room(size):
    """A metadata file size that holds the restore of xml-SIZE.xml by
    either tool (0.9.0 writes about twice what we do)."""
    return (parse_size(size) * 3 + (64 << 20)) // BLOCK * BLOCK


def xml_image(size, log=print):
    """xml-SIZE.xml restored by our thin_restore (cached)."""
    img = CACHE / f"xml-{size}.bin"
    if img.exists():
        return img
    xml = xml_file(size, log)
    tmp = sparse(img.with_suffix(".tmp"), (parse_size(size) * 5 // 4 + (64 << 20)) // BLOCK * BLOCK)
    log(f"restoring {xml.name} with our thin_restore ...")
    subprocess.run([str(benchlib.ours("thin_restore")), "-q", "-i", str(xml), "-o", str(tmp)], check=True)
    tmp.rename(img)
    return img


def sim_workload_options(size):
    s = parse_size(size)
    writes = WRITES_PER_GIB * s / GIB
    return ["--volumes", "4", "--sequential", "30", "--discard-every", "2000", "--snapshot-writes", "5",
            "--snapshot-every", str(max(1000, int(writes / SNAPSHOTS_PER_RUN))), "--metadata-target", "90"]


def _delta_script(path, span, nr_mapped, seed=7):
    """Snapshots volume 0 twice, rewriting 0.9% of its mapped blocks after
    the first and 0.1% after the second: the first snapshot then differs
    from the volume in 1%, the second in 0.1%. Returns the writes done."""
    rng = random.Random(seed)
    big, small = DELTA_SNAPSHOTS["1%"], DELTA_SNAPSHOTS["0.1%"]
    n_big, n_small = nr_mapped * 9 // 1000, nr_mapped // 1000
    blocks = rng.sample(range(span), n_big + n_small)
    with open(path, "w") as f:
        f.write(f"create_snap {big} 0\n")
        for b in blocks[:n_big]:
            f.write(f"write 0 {b * DATA_BLOCK_BYTES} {DATA_BLOCK_BYTES} 1\n")
        f.write(f"flush\ncreate_snap {small} 0\n")
        for b in blocks[n_big:]:
            f.write(f"write 0 {b * DATA_BLOCK_BYTES} {DATA_BLOCK_BYTES} 2\n")
        f.write("flush\n")
    return n_big + n_small


def mapped_blocks(image, dev):
    """MAPPED_BLOCKS of one device, by our thin_ls."""
    out = subprocess.run([str(benchlib.ours("thin_ls")), "--no-headers", "-o", "DEV,MAPPED_BLOCKS", str(image)],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        d, n = line.split()
        if int(d) == dev:
            return int(n)
    raise RuntimeError(f"{image}: no device {dev}")


def sim_image(size, log=print):
    """The thin_sim image of a size class and what it holds (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    img = CACHE / f"sim-{size}.bin"
    info_path = img.with_suffix(".json")
    if img.exists() and info_path.exists():
        return img, json.loads(info_path.read_text())
    s = parse_size(size)
    # The workload stops with about 80% of the file in use.
    tmp = sparse(img.with_suffix(".tmp"), (s * 5 // 4) // BLOCK * BLOCK)
    data = sparse(CACHE / f"sim-{size}.data", s * (DATA_BLOCK_BYTES // 64))
    options = sim_workload_options(size)
    log(f"building {img}: thin_sim workload {' '.join(options)} ...")
    start = time.perf_counter()
    sim = str(benchlib.ours("thin_sim"))
    p = subprocess.run([sim, "workload", "--metadata", str(tmp), "--data", str(data), *options],
                       check=True, capture_output=True, text=True)
    summary = [line for line in p.stderr.splitlines() if line.startswith("thin_sim:")]
    workload_seconds = time.perf_counter() - start
    nr_mapped = mapped_blocks(tmp, 0)
    span = data.stat().st_size // DATA_BLOCK_BYTES // 5
    script = CACHE / f"sim-{size}.delta.txt"
    writes = _delta_script(script, span, nr_mapped)
    log(f"  workload took {workload_seconds:.0f} s; rewriting {writes} blocks of volume 0 for thin_delta ...")
    subprocess.run([sim, "run", "-q", "--metadata", str(tmp), "--data", str(data), str(script)], check=True)
    script.unlink()
    data.unlink()
    info = {"workload": options, "summary": summary, "workload_seconds": round(workload_seconds, 1),
            "volume_0_mapped": nr_mapped, "delta_snapshots": DELTA_SNAPSHOTS,
            "in_use": in_use(tmp), "data_blocks": s // 64}
    info_path.write_text(json.dumps(info, indent=1) + "\n")
    tmp.rename(img)
    return img, info


if __name__ == "__main__":
    if sys.argv[1] == "write_xml":
        write_xml(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
