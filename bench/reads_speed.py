#!/usr/bin/env python3
"""What reading the reads costs, against the scan itself, in one run: chr19's genome scan (mt-encode
--decoys, as the README runs it) and mt-coverage of its candidates from three BAMs, for BAM sets of
different sizes (bench/reads_chr19.py writes them), each command in a fresh process. Prints wall time,
the ratio to the scan's wall time, and peak memory (max RSS), so that "memory flat in the number of
reads" can be read off the rows.

Usage: python bench/reads_speed.py [--work bench/out/reads_chr19] [--threads 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from recipes import human_data  # noqa: E402

DATA = human_data.SHARED / "intronIC" / "test_data"


#: runs a command and prints its peak RSS (kB): a fresh parent per measurement, so peaks do not mix
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the largest process) of one command in a fresh process."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PEAK, *command], check=True, capture_output=True, text=True)
    return time.perf_counter() - began, int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "reads_chr19")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import pysam

    bin_folder = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        scan = Path(folder) / "chr19.npz"
        scan_wall, scan_rss = timed([str(bin_folder / "mt-encode"), "--genome",
                                     str(DATA / "Homo_sapiens.Chr19.Ensembl_91.fa.gz"), "--annotation",
                                     str(DATA / "Homo_sapiens.Chr19.Ensembl_91.gff3.gz"), "--decoys", "--threads",
                                     str(args.threads), "-o", str(scan), "-q"])
        print(f"| scan (mt-encode --decoys) | - | {scan_wall:.1f} s | 1.00 | {scan_rss:.0f} MB |", flush=True)
        for depth in sorted(args.work.glob("depth*M"), key=lambda path: int(path.name[5:-1])):
            bams = [str(depth / f"sample{index}.bam") for index in (1, 2, 3)]
            if not all(Path(bam).exists() for bam in bams):
                continue
            reads = sum(pysam.AlignmentFile(bam).mapped for bam in bams)
            wall, rss = timed([str(bin_folder / "mt-coverage"), str(scan), *bams, "-o",
                               str(Path(folder) / f"{depth.name}.reads.npz"), "--threads", str(args.threads), "-q"])
            print(f"| mt-coverage, 3 BAMs ({depth.name}) | {reads / 3 / 1e6:.2f} M reads each | {wall:.1f} s | "
                  f"{wall / scan_wall:.2f} | {rss:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
