"""thin_sim run as a user would: the script format of ../shared/simdiff
(what each line prints, error reasons as strerror text, line numbers, the
exit status; the scripts of ScriptFormat gave the same lines on Linux 6.1
through ../shared/simdiff/run-kernel), the commands for people (create, message, write, read,
discard, status), what the images hold afterwards (thin_check passes;
reads give what was written), and workloads that replay as scripts."""

import hashlib
import os
import unittest

from thinmeta_test import TempDirTestCase, ours, run, tool

BLOCK = 128 * 512
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def sha(data):
    return hashlib.sha256(data).hexdigest()


class SimTestCase(TempDirTestCase):
    def images(self, meta_size=16 << 20, data_size=64 << 20):
        self.meta = self.zero_file("meta.img", meta_size)
        self.data = self.zero_file("data.img", data_size)

    def sim(self, *args, input=None):
        return ours("thin_sim", *args, input=input)

    def run_script(self, text, *options, rc=None):
        script = self.path("script.txt")
        script.write_text(text)
        r = self.sim("run", "-q", "--metadata", self.meta, "--data", self.data, *options, script)
        if rc is not None:
            self.assertEqual(r.returncode, rc, r)
        return r

    def assertChecks(self):
        r = ours("thin_check", "-q", self.meta)
        self.assertEqual(r.returncode, 0, r)


