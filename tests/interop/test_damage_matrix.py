"""The damage matrix: every kind of damage tests/tools/thin_damage plants,
on pools with snapshots (and a metadata snapshot), must be reported by our
thin_check and repaired by thin_repair.

For each fixture, kind and seed:
  1. thin_damage plants the damage in a copy and says what and where;
  2. our thin_check exits 1 and names that block (or field, or count);
  3. thin_repair writes new metadata and leaves its input byte for byte as
     it was (when the superblock and every copy of it are lost, it must ask
     for --data-block-size, and is then given the pool's values as a user
     would give them);
  4. the output passes our thin_check and 0.9.0's;
  5. every device of the undamaged pool that a sound details or top-level
     leaf still lists is in the output; and where the top level still
     holds its root, it keeps every mapping of every leaf a careful reader
     reaches from that root in the damaged image (nodes sound, keys within
     their parents' bounds, no cycle; mappings inside the data device).
     When that root itself is lost, the metadata snapshot's tree of the
     device counts the same way. (A device whose top-level entry is lost
     comes back from an older top level, as an older version of its tree:
     writes of the last few transactions may be missing.)

The fixtures: the kernel-made images of fixtures/kernel/ (snapshots sharing
leaves and internal nodes, a held metadata snapshot, trees with internal
top levels), and a thin_sim workload with snapshots, deletes, discards and
a metadata snapshot (skipped if thin_sim is not built).
"""

import gzip
import os
import re
import shutil
import struct
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

from metadata_image import BLOCK, SALT_NODE, Image, Node, block_checksum
from thinmeta_test import BIN, FIXTURES, TempDirTestCase, ours, run, sha256_file, theirs

TEST_TOOLS = Path(os.environ.get("THINMETA_TEST_TOOLS", BIN / "tests" / "tools"))
MAPPING_VALUE_SIZE = 8

# Kinds and the seeds each is run with.
KINDS = {
    "superblock-checksum": [0],
    "superblock-magic": [0],
    "superblock-field": [0, 1, 2, 3],
    "mapping-leaf": [0, 1, 2],
    "mapping-internal": [0, 1],
    "mapping-root": [0, 1],
    "top-leaf": [0, 1],
    "top-internal": [0],
    "details-leaf": [0, 1],
    "details-internal": [0],
    "data-ref-count-leaf": [0, 1],
    "data-ref-count-internal": [0],
    "metadata-ref-count-leaf": [0],
    "data-index": [0],
    "data-bitmap": [0],
    "metadata-bitmap": [0],
    "metadata-index": [0],
    "data-count-raised": [0, 1],
    "data-count-lowered": [0, 1],
    "metadata-count-raised": [0, 1],
    "metadata-count-lowered": [0, 1],
    "mapping-past-end": [0, 1],
    "keys-out-of-order": [0, 1],
    "cycle": [0, 1],
    "bit-flips": [0, 1, 2, 3],
    "zeroed-range": [0, 1, 2, 3],
}


def damage_tool():
    path = TEST_TOOLS / "thin_damage"
    if not path.exists():
        raise unittest.SkipTest(f"thin_damage is not built in {TEST_TOOLS}")
    return path


def damage(image, kind, seed, *extra):
    """Plants damage; returns thin_damage's line, or None when the image has
    no such structure."""
    r = run([damage_tool(), "--kind", kind, "--seed", seed, *extra, image])
    if r.returncode != 0 and "to damage" in r.stderr:
        return None
    if r.returncode != 0:
        raise AssertionError(f"thin_damage failed: {r}")
    return r.stdout.strip()


# ---------------------------------------------------------------- the oracle

def node_fault(data, where, lo, hi):
    """What makes a mapping-tree node unusable where it stands, or None."""
    stored = struct.unpack_from("<I", data, 0)[0]
    if stored != block_checksum(data, SALT_NODE):
        return "bad checksum"
    n = Node(data)
    if n.blocknr != where or n.flags not in (1, 2) or n.value_size != MAPPING_VALUE_SIZE:
        return "bad header"
    if n.max_entries % 3 or 32 + n.max_entries * 16 > BLOCK or n.nr_entries > n.max_entries:
        return "bad capacity"
    if not n.is_leaf and n.nr_entries == 0:
        return "empty internal node"
    keys = [n.key(i) for i in range(n.nr_entries)]
    if any(b <= a for a, b in zip(keys, keys[1:])):
        return "keys out of order"
    if keys and (keys[0] < lo or (hi is not None and keys[-1] >= hi)):
        return "keys outside the parent's bounds"
    return None


