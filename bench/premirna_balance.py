#!/usr/bin/env python3
"""Pre-miRNA calls at realistic class balance (1:10, 1:100), with and without mt-predict --prior,
and a family- and species-held-out split of the cross-species set.

Balance. A test set's negatives are **re-weighted** (each negative counts ``w`` times, positives
once) so that the weighted share of positives is 1/11 (1:10) or 1/101 (1:100): the expected
precision, F1 and average precision of subsampling (or multiplying) the negatives, without the
sampling noise. AUROC does not depend on the balance. For each method: AUPR, F1 at its default
threshold (chosen out of fold on its training data), and F1 with ``--prior`` set to the true share
(mirtron_tools.prior: probabilities re-weighted from the method's training prior, the threshold
keeps its posterior). Training priors: 0.5 for class-balanced members (mt-train's networks and
trees), the training share for the unweighted logistic regression. deepMiRGene's and dnnPreMiR's
published numbers are logs of one threshold (SE, SP); their F1 at another balance follows from
SE and SP the same way; their AUPR cannot be re-weighted.

Methods (each trained on the split's training side only; no choice looks at a test set):
* ``premirna`` (deepMiRGene whole test only): the bundled 5-network + trees model, which was
  trained with exactly this protocol (recipes/premirna.py);
* ``trees``: the bundled models' boosted-tree member on its own (mt-train's features: k-mers,
  structure and free energy, stem-loop shape, splice-site pyrimidines; 200 trees of depth 4,
  classes weighted equally), threshold by best out-of-fold F1 (5 folds) -- the fast member, since
  training the 5-network ensemble for every split costs 20-25 minutes of 2 cores each;
* ``structure + k-mer LR``: bench/accuracy.py's logistic regression on classic features.

Family- and species-held-out split (``family``): deepMiRGene's whole set (``sequences/whole_*``,
cv and test together, exact duplicates kept once, sequences labelled both ways dropped). Its FASTA
headers are bare numbers, so species and family are recovered from the sequences:
* species: a pre-miRNA is **human** when it shares an exact 40-nt stretch with a miRBase v22 human
  stem-loop (``dnnPreMiR/testData/hsa-pre-release22.fa``); human is the held-out clade (the only
  species that can be told in this set);
* family: pre-miRNAs that share an exact 16-nt stretch (a mature miRNA, so its seed, is 21-23 nt)
  are one family (single linkage); without miRBase family names for these records this is a
  sequence proxy for miRBase families, stricter than a seed match alone.
Test positives: the human pre-miRNAs; training positives: the non-human ones whose family has no
human member (the others are dropped, so no family is on both sides). Negatives (pseudo-hairpins,
no species) are grouped the same way by 16-nt stretches and a quarter of the groups (seeded) go to
the test side. Test scored at 1:10 (re-weighted) as pre-miRBench does; out-of-fold thresholds use
5 folds grouped by family.

Usage: nice python bench/premirna_balance.py [--sets whole human dnnpremir family] [--threads 2]
Prints Markdown tables; writes bench/out/premirna_balance.json (folds cached in bench/out).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

import premirna  # noqa: E402

from recipes import human_data  # noqa: E402
from recipes import premirna as build  # noqa: E402

OUT = HERE / "out"
SHARES = {"natural": None, "1:10": 1 / 11, "1:100": 1 / 101}
FAMILY_STRETCH = 16
HUMAN_STRETCH = 40


# ---------------------------------------------------------------- weighted metrics

def negative_weight(labels: np.ndarray, share: float | None) -> float:
    positives, negatives = int(labels.sum()), int((labels == 0).sum())
    return 1.0 if share is None else positives * (1 - share) / share / negatives


def weighted_average_precision(labels, scores, weight: float) -> float:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="mergesort")
    last_of_tie = np.r_[np.diff(scores[order]) != 0, True]
    true_positive = np.cumsum(labels[order] == 1)[last_of_tie].astype(float)
    false_positive = weight * np.cumsum(labels[order] == 0)[last_of_tie]
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / max(labels.sum(), 1)
    return float(np.sum(np.diff(np.r_[0, recall]) * precision))


def weighted_f1(labels, called, weight: float) -> float:
    labels, called = np.asarray(labels), np.asarray(called, dtype=bool)
    true_positive = float(np.sum(called & (labels == 1)))
    false_positive = weight * float(np.sum(called & (labels == 0)))
    false_negative = float(np.sum(~called & (labels == 1)))
    return 2 * true_positive / (2 * true_positive + false_positive + false_negative)


def f1_from_rates(sensitivity: float, specificity: float, share: float) -> float:
    """F1 of a classifier with these rates on a set with ``share`` positives."""
    true_positive, false_positive = sensitivity * share, (1 - specificity) * (1 - share)
    return 2 * true_positive / (2 * true_positive + false_positive + (1 - sensitivity) * share)


def balance_rows(labels, scores, threshold: float, model_prior: float, threshold_prior: float) -> dict:
    """AUPR, F1 at the default threshold and F1 with --prior at every share of :data:`SHARES`."""
    from mirtron_tools.metrics import roc_auc
    from mirtron_tools.prior import PriorShift

    labels = np.asarray(labels)
    natural = float(labels.mean())
    result = {"auc": roc_auc(labels, scores)}
    for name, share in SHARES.items():
        weight = negative_weight(labels, share)
        shift = PriorShift(model_prior, threshold_prior, share or natural)
        result[name] = {"share": share or natural,
                        "aupr": weighted_average_precision(labels, scores, weight),
                        "f1_default": weighted_f1(labels, np.asarray(scores) >= threshold, weight),
                        "f1_prior": weighted_f1(labels, shift.probabilities(scores) >= shift.threshold(threshold),
                                                weight)}
    return result


def published_rows(sensitivity: float, specificity: float, aupr: float | None, natural: float) -> dict:
    return {name: {"share": share or natural, "aupr": aupr if share is None else None,
                   "f1_default": f1_from_rates(sensitivity, specificity, share or natural), "f1_prior": None}
            for name, share in SHARES.items()}


def markdown(title: str, rows: dict) -> str:
    def number(value):
        return "-" if value is None else f"{value:.3f}"

    lines = [f"#### {title}", "",
             "| method | AUROC | " + " | ".join(f"{name}: AUPR / F1 / F1 --prior" for name in SHARES) + " |",
             "|---" * (2 + len(SHARES)) + "|"]
    for method, row in rows.items():
        cells = [" / ".join(number(row[name][key]) for key in ("aupr", "f1_default", "f1_prior")) for name in SHARES]
        lines.append(f"| {method} | {number(row.get('auc'))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- folding and features (cached)

def folded(sequences: list[str], threads: int):
    """An EncodedSet of the sequences, folds cached by sequence in bench/out."""
    from mirtron_tools.encoding import EncodedSet, encode_sequences

    cache_path = OUT / "premirna_balance_folds.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    missing = sorted({sequence for sequence in sequences if sequence not in cache})
    if missing:
        new = encode_sequences([f"m{i}" for i in range(len(missing))], missing, threads=threads, max_length=1000)
        for sequence, structure, energy in zip(missing, new.structures, new.mfe):
            cache[sequence] = [structure, float(energy)]
        cache_path.write_text(json.dumps(cache))
    return EncodedSet(ids=[f"s{i}" for i in range(len(sequences))], sequences=list(sequences),
                      structures=[cache[s][0] for s in sequences],
                      mfe=np.array([cache[s][1] for s in sequences], dtype=np.float32), max_length=1000)


def tree_features(sequences: list[str], threads: int) -> np.ndarray:
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.features import tree_feature_matrix

    return tree_feature_matrix(model_inputs(folded(sequences, threads), energy=True), structure=True)


def trees_scores(train_x, train_y, test_x, folds: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The tree member (classes weighted equally, as mt-train): test scores and the best out-of-fold
    F1 threshold over ``folds`` of the training rows."""
    from mirtron_tools.boosting import fit_trees, tree_probability
    from mirtron_tools.metrics import best_f1_threshold
    from mirtron_tools.training import balanced_class_weights

    train_y = np.asarray(train_y)
    weights = np.array(balanced_class_weights(train_y))
    out_of_fold = np.empty(len(train_y))
    for held_out in folds:
        rows = np.setdiff1d(np.arange(len(train_y)), held_out)
        fitted = fit_trees(train_x[rows], train_y[rows], sample_weights=weights[train_y[rows]])
        out_of_fold[held_out] = tree_probability(fitted, train_x[held_out])
    fitted = fit_trees(train_x, train_y, sample_weights=weights[train_y])
    return tree_probability(fitted, test_x), best_f1_threshold(train_y, out_of_fold)


