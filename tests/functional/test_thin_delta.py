"""thin_delta run as a user would: the diff of two devices is exactly what
the mapping lists say (0.9.0's XML, simple and --verbose), snapshots that
share subtrees with their origin diff right whether the shared parts are
full or have holes and whatever the trees' heights, -m reads the metadata
snapshot, --root1/--root2 diff trees by their root blocks, and bad input
gets a clear message, exit status 1 and no output."""

import random
import unittest
from dataclasses import dataclass

import thin_cow
import thin_xml
from metadata_image import Image
from thinmeta_test import PoolImageTestCase, ours


def delta(*args):
    return ours("thin_delta", *args)


@dataclass
class Piece:
    kind: str
    begin: int
    length: int
    left: int
    right: int


def pieces(left, right):
    """0.9.0's pieces: consecutive virtual blocks of one kind whose data
    blocks run on, on each side that maps them. left, right: {vblock: data}."""
    out = []
    for v in sorted(set(left) | set(right)):
        l, r = left.get(v), right.get(v)
        kind = "left_only" if r is None else "right_only" if l is None else "same" if l == r else "different"
        if out:
            p = out[-1]
            if (p.kind == kind and v == p.begin + p.length and (l is None or l == p.left + p.length)
                    and (r is None or r == p.right + p.length)):
                p.length += 1
                continue
        out.append(Piece(kind, v, 1, l, r))
    return out


def expected_delta(header, left_attr, right_attr, left, right, verbose=False):
    lines = [header, f'  <diff {left_attr} {right_attr}>']
    ps = pieces(left, right)
    if not verbose:
        merged = []
        for p in ps:
            if merged and merged[-1][0] == p.kind and merged[-1][1] + merged[-1][2] == p.begin:
                merged[-1][2] += p.length
            else:
                merged.append([p.kind, p.begin, p.length])
        lines += [f'    <{k} begin="{b}" length="{n}"/>' for k, b, n in merged]
    else:
        group = None
        for p in ps:
            if p.kind != group:
                if group:
                    lines.append(f"    </{group}>")
                lines.append(f"    <{p.kind}>")
                group = p.kind
            if p.kind == "different":
                lines.append(f'      <range begin="{p.begin}" left_data_begin="{p.left}" '
                             f'right_data_begin="{p.right}" length="{p.length}"/>')
            else:
                data = p.right if p.kind == "right_only" else p.left
                lines.append(f'      <range begin="{p.begin}" data_begin="{data}" length="{p.length}"/>')
        if group:
            lines.append(f"    </{group}>")
    lines += ["  </diff>", "</superblock>"]
    return "\n".join(lines) + "\n"


def header(pool, nr_data_blocks=None, metadata_snap=None):
    nr = pool.nr_data_blocks if nr_data_blocks is None else nr_data_blocks
    snap = f' metadata_snap="{metadata_snap}"' if metadata_snap else ""
    return (f'<superblock uuid="" time="{pool.time}" transaction="{pool.transaction}" '
            f'data_block_size="{pool.data_block_size}" nr_data_blocks="{nr}"{snap}>')


def mapping_dict(dev):
    return {v: d for v, d, _ in dev.mappings}


class DeltaTestCase(PoolImageTestCase):

    def assertDelta(self, image, args, expected):
        r = delta(*args, image)
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertEqual(r.stdout, expected)



