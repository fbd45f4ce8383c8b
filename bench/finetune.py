#!/usr/bin/env python3
"""Gain of fine-tuning (mt-train --init-model) over training from scratch on a small new-species set,
as a learning curve over the size of that set.

New species: Drosophila (mirtronDB precursors of D. melanogaster, D. pseudoobscura and D. simulans,
unique sequences). ../shared/data holds no canonical Drosophila hairpins, so the negatives are human
canonical miRNAs that the starting model never saw: the 20% held out by bench/cross_species.py. The
task is therefore "Drosophila mirtrons vs (human) canonical miRNAs"; the new-species part is the
positive class. Said plainly: a model trained from scratch on this set may also learn fly-vs-human
sequence composition, which the test cannot tell apart from mirtron features.

Starting model: bench/out/cross_species_human.keras (human mirtronDB vs human canonical, trained by
bench/cross_species.py; run that first). Each repeat (seeds 1..--repeats) draws 40% of the
Drosophila mirtrons and 100 of the held-out canonical miRNAs as a training pool; the rest is that
repeat's test set, the same for every training size. The training sets are nested: the first
--sizes mirtrons of the pool with 2.5 times as many canonical hairpins. On each training set, with
mt-train's own 15% validation split for early stopping and the threshold (at most 30 epochs,
patience 5):
  scratch      mt-train (default architecture, learning rate 2e-3)
  fine-tuned   mt-train --init-model cross_species_human.keras --learning-rate 5e-4
  zero-shot    the starting model as is, at its own threshold (does not depend on the size)
  k-mer LR     logistic regression on 1-3-mers + end dinucleotides (bench/accuracy.py)

Usage: python bench/finetune.py [--threads 2] [--repeats 5] [--sizes 10 20 40]
Writes bench/out/finetune.json and prints a Markdown table per size (mean and standard deviation
over repeats) and the per-repeat AUROC differences from scratch.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

import cross_species  # noqa: E402
from accuracy import baseline_scores, kmer_features  # noqa: E402

from recipes import premirna as build  # noqa: E402

DROSOPHILA = ("d. melanogaster", "d. pseudoobscura", "d. simulans")
TRAIN_SHARE = 0.4
TRAIN_NEGATIVES = 100
NEGATIVES_PER_POSITIVE = 2.5
SIZES = (10, 20, 40)
EPOCHS = 30
PATIENCE = 5
METRICS = ("auc", "aupr", "f1", "mcc", "sensitivity", "specificity")


def new_species_set() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Drosophila mirtrons (unique, none in the human training set) and the held-out human canonical miRNAs."""
    human = cross_species.human_training_set()
    training = {s for _, s, _ in human["train"]}
    positives, seen = [], set()
    for organism, records in cross_species.other_species().items():
        if organism in DROSOPHILA:
            for name, sequence in records:
                if sequence not in seen and sequence not in training:
                    seen.add(sequence)
                    positives.append((f"{organism.replace('. ', '_')}:{name}", sequence))
    negatives = [(i, s) for i, s, y in human["test"] if y == 0]
    return positives, negatives


def draw(positives, negatives, seed: int):
    rng = np.random.default_rng(seed)
    order_p, order_n = rng.permutation(len(positives)), rng.permutation(len(negatives))
    cut = int(round(TRAIN_SHARE * len(positives)))
    return ([positives[i] for i in order_p[:cut]], [negatives[i] for i in order_n[:TRAIN_NEGATIVES]],
            [positives[i] for i in order_p[cut:]], [negatives[i] for i in order_n[TRAIN_NEGATIVES:]])


def negatives_for(size: int) -> int:
    """How many canonical hairpins join ``size`` fly mirtrons in a training set."""
    return int(round(NEGATIVES_PER_POSITIVE * size))


#: method -> (the model to start from, the settings beside the seed, epochs and patience)
TRAINED = (("scratch", None, {}),
           ("fine-tuned", str(cross_species.HUMAN_MODEL), {"learning_rate": 5e-4}))