def stratified(labels, seed: int, count: int = 5) -> list[np.ndarray]:
    from mirtron_tools.training import stratified_folds

    return stratified_folds(np.asarray(labels), count, np.random.default_rng(seed))


def methods_on(train_sequences, train_labels, test_sequences, test_labels, args, folds=None) -> dict:
    """Rows of the trees and the structure + k-mer LR for one split."""
    from accuracy import baseline_scores, structured_features

    started = time.time()
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    share = float(train_labels.mean())
    folds = folds if folds is not None else stratified(train_labels, args.seed)
    train_x, test_x = tree_features(train_sequences, args.threads), tree_features(test_sequences, args.threads)
    trees, tree_threshold = trees_scores(train_x, train_labels, test_x, folds)
    rows = {"trees": balance_rows(test_labels, trees, tree_threshold, 0.5, share)}
    lr, lr_threshold = baseline_scores(structured_features(folded(train_sequences, args.threads)), train_labels,
                                       structured_features(folded(test_sequences, args.threads)), args.seed)
    rows["structure + k-mer LR"] = balance_rows(test_labels, lr, lr_threshold, share, share)
    print(f"  trees and LR: {time.time() - started:.0f} s", flush=True)
    return rows


# ---------------------------------------------------------------- the sets

def deepmirgene_set(name: str, args) -> dict:
    train_positive, train_negative = build.deepmirgene_records(f"cv/{name}")
    test_positive, test_negative = build.deepmirgene_records(f"test/{name}")
    train = [s for _, s in train_positive + train_negative]
    train_y = [1] * len(train_positive) + [0] * len(train_negative)
    test = [s for _, s in test_positive + test_negative]
    test_y = np.array([1] * len(test_positive) + [0] * len(test_negative))
    rows = {}
    theirs = premirna.their_last_epoch(name, int(test_y.sum()), int((test_y == 0).sum()))
    rows["deepMiRGene (their log)"] = {"auc": theirs["auc"], **published_rows(
        theirs["sensitivity"], theirs["specificity"], theirs["aupr"], float(test_y.mean()))}
    if name == "whole":
        rows["premirna (bundled, 5 networks + trees)"] = bundled_rows(test, test_y, args)
    rows.update(methods_on(train, train_y, test, test_y, args))
    return {"n_train": len(train), "n_test": len(test), "test_positive": int(test_y.sum()), "rows": rows}


