#!/usr/bin/env python3
"""Genome-scan benchmark: mt-encode --annotation on a generated genome with a human-scale annotation.

Generates (tests/simulate.py, simulate_gene_models) a random genome whose GTF holds at least
``--introns`` unique introns with a human-like length mix (10 % short introns of 60-150 nt, the
rest log-normal, median 1,000 nt, capped at 5,000), alternative transcripts that skip an exon,
and planted mirtron-like hairpins. Then, for each thread count, runs ``mt-encode --genome G.fa
--annotation genes.gtf`` in a child process (optionally on ``--chunk I/N`` of the windows, after
reading and planning the whole annotation) and measures wall time and the peak RSS of the main
process. Finally it folds the very same windows and candidate hairpins with ViennaRNA in one
process, in a tight loop (the raw folding floor), and prints

  ratio = wall time / (raw folding time / threads)

which the issue wants <= 1.2 (everything besides folding small beside it).

Usage: python bench/scan_benchmark.py [--introns 200000] [--threads 1 2] [--chunk I/N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test-only simulators (tests/simulate.py)


def generate(folder: Path, introns: int, seed: int) -> tuple[Path, Path, int]:
    from simulate import gtf_lines, simulate_gene_models

    from mirtron_tools.scan.genes import Transcript, introns_from_transcripts

    # about 8.6 unique introns per gene with (1, 15) introns and exon-skipping transcripts
    genes = int(introns / 8.0)
    while True:
        models = simulate_gene_models(seed, genes=genes, contigs=24, introns_per_gene=(1, 15), planted=50,
                                      short_intron_fraction=0.1, intron_median=1000, longest_intron=5000,
                                      contig_prefix="chr")
        unique = introns_from_transcripts(Transcript(t, g, c, s, tuple(e)) for g, t, c, s, e in models.transcripts)
        if len(unique) >= introns:
            break
        genes = int(genes * introns / len(unique) * 1.02) + 1
    genome = folder / "genome.fa"
    with open(genome, "wb") as stream:
        for name, array in models.contigs.items():
            stream.write(f">{name}\n".encode())
            usable = len(array) - len(array) % 60
            lines = np.concatenate([array[:usable].reshape(-1, 60), np.full((usable // 60, 1), 10, np.uint8)], axis=1)
            stream.write(lines.tobytes())
            if usable < len(array):
                stream.write(array[usable:].tobytes() + b"\n")
    annotation = folder / "genes.gtf"
    annotation.write_text("\n".join(gtf_lines(models)) + "\n")
    import pysam

    pysam.faidx(str(genome))
    return genome, annotation, len(unique)


CHILD = """
import resource, sys, time
from mirtron_tools.genome_scan import scan_genome, write_scan
genome, annotation, output, threads, chunk = sys.argv[1:]
started = time.perf_counter()
write_scan(output, scan_genome(genome, annotation, threads=int(threads),
                               chunk=tuple(int(part) for part in chunk.split("/")) if chunk != "-" else None))