class ScriptFormat(SimTestCase):
    def setUp(self):
        super().setUp()
        self.images()

    def test_reads_status_and_errors_print_as_the_kernel_harness_does(self):
        r = self.run_script(
            "create_thin 0            # a comment\n"
            "write 0 65536 8192 171\n"
            "\n"
            "   # only a comment\n"
            "read 0 65536 8192\n"
            "read 0 0 512\n"
            "read 0 0 0\n"
            "flush\n"
            "status\n"
            "create_thin 0\n"
            "delete 7\n"
            "create_snap 1 7\n"
            "set_transaction_id 3 4\n"
            "release_metadata_snap\n"
            "reserve_metadata_snap\n"
            "reserve_metadata_snap\n"
            "bogus_message 1\n"
            "create_thin 16777216\n"
            "set_transaction_id 0 7\n"
            "status\n", "--block-size", "128", rc=1)
        self.assertEqual(r.stdout,
                         f"read 0 65536 8192 {sha(bytes([171]) * 8192)}\n"
                         f"read 0 0 512 {sha(bytes(512))}\n"
                         f"read 0 0 0 {EMPTY_SHA}\n"
                         "0 419/4096 1/1024 - rw discard_passdown queue_if_no_space - 1024\n"
                         "error 10: File exists\n"
                         "error 11: No data available\n"
                         "error 12: No data available\n"
                         "error 13: Invalid argument\n"
                         "error 14: Invalid argument\n"
                         "error 16: Device or resource busy\n"
                         "error 17: Invalid argument\n"
                         "error 18: Invalid argument\n"
                         "7 420/4096 1/1024 25 rw discard_passdown queue_if_no_space - 1024\n")
        self.assertEqual(r.stderr, "")
        self.assertChecks()

    def test_io_lines_that_cannot_run(self):
        r = self.run_script(
            "create_thin 0\n"
            "write 1 0 512 1\n"      # never created
            "read 1 0 512\n"
            "discard 1 0 65536\n"
            "write 0 0 512\n"        # too few words
            "write 0 100 512 1\n"    # not a multiple of 512
            "write 0 0 512 256\n"    # not a byte
            "write 0 0 -512 1\n"
            "read 16777216 0 512\n"  # not a device id
            "flush 0\n"
            "status now\n"
            "crash hard\n"
            "write 1 0 0 1\n"        # nothing to write: no check of the device
            "read 1 0 0\n"           # but a read of nothing still needs one
            "WRITE 0 0 512 5\n"      # names are case-insensitive
            "Read 0 0 512\n", "--block-size", "128", rc=1)
        self.assertEqual(r.stdout,
                         "error 2: No such device\n"
                         "error 3: No such device\n"
                         "error 4: No such device\n"
                         "error 5: Invalid argument\n"
                         "error 6: Invalid argument\n"
                         "error 7: Invalid argument\n"
                         "error 8: Invalid argument\n"
                         "error 9: Invalid argument\n"
                         "error 10: Invalid argument\n"
                         "error 11: Invalid argument\n"
                         "error 12: Invalid argument\n"
                         "error 14: No such device\n"
                         f"read 0 0 512 {sha(bytes([5]) * 512)}\n")

    def test_a_clean_run_exits_0(self):
        r = self.run_script("create_thin 0\nwrite 0 0 65536 1\nflush\n", "--block-size", "128", rc=0)
        self.assertEqual(r.stdout, "")

    def test_snapshots_deletes_and_reactivation(self):
        r = self.run_script(
            "create_thin 0\n"
            "write 0 0 131072 1\n"
            "create_snap 1 0\n"
            "write 0 0 512 2\n"
            "read 1 0 512\n"
            "read 0 0 512\n"
            "delete 1\n"
            "read 1 0 512\n"
            "delete 0\n"
            "delete 0\n"
            "create_thin 0\n"
            "read 0 0 512\n", "--block-size", "128", rc=1)
        self.assertEqual(r.stdout,
                         f"read 1 0 512 {sha(bytes([1]) * 512)}\n"
                         f"read 0 0 512 {sha(bytes([2]) * 512)}\n"
                         "error 8: No such device\n"
                         "error 10: No data available\n"
                         f"read 0 0 512 {sha(bytes(512))}\n")

    def test_crash_loses_what_was_not_committed(self):
        r = self.run_script(
            "create_thin 0\n"
            "write 0 0 65536 1\n"
            "flush\n"
            "write 0 65536 65536 2\n"
            "crash\n"
            "read 0 0 131072\n"
            "status\n", "--block-size", "128", rc=0)
        self.assertEqual(r.stdout,
                         f"read 0 0 131072 {sha(bytes([1]) * BLOCK + bytes(BLOCK))}\n"
                         "0 419/4096 1/1024 - rw discard_passdown queue_if_no_space - 1024\n")
        self.assertChecks()

    def test_external_origin_inherited_by_snapshots(self):
        origin = self.path("origin.img")
        origin.write_bytes(bytes(range(256)) * 512)  # two blocks
        r = self.run_script(
            "create_thin 0\n"
            "create_snap 1 0\n"
            "read 1 0 131072\n"
            "write 1 512 512 9\n"
            "read 1 0 1024\n"
            "read 0 0 1024\n"
            "create_thin 2\n"
            "read 2 0 512\n",
            "--block-size", "128", "--origin", f"0:{origin}", rc=0)
        data = origin.read_bytes()
        self.assertEqual(r.stdout,
                         f"read 1 0 131072 {sha(data)}\n"
                         f"read 1 0 1024 {sha(data[:512] + bytes([9]) * 512)}\n"
                         f"read 0 0 1024 {sha(data[:1024])}\n"
                         f"read 2 0 512 {sha(bytes(512))}\n")

    def test_writes_under_a_page_go_through_the_page_cache(self):
        # With skip_block_zeroing a new block keeps stale bytes, except in
        # the 4 KiB pages a short write touches: the kernel harness's dd
        # writes those through the page cache (read, modify, write back).
        with open(self.data, "r+b") as f:
            f.write(bytes([0xee]) * BLOCK)
        r = self.run_script("create_thin 0\nwrite 0 5120 1024 7\nwrite 0 16384 4096 8\n",
                            "--block-size", "128", "--skip-block-zeroing", rc=0)
        with open(self.data, "rb") as f:
            block = f.read(BLOCK)
        expected = (bytes([0xee]) * 4096 + bytes(1024) + bytes([7]) * 1024 + bytes(2048)
                    + bytes([0xee]) * 8192 + bytes([8]) * 4096 + bytes([0xee]) * (BLOCK - 20480))
        self.assertEqual(block, expected)

    def test_script_from_stdin_and_summary_on_stderr(self):
        r = self.sim("run", "--metadata", self.meta, "--data", self.data, "-",
                     input="create_thin 0\nwrite 0 0 131072 3\ncreate_snap 1 0\nwrite 0 0 512 4\n")
        self.assertEqual((r.returncode, r.stdout), (0, ""), r)
        self.assertEqual(r.stderr,
                         "thin_sim: 4 operations (0 failed): 2 writes, 1 reads, 0 discards, 0 flushes, 2 messages\n"
                         "thin_sim: blocks provisioned 2, copied to break sharing 1, unmapped 0; 4 commits\n"
                         "thin_sim: metadata 420/4096 blocks (10.3%), data 3/1024 blocks (0.3%), mode write\n")