def bundled_rows(test_sequences, test_labels, args) -> dict:
    from mirtron_tools.encoding import model_inputs, uses_energy
    from mirtron_tools.io.model import load_model, resolve_model
    from mirtron_tools.prediction import predict_arrays

    model, manifest = load_model(resolve_model("premirna"))
    scores = predict_arrays(model, model_inputs(folded(test_sequences, args.threads), energy=uses_energy(manifest)))
    return balance_rows(test_labels, scores, float(manifest["threshold"]), float(manifest["prior"]),
                        float(manifest["threshold_prior"]))


def dnnpremir_set(args) -> dict:
    data = premirna.dnnpremir_split(premirna.dnnpremir_records(), args.seed)["split"]
    train = [s for _, s in data["premirna"]["train"] + data["cds"]["train"]]
    train_y = [1] * len(data["premirna"]["train"]) + [0] * len(data["cds"]["train"])
    test = [s for _, s in data["premirna"]["test"] + data["cds"]["test"]]
    test_y = np.array([1] * len(data["premirna"]["test"]) + [0] * len(data["cds"]["test"]))
    rows = {"dnnPreMiR CNN (their log, their split)": {"auc": None, **published_rows(0.888, 0.883, None, 0.5)}}
    rows.update(methods_on(train, train_y, test, test_y, args))
    return {"n_train": len(train), "n_test": len(test), "test_positive": int(test_y.sum()), "rows": rows}


