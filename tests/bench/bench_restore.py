#!/usr/bin/env python3
"""Benchmark: our thin_restore against Debian's 0.9.0 on XML that yields
1 GiB or more of metadata.

Two shapes, generated once into --work and kept:

  corpus   an origin and 4 snapshots that rewrote 5% of it: runs of 1 to 64
           blocks and single mappings, as tests/bench/corpus.py makes them
           (the shape of a real pool's dump);
  singles  one device of single mappings only, the worst case for a
           restore (the most XML per mapping).

Each tool restores into its own sparse 15.88 GiB image (the most metadata
a pool can use); wall time, CPU time and peak RSS come from the kernel's
rusage of each run. --verify then checks that both results dump to the
same bytes with our thin_dump and pass our thin_check.

    tests/bench/bench_restore.py --bin build-restore [--shapes corpus,singles] [--verify]

Figures on the 2-core development machine (shared, load about 6):

      operation  ours s  0.9.0 s  speed-up  ours cpu  0.9.0 cpu  ours MiB  0.9.0 MiB
 restore corpus    8.73   525.95     60.2x      7.31     201.43        55         51
restore singles  157.50   862.72      5.5x     50.38     215.80        88         46
  corpus: 70000000 mappings, XML 409 MiB, our metadata 1.23 GiB, 0.9.0's 2.43 GiB
  singles: 66000000 mappings, XML 4846 MiB, our metadata 1.02 GiB, 0.9.0's 2.03 GiB

Single mappings are bound by expat, which parses about 100 MB/s on one
core (73 bytes of XML per mapping); our memory is about a byte per data
block, whatever the size of the XML.
"""

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import corpus  # noqa: E402

MAX_METADATA_BLOCKS = 4161600


def write_singles(path, nr_mappings):
    """One device of nr_mappings single mappings (no two consecutive)."""
    with open(path, "w") as out:
        out.write(f'<superblock uuid="" time="1" transaction="1" flags="0" version="2" data_block_size="128" '
                  f'nr_data_blocks="{nr_mappings}">\n')
        out.write(f'  <device dev_id="0" mapped_blocks="{nr_mappings}" transaction="0" creation_time="0" '
                  f'snap_time="1">\n')
        step = 100_000
        for first in range(0, nr_mappings, step):
            out.write("".join(f'    <single_mapping origin_block="{2 * i}" data_block="{i}" time="{i & 1}"/>\n'
                              for i in range(first, min(first + step, nr_mappings))))
        out.write("  </device>\n</superblock>\n")


SHAPES = {
    # name: (description, writer, size)
    "corpus": ("origin + 4 snapshots, 5% rewritten, runs and singles",
               lambda path, scale: corpus.write_xml(path, int(14_000_000 * scale), 4, 0.05), 70_000_000),
    "singles": ("one device, single mappings only", lambda path, scale: write_singles(path, int(66_000_000 * scale)),
                66_000_000),
}


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--generate":
        SHAPES[sys.argv[2]][1](Path(sys.argv[3]), float(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(benchlib.BIN), help="build directory holding our thin_restore")
    ap.add_argument("--reference", default=str(benchlib.REFERENCE), help="directory of the 0.9.0 tools")
    ap.add_argument("--work", default="/var/tmp/thinmeta-bench-restore", help="where XML and images are kept")
    ap.add_argument("--shapes", default="corpus,singles", help="comma-separated: " + ", ".join(SHAPES))
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the number of mappings")
    ap.add_argument("--skip-reference", action="store_true", help="time only ours")
    ap.add_argument("--verify", action="store_true", help="dump and check both results afterwards")
    args = ap.parse_args()

    ours = Path(args.bin) / "thin_restore"
    theirs = Path(args.reference) / "thin_restore"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    notes = []
    for shape in args.shapes.split(","):
        what, writer, nr = SHAPES[shape]
        xml = work / f"{shape}-x{args.scale:g}.xml"
        if not xml.exists():
            print(f"generating {xml} ({what}) ...", flush=True)
            partial = xml.with_suffix(".partial")
            # In a child, so this process stays small: the peak RSS of the
            # tools it starts counts from the fork.
            subprocess.run([sys.executable, __file__, "--generate", shape, str(partial), str(args.scale)],
                           check=True)
            partial.rename(xml)
        benchlib.warm(xml)
        out_ours, out_theirs = work / f"{shape}.ours.bin", work / f"{shape}.0.9.0.bin"

        corpus.sparse(out_ours, MAX_METADATA_BLOCKS * 4096)
        print(f"restoring {xml.name} with ours ...", flush=True)
        a = benchlib.measure([ours, "-q", "-i", xml, "-o", out_ours])
        samples = {"ours": [a]}
        if not args.skip_reference:
            corpus.sparse(out_theirs, MAX_METADATA_BLOCKS * 4096)
            print(f"restoring {xml.name} with 0.9.0 (this takes a while) ...", flush=True)
            samples["theirs"] = [benchlib.measure([theirs, "-q", "-i", xml, "-o", out_theirs])]
            rows.append(benchlib.Comparison(f"restore {shape}", samples["ours"], samples["theirs"]).row())
        else:
            rows.append([f"restore {shape}", f"{a.wall:.2f}", "-", "-", f"{a.cpu:.2f}", "-",
                         f"{a.rss_kb / 1024:.0f}", "-", "-"])
        notes.append(f"{shape}: {int(nr * args.scale)} mappings, XML {xml.stat().st_size / 2**20:.0f} MiB, "
                     f"our metadata {corpus.in_use(out_ours) / 2**30:.2f} GiB"
                     + ("" if args.skip_reference else
                        f", 0.9.0's {corpus.in_use(out_theirs) / 2**30:.2f} GiB"))

        if args.verify:
            dump = Path(args.bin) / "thin_dump"
            check = Path(args.bin) / "thin_check"
            subprocess.run([check, "-q", out_ours], check=True)
            if not args.skip_reference:
                if benchlib.digest([dump, out_ours]) != benchlib.digest([dump, out_theirs]):
                    sys.exit(f"{shape}: the two restores dump differently")
            notes[-1] += ", verified"

    print()
    benchlib.print_table(rows)
    for n in notes:
        print("  " + n)


if __name__ == "__main__":
    main()
