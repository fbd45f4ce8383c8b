#!/usr/bin/env python3
"""Scoring without TensorFlow (issue 27): the numpy scorer against Keras, measured in one run.

Every figure is a command timed as a user runs it (a fresh process: wall seconds, CPU = user + sys of it and
its children, peak RSS), the numpy scorer (the default) against Keras (``MIRTRON_TOOLS_ENGINE=keras``, the
scoring of earlier versions), on the same machine one after the other:

* one hairpin end to end: ``mt-predict one.fa -o one.tsv`` (the first record of examples/hairpins.fa),
  against ``python -c "import tensorflow"`` alone;
* scoring a genome scan's candidates (``mt-encode --genome chr19 --annotation --region ...``, made once into
  the work folder): ``mt-predict chr19.npz -o calls.tsv --threads T`` with the ``genome`` model and with the
  ``human_mirtron`` ensemble: wall, candidates per second end to end, peak RSS;
* a scoring job's fixed cost: ``mt-predict`` on a one-candidate piece of the scan;
* 16 pieces scored by 16 jobs: their total CPU against one job scoring the whole, alone and with the
  CPU of encoding the scan (counted once: the pieces' own encoding costs are bench/shard_benchmark.py's).

Probabilities of the two engines are compared too (largest difference). Uses ../shared/data/intronIC.

Usage: python bench/light_scoring.py [--work bench/out/light] [--region 19:1-5000000] [--threads 2]
Writes <work>/light_scoring.json and prints the table of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from mirtron_tools.encoding import concatenate  # noqa: E402
from mirtron_tools.inference import ENGINE_VARIABLE  # noqa: E402
from mirtron_tools.io.encoded import read_encoded, write_encoded  # noqa: E402
from mirtron_tools.io.fasta import read_fasta  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "intronIC" / "test_data"
GENOME = DATA / "Homo_sapiens.Chr19.Ensembl_91.fa.gz"
ANNOTATION = DATA / "Homo_sapiens.Chr19.Ensembl_91.gff3.gz"
#: runs a command and prints its own children's usage: wall, CPU and peak RSS of that command alone
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}))
"""