class DeltaOfRestoredPools(DeltaTestCase):
    def test_every_kind_of_difference(self):
        a = thin_xml.Device(1, mappings=[(0, 10, 0), (1, 11, 0), (2, 12, 1), (3, 40, 0), (5, 50, 0), (9, 90, 0)])
        b = thin_xml.Device(2, mappings=[(0, 10, 0), (1, 11, 0), (2, 12, 0), (3, 41, 0), (4, 42, 0), (6, 60, 0),
                                         (9, 90, 0), (10, 91, 0)])
        pool = thin_xml.Pool(time=3, transaction=8, nr_data_blocks=100, devices=[a, b])
        image = self.make_image(pool)
        hdr = '<superblock uuid="" time="3" transaction="8" data_block_size="128" nr_data_blocks="100">\n'
        # Time differences (block 2) do not count: only data blocks do.
        self.assertDelta(image, ["--thin1", "1", "--thin2", "2"], hdr + (
            '  <diff left="1" right="2">\n'
            '    <same begin="0" length="3"/>\n'
            '    <different begin="3" length="1"/>\n'
            '    <right_only begin="4" length="1"/>\n'
            '    <left_only begin="5" length="1"/>\n'
            '    <right_only begin="6" length="1"/>\n'
            '    <same begin="9" length="1"/>\n'
            '    <right_only begin="10" length="1"/>\n'
            '  </diff>\n</superblock>\n'))
        self.assertDelta(image, ["--snap1", "2", "--snap2", "1", "--verbose"], hdr + (
            '  <diff left="2" right="1">\n'
            '    <same>\n'
            '      <range begin="0" data_begin="10" length="3"/>\n'
            '    </same>\n'
            '    <different>\n'
            '      <range begin="3" left_data_begin="41" right_data_begin="40" length="1"/>\n'
            '    </different>\n'
            '    <left_only>\n'
            '      <range begin="4" data_begin="42" length="1"/>\n'
            '    </left_only>\n'
            '    <right_only>\n'
            '      <range begin="5" data_begin="50" length="1"/>\n'
            '    </right_only>\n'
            '    <left_only>\n'
            '      <range begin="6" data_begin="60" length="1"/>\n'
            '    </left_only>\n'
            '    <same>\n'
            '      <range begin="9" data_begin="90" length="1"/>\n'
            '    </same>\n'
            '    <left_only>\n'
            '      <range begin="10" data_begin="91" length="1"/>\n'
            '    </left_only>\n'
            '  </diff>\n</superblock>\n'))

    def test_sample_pools(self):
        for name, pool in thin_xml.sample_pools().items():
            devs = sorted(pool.devices, key=lambda d: d.dev_id)[:4]
            if not devs:
                continue
            image = self.make_image(pool, name + ".bin")
            for a in devs:
                for b in devs:
                    for verbose in (False, True):
                        with self.subTest(pool=name, left=a.dev_id, right=b.dev_id, verbose=verbose):
                            args = ["--thin1", str(a.dev_id), "--thin2", str(b.dev_id)]
                            self.assertDelta(image, args + (["--verbose"] if verbose else []), expected_delta(
                                header(pool), f'left="{a.dev_id}"', f'right="{b.dev_id}"', mapping_dict(a),
                                mapping_dict(b), verbose))

    def test_random_pairs(self):
        rng = random.Random(5)
        for seed in range(8):
            maps_a, maps_b = [], []
            v = 0
            while v < 3000:
                n = rng.choice([1, 2, 9, 40])
                base = rng.randrange(10000)
                for i in range(n):
                    maps_a.append((v + i, base + i, 0))
                    r = rng.random()
                    if r < 0.6:
                        maps_b.append((v + i, base + i, 1))
                    elif r < 0.8:
                        maps_b.append((v + i, 20000 + v + i, 1))
                v += n + rng.choice([0, 0, 1, 5])
            pool = thin_xml.Pool(nr_data_blocks=30000, devices=[thin_xml.Device(3, mappings=maps_a),
                                                                 thin_xml.Device(4, mappings=maps_b)])
            image = self.make_image(pool, f"random{seed}.bin")
            for verbose in (False, True):
                with self.subTest(seed=seed, verbose=verbose):
                    self.assertDelta(image, ["--thin1", "4", "--thin2", "3"] + (["--verbose"] if verbose else []),
                                     expected_delta(header(pool), 'left="4"', 'right="3"', mapping_dict(pool.devices[1]),
                                                    mapping_dict(pool.devices[0]), verbose))

    def test_roots_instead_of_devices(self):
        pool = thin_xml.sample_pools()["snapshots"]
        image = self.make_image(pool)
        with Image(image) as img:
            top = img.node(img.superblock()["mapping_root"])
            roots = {top.key(i): top.value64(i) for i in range(top.nr_entries)}
        a, b = pool.devices[1], pool.devices[2]
        self.assertDelta(image, ["--root1", str(roots[1]), "--thin2", "2"], expected_delta(
            header(pool), f'left_root="{roots[1]}"', 'right="2"', mapping_dict(a), mapping_dict(b)))
        self.assertDelta(image, ["--root1", str(roots[2]), "--root2", str(roots[1]), "--verbose"], expected_delta(
            header(pool), f'left_root="{roots[2]}"', f'right_root="{roots[1]}"', mapping_dict(b), mapping_dict(a),
            True))