class Oracle:
    """Reads a damaged image as a careful salvaging reader would, knowing
    the undamaged original: a block unchanged from the original is sound;
    a changed one is checked (checksum, header, key order and bounds)."""

    def __init__(self, original, damaged):
        self.orig = Image(original)
        self.img = Image(damaged)
        self.nr_blocks = os.path.getsize(damaged) // BLOCK

    def close(self):
        self.orig.close()
        self.img.close()

    def reachable_mappings(self, root, nr_data_blocks):
        """{(vblock, data block, time)} of every usable leaf under root."""
        out = set()
        path = []

        def visit(b, lo, hi):
            if b >= self.nr_blocks or b in path:
                return
            data = self.img.read(b)
            if data != self.orig.read(b) and node_fault(data, b, lo, hi):
                return
            n = Node(data)
            if n.is_leaf:
                for i in range(n.nr_entries):
                    v = n.value64(i)
                    if v >> 24 < nr_data_blocks:
                        out.add((n.key(i), v >> 24, v & 0xFFFFFF))
                return
            path.append(b)
            for i in range(n.nr_entries):
                child_lo = max(n.key(i), lo) if i == 0 else n.key(i)
                child_hi = n.key(i + 1) if i + 1 < n.nr_entries else hi
                visit(n.value64(i), child_lo, child_hi)
            path.pop()

        visit(root, 0, None)
        return out

    def root_usable(self, root):
        data = self.img.read(root)
        return data == self.orig.read(root) or node_fault(data, root, 0, None) is None


def device_roots(image_path, location=0):
    """{device id: bottom-level root} of the superblock at `location`."""
    with Image(image_path) as img:
        sb = img.read(location)
        mapping_root = struct.unpack_from("<Q", sb, 320)[0]
        return {k: struct.unpack("<Q", v)[0] for k, v in img.entries(mapping_root)}


def keys_still_listed(original, damaged, root):
    """The keys of a single-level tree (details or top level) whose path
    from the root is unchanged in the damaged image."""
    with Image(original) as a, Image(damaged) as b:
        out = set()

        def visit(block):
            if a.read(block) != b.read(block):
                return
            n = a.node(block)
            if n.is_leaf:
                out.update(n.key(i) for i in range(n.nr_entries))
            else:
                for i in range(n.nr_entries):
                    visit(n.value64(i))
        visit(root)
        return out


def expected_mappings(original, damaged):
    """For each device of the undamaged pool: whether the output must hold
    it, and the mappings it must keep (see the module's docstring). A device
    whose entry in the top level is lost keeps its place but no particular
    mappings: its tree is found again only in an older top level, as an
    older version."""
    with Image(original) as img:
        sb = img.superblock()
    nr_data = sb["data_sm"][0]
    live = device_roots(original)
    snap = device_roots(original, sb["held_root"]) if sb["held_root"] else {}
    in_top = keys_still_listed(original, damaged, sb["mapping_root"])
    in_details = keys_still_listed(original, damaged, sb["details_root"])
    oracle = Oracle(original, damaged)
    try:
        out = {}
        for dev, root in live.items():
            maps = set()
            if dev in in_top:
                maps = oracle.reachable_mappings(root, nr_data)
                if not oracle.root_usable(root) and dev in snap:
                    maps |= oracle.reachable_mappings(snap[dev], nr_data)
            out[dev] = (dev in in_top or dev in in_details, maps)
        return out
    finally:
        oracle.close()


def changed_blocks(original, damaged):
    with open(original, "rb") as a, open(damaged, "rb") as b:
        out = []
        block = 0
        while True:
            x, y = a.read(BLOCK), b.read(BLOCK)
            if not x and not y:
                return out
            if x != y:
                out.append(block)
            block += 1