def train_and_score(train_p, train_n, test_sequences, labels, seed: int, threads: int) -> tuple[dict, dict]:
    """Metrics on the test set and epochs run of each :data:`TRAINED` method, trained on one small set."""
    from mirtron_tools.metrics import evaluate

    results, epochs = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        positive = build.encode_fasta(build.write_fasta(folder / "pos.fa", train_p), threads)
        negative = build.encode_fasta(build.write_fasta(folder / "neg.fa", train_n), threads)
        for method, init_model, settings in TRAINED:
            output = folder / "model.keras"
            cross_species.train_files(positive, negative, output, folder, threads, init_model=init_model, seed=seed,
                                      epochs=EPOCHS, patience=PATIENCE, **settings)
            score, threshold, manifest = cross_species.lstm_scorer(output, threads)
            results[method] = evaluate(labels, score(test_sequences), threshold)
            epochs[method] = manifest["training"]["epochs_run"]
    return results, epochs


def summarise(runs: list[dict]) -> dict:
    """Mean and standard deviation over repeats, per size and method; AUROC gains over scratch."""
    summary = {}
    for size in sorted({run["size"] for run in runs}):
        chosen = [run for run in runs if run["size"] == size]
        summary[size] = {method: {metric: [float(np.mean([r["methods"][method][metric] for r in chosen])),
                                           float(np.std([r["methods"][method][metric] for r in chosen]))]
                                  for metric in METRICS} for method in chosen[0]["methods"]}
        for method in chosen[0]["methods"]:
            gains = [r["methods"][method]["auc"] - r["methods"]["scratch"]["auc"] for r in chosen]
            summary[size][method]["auc_gain_over_scratch"] = [round(g, 4) for g in gains]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="numbers of Drosophila mirtrons to train on (at most 40%% of them)")
    args = parser.parse_args()
    if not cross_species.HUMAN_MODEL.exists():
        raise SystemExit(f"{cross_species.HUMAN_MODEL} is missing: run bench/cross_species.py first")
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.metrics import evaluate

    load_tensorflow(threads=args.threads)
    started = time.time()
    positives, negatives = new_species_set()
    zero_shot, zero_threshold, _ = cross_species.lstm_scorer(cross_species.HUMAN_MODEL, args.threads)
    runs = []
    for repeat in range(1, args.repeats + 1):
        pool_p, pool_n, test_p, test_n = draw(positives, negatives, repeat)
        test_sequences = [s for _, s in test_p + test_n]
        labels = np.r_[np.ones(len(test_p), dtype=int), np.zeros(len(test_n), dtype=int)]
        zero = evaluate(labels, zero_shot(test_sequences), zero_threshold)
        test_kmers = np.array([kmer_features(s) for s in test_sequences])
        for size in args.sizes:
            if size > len(pool_p):
                raise SystemExit(f"--sizes {size}: the training pool has {len(pool_p)} mirtrons")
            train_p, train_n = pool_p[:size], pool_n[:negatives_for(size)]
            results, epochs = train_and_score(train_p, train_n, test_sequences, labels, repeat, args.threads)
            train_labels = np.r_[np.ones(len(train_p), dtype=int), np.zeros(len(train_n), dtype=int)]
            kmer, kmer_threshold = baseline_scores(np.array([kmer_features(s) for _, s in train_p + train_n]),
                                                   train_labels, test_kmers, repeat)
            results.update({"zero-shot": zero, "k-mer LR": evaluate(labels, kmer, kmer_threshold)})
            runs.append({"seed": repeat, "size": size, "n_train": [len(train_p), len(train_n)],
                         "n_test": [len(test_p), len(test_n)], "methods": results, "epochs_run": epochs})
            print(f"repeat {repeat}, {size} mirtrons: " + ", ".join(
                f"{m} AUROC {v['auc']:.3f} F1 {v['f1']:.3f}" for m, v in results.items()), flush=True)
    summary = summarise(runs)
    result = {"positives": len(positives), "negatives": len(negatives), "runs": runs, "summary": summary,
              "seconds": round(time.time() - started, 1)}
    (cross_species.OUT / "finetune.json").write_text(json.dumps(result, indent=2))
    for size, methods in summary.items():
        print(f"\n{size} Drosophila mirtrons + {negatives_for(size)} canonical in training:\n")
        print("| method | " + " | ".join(m.upper() if len(m) <= 4 else m for m in METRICS)
              + " | AUROC minus scratch, per repeat |")
        print("|---" * (2 + len(METRICS)) + "|")
        for method, values in methods.items():
            gains = " ".join(f"{g:+.3f}" for g in values["auc_gain_over_scratch"])
            print(f"| {method} | " + " | ".join(f"{values[m][0]:.3f} ± {values[m][1]:.3f}" for m in METRICS)
                  + f" | {gains} |")
    print({key: value for key, value in result.items() if key not in ("runs", "summary")})


if __name__ == "__main__":
    main()