wall = time.perf_counter() - started
print(f"RESULT 0 {wall:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)
"""


def run_scan(genome: Path, annotation: Path, output: Path, threads: int, chunk: str | None) -> tuple[float, float]:
    """mt-encode --genome GENOME --annotation ANNOTATION [--chunk I/N] -o OUTPUT, through the library in a child
    process of its own: (wall seconds, peak memory in MB)."""
    argv = [str(genome), str(annotation), str(output), str(threads), chunk or "-"]
    result = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True)
    line = next((line for line in result.stdout.splitlines() if line.startswith("RESULT")), None)
    if result.returncode or line is None:
        raise SystemExit(f"the scan failed: {result.stderr}")
    _, _, wall, rss = line.split()
    return float(wall), int(rss) / 1024  # ru_maxrss is in KiB on Linux


def raw_folding_seconds(genome: Path, annotation: Path, candidates: Path, chunk: str | None,
                        decoys: bool = False) -> tuple[float, int, int]:
    """Fold the same windows (and, with ``decoys``, their decoys: ``mt-encode --decoys``) and the refolded
    candidate hairpins in one process, tight loop; returns (seconds, windows folded, candidates refolded)."""
    from mirtron_tools.encoding import fold
    from mirtron_tools.io.annotation import read_transcripts
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.io.genome import Genome
    from mirtron_tools.scan.decoys import decoy_sequence
    from mirtron_tools.scan.folding import fold_window
    from mirtron_tools.scan.genes import introns_from_transcripts
    from mirtron_tools.scan.parameters import ScanParameters
    from mirtron_tools.scan.windows import plan_windows, select_chunk, window_clusters

    parameters = ScanParameters()
    with Genome(genome) as handle:
        introns = introns_from_transcripts(read_transcripts(annotation), contig_order=list(handle.lengths))
        clusters = window_clusters(plan_windows(introns, parameters))
        if chunk:
            clusters = select_chunk(clusters, *(int(part) for part in chunk.split("/")))
        windows = [window for cluster in clusters for window in cluster]
        sequences = [handle.fetch(w.contig, w.start, w.end, w.strand) for w in windows]
    if decoys:
        sequences += [decoy_sequence(w, s) for w, s in zip(windows, sequences)]
    encoded = read_encoded(candidates)
    whole = {(w.contig, w.start, w.end, w.strand) for w in windows}
    table = encoded.annotations
    refolded = [sequence for row, sequence in enumerate(encoded.sequences)
                if (str(table["contig"][row]), int(table["start"][row]), int(table["end"][row]),
                    str(table["strand"][row])) not in whole]
    started = time.perf_counter()
    for sequence in sequences:
        fold_window(sequence, max(parameters.window, len(sequence)))
    for sequence in refolded:
        fold(sequence)
    return time.perf_counter() - started, len(sequences), len(refolded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--introns", type=int, default=200_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk", default=None, metavar="I/N", help="scan only this piece of the windows")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the generated files (kept)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="scan_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    genome, annotation, introns = generate(folder, args.introns, args.seed)
    size = os.path.getsize(genome) / 1e6
    print(f"generated {introns} unique introns, genome {size:.0f} MB, GTF {os.path.getsize(annotation) / 1e6:.0f} MB "
          f"in {time.perf_counter() - started:.0f} s ({folder})", flush=True)
    results = []
    for threads in args.threads:
        output = folder / f"candidates_{threads}.npz"
        wall, rss = run_scan(genome, annotation, output, threads, args.chunk)
        results.append((threads, wall, rss, output))
        print(f"threads {threads}: wall {wall:.1f} s, peak RSS (main process) {rss:.0f} MiB", flush=True)
    raw, windows, refolded = raw_folding_seconds(genome, annotation, results[0][3], args.chunk)
    from mirtron_tools.io.encoded import read_encoded

    count = len(read_encoded(results[0][3]))
    print(f"\nintrons {introns}; scanned {'chunk ' + args.chunk if args.chunk else 'everything'}: {windows} windows "
          f"folded, {refolded} hairpins refolded, {count} candidates")
    print(f"raw ViennaRNA folding of the same windows + hairpins, 1 process: {raw:.1f} s")
    print("| threads | wall s | peak RSS MiB | candidates/s | windows/s | ratio to raw folding / threads |")
    print("|---|---|---|---|---|---|")
    for threads, wall, rss, _ in results:
        print(f"| {threads} | {wall:.1f} | {rss:.0f} | {count / wall:.0f} | {windows / wall:.0f} | "
              f"{wall / (raw / threads):.2f} |")
    if len(results) > 1:
        print(f"speed-up {results[0][0]} -> {results[-1][0]} threads: {results[0][1] / results[-1][1]:.2f}x")
    print(f"peak RSS of this benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