class DeltaOfSharedTrees(DeltaTestCase):
    """Snapshots that share subtrees with their origin, made as the kernel
    makes them (tests/lib/thin_cow.py)."""

    def origin_pool(self, nr, holes, extra_devices=(2,)):
        maps = []
        v = 0
        for d in range(nr):
            maps.append((v, d, 0))
            v += 2 if holes and d % 97 == 5 else 1
        return thin_xml.Pool(time=1, nr_data_blocks=4 * nr, devices=[thin_xml.Device(1, mappings=maps)] + [
            thin_xml.Device(i) for i in extra_devices])

    def edit(self, pool, name, steps):
        """Restores `pool`, runs steps(img, model) on it, returns (image, model)
        where model is {device: {vblock: data}} after the edits."""
        image = self.make_image(pool, name, size=64 << 20)
        model = {d.dev_id: mapping_dict(d) for d in pool.devices}
        img = thin_cow.Image(image)
        steps(img, model)
        img.close()
        return image, model

    def check_all_pairs(self, image, pool, model, ids=(1, 2)):
        for a in ids:
            for b in ids:
                for verbose in (False, True):
                    with self.subTest(left=a, right=b, verbose=verbose):
                        self.assertDelta(image, ["--thin1", str(a), "--thin2", str(b)] + (
                            ["--verbose"] if verbose else []), expected_delta(
                            header(pool), f'left="{a}"', f'right="{b}"', model[a], model[b], verbose))

    def test_snapshot_with_clustered_and_scattered_writes(self):
        for holes in (False, True):
            pool = self.origin_pool(40000, holes)

            def steps(img, model):
                img.snapshot(1, 2)
                model[2] = dict(model[1])
                keys = sorted(model[1])
                nxt = 200000
                for v in keys[12000:12400] + keys[30000:39000:1500]:
                    img.overwrite(1, v, nxt)
                    model[1][v] = nxt
                    nxt += 1
                for v in keys[25000:25010]:
                    img.overwrite(2, v, nxt)
                    model[2][v] = nxt
                    nxt += 1
            image, model = self.edit(pool, f"clustered{holes}.bin", steps)
            self.check_all_pairs(image, pool, model)

    def test_unwritten_snapshot_and_removed_blocks(self):
        pool = self.origin_pool(5000, False, extra_devices=(2, 3))

        def steps(img, model):
            img.snapshot(1, 2)
            img.snapshot(1, 3)
            model[2] = dict(model[1])
            model[3] = dict(model[1])
            for v in (10, 11, 3000, 4999):
                img.remove(3, v)
                del model[3][v]
        image, model = self.edit(pool, "removed.bin", steps)
        self.check_all_pairs(image, pool, model, ids=(1, 2, 3))

    def test_trees_of_different_heights(self):
        pool = self.origin_pool(30000, True)

        def steps(img, model):
            img.snapshot(1, 2)
            model[2] = dict(model[1])
            keys = sorted(model[1])
            img.deepen(2)
            for v in keys[100:110]:
                img.overwrite(2, v, 500000 + v)
                model[2][v] = 500000 + v
        image, model = self.edit(pool, "heights.bin", steps)
        self.check_all_pairs(image, pool, model)

    def test_metadata_snapshot(self):
        pool = self.origin_pool(3000, False)
        held = {}

        def steps(img, model):
            img.snapshot(1, 2)
            model[2] = dict(model[1])
            for v in range(100, 120):
                img.overwrite(1, v, 9000 + v)
                model[1][v] = 9000 + v
            held["snap"] = img.reserve_metadata_snap()
            held["model"] = {k: dict(m) for k, m in model.items()}
            for v in range(200, 230):
                img.overwrite(1, v, 10000 + v)
                model[1][v] = 10000 + v
            img.overwrite(2, 300, 11000)
            model[2][300] = 11000
        image, model = self.edit(pool, "msnap.bin", steps)
        then = held["model"]
        snap = held["snap"]
        self.assertDelta(image, ["--thin1", "1", "--thin2", "2"], expected_delta(
            header(pool, metadata_snap=snap), 'left="1"', 'right="2"', model[1], model[2]))
        for m in ("-m", f"-m{snap}", f"--metadata-snap={snap}"):
            with self.subTest(option=m):
                # The snapshot's superblock copy has no space maps: 0 data blocks.
                self.assertDelta(image, [m, "--thin1", "1", "--thin2", "2"], expected_delta(
                    header(pool, nr_data_blocks=0), 'left="1"', 'right="2"', then[1], then[2]))
        # A bare -m takes no value: the next word is the input.
        r = delta("--thin1", "2", "-m", image, "--thin2", "1", "--verbose")
        self.assertEqual(r.stdout, expected_delta(header(pool, nr_data_blocks=0), 'left="2"', 'right="1"',
                                                  then[2], then[1], True), r)


