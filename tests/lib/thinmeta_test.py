"""Shared helpers for the functional and interop tests.

The tests run the built tools as a user would. ctest sets THINMETA_BIN (the
build directory holding the tools) and THINMETA_SOURCE (the checkout). The
reference tools are Debian's thin-provisioning-tools 0.9.0 in /usr/sbin;
../shared sits beside the checkout in CI.
"""

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

SOURCE = Path(os.environ.get("THINMETA_SOURCE", Path(__file__).resolve().parents[2]))
BIN = Path(os.environ.get("THINMETA_BIN", SOURCE / "build"))
SHARED = Path(os.environ.get("THINMETA_SHARED", SOURCE.parent / "shared"))
UPSTREAM = SHARED / "fixtures" / "upstream"
KVM_DM = SHARED / "kernel" / "kvm-dm"
FIXTURES = SOURCE / "fixtures"
REFERENCE_DIR = Path("/usr/sbin")


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return (f"Result({self.args!r}, rc={self.returncode}, "
                f"stdout={self.stdout[:2000]!r}, stderr={self.stderr[:2000]!r})")


# What AddressSanitizer, LeakSanitizer and UBSan print when they find a bug.
SANITIZER_REPORT = re.compile(rb"^==\d+==ERROR: \w+Sanitizer|: runtime error: ", re.M)


def run(args, input=None, timeout=600, text=True, env=None):
    """Runs a command; never raises on a non-zero status, but fails the test
    when a sanitizer reported a bug (scripts/test's sanitizer build)."""
    p = subprocess.run([str(a) for a in args], input=input, capture_output=True,
                       timeout=timeout, text=text, env=env)
    stderr = p.stderr.encode(errors="replace") if text else p.stderr
    if stderr and SANITIZER_REPORT.search(stderr):
        raise AssertionError(f"sanitizer report from {args}:\n{stderr.decode(errors='replace')}")
    return Result(args, p.returncode, p.stdout, p.stderr)


def tool(name):
    """Path of one of our built tools."""
    path = BIN / name
    if not path.exists():
        raise unittest.SkipTest(f"{name} is not built in {BIN}")
    return path


def reference(name):
    """Path of a 0.9.0 tool; skips the test when the reference is absent."""
    path = REFERENCE_DIR / name
    if not path.exists():
        raise unittest.SkipTest(f"reference {name} (thin-provisioning-tools 0.9.0) is not installed")
    return path


def ours(name, *args, **kw):
    return run([tool(name), *args], **kw)


def theirs(name, *args, **kw):
    return run([reference(name), *args], **kw)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def evict_from_page_cache(path):
    """Drops the file's pages from the page cache, as a reboot would, so
    that the tools find it out of the cache and read it as they read a disk
    (O_DIRECT, reads that wait). False where its pages stay (tmpfs, say)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    try:
        r = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                           capture_output=True, text=True)
    except OSError:  # no fincore: nothing known
        return False
    return r.returncode == 0 and r.stdout.split() == ["0"]


class TempDirTestCase(unittest.TestCase):
    """A test case with a fresh temporary directory in self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="thinmeta-test-")
        self.tmp = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return self.tmp / name

    def zero_file(self, name, size):
        """A sparse zero-filled file of `size` bytes."""
        p = self.path(name)
        with open(p, "wb") as f:
            f.truncate(size)
        return p

    def assertRan(self, result, rc=0):
        self.assertEqual(result.returncode, rc, result)
        return result


def upstream_images(directory):
    """Unpacks the upstream fixture images (gzipped raw) into `directory`.

    Returns {name: path}; skips when ../shared is absent."""
    return gunzip_images(UPSTREAM / "raw", directory)


def gunzip_images(source, directory):
    """Unpacks source/NAME.bin.gz into directory/NAME.bin; returns {NAME: path}.
    Skips when `source` is absent."""
    if not Path(source).is_dir():
        raise unittest.SkipTest(f"{source} is absent")
    out = {}
    for gz in sorted(Path(source).glob("*.bin.gz")):
        name = gz.name[: -len(".bin.gz")]
        dest = Path(directory) / f"{name}.bin"
        with gzip.open(gz, "rb") as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
        out[name] = dest
    return out


# The upstream images that Debian's 0.9.0 thin_check rejects (see
# ../shared/fixtures/upstream/README.md).
DAMAGED_UPSTREAM = {
    "corrupted_tmeta_with_metadata_snap",
    "tmeta_with_corrupted_metadata_snap",
    "tmeta_device_id_reuse_with_corrupted_thins",
}


def restore_with_reference(xml_path, image_path, size=16 << 20):
    """Builds metadata from XML with 0.9.0's thin_restore."""
    with open(image_path, "wb") as f:
        f.truncate(size)
    r = theirs("thin_restore", "-i", xml_path, "-o", image_path)
    if r.returncode != 0:
        raise AssertionError(f"0.9.0 thin_restore failed: {r}")
    return image_path


class PoolImageTestCase(TempDirTestCase):
    """A TempDirTestCase that makes metadata images of thin_xml pools with
    0.9.0's thin_restore, and checks failures the usual way."""

    def make_image(self, pool, name="meta.bin", size=16 << 20):
        import thin_xml
        xml = self.path(name + ".xml")
        xml.write_text(thin_xml.to_xml(pool))
        return restore_with_reference(xml, self.path(name), size)

    def assertFails(self, result, *fragments):
        """Exit status 1, nothing on stdout, each fragment in the message."""
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stdout, "", result)
        for f in fragments:
            self.assertIn(f, result.stderr, result)
