#!/usr/bin/env python3
"""Cost per hairpin of mt-attend's two methods: attention read-out vs in-silico saturation mutagenesis.

Mutagenesis makes 3 x length mutants per hairpin, refolds each with ViennaRNA and rescores it,
so it costs far more than one forward pass with the attention read-out. This measures both on
the same hairpins and model, in one run, and splits the mutagenesis time into folding and scoring.

Run:  python bench/mutagenesis_benchmark.py [--hairpins 40] [--model NAME|FILE] [--threads 1 2]
Model: the bundled human_mirtron model when installed, else an untrained model of the default
architecture (the same size, so the same cost). Hairpins: synthetic (mirtron- and canonical-like,
52-100 nt) and random 150-nt sequences, to show how the cost grows with length.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test-only simulators (tests/simulate.py)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def _model(name: str | None):
    from mirtron_tools.io.model import bundled_models, load_model, resolve_model

    if name or "human_mirtron" in bundled_models():
        path = resolve_model(name)
        model, manifest = load_model(path)
        return model, path.name, manifest
    from mirtron_tools.encoding import CHANNELS
    from mirtron_tools.model import build_model

    return (build_model(len(CHANNELS)), "untrained default architecture (no bundled model installed)",
            {"channels": list(CHANNELS)})


def _sets(count: int) -> dict[str, tuple[list[str], list[str]]]:
    from simulate import hairpin_set

    half = count // 2
    synthetic = hairpin_set(half, True, seed=1, prefix="m") + hairpin_set(count - half, False, seed=2, prefix="c")
    rng = np.random.default_rng(3)
    long = [(f"r{index}", "".join(rng.choice(list("ACGU"), 150))) for index in range(max(4, count // 4))]
    return {"synthetic 52-100 nt": ([identifier for identifier, _ in synthetic], [seq for _, seq in synthetic]),
            "random 150 nt": ([identifier for identifier, _ in long], [seq for _, seq in long])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hairpins", type=int, default=40)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    from mirtron_tools.attribution import saturation_mutagenesis, substitutions
    from mirtron_tools.encoding import encode_sequences, fold_many, model_inputs, uses_energy
    from mirtron_tools.prediction import attention_arrays, predict_arrays

    model, model_name, manifest = _model(args.model)
    energy = uses_energy(manifest)
    print(f"model: {model_name}; machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'hairpins':<22}{'n':>4}{'mean nt':>9}{'mutants/hp':>12}{'method':>28}{'s/hairpin':>11}"
          f"{'x attention':>13}")

    def predict(arrays):
        return predict_arrays(model, arrays, args.batch_size)

    for label, (ids, sequences) in _sets(args.hairpins).items():
        encoded = encode_sequences(ids, sequences)
        arrays = model_inputs(encoded, energy=energy)
        attention_arrays(model, arrays[:2], args.batch_size)  # build the read-out graph once, untimed
        started = time.perf_counter()
        probabilities, _ = attention_arrays(model, arrays, args.batch_size)
        attention_time = (time.perf_counter() - started) / len(ids)
        mutants = [mutant for sequence in sequences for _, _, mutant in substitutions(sequence)]
        per_hairpin = len(mutants) / len(ids)
        mean_length = float(np.mean([len(sequence) for sequence in sequences]))
        rows = [("attention (forward pass)", attention_time)]
        started = time.perf_counter()
        fold_many(mutants, threads=1)
        rows.append(("  mutagenesis: folding only", (time.perf_counter() - started) / len(ids)))
        for threads in args.threads:
            started = time.perf_counter()
            for _ in saturation_mutagenesis(sequences, predict, probabilities, threads=threads, energy=energy):
                pass
            rows.append((f"mutagenesis, {threads} thread(s)", (time.perf_counter() - started) / len(ids)))
        for method, seconds in rows:
            print(f"{label:<22}{len(ids):>4}{mean_length:>9.1f}{per_hairpin:>12.0f}{method:>28}{seconds:>11.4f}"
                  f"{seconds / attention_time:>13.0f}")


if __name__ == "__main__":
    main()
