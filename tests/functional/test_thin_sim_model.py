"""thin_sim against a model of what each thin device holds.

Random operation sequences (writes of every shape, discards, snapshots,
deletes, external origins, metadata snapshots, crashes) run through
thin_sim and through a small in-memory model of the pool: device contents
at the level of data blocks, the kernel's time-based sharing test (which
decides whether a write goes in place or to a copy, which a crash can
tell apart), and which operations commit (a flush only when a device it
reaches changed; a refused message never, except reserve_metadata_snap,
which commits before it finds a snapshot already held: seen on 6.1). Every read must give what the
model says, every refused operation the model's error; after every commit
the metadata must pass our thin_check and 0.9.0's (each commit point is
checked by running the script up to it: the clean close that ends a run
commits nothing new there)."""

import copy
import hashlib
import random
import unittest

from thinmeta_test import REFERENCE_DIR, TempDirTestCase, ours, run

SECTOR = 512


class Block:
    """A data block: its bytes, shared by every mapping of it."""

    def __init__(self, content):
        self.content = bytearray(content)


class Device:
    def __init__(self, snap_time, origin):
        self.map = {}        # vblock -> (Block, time)
        self.snap_time = snap_time
        self.origin = origin  # bytes of the external origin, or None
        self.changed = False


class PoolModel:
    def __init__(self, block_bytes, passdown, origins):
        self.bb = block_bytes
        self.passdown = passdown
        self.origins = origins   # dev id -> bytes (--origin)
        self.time = 0
        self.trans = 0
        self.devs = {}
        self.origin_of = {}      # as the harness's ORIG_<id>
        self.held = False
        self.commit()

    # --- transactions
    def commit(self):
        for d in self.devs.values():
            d.changed = False
        self.committed = (copy.copy(self.time), self.trans, self.held,
                          {i: (dict(d.map), d.snap_time, d.origin) for i, d in self.devs.items()})

    def crash(self):
        self.time, self.trans, self.held, devs = self.committed
        self.devs = {}
        for i, (m, st, origin) in devs.items():
            d = Device(st, origin)
            d.map = dict(m)
            self.devs[i] = d

    # --- contents
    def origin_block(self, dev, v):
        out = bytearray(self.bb)
        o = dev.origin
        if o is not None and v * self.bb < len(o):
            part = o[v * self.bb:(v + 1) * self.bb]
            out[:len(part)] = part
        return out

    def read(self, i, off, length):
        d = self.devs[i]
        out = bytearray()
        pos = off
        while pos < off + length:
            v, within = divmod(pos, self.bb)
            n = min(self.bb - within, off + length - pos)
            m = d.map.get(v)
            content = m[0].content if m else self.origin_block(d, v)
            out += content[within:within + n]
            pos += n
        return bytes(out)

    def write(self, i, off, length, byte):
        d = self.devs[i]
        pos = off
        while pos < off + length:
            v, within = divmod(pos, self.bb)
            n = min(self.bb - within, off + length - pos)
            m = d.map.get(v)
            if m and not d.snap_time > m[1]:
                m[0].content[within:within + n] = bytes([byte]) * n   # in place
            else:
                base = m[0].content if m else self.origin_block(d, v)
                b = Block(base)
                b.content[within:within + n] = bytes([byte]) * n
                d.map[v] = (b, self.time)
                d.changed = True
            pos += n

    def discard(self, i, off, length):
        d = self.devs[i]
        s, e = off // SECTOR, (off + length) // SECTOR
        g = self.bb // SECTOR
        first, last = -(-s // g), e // g
        if last <= first:
            return
        for v in range(first, last):
            if d.map.pop(v, None) is not None:
                d.changed = True
        if not self.passdown:
            d.changed = True

    # --- messages
    def create_thin(self, i):
        self.devs[i] = Device(self.time, self.origins.get(i))
        self.origin_of[i] = self.origins.get(i)

    def create_snap(self, i, o):
        self.time += 1
        src = self.devs[o]
        own = self.origins.get(i)
        d = Device(self.time, own if own is not None else self.origin_of.get(o))
        d.map = dict(src.map)
        src.snap_time = self.time
        self.devs[i] = d
        self.origin_of[i] = d.origin


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Generator:
    """A random script and what thin_sim must print for it."""

    def __init__(self, seed, passdown=True, origin=None, span=24, ops=160):
        self.r = random.Random(seed)
        self.bb = 128 * SECTOR
        self.span = span
        self.origin = origin
        self.model = PoolModel(self.bb, passdown, {0: origin} if origin is not None else {})
        self.lines, self.expected = [], []
        self.commit_points = []   # indexes (0-based) of lines after which the pool has committed
        self.touched = set()
        self.ops = ops

    def emit(self, line, out=None, commits=False):
        self.lines.append(line)
        if out is not None:
            self.expected.append(out)
        if commits:
            self.model.commit()
            self.commit_points.append(len(self.lines) - 1)

    def error(self, line, reason, commits=False):
        self.emit(line, f"error {len(self.lines) + 1}: {reason}", commits)

    def extent(self):
        r = self.r
        k = r.random()
        if k < 0.3:      # whole blocks
            v = r.randrange(self.span - 2)
            return v * self.bb, r.randint(1, 2) * self.bb
        if k < 0.6:      # under a page
            return r.randrange(self.span * self.bb // SECTOR - 8) * SECTOR, r.randint(1, 7) * SECTOR
        start = r.randrange(self.span * self.bb // SECTOR - 300) * SECTOR
        return start, r.randint(1, 300) * SECTOR

    def flush(self):
        m = self.model
        changed = any(m.devs[i].changed for i in self.touched if i in m.devs)
        self.touched = set()
        self.emit("flush", commits=changed)

    def run(self):
        r, m = self.r, self.model
        m.create_thin(0)
        self.emit("create_thin 0", commits=True)
        next_id = 1
        while len(self.lines) < self.ops:
            ids = sorted(m.devs)
            k = r.random()
            if k < 0.40 and ids:
                d = r.choice(ids)
                off, ln = self.extent()
                byte = r.randrange(256)
                self.emit(f"write {d} {off} {ln} {byte}")
                m.write(d, off, ln, byte)
                self.touched.add(d)
                if r.random() < 0.6:
                    self.flush()
            elif k < 0.55 and ids:
                d = r.choice(ids)
                off, ln = self.extent()
                self.emit(f"read {d} {off} {ln}", f"read {d} {off} {ln} {sha(m.read(d, off, ln))}")
            elif k < 0.62 and ids:
                d = r.choice(ids)
                off, ln = self.extent()
                self.emit(f"discard {d} {off} {ln}")
                m.discard(d, off, ln)
                self.touched.add(d)
                self.flush()      # a crash never undoes a discard passed down
            elif k < 0.68 and len(ids) < 6:
                m.create_thin(next_id)
                self.emit(f"create_thin {next_id}", commits=True)
                next_id += 1
            elif k < 0.76 and ids and len(ids) < 6:
                o = r.choice(ids)
                m.create_snap(next_id, o)
                self.emit(f"create_snap {next_id} {o}", commits=True)
                next_id += 1
            elif k < 0.80 and len(ids) > 1:
                d = r.choice(ids)
                del m.devs[d]
                self.emit(f"delete {d}", commits=True)
            elif k < 0.84:
                self.emit("status", out=None, commits=True)
                self.expected.append(None)   # the status line is not modelled
            elif k < 0.87:
                m.held = not m.held
                self.emit("reserve_metadata_snap" if m.held else "release_metadata_snap", commits=True)
            elif k < 0.91:
                self.touched = set()
                self.emit("crash")
                m.crash()
            else:
                what = r.randrange(4)
                if what == 0 and ids:
                    self.error(f"create_thin {r.choice(ids)}", "File exists")
                elif what == 1:
                    self.error(f"delete {next_id + 50}", "No data available")
                elif what == 2:
                    self.error(f"read {next_id + 50} 0 512", "No such device")
                elif m.held:
                    # Refused, but the pool commits before the metadata
                    # finds the snapshot it holds (as 6.1 does).
                    self.error("reserve_metadata_snap", "Device or resource busy", commits=True)
                else:
                    self.error("release_metadata_snap", "Invalid argument")
        for d in sorted(m.devs):
            ln = self.span * self.bb
            self.emit(f"read {d} 0 {ln}", f"read {d} 0 {ln} {sha(m.read(d, 0, ln))}")
        return self


class ModelTest(TempDirTestCase):
    def run_prefix(self, lines, options, name):
        meta = self.zero_file(name + ".meta", 16 << 20)
        data = self.zero_file(name + ".data", 64 << 20)
        script = self.path(name + ".txt")
        script.write_text("\n".join(lines) + "\n")
        r = ours("thin_sim", "run", "-q", "--metadata", meta, "--data", data, "--block-size", "128",
                 *options, script)
        return r, meta

    def check_sequence(self, seed, passdown=True, with_origin=False):
        options, origin = [], None
        if with_origin:
            rr = random.Random(seed)
            origin = bytes(rr.randrange(256) for _ in range(7 * 128 * SECTOR + 5 * SECTOR))
            path = self.path("origin.img")
            path.write_bytes(origin)
            options += ["--origin", f"0:{path}"]
        if not passdown:
            options.append("--no-discard-passdown")
        g = Generator(seed, passdown, origin).run()

        r, _ = self.run_prefix(g.lines, options, "whole")
        got = [l for l in r.stdout.splitlines()]
        want = g.expected
        self.assertEqual(len(got), len(want), r)
        for line_got, line_want in zip(got, want):
            if line_want is not None:
                self.assertEqual(line_got, line_want, "\n".join(g.lines))
        self.assertEqual(r.returncode, 1 if any(w and w.startswith("error") for w in want) else 0, r)

        checkers = [("ours", lambda m: ours("thin_check", "-q", m))]
        if (REFERENCE_DIR / "thin_check").exists():
            checkers.append(("0.9.0", lambda m: run([REFERENCE_DIR / "thin_check", "-q", m])))
        self.assertGreater(len(g.commit_points), 20)
        for point in g.commit_points:
            _, meta = self.run_prefix(g.lines[:point + 1], options, "prefix")
            for name, check in checkers:
                c = check(meta)
                self.assertEqual(c.returncode, 0, f"{name} thin_check after line {point + 1}: {c}")

    def test_sequences(self):
        for seed in (1, 2, 3):
            with self.subTest(seed=seed):
                self.check_sequence(seed)

    def test_sequences_without_passdown(self):
        for seed in (4, 5):
            with self.subTest(seed=seed):
                self.check_sequence(seed, passdown=False)

    def test_sequences_with_an_external_origin(self):
        for seed in (6, 7):
            with self.subTest(seed=seed):
                self.check_sequence(seed, with_origin=True)


if __name__ == "__main__":
    unittest.main()
