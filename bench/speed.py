#!/usr/bin/env python3
"""Speed of mt-encode and mt-predict, as ratios measured in one run on this machine.

* Encoding: mirtron_tools' folding + encoding vs raw ViennaRNA ``RNA.fold`` on the same
  sequences in one process (target >= 90 % per core), and the speed-up with 2 worker processes
  (target near 2x on 2 cores); also the whole ``mt-encode`` command (start-up, FASTA, NPZ+TSV).
* Prediction: hairpins/s of a loaded bundled model on hairpin-length inputs, bucketed by length
  (target >= 2,000/s on 2 cores).
* Start-up: ``mt-encode --help`` (target < 0.5 s) and ``mt-predict`` on one sequence.

Usage: python bench/speed.py [--hairpins 3000] [--predict 20000]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent


def synthetic(count: int, seed: int) -> list[tuple[str, str]]:
    from mirtron_tools.simulate import hairpin_set

    half = count // 2
    return hairpin_set(half, True, seed, "m") + hairpin_set(count - half, False, seed + 1, "c")


def timed(function, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hairpins", type=int, default=3000)
    parser.add_argument("--predict", type=int, default=20000)
    args = parser.parse_args()
    import RNA

    from mirtron_tools.encoding import encode_sequences, model_inputs, uses_energy

    records = synthetic(args.hairpins, 5)
    ids, sequences = [r[0] for r in records], [r[1] for r in records]
    print(f"machine: {os.cpu_count()} cores; {len(sequences)} hairpins, median length "
          f"{int(np.median([len(s) for s in sequences]))} nt")

    raw = timed(lambda: [RNA.fold(s) for s in sequences], 2)
    ours_1 = timed(lambda: encode_sequences(ids, sequences, threads=1), 2)
    ours_2 = timed(lambda: encode_sequences(ids, sequences, threads=2), 2)
    print(f"raw RNA.fold: {len(sequences) / raw:.0f} hairpins/s")
    print(f"encode, 1 process: {len(sequences) / ours_1:.0f} hairpins/s = {raw / ours_1:.1%} of raw folding per core")
    print(f"encode, 2 processes: {len(sequences) / ours_2:.0f} hairpins/s = {ours_1 / ours_2:.2f}x the 1-process speed")
    with tempfile.TemporaryDirectory() as folder:
        fasta = Path(folder) / "h.fa"
        fasta.write_text("".join(f">{i}\n{s}\n" for i, s in records))
        for threads in (1, 2):
            command = [str(BIN / "mt-encode"), str(fasta), "-o", f"{folder}/h.npz", "-q", "--threads", str(threads)]
            wall = timed(lambda: subprocess.run(command, check=True))
            print(f"mt-encode command, --threads {threads}: {wall:.2f} s = {raw / wall / threads:.1%} of raw folding "
                  "time per thread")
        help_time = statistics.median(
            timed(lambda: subprocess.run([str(BIN / "mt-encode"), "--help"], check=True, capture_output=True))
            for _ in range(5))
        print(f"mt-encode --help: {help_time:.2f} s")
        one = Path(folder) / "one.fa"
        one.write_text(f">{ids[0]}\n{sequences[0]}\n")
        single = timed(lambda: subprocess.run([str(BIN / "mt-predict"), str(one), "-o", f"{folder}/o.tsv", "-q"],
                                              check=True))
        print(f"mt-predict on one sequence (bundled model, incl. TensorFlow start-up): {single:.2f} s")

    from mirtron_tools.cli.common import load_tensorflow

    load_tensorflow(threads=2)
    from mirtron_tools.io.model import load_model, resolve_model
    from mirtron_tools.prediction import predict_arrays

    model, manifest = load_model(resolve_model(None))
    base = model_inputs(encode_sequences(ids, sequences, threads=2), energy=uses_energy(manifest))
    arrays = [base[i % len(base)] for i in range(args.predict)]
    predict_arrays(model, arrays[:2000])  # trace the graphs once
    for batch in (256, 1024):
        seconds = timed(lambda: predict_arrays(model, arrays, batch), 1)
        print(f"predict, batch {batch}: {len(arrays) / seconds:.0f} hairpins/s "
              f"({manifest['training']['ensemble_members']}-member ensemble)")


if __name__ == "__main__":
    main()
