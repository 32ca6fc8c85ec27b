"""Runs dm-thin shell scripts in the real kernel, for interop tests.

../shared/kernel/kvm-dm boots Debian's kernel (6.1) under qemu with image
files as virtio disks (/dev/vda, /dev/vdb, ... in order) and runs a busybox
/bin/sh script as root; see ../shared/kernel/README.md. This module runs
such scripts (run_guest) and writes the usual pieces of them (GuestScript):
a pool on /dev/vda (metadata) and /dev/vdb (data), thin devices, writes of
known patterns, snapshots taken the way LVM takes them, metadata snapshots,
discards and a clean removal at the end.

A test module that imports this module is run by ctest under the resource
lock "kvm_dm" (tests/CMakeLists.txt), so only one such module boots qemu at
a time.
"""

import re
import shlex
import subprocess
import unittest
from pathlib import Path

from thinmeta_test import KVM_DM

# The tag written into a data block is padded to this many bytes, newline
# included: it divides 512, so every 512-byte sector of every written pool
# block holds the same text.
TAG_LINE = 64
# Virtual size of every thin device, in sectors (1 TiB): never in the way.
THIN_SECTORS = 1 << 31

_unavailable = None


def unavailable_reason():
    """Why kvm-dm cannot run here, or None when it can."""
    global _unavailable
    if _unavailable is None:
        if not KVM_DM.is_file():
            _unavailable = f"{KVM_DM} is absent (../shared is not beside the checkout)"
        else:
            # --build checks the kernel, qemu, busybox and dmsetup and caches
            # the guest files; it fails with a message naming what is missing.
            p = subprocess.run([KVM_DM, "--build"], capture_output=True, text=True, timeout=600)
            if p.returncode == 0:
                _unavailable = ""
            else:
                why = p.stderr.strip().splitlines()[-1:] or [f"status {p.returncode}"]
                _unavailable = f"kvm-dm is not set up ({why[0]}); run ../shared/kernel/setup"
    return _unavailable or None


def require_kernel():
    """Skips the calling test when kvm-dm cannot run here."""
    reason = unavailable_reason()
    if reason:
        raise unittest.SkipTest(reason)


class GuestRun:
    """What one boot gave back."""

    def __init__(self, returncode, output, log):
        self.returncode = returncode
        self.output = output  # the script's stdout and stderr
        self.log = log  # kvm-dm's own messages
        m = re.search(r"^kvm-dm: kernel (\S+) accel=(\S+) wall=([0-9.]+)s", log, re.M)
        self.kernel = m.group(1) if m else None
        self.accel = m.group(2) if m else None
        self.seconds = float(m.group(3)) if m else None

    def __repr__(self):
        return f"GuestRun(rc={self.returncode}, output={self.output[-3000:]!r}, log={self.log[-2000:]!r})"

    def statuses(self, name="pool"):
        """The status lines GuestScript.status(name) printed, in order."""
        prefix = f"status {name}: "
        return [line[len(prefix):] for line in self.output.splitlines() if line.startswith(prefix)]


def run_guest(script, disks=(), ro_disks=(), bins=(), timeout=600, mem=None, check=True):
    """Boots the kernel and runs `script` (text or a GuestScript).

    disks become /dev/vda, /dev/vdb, ... (then ro_disks, read-only); bins are
    host programs copied into the guest's /usr/local/bin. Skips the test when
    kvm-dm cannot run here. With check, a non-zero status fails the test."""
    require_kernel()
    args = [KVM_DM, "--timeout", str(timeout)]
    if mem:
        args += ["--mem", str(mem)]
    for d in disks:
        args += ["--disk", d]
    for d in ro_disks:
        args += ["--ro-disk", d]
    for b in bins:
        args += ["--bin", b]
    args.append("-")
    text = script.text() if isinstance(script, GuestScript) else script
    p = subprocess.run([str(a) for a in args], input=text, capture_output=True, text=True,
                       errors="replace", timeout=timeout + 120)
    run = GuestRun(p.returncode, p.stdout.replace("\r", ""), p.stderr)
    if check and run.returncode != 0:
        raise AssertionError(f"guest script failed: {run}\n--- script:\n{text}")
    return run


def make_images(directory, meta_size=4 << 20, data_size=1 << 30, names=("meta.img", "data.img")):
    """Creates a zeroed metadata image and a sparse data image; returns their paths."""
    paths = []
    for name, size in zip(names, (meta_size, data_size)):
        path = Path(directory) / name
        with open(path, "wb") as f:
            f.truncate(size)
        paths.append(path)
    return tuple(paths)


def tag_line(tag):
    """The tag padded to one line of TAG_LINE bytes (without its newline)."""
    if not re.fullmatch(r"[A-Za-z0-9 _.:,=+-]{1,%d}" % (TAG_LINE - 1), tag):
        raise ValueError(f"tag {tag!r}: use at most {TAG_LINE - 1} letters, digits, spaces or _.:,=+-")
    return tag.ljust(TAG_LINE - 1)