def dumped_mappings(xml_text):
    """{device id: {(vblock, data block, time)}} of a flat thin_dump."""
    out = {}
    for dev in ET.fromstring(xml_text).findall("device"):
        maps = set()
        for m in dev:
            if m.tag == "single_mapping":
                maps.add((int(m.get("origin_block")), int(m.get("data_block")), int(m.get("time"))))
            elif m.tag == "range_mapping":
                v, d, n, t = (int(m.get(k)) for k in ("origin_begin", "data_begin", "length", "time"))
                maps.update((v + i, d + i, t) for i in range(n))
        out[int(dev.get("dev_id"))] = maps
    return out


# ----------------------------------------------------- what the checker names

def checker_must_name(kind, line):
    """Fragments our thin_check must print for the damage thin_damage
    described in `line`: (all of these, at least one of these)."""
    blocks = [int(b) for b in re.findall(r"\d+", line.split(":")[0].split("block")[-1])]
    if kind.startswith("superblock-"):
        m = re.search(r"(data_mapping_root|device_details_root) set to (\d+)", line)
        if m:
            return [f"block {m.group(2)}"], []
        if "data_block_size" in line:
            return ["data block size 100 sectors"], []
        if "nr_blocks" in line:
            return ["superblock: the metadata space map covers"], []
        return ["superblock at block 0"], []
    m = re.search(r"reference count of (data|metadata) block (\d+) (?:raised|lowered) from 1 to (\d)", line)
    if m:
        return [f"{m.group(1)} block {m.group(2)}: reference count {m.group(3)} in the space map"], []
    if kind == "cycle":
        root = re.search(r"now points to block (\d+)", line).group(1)
        return ["mapping tree of thin device", f"block {root} ", "cycle"], []
    if kind in ("bit-flips", "zeroed-range"):
        return [], [f"block {b}" for b in blocks]
    # The structure, as the checker names it: a block several devices share
    # is named after whichever device the checker reached it from.
    structure = line.split(", block")[0]
    if "(block shared by devices" in structure:
        structure = "mapping tree of thin device"
    extra = {"mapping-past-end": ["past the end of the data device"], "keys-out-of-order": ["keys out of order"]}
    return [structure, f"block {blocks[0]}"] + extra.get(kind, []), []


# ---------------------------------------------------------------- fixtures

