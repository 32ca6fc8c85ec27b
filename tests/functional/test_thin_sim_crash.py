"""Crashes injected into a long thin_sim sequence: after every write (and
every discard) of it, a `crash` leaves metadata that passes thin_check
and holds exactly what the last commit before it held: the same thin_dump
and the same superblock as the run cut off right at that commit, and the
reads after the crash give what the model of the pool held then."""

import unittest

from test_thin_sim_model import Generator
from thinmeta_test import BIN, REFERENCE_DIR, TempDirTestCase, ours, run


def dump_tool():
    """Our thin_dump when built, else 0.9.0's."""
    if (BIN / "thin_dump").exists():
        return BIN / "thin_dump"
    if (REFERENCE_DIR / "thin_dump").exists():
        return REFERENCE_DIR / "thin_dump"
    raise unittest.SkipTest("no thin_dump to compare metadata with")


class CrashTest(TempDirTestCase):
    def run_lines(self, lines, name):
        meta = self.zero_file(name + ".meta", 16 << 20)
        data = self.zero_file(name + ".data", 64 << 20)
        script = self.path(name + ".txt")
        script.write_text("\n".join(lines) + "\n")
        r = ours("thin_sim", "run", "-q", "--metadata", meta, "--data", data, "--block-size", "128", script)
        self.assertIn(r.returncode, (0, 1), r)
        return meta

    def dump(self, meta):
        r = run([dump_tool(), meta])
        self.assertEqual(r.returncode, 0, r)
        return r.stdout

    def test_a_crash_after_every_write_keeps_the_last_commit(self):
        dump = dump_tool()
        g = Generator(11, ops=220)
        # The generator's own crashes stay in; only I/O lines get one after them.
        g.run()
        lines = g.lines
        commits = sorted(g.commit_points)
        io_lines = [i for i, l in enumerate(lines) if l.startswith(("write ", "discard "))]
        self.assertGreater(len(io_lines), 80)
        committed_dump = {}
        for i in io_lines:
            last = max(c for c in commits if c < i)
            if last not in committed_dump:
                meta = self.run_lines(lines[:last + 1], "commit")
                committed_dump[last] = (self.dump(meta), meta.read_bytes()[:4096])
            meta = self.run_lines(lines[:i + 1] + ["crash"], "crashed")
            with self.subTest(line=i + 1, text=lines[i], dump=str(dump)):
                c = ours("thin_check", "-q", meta)
                self.assertEqual(c.returncode, 0, c)
                want_dump, want_superblock = committed_dump[last]
                self.assertEqual(self.dump(meta), want_dump)
                self.assertEqual(meta.read_bytes()[:4096], want_superblock)


if __name__ == "__main__":
    unittest.main()