def stretch_groups(sequences: list[str], stretch: int) -> np.ndarray:
    """Single-linkage groups of sequences that share an exact ``stretch``-nt substring (union-find)."""
    parent = list(range(len(sequences)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[str, int] = {}
    for index, sequence in enumerate(sequences):
        for start in range(len(sequence) - stretch + 1):
            word = sequence[start:start + stretch]
            other = first.setdefault(word, index)
            if other != index:
                a, b = root(index), root(other)
                if a != b:
                    parent[a] = b
    return np.array([root(index) for index in range(len(sequences))])


def family_split(shared: Path = human_data.SHARED, seed: int = 1) -> dict:
    folder = shared / build.DATASET / "sequences"
    labelled: dict[str, set[int]] = {}
    for label, name in ((1, "whole_pos.fa"), (0, "whole_neg.fa")):
        for _, sequence in human_data.read_fasta_pairs(folder / name):
            labelled.setdefault(human_data.rna(sequence), set()).add(label)
    positives = sorted(s for s, labels in labelled.items() if labels == {1})
    negatives = sorted(s for s, labels in labelled.items() if labels == {0})
    human_words = {sequence[start:start + HUMAN_STRETCH]
                   for _, raw in human_data.read_fasta_pairs(shared / human_data.FILES["mirbase22"])
                   for sequence in [human_data.rna(raw)] for start in range(len(sequence) - HUMAN_STRETCH + 1)}
    human = np.array([any(s[i:i + HUMAN_STRETCH] in human_words for i in range(len(s) - HUMAN_STRETCH + 1))
                      for s in positives])
    families = stretch_groups(positives, FAMILY_STRETCH)
    human_families = set(families[human])
    train_positive = [s for s, h, f in zip(positives, human, families) if not h and f not in human_families]
    train_families = [f for h, f in zip(human, families) if not h and f not in human_families]
    test_positive = [s for s, h in zip(positives, human) if h]
    groups = stretch_groups(negatives, FAMILY_STRETCH)
    rng = np.random.default_rng(seed)
    unique = np.unique(groups)
    test_groups = set(rng.permutation(unique)[: len(unique) // 4])
    test_negative = [s for s, g in zip(negatives, groups) if g in test_groups]
    train_negative = [s for s, g in zip(negatives, groups) if g not in test_groups]
    train_negative_groups = [g for g in groups if g not in test_groups]
    return {"train_positive": train_positive, "train_negative": train_negative, "test_positive": test_positive,
            "test_negative": test_negative, "train_groups": np.r_[np.array(train_families), -1 - np.array(
                train_negative_groups)],
            "dropped_relatives_of_human": int(sum(1 for h, f in zip(human, families) if not h and f in human_families)),
            "families": int(len(set(families))), "human_families": len(human_families)}


def grouped_folds(labels: np.ndarray, groups: np.ndarray, seed: int, count: int = 5) -> list[np.ndarray]:
    """Folds of whole groups (no family in two folds), groups dealt out per class in a seeded order."""
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=int)
    for value in (0, 1):
        rows = np.flatnonzero(labels == value)
        unique = rng.permutation(np.unique(groups[rows]))
        fold_of = {group: index % count for index, group in enumerate(unique)}
        assignment[rows] = [fold_of[group] for group in groups[rows]]
    return [np.flatnonzero(assignment == fold) for fold in range(count)]


def family_set(args) -> dict:
    split = family_split(seed=args.seed)
    train = split["train_positive"] + split["train_negative"]
    train_y = np.array([1] * len(split["train_positive"]) + [0] * len(split["train_negative"]))
    test = split["test_positive"] + split["test_negative"]
    test_y = np.array([1] * len(split["test_positive"]) + [0] * len(split["test_negative"]))
    folds = grouped_folds(train_y, split["train_groups"], args.seed)
    rows = methods_on(train, train_y, test, test_y, args, folds)
    return {"n_train": len(train), "train_positive": int(train_y.sum()), "n_test": len(test),
            "test_positive": int(test_y.sum()), "families": split["families"],
            "human_families": split["human_families"],
            "dropped_relatives_of_human": split["dropped_relatives_of_human"], "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["whole", "human", "dnnpremir", "family"],
                        choices=["whole", "human", "dnnpremir", "family"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from mirtron_tools.backend import load_tensorflow

    load_tensorflow(threads=args.threads)
    OUT.mkdir(exist_ok=True)
    results_path = OUT / "premirna_balance.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    titles = {"whole": "deepMiRGene cross-species (whole) test", "human": "deepMiRGene human test",
              "dnnpremir": "dnnPreMiR split: human pre-miRNAs vs CDS pseudo-hairpins (our 80/20 split)",
              "family": "family- and species-held-out split of deepMiRGene's cross-species set (human held out)"}
    for name in args.sets:
        started = time.time()
        print(f"{name}: started", flush=True)
        result = (deepmirgene_set(name, args) if name in ("whole", "human") else
                  dnnpremir_set(args) if name == "dnnpremir" else family_set(args))
        result["seconds"] = round(time.time() - started, 1)
        results[name] = result
        print(markdown(titles[name], result["rows"]), flush=True)
        print({key: value for key, value in result.items() if key != "rows"}, flush=True)
        results_path.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