def kernel_fixture(name):
    def make(directory):
        image = Path(directory) / f"{name}.bin"
        with gzip.open(FIXTURES / "kernel" / f"{name}.bin.gz", "rb") as src, open(image, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return image
    return make


def sim_fixture(directory):
    """Two volumes written randomly with snapshots every 700 writes (the
    oldest deleted beyond four), some writes to snapshots, discards, and a
    metadata snapshot reserved halfway: made by thin_sim."""
    sim = BIN / "thin_sim"
    if not sim.exists():
        raise unittest.SkipTest(f"thin_sim is not built in {BIN}")
    meta, data = Path(directory) / "sim.bin", Path(directory) / "sim.data"
    for args in (["create", "--metadata-size", "8m", "--data-size", "4g"],
                 ["workload", "--data-io", "none", "--seed", "3", "--volumes", "2", "--writes", "6000",
                  "--snapshot-every", "700", "--max-snapshots", "4", "--snapshot-writes", "20",
                  "--discard-every", "500"]):
        r = run([sim, args[0], "--metadata", meta, "--data", data, *args[1:]])
        if r.returncode != 0:
            raise AssertionError(f"thin_sim failed: {r}")
    data.unlink()
    return meta


FIXTURE_MAKERS = {
    "snapshots-metadata-snap": kernel_fixture("snapshots-metadata-snap"),
    "snapshots": kernel_fixture("snapshots"),
    "many-thins": kernel_fixture("many-thins"),
    "sim-workload": sim_fixture,
}

# Structures a fixture does not have: thin_damage must say so.
ABSENT = {
    "snapshots-metadata-snap": {"top-internal", "details-internal"},
    "snapshots": {"top-internal", "details-internal"},
    "many-thins": {"mapping-internal", "cycle", "data-ref-count-internal"},
    "sim-workload": {"top-internal", "details-internal"},
}


class DamageMatrix(TempDirTestCase):
    fixture = None

    @classmethod
    def setUpClass(cls):
        cls._fixture_dir = tempfile.TemporaryDirectory(prefix="thinmeta-matrix-")
        cls.original = FIXTURE_MAKERS[cls.fixture](cls._fixture_dir.name)
        with Image(cls.original) as img:
            sb = img.superblock()
        cls.has_snapshot = sb["held_root"] != 0
        cls.pool_values = ["--data-block-size", str(sb["data_block_size"]),
                           "--nr-data-blocks", str(sb["data_sm"][0]),
                           "--transaction-id", str(sb["trans_id"])]

    @classmethod
    def tearDownClass(cls):
        cls._fixture_dir.cleanup()

    def run_case(self, kind, seed):
        damaged = self.path(f"{kind}-{seed}.bin")
        shutil.copy(self.original, damaged)
        line = damage(damaged, kind, seed)
        if kind in ABSENT[self.fixture]:
            self.assertIsNone(line, f"{self.fixture} was expected to have no structure for {kind}")
            return
        self.assertIsNotNone(line, f"{self.fixture} has no structure for {kind}")

        # The checker reports it, naming the place.
        r = ours("thin_check", damaged)
        self.assertEqual(r.returncode, 1, f"{line}\n{r}")
        all_of, one_of = checker_must_name(kind, line)
        for fragment in all_of:
            self.assertIn(fragment, r.stderr, f"{line}\n{r}")
        if one_of:
            self.assertTrue(any(f in r.stderr for f in one_of), f"{line}: none of {one_of} named\n{r}")

        # The repair leaves its input alone; its output checks clean.
        before = sha256_file(damaged)
        out = self.zero_file(f"{kind}-{seed}.out", os.path.getsize(self.original))
        r = ours("thin_repair", "-i", damaged, "-o", out)
        superblock_damaged = 0 in changed_blocks(self.original, damaged)
        if r.returncode != 0 and "--data-block-size" in r.stderr:
            # Only when nothing says what the pool's values were: a user
            # then gives them.
            self.assertTrue(superblock_damaged and not self.has_snapshot, f"{line}\n{r}")
            r = ours("thin_repair", "-i", damaged, "-o", out, *self.pool_values)
        self.assertEqual(r.returncode, 0, f"{line}\n{r}")
        self.assertEqual(sha256_file(damaged), before, f"{line}: thin_repair changed its input")
        self.assertEqual(ours("thin_check", out).returncode, 0, f"{line}\n{ours('thin_check', out)}")
        self.assertEqual(theirs("thin_check", out).returncode, 0, f"{line}\n{theirs('thin_check', out)}")

        # Every mapping a careful reader still reaches is kept. When the
        # superblock is lost too, nothing says which transaction is the
        # last: an older one, read whole, may win over the last one with a
        # damaged subtree, so the devices need only keep as many mappings.
        got = dumped_mappings(theirs("thin_dump", out).stdout)
        counts_only = superblock_damaged and len(changed_blocks(self.original, damaged)) > 1
        readable = kept = 0
        for dev, (present, maps) in expected_mappings(self.original, damaged).items():
            if not present:
                continue
            if dev not in got:
                self.fail(f"{line}: thin device {dev} ({len(maps)} mappings still readable) is missing")
            lost = maps - got[dev]
            readable += len(maps)
            kept += len(got[dev])
            if lost and not counts_only:
                self.fail(f"{line}: thin device {dev} lost {len(lost)} of the {len(maps)} mappings still readable, "
                          f"e.g. {sorted(lost)[:3]}")
        self.assertGreaterEqual(kept, readable, line)


def make_test(kind, seeds):
    def test(self):
        for seed in seeds:
            with self.subTest(seed=seed):
                self.run_case(kind, seed)
    test.__doc__ = f"{kind}, seeds {seeds}"
    return test


for _fixture in FIXTURE_MAKERS:
    _name = "Matrix_" + re.sub(r"\W", "_", _fixture)
    _attrs = {"fixture": _fixture}
    for _kind, _seeds in KINDS.items():
        _attrs["test_" + _kind.replace("-", "_")] = make_test(_kind, _seeds)
    globals()[_name] = type(_name, (DamageMatrix,), _attrs)
del DamageMatrix


if __name__ == "__main__":
    unittest.main()