class DeltaErrors(DeltaTestCase):
    def setUp(self):
        super().setUp()
        self.pool = thin_xml.sample_pools()["snapshots"]
        self.image = self.make_image(self.pool)

    def test_unknown_device(self):
        self.assertFails(delta("--thin1", "1", "--thin2", "99", self.image),
                         "there is no thin device 99", "second device")
        self.assertFails(delta("--snap1", "77", "--snap2", "1", self.image),
                         "there is no thin device 77", "first device")

    def test_missing_or_doubled_sides(self):
        self.assertFails(delta("--thin1", "1", self.image), "--thin2")
        self.assertFails(delta("--thin2", "1", self.image), "--thin1")
        self.assertFails(delta("--thin1", "1", "--snap1", "2", "--thin2", "3", self.image), "only one of")
        self.assertFails(delta("--thin1", "1", "--thin2", "x", self.image), "'x' is not a non-negative whole number")
        self.assertFails(delta("--thin1", "1", "--thin2", "2"), "no input")

    def test_no_metadata_snapshot(self):
        self.assertFails(delta("-m", "--thin1", "1", "--thin2", "2", self.image), "there is no metadata snapshot")
        self.assertFails(delta("-m7", "--thin1", "1", "--thin2", "2", self.image), "superblock at block 7")

    def test_root_past_the_end(self):
        self.assertFails(delta("--root1", "99999999", "--thin2", "2", self.image), "--root1 99999999 is past the end")

    def test_damaged_leaf(self):
        with Image(self.image) as img:
            top = img.node(img.superblock()["mapping_root"])
            roots = {top.key(i): top.value64(i) for i in range(top.nr_entries)}
            leaf = img.leaves(roots[3])[0]
            data = img.read(leaf)
            data[3000] ^= 0x40
            img.write(leaf, data)
        self.assertFails(delta("--thin1", "1", "--thin2", "3", self.image),
                         f"mapping tree of device 3: block {leaf}", "bad checksum")

    def test_not_metadata(self):
        blank = self.zero_file("blank.bin", 1 << 20)
        self.assertFails(delta("--thin1", "1", "--thin2", "2", blank), "superblock", "all zeros")


if __name__ == "__main__":
    unittest.main()