def measure(command: list[str], engine: str = "numpy") -> dict:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    environment.pop(ENGINE_VARIABLE, None)
    if engine == "keras":
        environment[ENGINE_VARIABLE] = "keras"
    result = subprocess.run([sys.executable, "-c", MEASURE, *command], check=True, capture_output=True, text=True,
                            env=environment, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_of(command: list[str], repeats: int, engine: str = "numpy") -> dict:
    runs = [measure(command, engine) for _ in range(repeats)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def predict(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "mirtron_tools.cli.predict", *arguments, "-q"]


def probabilities(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    column = lines[0].split("\t").index("probability")
    return np.array([float(line.split("\t")[column]) for line in lines[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=HERE / "out" / "light")
    parser.add_argument("--region", default="19:1-5000000")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs of the one-hairpin timings (median)")
    parser.add_argument("--pieces", type=int, default=16)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work
    scan = work / "chr19.npz"
    # the scan's candidates (encoding timed too: the pieces' ratio below counts it once)
    encode = measure([sys.executable, "-m", "mirtron_tools.cli.encode", "--genome", str(GENOME), "--annotation",
                      str(ANNOTATION), "--region", args.region, "-o", str(scan), "-q"])
    encoded = read_encoded(scan)
    count = len(encoded.ids)
    first = next(read_fasta(ROOT / "examples" / "hairpins.fa"))
    one = work / "one.fa"
    one.write_text(f">{first.identifier}\n{first.sequence}\n")
    one_candidate = work / "one_candidate.npz"
    write_encoded(one_candidate, encoded.subset([0]), table="")
    pieces = []
    for index, rows in enumerate(np.array_split(np.arange(count), args.pieces)):
        piece = work / f"piece_{index + 1}.npz"
        write_encoded(piece, encoded.subset(rows), table="")
        pieces.append(piece)
    assert len(concatenate([read_encoded(piece) for piece in pieces]).ids) == count

    results: dict = {"candidates": count, "region": args.region, "threads": args.threads, "pieces": args.pieces,
                     "encode": encode}
    # one hairpin end to end, and TensorFlow's import alone, one after the other
    results["import_tensorflow"] = median_of([sys.executable, "-c", "import tensorflow"], args.repeats)
    for engine in ("numpy", "keras"):
        results[f"one_hairpin_{engine}"] = median_of(predict(str(one), "-o", str(work / f"one.{engine}.tsv")),
                                                     args.repeats, engine)
        results[f"fixed_{engine}"] = median_of(predict(str(one_candidate), "-o", str(work / "fixed.tsv")),
                                               args.repeats, engine)
    # the scan's candidates, both models, both engines
    for model in ("genome", "human_mirtron"):
        for engine in ("numpy", "keras"):
            output = work / f"calls.{model}.{engine}.tsv"
            run = measure(predict(str(scan), "-o", str(output), "--model", model, "--threads", str(args.threads)),
                          engine)
            run["per_second"] = count / run["wall"]
            results[f"{model}_{engine}"] = run
        results[f"{model}_max_difference"] = float(np.abs(probabilities(work / f"calls.{model}.numpy.tsv")
                                                          - probabilities(work / f"calls.{model}.keras.tsv")).max())
    # N scoring jobs against one
    for engine in ("numpy", "keras"):
        whole = measure(predict(str(scan), "-o", str(work / "whole.tsv")), engine)
        parts = [measure(predict(str(piece), "-o", str(work / "part.tsv")), engine) for piece in pieces]
        pieces_cpu = sum(part["cpu"] for part in parts)
        results[f"pieces_{engine}"] = {"whole_cpu": whole["cpu"], "pieces_cpu": pieces_cpu,
                                       "ratio": pieces_cpu / whole["cpu"],
                                       "scan_ratio": (encode["cpu"] + pieces_cpu) / (encode["cpu"] + whole["cpu"])}
    (work / "light_scoring.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(results: dict) -> str:
    tf_import = results["import_tensorflow"]["wall"]
    one_numpy, one_keras = results["one_hairpin_numpy"], results["one_hairpin_keras"]
    lines = [f"| measure ({results['candidates']:,} candidates of {results['region']}, --threads {results['threads']})"
             " | numpy scorer | Keras (TensorFlow) |", "|---|---|---|",
             f"| one hairpin end to end (`mt-predict one.fa`), s | {one_numpy['wall']:.2f} "
             f"({one_numpy['wall'] / tf_import:.2f}x `import tensorflow`, {tf_import:.2f} s) | {one_keras['wall']:.2f} |",
             f"| one hairpin: peak RSS, MB | {one_numpy['rss_mb']:.0f} | {one_keras['rss_mb']:.0f} |",
             f"| a scoring job's fixed cost (one candidate), wall s / CPU s | {results['fixed_numpy']['wall']:.2f} / "
             f"{results['fixed_numpy']['cpu']:.2f} | {results['fixed_keras']['wall']:.2f} / "
             f"{results['fixed_keras']['cpu']:.2f} |"]
    for model in ("genome", "human_mirtron"):
        light, heavy = results[f"{model}_numpy"], results[f"{model}_keras"]
        lines += [f"| `{model}`: candidates/s end to end | {light['per_second']:,.0f} | {heavy['per_second']:,.0f} |",
                  f"| `{model}`: wall s / CPU s / peak RSS MB | {light['wall']:.1f} / {light['cpu']:.1f} / "
                  f"{light['rss_mb']:.0f} | {heavy['wall']:.1f} / {heavy['cpu']:.1f} / {heavy['rss_mb']:.0f} |",
                  f"| `{model}`: largest difference of the probabilities (TSV, 4 decimals) | "
                  f"{results[f'{model}_max_difference']:.4f} | |"]
    light, heavy = results["pieces_numpy"], results["pieces_keras"]
    pieces = results["pieces"]
    lines += [f"| {pieces} pieces scored by {pieces} jobs: scoring CPU / one job's | {light['ratio']:.2f}x "
              f"({light['pieces_cpu']:.1f} / {light['whole_cpu']:.1f} s) | {heavy['ratio']:.2f}x "
              f"({heavy['pieces_cpu']:.1f} / {heavy['whole_cpu']:.1f} s) |",
              f"| the same with the scan's encoding ({results['encode']['cpu']:.1f} CPU s, counted once): total CPU / "
              f"one run's | {light['scan_ratio']:.2f}x | {heavy['scan_ratio']:.2f}x |"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
