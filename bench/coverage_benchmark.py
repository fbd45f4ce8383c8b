#!/usr/bin/env python3
"""Coverage benchmark: mt-coverage throughput and sequence-only vs sequence+coverage AUC.

1. Throughput. A simulated genome with 2,000 hairpins (synthetic, half mirtron-like) and a
   simulated BAM of >= 1 M reads (tests/simulate.py). mt-coverage runs in a fresh process
   (1 and 2 threads): candidates/s, BAM reads/s, reads in candidate windows/s, peak RSS. The
   same candidates on a BAM with a quarter of the reads show whether memory follows the BAM.
2. AUC. Real human hairpin sequences of the published Rorbach 2018 split (../shared/data
   derived_splits/rorbach2018_split.csv: train 216 miRBase mirtrons + 507 canonical, held out
   201 putative mirtrons + 200 canonical) placed in a simulated genome, with reads simulated
   per class at several expression levels. For each level a sequence-only and a
   sequence+coverage model with the same architecture, seed and epochs are trained on the same
   training hairpins and scored on the same held-out ones. The sequence-only model does not
   depend on the reads, so it is trained once per seed.

The reads are simulated: the gain shows what the model can take from read shapes when they
look like the simulator's model of mirtron (splice-site ends) and canonical (Drosha/Dicer ends
in a longer transcript) loci, not what a real library will give.

Run: python bench/coverage_benchmark.py [--seeds 2] [--epochs 40] [--skip-auc] [--skip-throughput]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test-only simulators (tests/simulate.py)
SHARED = Path(os.environ.get("MIRTRON_SHARED_DATA", HERE.parent.parent / "shared" / "data"))

LEVELS = [
    # name, mirtron mean reads, canonical mean reads, share of loci with no reads
    ("high (mirtron ~30, canonical ~200 reads)", 30, 200, 0.05),
    ("medium (mirtron ~8, canonical ~40 reads)", 8, 40, 0.10),
    ("low: most loci 0-5 reads (mirtron ~1.5, canonical ~3)", 1.5, 3, 0.30),
    ("low, same mean for both classes (~3 reads)", 3, 3, 0.30),
]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores (nproc), {model}, Python {platform.python_version()}"


def write_genome(path: Path, contigs: dict[str, str]) -> None:
    with open(path, "w") as stream:
        for name, sequence in contigs.items():
            stream.write(f">{name}\n")
            for start in range(0, len(sequence), 80):
                stream.write(sequence[start:start + 80] + "\n")


def encode_loci(genome, sequences: dict[str, str], output: Path) -> None:
    """Encoded NPZ with coordinates for the simulated loci (same ids and sequences as placed)."""
    from mirtron_tools.coordinates import Region, region_annotations
    from mirtron_tools.encoding import encode_sequences
    from mirtron_tools.io.encoded import write_encoded

    ids = [locus.identifier for locus in genome.loci]
    encoded = encode_sequences(ids, [sequences[identifier] for identifier in ids], threads=2)
    encoded.annotations = region_annotations([Region(locus.contig, locus.start, locus.end, locus.strand)
                                              for locus in genome.loci])
    write_encoded(output, encoded, "")


def run_coverage(arguments: list[str]) -> dict:
    """mt-coverage in a fresh process: wall time and peak RSS (main process and its workers).

    The main process's peak is VmHWM (ru_maxrss would carry over the parent's peak across fork
    and exec on Linux); the workers' ru_maxrss includes pages shared with the main process."""
    code = ("import resource, sys, time\n"
            "from mirtron_tools.cli.coverage import main\n"
            "started = time.perf_counter()\n"
            f"code = main({arguments!r})\n"
            "wall = time.perf_counter() - started\n"
            "own = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
            "children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(code, wall, own, children)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, wall, own, children = result.stdout.split()
    assert status == "0", result.stderr
    return {"wall_s": float(wall), "peak_rss_mb": int(own) / 1024, "worker_peak_rss_mb": int(children) / 1024}


def reads_in_windows(genome, reads, flank: int) -> int:
    """Simulated reads overlapping any candidate window (hairpin +- flank); windows do not overlap."""
    names = list(genome.contigs)
    total = 0
    ends = reads.start + np.array([len(sequence) for sequence in reads.sequences])
    for index, name in enumerate(names):
        windows = sorted((locus.start - flank, locus.end + flank) for locus in genome.loci if locus.contig == name)
        starts = np.array([window[0] for window in windows])
        stops = np.array([window[1] for window in windows])
        mask = reads.contig == index
        position = np.searchsorted(starts, ends[mask], side="left") - 1
        valid = position >= 0
        total += int((reads.start[mask][valid] < stops[position[valid]]).sum())
    return total


def throughput(work: Path, seed: int) -> dict:
    from simulate import ExpressionLevel, hairpin_set, place_hairpins, simulate_reads, write_alignments

    hairpins = ([(identifier, sequence, True) for identifier, sequence in hairpin_set(1000, True, seed, "m")]
                + [(identifier, sequence, False) for identifier, sequence in hairpin_set(1000, False, seed + 1, "c")])
    genome = place_hairpins(hairpins, seed=seed, contigs=8)
    contigs = {name: len(sequence) for name, sequence in genome.contigs.items()}
    encode_loci(genome, {identifier: sequence for identifier, sequence, _ in hairpins}, work / "loci.npz")
    results = {"candidates": len(genome.loci)}
    for label, scale, background in (("full", 1.0, 200_000), ("quarter", 0.25, 50_000)):
        level = ExpressionLevel(label, mirtron_mean=150 * scale, canonical_mean=450 * scale, zero_fraction=0.05)
        started = time.perf_counter()
        reads = simulate_reads(genome, level, seed=seed + 2, background_reads=background)
        bam = work / f"{label}.bam"
        write_alignments(bam, contigs, reads)
        simulate_s = time.perf_counter() - started
        in_windows = reads_in_windows(genome, reads, 20)
        entry = {"bam_reads": len(reads), "reads_in_candidate_windows": in_windows,
                 "bam_mb": bam.stat().st_size / 1e6, "simulate_and_write_s": simulate_s}
        for threads in (1, 2):
            timing = run_coverage([str(work / "loci.npz"), str(bam), "-o", str(work / f"{label}{threads}.cov.npz"),
                                   "-q", "--threads", str(threads)])
            timing["candidates_per_s"] = len(genome.loci) / timing["wall_s"]
            timing["bam_reads_per_s"] = len(reads) / timing["wall_s"]
            timing["window_reads_per_s"] = in_windows / timing["wall_s"]
            entry[f"threads_{threads}"] = timing
        results[label] = entry
        print(f"throughput {label}: {json.dumps(entry, indent=1)}", file=sys.stderr)
    return results


def rorbach_split() -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """ids, RNA sequences, labels (1 = mirtron) and held-out mask of the published Rorbach 2018 split.

    Train: 216 miRBase mirtrons + 507 canonical; held out: 201 putative (novel) mirtrons + 200
    canonical. T is written as U (the putative mirtrons are in DNA letters); a repeated id is
    kept once (first row).
    """
    ids, sequences, labels, held_out, seen = [], [], [], [], set()
    with open(SHARED / "derived_splits" / "rorbach2018_split.csv", newline="") as stream:
        for row in csv.DictReader(stream):
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            ids.append(row["id"])
            sequences.append(row["seq"].strip().upper().replace("T", "U"))
            labels.append(1 if row["label"] == "mirtron" else 0)
            held_out.append(row["split"] == "test")
    return ids, sequences, np.array(labels, dtype=int), np.array(held_out)


def auc_comparison(work: Path, seeds: int, epochs: int) -> dict:
    from simulate import ExpressionLevel, place_hairpins, simulate_reads, write_alignments

    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.coverage import coverage_channels
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.io.coverage import read_coverage
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.metrics import roc_auc
    from mirtron_tools.model import Architecture
    from mirtron_tools.prediction import predict_arrays
    from mirtron_tools.read_collection import CollectRequest, collect
    from mirtron_tools.training import TrainingConfig, fit, set_seed

    ids, sequences, labels, held_out = rorbach_split()
    train_rows, test_rows = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    genome = place_hairpins(list(zip(ids, sequences, labels.astype(bool))), seed=2024, contigs=4)
    encode_loci(genome, dict(zip(ids, sequences)), work / "real.npz")
    encoded = read_encoded(work / "real.npz")
    assert encoded.ids == ids
    load_tensorflow()  # after folding: worker processes fork without TensorFlow loaded
    contigs = {name: len(sequence) for name, sequence in genome.contigs.items()}
    sequence_only = model_inputs(encoded)
    architecture = Architecture(lstm_units=16, attention_units=16, dense_units=16, dropout=0.2)

    def train_and_score(arrays, seed):
        config = TrainingConfig(epochs=epochs, patience=8, batch_size=32, learning_rate=2e-3, seed=seed,
                                architecture=architecture)
        set_seed(seed)
        started = time.perf_counter()
        result = fit([arrays[row] for row in train_rows], labels[train_rows], config)
        scores = predict_arrays(result.model, [arrays[row] for row in test_rows])
        return roc_auc(labels[test_rows], scores), time.perf_counter() - started, result.epochs_run

    results = {"n_train": len(train_rows), "n_test": len(test_rows), "test_mirtrons": int(labels[test_rows].sum()),
               "epochs_max": epochs, "architecture": architecture.to_dict(), "seeds": list(range(1, seeds + 1)),
               "sequence_only": [], "levels": []}
    for seed in results["seeds"]:
        auc, seconds, epochs_run = train_and_score(sequence_only, seed)
        results["sequence_only"].append({"seed": seed, "auc": auc, "train_s": seconds, "epochs_run": epochs_run})
        print(f"sequence only, seed {seed}: AUC {auc:.3f} ({seconds:.0f} s)", file=sys.stderr)
    for number, (name, mirtron_mean, canonical_mean, zero_fraction) in enumerate(LEVELS):
        level = ExpressionLevel(name, mirtron_mean, canonical_mean, zero_fraction)
        reads = simulate_reads(genome, level, seed=100 + number, background_reads=2_000)
        bam = work / f"level{number}.bam"
        write_alignments(bam, contigs, reads)
        collect(CollectRequest(str(work / "real.npz"), [str(bam)], str(work / f"level{number}.cov.npz"),
                               str(work / f"level{number}.cov.tsv")))
        coverage = read_coverage(work / f"level{number}.cov.npz")
        hairpin_reads = np.array([int(line.split("\t")[5]) for line in
                                  (work / f"level{number}.cov.tsv").read_text().splitlines()[2:]])
        with_coverage = model_inputs(encoded, coverage_channels(encoded, coverage))
        entry = {"level": name, "mirtron_mean": mirtron_mean, "canonical_mean": canonical_mean,
                 "zero_fraction": zero_fraction, "bam_reads": len(reads),
                 "loci_with_0_to_5_reads": float((hairpin_reads <= 5).mean()),
                 "loci_with_0_reads": float((hairpin_reads == 0).mean()),
                 "median_reads_mirtron": float(np.median(hairpin_reads[labels == 1])),
                 "median_reads_canonical": float(np.median(hairpin_reads[labels == 0])), "runs": []}
        for seed in results["seeds"]:
            auc, seconds, epochs_run = train_and_score(with_coverage, seed)
            entry["runs"].append({"seed": seed, "auc": auc, "train_s": seconds, "epochs_run": epochs_run})
            print(f"{name}, seed {seed}: AUC {auc:.3f} ({seconds:.0f} s)", file=sys.stderr)
        results["levels"].append(entry)
    return results


def report(throughput_results: dict | None, auc_results: dict | None, command: str) -> str:
    lines = [f"Date: {datetime.date.today().isoformat()}. Machine: {machine()}.", f"Command: `{command}`", ""]
    if throughput_results:
        lines += ["Throughput of `mt-coverage` (fresh process; simulated BAM; "
                  f"{throughput_results['candidates']} candidates, flank 20):", "",
                  "| BAM | reads in BAM | reads in candidate windows | threads | wall s | candidates/s | "
                  "BAM reads/s | window reads/s | peak RSS MB (main / workers) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for label in ("full", "quarter"):
            entry = throughput_results[label]
            for threads in (1, 2):
                timing = entry[f"threads_{threads}"]
                lines.append(f"| {label} ({entry['bam_mb']:.0f} MB) | {entry['bam_reads']:,} | "
                             f"{entry['reads_in_candidate_windows']:,} | {threads} | {timing['wall_s']:.1f} | "
                             f"{timing['candidates_per_s']:.0f} | {timing['bam_reads_per_s']:,.0f} | "
                             f"{timing['window_reads_per_s']:,.0f} | {timing['peak_rss_mb']:.0f} / "
                             f"{timing['worker_peak_rss_mb']:.0f} |")
        full, quarter = throughput_results["full"]["threads_1"], throughput_results["quarter"]["threads_1"]
        lines += ["", f"Peak RSS, full / quarter BAM (1 thread): {full['peak_rss_mb'] / quarter['peak_rss_mb']:.2f} "
                  f"for {throughput_results['full']['bam_reads'] / throughput_results['quarter']['bam_reads']:.1f}x "
                  "the reads. Speed-up 2 threads / 1 thread (full BAM): "
                  f"{full['wall_s'] / throughput_results['full']['threads_2']['wall_s']:.2f}x.", ""]
    if auc_results:
        only = [run["auc"] for run in auc_results["sequence_only"]]
        lines += [f"Held-out AUC, mirtron vs canonical (Rorbach 2018 split): {auc_results['n_train']} training / "
                  f"{auc_results['n_test']} held-out real hairpins ({auc_results['test_mirtrons']} held-out putative "
                  "mirtrons), reads "
                  f"SIMULATED per class; seeds {auc_results['seeds']}; at most {auc_results['epochs_max']} epochs, "
                  f"early stopping; LSTM {auc_results['architecture']['lstm_units']} units.", "",
                  "| expression level | loci with 0-5 reads | loci with 0 reads | median reads mirtron / canonical | "
                  "AUC sequence only | AUC sequence + coverage | gain |",
                  "|---|---|---|---|---|---|---|"]
        for entry in auc_results["levels"]:
            with_coverage = [run["auc"] for run in entry["runs"]]
            lines.append(f"| {entry['level']} | {entry['loci_with_0_to_5_reads']:.0%} | {entry['loci_with_0_reads']:.0%} | "
                         f"{entry['median_reads_mirtron']:.0f} / {entry['median_reads_canonical']:.0f} | "
                         f"{np.mean(only):.3f} ({', '.join(f'{value:.3f}' for value in only)}) | "
                         f"{np.mean(with_coverage):.3f} ({', '.join(f'{value:.3f}' for value in with_coverage)}) | "
                         f"{np.mean(with_coverage) - np.mean(only):+.3f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--skip-auc", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    command = "python bench/coverage_benchmark.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="coverage_bench_") as folder:
        work = Path(folder)
        throughput_results = None if args.skip_throughput else throughput(work, seed=7)
        auc_results = None if args.skip_auc else auc_comparison(work, args.seeds, args.epochs)
    if args.json:
        args.json.write_text(json.dumps({"throughput": throughput_results, "auc": auc_results}, indent=1))
    print(report(throughput_results, auc_results, command.strip()))


if __name__ == "__main__":
    main()
