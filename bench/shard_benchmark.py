#!/usr/bin/env python3
"""The chr19 genome scan as 1, 4 and 16 pieces, run one after the other on this machine.

Every step is the command a cluster job runs, timed on its own (wall, and CPU = user + sys of the
command and every process it started):

* 1 piece: ``mt-encode --genome chr19 --annotation chr19.gff3 --decoys`` then ``mt-predict`` (BED,
  survey, known loci).
* N pieces: ``mt-encode ... --split N`` (the annotation parsed once), then per piece ``mt-encode --plan``
  and ``mt-predict PIECE.npz -o PIECE.scores.npz``, then the merge ``mt-predict PIECES.scores.npz -o
  calls.bed --survey ...``; and the alternative gather that scores every piece's NPZ in one job
  (``mt-predict PIECES.npz -o calls.bed``: one TensorFlow start instead of N).

Reported: total CPU time against the single run; the largest piece's wall time (what a cluster
waits for); the fixed cost of a piece (a piece with no windows: start-up, plan or annotation,
genome, output) with ``--plan`` and with ``--chunk`` (which parses the annotation in every piece)
as a share of a piece's wall time; and whether the merged BED and survey equal the single run's
byte for byte. Uses ``../shared/data/intronIC`` (chr19 as shipped, plain gzip: decompressed once to
the cache before timing).

Usage: python bench/shard_benchmark.py [--work bench/out/shards] [--threads 2] [--pieces 4 16]
Writes <work>/shard_benchmark.json and prints the table of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

from recipes import chr19_holdout, human_data  # noqa: E402

BIN = Path(sys.executable).parent


def run(command: list[str]) -> dict:
    """Run one command: wall seconds, CPU seconds (it and its children), peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_mb": after.ru_maxrss / 1024}


