#!/usr/bin/env python3
"""Speed of mt-encode and mt-predict, as ratios measured in one run on this machine.

* Encoding: mirtron_tools' folding + encoding vs raw ViennaRNA ``RNA.fold`` on the same
  sequences in one process (target >= 90 % per core), and the speed-up with 2 worker processes
  (target near 2x on 2 cores); also the whole ``mt-encode`` command (start-up, FASTA, NPZ+TSV).
* Prediction: hairpins/s of a loaded bundled model on hairpin-length inputs, bucketed by length
  (target >= 2,000/s on 2 cores).
* Start-up: ``mt-encode --help`` (target < 0.5 s) and ``mt-predict`` on one sequence.
* Genome scale (``--genome c19.npz``, the NPZ of bench/genome_chr19.py): the scoring paths side by side on
  the chr19 candidates (Keras ``predict_on_batch``, as before; one shape-polymorphic trace at batch 256 and
  1024; the same with XLA), each with its tracing time and its largest probability difference from
  ``predict_on_batch``; ``mt-predict`` end to end with 1 and 2 threads (default ``genome`` model and
  ``human_mirtron``); peak RSS at 1x, 4x and 16x the candidates; one hairpin against ``import tensorflow``.

Usage: python bench/speed.py [--hairpins 3000] [--predict 20000] [--genome c19.npz]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test-only simulators (tests/simulate.py)
BIN = Path(sys.executable).parent


def synthetic(count: int, seed: int) -> list[tuple[str, str]]:
    from simulate import hairpin_set

    half = count // 2
    return hairpin_set(half, True, seed, "m") + hairpin_set(count - half, False, seed + 1, "c")


def timed(function, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def _child_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command, measured with GNU time's format in a wrapper."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "subprocess.run(sys.argv[1:], check=True); "
               "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, capture_output=True, text=True)
    wall, rss = out.stdout.split()
    return float(wall), float(rss)


def replicated(npz: Path, factor: int, target: Path) -> int:
    """Write ``factor`` copies of a scan NPZ's real candidates (ids suffixed) to ``target``; return the count."""
    from mirtron_tools.encoding import concatenate
    from mirtron_tools.io.encoded import read_encoded, write_encoded

    encoded = read_encoded(npz)
    if "decoy" in encoded.annotations:
        encoded = encoded.subset(np.flatnonzero(encoded.annotations["decoy"] == 0))
        encoded.annotations.pop("decoy")
    copies = []
    for copy in range(factor):
        part = encoded.subset(range(len(encoded)))
        part.ids = [f"{identifier}#{copy}" for identifier in part.ids]
        copies.append(part)
    write_encoded(target, concatenate(copies), table="")
    return len(encoded) * factor


def genome_scale(npz: Path) -> None:
    """The genome-scale section (see the module docstring)."""
    import tensorflow as tf

    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.batches import iterate_padded
    from mirtron_tools.encoding import model_inputs, uses_context, uses_energy
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.io.model import load_model, resolve_model

    load_tensorflow(threads=2)
    encoded = read_encoded(npz)
    if "decoy" in encoded.annotations:
        encoded = encoded.subset(np.flatnonzero(encoded.annotations["decoy"] == 0))
    print(f"genome scale: {len(encoded)} chr19 candidates, median {int(np.median(encoded.lengths))} nt, "
          f"max {int(encoded.lengths.max())} nt")
    sample = encoded.subset(range(min(4096, len(encoded))))
    for name in ("human_mirtron", "genome"):
        model, manifest = load_model(resolve_model(name))
        arrays = model_inputs(sample, energy=uses_energy(manifest), context=uses_context(manifest))
        channels = arrays[0].shape[1]
        reference = None
        print(f"| {name}: path | batch | tracing s | candidates/s (first pass, tracing included) | candidates/s "
              "(second pass) | max abs difference |")
        for path, batch_size in (("predict_on_batch", 256), ("one trace", 256), ("one trace", 1024),
                                 ("one trace + XLA", 256)):
            if path == "predict_on_batch":
                def forward(batch):
                    return np.asarray(model.predict_on_batch(batch)).reshape(-1)
                trace = float("nan")
            else:
                started = time.perf_counter()
                function = tf.function(lambda x: model(x, training=False), jit_compile=path.endswith("XLA"),
                                       input_signature=[tf.TensorSpec([None, None, channels], tf.float32)])
                concrete = function if path.endswith("XLA") else function.get_concrete_function()
                trace = time.perf_counter() - started

                def forward(batch, concrete=concrete):
                    return np.asarray(concrete(tf.constant(batch))).reshape(-1)
            rates = []
            out = np.empty(len(arrays), dtype=np.float32)
            for _ in range(2):
                started = time.perf_counter()
                for rows, batch in iterate_padded(arrays, batch_size):
                    out[rows] = forward(batch)
                rates.append(len(arrays) / (time.perf_counter() - started))
            if reference is None:
                reference = out.copy()
            print(f"| {path} | {batch_size} | {trace:.2f} | {rates[0]:.0f} | {rates[1]:.0f} | "
                  f"{np.abs(out - reference).max():.1e} |", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for model_name in ("genome", "human_mirtron"):
            for threads in (1, 2):
                wall, rss = _child_run([str(BIN / "mt-predict"), str(npz), "-o", f"{folder}/c.tsv", "-q",
                                        "--model", model_name, "--threads", str(threads)])
                print(f"mt-predict {npz.name} --model {model_name} --threads {threads}: {wall:.1f} s wall, "
                      f"{len(encoded) / wall:.0f} candidates/s end to end, peak RSS {rss:.0f} MB", flush=True)
        for factor in (1, 4, 16):
            big = Path(folder) / f"x{factor}.npz"
            count = replicated(npz, factor, big)
            wall, rss = _child_run([str(BIN / "mt-predict"), str(big), "-o", f"{folder}/x.bed", "-q",
                                    "--threads", "2"])
            print(f"mt-predict {factor}x chr19 ({count} candidates, BED, genome model, 2 threads): {wall:.1f} s, "
                  f"{count / wall:.0f} candidates/s, peak RSS {rss:.0f} MB", flush=True)
        one = Path(folder) / "one.fa"
        one.write_text(f">x\n{encoded.sequences[0]}\n")
        tf_import = min(_child_run([sys.executable, "-c", "import tensorflow"])[0] for _ in range(2))
        single = min(_child_run([str(BIN / "mt-predict"), str(one), "-o", f"{folder}/o.tsv", "-q"])[0]
                     for _ in range(2))
        print(f"one hairpin, bundled human_mirtron: {single:.2f} s; python -c 'import tensorflow': {tf_import:.2f} s; "
              f"ratio {single / tf_import:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hairpins", type=int, default=3000)
    parser.add_argument("--predict", type=int, default=20000)
    parser.add_argument("--genome", type=Path, help="also (only) the genome-scale section on this scan NPZ")
    args = parser.parse_args()
    if args.genome:
        genome_scale(args.genome)
        return
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

    from mirtron_tools.backend import load_tensorflow

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
