#!/usr/bin/env python3
"""Accuracy of the attention LSTM against two baselines trained in the same run on the same split.

Splits (all from ../shared/data, T->U):
  rorbach  Rorbach et al. 2018: train 216 mirtrons + 507 canonical, test 201 putative mirtrons + 200 canonical
  cnn      cnnMirtronPred's released split (random.seed(2))
  cv       5-fold stratified cross-validation over the whole cleaned human set of the bundled model

Methods: LSTM + trees = the bundled model's design: a 5-member cross-validation ensemble of
attention LSTMs that also read the free energy per nt, blended with a gradient-boosted tree member on
k-mer, structure, free-energy, stem-loop shape and splice-site pyrimidine features (mt-train --ensemble 5
--tree-weight auto --energy, seed 1: the trees' share and the threshold are chosen on out-of-fold scores
of the training data); LSTM
alone and trees alone = the same run's networks and tree member on their own (thresholds from
their own out-of-fold scores).
Baselines (scikit-learn, independent of our code): length = logistic regression on length alone;
kmer = logistic regression on 1-3-mer frequencies + first/last dinucleotide; structure + k-mer =
the same plus classic pre-miRNA features (MFE, MFE per nt, MFE index, log length, paired share, GC,
Xue et al. 2005's 32 triplet-structure frequencies). Baseline thresholds
are chosen by best F1 on 5-fold out-of-fold scores of the training data, like the LSTM's.
Every split is also scored on a length-matched subset of its test set (5-nt bins, equal
classes per bin), where length alone cannot separate the classes; on its novel hairpins (exact
sequence not in training); and without label conflicts (test hairpins that another source labels
the other way, human_data.label_conflicts: e.g. hsa-mir-1238, canonical in miRBase_set.csv but a
mirtronDB mirtron).

Usage: python bench/accuracy.py [--splits rorbach cnn cv] [--members 5] [--cv-members 3]
Needs scikit-learn (pip install '.[bench]'). Prints Markdown tables; writes bench/out/accuracy.json.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

from recipes import human_data  # noqa: E402
from recipes.human_mirtron import ENERGY, REGRESSION_WEIGHT, TREE_WEIGHT  # noqa: E402  (the bundled model's settings)

KMERS = [["".join(p) for p in itertools.product("ACGU", repeat=k)] for k in (1, 2, 3)]
DINUCLEOTIDES = KMERS[1]


def kmer_features(sequence: str) -> list[float]:
    features = []
    for k, words in zip((1, 2, 3), KMERS):
        counts: dict[str, int] = {}
        for start in range(len(sequence) - k + 1):
            counts[sequence[start:start + k]] = counts.get(sequence[start:start + k], 0) + 1
        total = max(len(sequence) - k + 1, 1)
        features.extend(counts.get(word, 0) / total for word in words)
    for end in (sequence[:2], sequence[-2:]):
        features.extend(float(end == word) for word in DINUCLEOTIDES)
    return features


TRIPLETS = ["".join(states) + base for states in itertools.product("01", repeat=3) for base in "ACGU"]


def structure_features(sequence: str, structure: str, mfe: float) -> list[float]:
    """Classic pre-miRNA features (Xue et al. 2005's triplet-SVM and the miPred family): MFE, MFE per nt,
    MFE index (MFE per nt / GC share), log length, paired share, GC share, and the 32 frequencies of
    (paired/unpaired states of 3 neighbouring positions, middle base), then 1-3-mer frequencies."""
    length = len(sequence)
    paired = ["1" if c in "()" else "0" for c in structure]
    gc = (sequence.count("G") + sequence.count("C")) / length
    counts = dict.fromkeys(TRIPLETS, 0)
    for i in range(1, length - 1):
        key = paired[i - 1] + paired[i] + paired[i + 1] + sequence[i]
        if key in counts:
            counts[key] += 1
    total = max(sum(counts.values()), 1)
    return [mfe, mfe / length, mfe / length / max(gc, 0.05), np.log(length), paired.count("1") / length, gc,
            *(value / total for value in counts.values()), *kmer_features(sequence)]


def fold_set(sequences: list[str], threads: int = 2):
    """Sequences folded once by mt-encode's own folding (ViennaRNA MFE), as an EncodedSet."""
    from mirtron_tools.encoding import encode_sequences

    return encode_sequences([f"s{i}" for i in range(len(sequences))], sequences, threads=threads, max_length=400)


def structured_features(encoded) -> np.ndarray:
    """:func:`structure_features` of the hairpins of an EncodedSet (see :func:`fold_set`)."""
    return np.array([structure_features(*row) for row in zip(encoded.sequences, encoded.structures, encoded.mfe)])


def baseline_scores(train_x, train_y, test_x, seed):
    """Fit a scaled logistic regression; threshold by best F1 on 5-fold out-of-fold train scores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mirtron_tools.metrics import best_f1_threshold

    def make():
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=5000))

    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    out_of_fold = cross_val_predict(make(), train_x, train_y, cv=folds, method="predict_proba")[:, 1]
    model = make().fit(train_x, train_y)
    return model.predict_proba(test_x)[:, 1], best_f1_threshold(train_y, out_of_fold)


def lstm_scores(train_set, train_y, test_set, members, seed) -> tuple[dict, float]:
    """``{method: (test scores, threshold)}`` for the blended ensemble, for its networks alone and for
    its tree member alone, on already folded hairpins (:func:`fold_set`); and the trees' share in the
    blend (chosen on out-of-fold AUC when TREE_WEIGHT is "auto")."""
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.ensemble import TREE_MEMBER, ensemble_members
    from mirtron_tools.metrics import best_f1_threshold
    from mirtron_tools.prediction import predict_arrays
    from mirtron_tools.training import TrainingConfig, fit_ensemble

    def arrays(encoded):
        return model_inputs(encoded, energy=ENERGY)

    train_y = np.asarray(train_y)
    result = fit_ensemble(arrays(train_set), train_y, TrainingConfig(seed=seed, regression_weight=REGRESSION_WEIGHT,
                                                                     tree_weight=TREE_WEIGHT, energy=ENERGY), members)
    test = arrays(test_set)
    networks = np.mean([predict_arrays(member, test) for member in ensemble_members(result.model)], axis=0)
    scores = {"LSTM + trees": (predict_arrays(result.model, test), result.threshold),
              "LSTM alone": (networks, best_f1_threshold(train_y, result.held_out_parts["networks"]))}
    if TREE_WEIGHT:
        scores["trees alone"] = (predict_arrays(result.model.get_layer(TREE_MEMBER), test),
                                 best_f1_threshold(train_y, result.held_out_parts["trees"]))
    return scores, result.tree_weight


def length_matched(lengths: np.ndarray, labels: np.ndarray, seed: int, bin_width: int = 5) -> np.ndarray:
    """Rows of a subset with the same number of each class in every length bin."""
    rng = np.random.default_rng(seed)
    keep = []
    bins = lengths // bin_width
    for value in np.unique(bins):
        positives = np.flatnonzero((bins == value) & (labels == 1))
        negatives = np.flatnonzero((bins == value) & (labels == 0))
        count = min(len(positives), len(negatives))
        keep.extend(rng.choice(positives, count, replace=False))
        keep.extend(rng.choice(negatives, count, replace=False))
    return np.sort(np.array(keep, dtype=int))


def evaluate_split(train, test, args) -> dict:
    from mirtron_tools.metrics import evaluate

    train_y, test_y = np.array(train.labels), np.array(test.labels)
    scores = {}
    started = time.time()
    train_set, test_set = fold_set(train.sequences, args.threads), fold_set(test.sequences, args.threads)
    blend_scores, tree_weight = lstm_scores(train_set, train_y, test_set, args.members, args.seed)
    scores.update(blend_scores)
    lstm_seconds = time.time() - started
    scores["structure + k-mer LR"] = baseline_scores(structured_features(train_set), train_y,
                                                     structured_features(test_set), args.seed)
    scores["k-mer LR"] = baseline_scores(np.array([kmer_features(s) for s in train.sequences]), train_y,
                                         np.array([kmer_features(s) for s in test.sequences]), args.seed)
    scores["length LR"] = baseline_scores(np.array([[len(s)] for s in train.sequences]), train_y,
                                          np.array([[len(s)] for s in test.sequences]), args.seed)
    lengths = np.array([len(s) for s in test.sequences])
    matched = length_matched(lengths, test_y, args.seed)
    train_set = set(train.sequences)
    novel = np.array([s not in train_set for s in test.sequences])
    agreed = ~np.array(human_data.label_conflicts(test.sequences, test.labels))
    result = {"n_train": len(train_y), "n_test": len(test_y), "test_positive": int(test_y.sum()),
              "test_in_train_exact": int((~novel).sum()), "length_matched_n": len(matched),
              "test_label_conflicts": int((~agreed).sum()),
              "lstm_train_seconds": round(lstm_seconds, 1), "tree_weight": tree_weight, "methods": {}}
    for name, (score, threshold) in scores.items():
        result["methods"][name] = {
            "threshold": float(threshold),
            "all": evaluate(test_y, score, threshold),
            "length_matched": evaluate(test_y[matched], score[matched], threshold),
            "novel_only": evaluate(test_y[novel], score[novel], threshold),
            "no_label_conflict": evaluate(test_y[agreed], score[agreed], threshold),
        }
    return result


def cross_validation(args) -> dict:
    data = human_data.human_mirtron_set()
    labels = np.array(data.labels)
    from mirtron_tools.training import stratified_folds

    folds = stratified_folds(labels, 5, np.random.default_rng(args.seed))
    pooled: dict[str, list] = {}
    saved_members = args.members
    args.members = args.cv_members
    per_fold = []
    for fold, held_out in enumerate(folds):
        train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
        pick = lambda rows: human_data.LabelledSet(  # noqa: E731
            ids=[data.ids[r] for r in rows], sequences=[data.sequences[r] for r in rows],
            labels=[data.labels[r] for r in rows], sources=[data.sources[r] for r in rows])
        result = evaluate_split(pick(train_rows), pick(held_out), args)
        per_fold.append(result)
        print(f"cv fold {fold + 1}: " + ", ".join(f"{name} AUC {m['all']['auc']:.3f}"
                                                   for name, m in result["methods"].items()), flush=True)
    args.members = saved_members
    for name in per_fold[0]["methods"]:
        pooled[name] = {part: {metric: float(np.mean([fold["methods"][name][part][metric] for fold in per_fold]))
                               for metric in per_fold[0]["methods"][name][part]}
                        for part in ("all", "length_matched")}
    return {"folds": 5, "members_per_fold": args.cv_members, "n": len(labels), "positives": int(labels.sum()),
            "mean_over_folds": pooled, "per_fold": per_fold}


def markdown(name: str, result: dict) -> str:
    methods = result.get("methods") or result["mean_over_folds"]
    lines = [f"#### {name}", "", "| method | subset | AUC | AUPR | F1 | MCC | sensitivity | specificity |",
             "|---|---|---|---|---|---|---|---|"]
    for method, parts in methods.items():
        for part in ("all", "length_matched", "novel_only", "no_label_conflict"):
            if part in parts:
                m = parts[part]
                lines.append(f"| {method} | {part} | {m['auc']:.3f} | {m['aupr']:.3f} | {m['f1']:.3f} | "
                             f"{m['mcc']:.3f} | {m['sensitivity']:.3f} | {m['specificity']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", nargs="+", default=["rorbach", "cnn", "cv"], choices=["rorbach", "cnn", "cv"])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--cv-members", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from mirtron_tools.backend import load_tensorflow

    load_tensorflow(threads=args.threads)
    results = {}
    for split in args.splits:
        started = time.time()
        if split == "cv":
            results[split] = cross_validation(args)
        else:
            sets = human_data.published_split(split)
            results[split] = evaluate_split(sets["train"], sets["test"], args)
        results[split]["seconds"] = round(time.time() - started, 1)
        print(markdown(split, results[split]), flush=True)
        print({key: value for key, value in results[split].items() if key not in ("methods", "per_fold",
                                                                                   "mean_over_folds")}, flush=True)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