def block_pattern(tag, block_size):
    """The bytes GuestScript.write(..., tag) puts in each pool block of `block_size` sectors."""
    return ((tag_line(tag) + "\n") * (block_size * 512 // TAG_LINE)).encode()


def runs_of(blocks):
    """Turns block numbers and (begin, length) pairs into (begin, length) pairs."""
    out = []
    for b in blocks:
        begin, length = b if isinstance(b, tuple) else (b, 1)
        out.append((int(begin), int(length)))
    return out


class GuestScript:
    """Builds a guest /bin/sh script step by step.

    The pool is "pool" (metadata /dev/vda, data /dev/vdb, all of /dev/vdb);
    thin device N is /dev/mapper/thinN. Block numbers are pool blocks. Every
    step that fails stops the script (set -e) with a non-zero status."""

    def __init__(self, block_size=128, low_water_mark=0, features=(), meta_dev="/dev/vda", data_dev="/dev/vdb"):
        if block_size % 128:
            raise ValueError("the kernel takes only multiples of 128 sectors as block size")
        self.block_size = block_size
        self.active = []  # thin ids active, in activation order
        self.block_bytes = block_size * 512
        feature_args = " ".join([str(len(features)), *features])
        self.lines = [
            "set -e",
            "export LC_ALL=C",
            f"bsz={self.block_bytes}",
            # pattern TAG COUNT: COUNT pool blocks of the padded TAG line
            'pattern() { yes "$1" | head -c $(($2 * bsz)); }',
            # wr DEV BEGIN LENGTH TAG: write LENGTH blocks from BEGIN (O_DIRECT: in order, no flush)
            'wr() { pattern "$4" $3 | dd of=/dev/mapper/thin$1 bs=$bsz seek=$2 count=$3 '
            'iflag=fullblock oflag=direct conv=notrunc 2>/tmp/dd.err || { cat /tmp/dd.err; return 1; }; }',
            # flush DEV: a REQ_PREFLUSH (fsync) to the device; the pool commits
            'flush() { dd if=/dev/null of=/dev/mapper/thin$1 count=0 conv=notrunc,fsync 2>/dev/null; }',
            f"pool_table=\"0 $(blockdev --getsz {data_dev}) thin-pool {meta_dev} {data_dev} "
            f"{block_size} {low_water_mark} {feature_args}\"",
        ]

    def text(self):
        return "\n".join(self.lines) + "\n"

    def add(self, *lines):
        """Adds raw shell lines."""
        self.lines.extend(lines)
        return self

    def echo(self, text):
        return self.add(f"echo {shlex.quote(text)}")

    def create_pool(self):
        """Activates the pool (formatting zeroed metadata)."""
        return self.add('dmsetup create pool --table "$pool_table"')

    def message(self, text):
        return self.add(f'dmsetup message pool 0 "{text}"')

    def activate(self, dev_id):
        self.active.append(dev_id)
        return self.add(f'dmsetup create thin{dev_id} --table "0 {THIN_SECTORS} thin /dev/mapper/pool {dev_id}"')

    def deactivate(self, dev_id):
        self.active.remove(dev_id)
        return self.add(f"dmsetup remove thin{dev_id}")

    def create_thin(self, dev_id, activate=True):
        self.message(f"create_thin {dev_id}")
        return self.activate(dev_id) if activate else self

    def create_snap(self, snap_id, origin_id, activate=False):
        """Snapshots origin_id as LVM does: an active origin is suspended around the message."""
        active = origin_id in self.active
        if active:
            self.add(f"dmsetup suspend thin{origin_id}")
        self.message(f"create_snap {snap_id} {origin_id}")
        if active:
            self.add(f"dmsetup resume thin{origin_id}")
        return self.activate(snap_id) if activate else self

    def delete(self, dev_id):
        if dev_id in self.active:
            self.deactivate(dev_id)
        return self.message(f"delete {dev_id}")

    def write(self, dev_id, blocks, tag):
        """Writes block_pattern(tag) to each block, then flushes (the pool
        commits). `blocks` holds block numbers and (begin, length) runs; each
        run is one write. Between the writes the pool's periodic commit (once a
        second) may commit too."""
        line = tag_line(tag)
        for begin, length in runs_of(blocks):
            self.add(f"wr {dev_id} {begin} {length} '{line}'")
        return self.flush(dev_id)

    def flush(self, dev_id):
        return self.add(f"flush {dev_id}")

    def discard(self, dev_id, begin, length):
        """Discards `length` blocks from block `begin` (one BLKDISCARD), then flushes."""
        self.add(f"blkdiscard -o {begin * self.block_bytes} -l {length * self.block_bytes} /dev/mapper/thin{dev_id}")
        return self.flush(dev_id)

    def set_transaction_id(self, old, new):
        return self.message(f"set_transaction_id {old} {new}")

    def reserve_metadata_snap(self):
        return self.message("reserve_metadata_snap")

    def release_metadata_snap(self):
        return self.message("release_metadata_snap")

    def status(self, name="pool"):
        """Prints "status NAME: <status line>" (a pool status commits first)."""
        return self.add(f'echo "status {name}: $(dmsetup status {name})"')

    def remove_all(self):
        """Removes every active thin device, then the pool: a clean close that commits."""
        for dev_id in list(self.active):
            self.deactivate(dev_id)
        return self.add("dmsetup remove pool")