class Commands(SimTestCase):
    def pool(self, *args):
        return ["--metadata", str(self.meta), "--data", str(self.data), *args]

    def test_a_session_of_commands(self):
        self.meta, self.data = self.path("m.img"), self.path("d.img")
        self.assertEqual(self.sim("create", *self.pool("--metadata-size", "8m", "--data-size", "256m",
                                                       "--block-size", "256")).returncode, 0)
        self.assertEqual(os.path.getsize(self.meta), 8 << 20)
        self.assertEqual(os.path.getsize(self.data), 256 << 20)
        for message in (["create_thin", "0"], ["create_snap", "1", "0"], ["set_transaction_id", "0", "2"]):
            r = self.sim("message", *self.pool(*message))
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""), r)
        r = self.sim("message", *self.pool("create_thin", "0"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("thin device 0 already exists", r.stderr)

        payload = self.path("payload")
        payload.write_bytes(bytes(range(256)) * 64)
        r = self.sim("write", *self.pool("--device", "0", "--offset", "1m", "--input", payload))
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        r = self.sim("write", *self.pool("--device", "1", "--pattern", "7", "--length", "64k"))
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        r = self.sim("read", *self.pool("--device", "0", "--offset", "1m", "--length", "16k"))
        self.assertEqual(r.stdout, f"read 0 1048576 16384 {sha(payload.read_bytes())}\n")
        out = self.path("out")
        r = self.sim("read", *self.pool("--device", "1", "--length", "1k", "--output", out))
        self.assertEqual((r.returncode, r.stdout), (0, ""), r)
        self.assertEqual(out.read_bytes(), bytes([7]) * 1024)
        r = self.sim("discard", *self.pool("--device", "1", "--length", "128k"))
        self.assertEqual(r.returncode, 0, r)
        r = self.sim("status", *self.pool())
        self.assertEqual(r.stdout, "2 215/2048 1/2048 - rw discard_passdown queue_if_no_space - 512\n")
        self.assertChecks()

    def test_options_that_are_wrong(self):
        self.images()
        for args, fragment in (
                (["run", "--data", "d", "s"], "--metadata is required"),
                (["status", *self.pool("--block-size", "192")], "invalid data block size 192"),
                (["status", *self.pool("--origin", "nocolon")], "is not DEV:FILE"),
                (["write", *self.pool("--device", "0", "--pattern", "300", "--length", "512")], "0-255"),
                (["read", *self.pool("--device", "0", "--length", "100")], "multiples of 512"),
                (["bogus"], "unknown command 'bogus'")):
            with self.subTest(args=args):
                r = self.sim(*args)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn(fragment, r.stderr)

    def test_block_size_of_formatted_metadata_is_kept(self):
        self.images()
        self.assertEqual(self.sim("create", *self.pool("--block-size", "1024")).returncode, 0)
        r = self.sim("status", *self.pool())
        self.assertEqual(r.stdout, "0 418/4096 0/128 - rw discard_passdown queue_if_no_space - 1024\n")
        r = self.sim("status", *self.pool("--block-size", "128"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("changing the data block size", r.stderr)


class Workloads(SimTestCase):
    def test_a_workload_replays_as_its_script(self):
        self.images(data_size=1 << 30)
        script = self.path("workload.txt")
        r = self.sim("workload", "-q", "--metadata", self.meta, "--data", self.data, "--seed", "5",
                     "--writes", "3000", "--volumes", "2", "--snapshot-every", "200", "--max-snapshots", "4",
                     "--snapshot-writes", "20", "--discard-every", "50", "--sequential", "30",
                     "--script-out", script)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r)
        self.assertChecks()
        first = self.meta.read_bytes()
        self.images(data_size=1 << 30)
        r = self.sim("run", "-q", "--data-io", "none", "--metadata", self.meta, "--data", self.data, script)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r)
        self.assertEqual(self.meta.read_bytes(), first)
        lines = script.read_text().splitlines()
        self.assertEqual(sum(1 for l in lines if l.startswith("write ")), 3000)
        self.assertEqual(sum(1 for l in lines if l.startswith("create_snap ")), 15)
        self.assertEqual(sum(1 for l in lines if l.startswith("delete ")), 11)
        self.assertIn("reserve_metadata_snap", lines)

    def test_a_workload_stops_at_its_metadata_target(self):
        self.images(meta_size=4 << 20, data_size=4 << 30)
        r = self.sim("workload", "--metadata", self.meta, "--data", self.data, "--snapshot-every", "300",
                     "--metadata-target", "50")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("stopped because the metadata target was reached", r.stderr)
        # It stops when the metadata in use (uncommitted blocks counted) is
        # half the device; the commits at the end give some back.
        r = self.sim("status", "--metadata", self.meta, "--data", self.data)
        self.assertEqual(r.stdout, "0 488/1024 6050/65536 650 rw discard_passdown queue_if_no_space - 256\n")
        self.assertChecks()


if __name__ == "__main__":
    unittest.main()