def encode_command(genome: Path, annotation: Path, threads: int, *extra: str) -> list[str]:
    return [str(BIN / "mt-encode"), "--genome", str(genome), "--annotation", str(annotation), "--decoys",
            "--threads", str(threads), "-q", *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "shards")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pieces", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()
    shared = human_data.SHARED
    genome, annotation = shared / chr19_holdout.CHR19, shared / chr19_holdout.CHR19_GFF3
    known = shared / chr19_holdout.KNOWN_BED
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    threads = str(args.threads)
    result: dict = {"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "cpus": os.cpu_count(), "runs": {}}

    # decompress the plain-gzip chromosome into the cache once, outside the timings
    run(encode_command(genome, annotation, 1, "--region", "19:1-2", "-o", str(work / "warm.npz")))

    # fixed cost of a piece: one with no windows, by --chunk (annotation parsed) and by --plan
    result["fixed_chunk"] = run(encode_command(genome, annotation, args.threads, "--region", "19:1-2",
                                               "-o", str(work / "empty_chunk.npz")))
    run(encode_command(genome, annotation, 1, "--region", "19:1-2", "--split", "1", "-o", str(work / "empty_plan")))
    result["fixed_plan"] = run([str(BIN / "mt-encode"), "--plan", str(work / "empty_plan" / "piece_1.plan.npz"),
                                "--genome", str(genome), "--threads", threads, "-q", "-o",
                                str(work / "empty_piece.npz")])

    whole = {"encode": run(encode_command(genome, annotation, args.threads, "-o", str(work / "whole.npz"))),
             "predict": run([str(BIN / "mt-predict"), str(work / "whole.npz"), "-o", str(work / "whole.bed"),
                             "--survey", str(work / "whole.survey.tsv"), "--known", str(known), "--threads", threads,
                             "-q"])}
    whole["cpu"] = whole["encode"]["cpu"] + whole["predict"]["cpu"]
    whole["wall"] = whole["encode"]["wall"] + whole["predict"]["wall"]
    result["runs"]["1"] = whole

    for count in args.pieces:
        folder = work / f"p{count}"
        folder.mkdir(exist_ok=True)
        for stale in folder.glob("*"):
            if stale.is_file():
                stale.unlink()
        plans = folder / "plans"
        if plans.exists():
            for stale in plans.glob("*"):
                stale.unlink()
        record: dict = {"split": run(encode_command(genome, annotation, 1, "--split", str(count), "-o", str(plans))),
                        "pieces": []}
        width = len(str(count))
        for index in range(1, count + 1):
            name = f"piece_{index:0{width}d}"
            encode = run([str(BIN / "mt-encode"), "--plan", str(plans / f"{name}.plan.npz"), "--genome",
                          str(genome), "--threads", threads, "-q", "-o", str(folder / f"{name}.npz")])
            predict = run([str(BIN / "mt-predict"), str(folder / f"{name}.npz"), "-o",
                           str(folder / f"{name}.scores.npz"), "--threads", threads, "-q"])
            record["pieces"].append({"encode": encode, "predict": predict})
        scores = sorted(str(path) for path in folder.glob("piece_*.scores.npz"))
        encoded = sorted(str(path) for path in folder.glob("piece_*.npz") if not path.name.endswith(".scores.npz"))
        record["merge"] = run([str(BIN / "mt-predict"), *scores, "-o", str(folder / "merged.bed"), "--survey",
                               str(folder / "merged.survey.tsv"), "--known", str(known), "-q"])
        record["joint"] = run([str(BIN / "mt-predict"), *encoded, "-o", str(folder / "joint.bed"), "--survey",
                               str(folder / "joint.survey.tsv"), "--known", str(known), "--threads", threads, "-q"])
        record["equal"] = {f"{name}_{suffix}": filecmp.cmp(work / f"whole.{suffix}", folder / f"{name}.{suffix}",
                                                          shallow=False)
                           for name in ("merged", "joint") for suffix in ("bed", "survey.tsv")}
        pieces = record["pieces"]
        record["cpu_per_piece_path"] = (record["split"]["cpu"] + record["merge"]["cpu"]
                                        + sum(p["encode"]["cpu"] + p["predict"]["cpu"] for p in pieces))
        record["cpu_joint_path"] = (record["split"]["cpu"] + record["joint"]["cpu"]
                                    + sum(p["encode"]["cpu"] for p in pieces))
        record["largest_piece_wall"] = max(p["encode"]["wall"] + p["predict"]["wall"] for p in pieces)
        record["largest_encode_wall"] = max(p["encode"]["wall"] for p in pieces)
        record["mean_encode_wall"] = sum(p["encode"]["wall"] for p in pieces) / count
        result["runs"][str(count)] = record
        (work / "shard_benchmark.json").write_text(json.dumps(result, indent=1))

    (work / "shard_benchmark.json").write_text(json.dumps(result, indent=1))
    print_table(result)


def print_table(result: dict) -> None:
    whole = result["runs"]["1"]
    print(f"date {result['date']}, {result['cpus']} CPUs, --threads {result['threads']}")
    print(f"one run: mt-encode {whole['encode']['wall']:.1f} s wall / {whole['encode']['cpu']:.1f} s CPU, "
          f"mt-predict {whole['predict']['wall']:.1f} s / {whole['predict']['cpu']:.1f} s CPU")
    print("| pieces | total CPU, predict per piece + merge | ratio | total CPU, one joint predict | ratio | "
          "largest piece wall (encode + predict) | split | merge | equal to one run |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| 1 | {whole['cpu']:.0f} s | 1.00 | {whole['cpu']:.0f} s | 1.00 | {whole['wall']:.0f} s | - | - | - |")
    for count, record in result["runs"].items():
        if count == "1":
            continue
        equal = "yes" if all(record["equal"].values()) else f"NO {record['equal']}"
        print(f"| {count} | {record['cpu_per_piece_path']:.0f} s | {record['cpu_per_piece_path'] / whole['cpu']:.2f} | "
              f"{record['cpu_joint_path']:.0f} s | {record['cpu_joint_path'] / whole['cpu']:.2f} | "
              f"{record['largest_piece_wall']:.1f} s | {record['split']['wall']:.1f} s | "
              f"{record['merge']['wall']:.1f} s | {equal} |")
    chunk, plan = result["fixed_chunk"], result["fixed_plan"]
    for count, record in result["runs"].items():
        if count == "1":
            continue
        mean = record["mean_encode_wall"]
        print(f"fixed cost of a piece vs the mean piece of {count} ({mean:.1f} s): --plan {plan['wall']:.2f} s "
              f"({100 * plan['wall'] / mean:.1f} %), --chunk {chunk['wall']:.2f} s ({100 * chunk['wall'] / mean:.1f} %)")


if __name__ == "__main__":
    main()
