#!/usr/bin/env python3
"""Build the bundled genome-scan model (``genome``) from ../shared/data alone, deterministically.

Data (bench/genome_data.py states every rule): the candidates that the scan's own rule cuts from
19,264 real human introns outside chr19 genes (intronIC's U2 reference set), labelled by exact
matches of known human mirtron hairpins (98 positives in 75 introns, 19,371 background candidates);
plus, if chosen out of fold, the known human mirtron hairpins that no background intron hosts.
Nothing of chr19 is read: its introns are held out, and so are the hairpin training set's chr19
hairpins (bench/chr19_holdout.py).

Model: gradient-boosted trees (mirtron_tools.boosting, the hairpin models' tree member) on k-mer,
structure, free-energy, stem-loop shape and splice-site features of each candidate, in a Keras model
(BoostedTrees over the registered feature layers), so that it is a ``.keras`` file with a manifest
like the other bundled models. Choices, all made out of fold (5 folds grouped by host gene, chr19 never
read), by average precision on the intron-cut candidates:

1. the weight of the extra positives (0, 0.25 or 1 a hairpin);
2. the tree settings (:data:`TREE_CONFIGS`), with that weight;
3. calibration: Platt scaling of the out-of-fold log-odds, fitted with the background's own class
   balance, folded into the trees (leaves and bias), so that the probability is the chance that a
   scan candidate overlaps a known mirtron at genome scale: the prior (share of positives among the
   intron-cut candidates) is written in the manifest;
4. the call threshold: the highest calibrated out-of-fold cut-off that still recovers half of the
   intron-cut positives.

Usage: python bench/train_genome_model.py [--output mirtron_tools/models/genome.keras] [--work bench/out/genome]
The work folder keeps the intron genome, its scan and the features between runs (``--threads``: scan).
"""
from __future__ import annotations

import argparse
import datetime
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import chr19_holdout  # noqa: E402
import genome_data  # noqa: E402
import human_data  # noqa: E402

FOLDS = 5
EXTRA_WEIGHTS = (0.0, 0.25, 1.0)
TARGET_RECALL = 0.5
DESCRIPTION = ("genome-scan candidates: scan-cut candidates of 19,264 real human introns outside chr19 genes "
               "(intronIC U2 reference set) overlapping known human mirtrons vs the rest; GRCh38 chr19 held "
               "out; built by bench/train_genome_model.py")


def scan_background(work: Path, threads: int):
    """The scan's candidates of the background introns, their labels, groups (genes) and hosted mirtrons."""
    from mirtron_tools.io.encoded import read_encoded

    work.mkdir(parents=True, exist_ok=True)
    records_path = work / "records.pkl"
    if records_path.exists():
        records, held = pickle.loads(records_path.read_bytes())
    else:
        records, held = genome_data.background_introns()
        records_path.write_bytes(pickle.dumps((records, held)))
    npz = work / "background.npz"
    if not npz.exists():
        fasta, gtf = genome_data.write_genome(records, work)
        subprocess.run([sys.executable, "-m", "mirtron_tools.cli.encode", "--genome", str(fasta), "--annotation",
                        str(gtf), "-o", str(npz), "--threads", str(threads), "-q"], check=True)
    encoded = read_encoded(npz)
    labels, hosted = genome_data.label_candidates(encoded, records)
    gene = {record.contig: record.gene for record in records}
    groups = np.array([gene[str(contig)] for contig in encoded.annotations["contig"]])
    return encoded, labels, groups, hosted, len(records), held


def encode_extra(work: Path, hosted: set[str], threads: int):
    from mirtron_tools.cli import encode
    from mirtron_tools.io.encoded import read_encoded

    npz = work / "extra_positives.npz"
    if not npz.exists():
        ids, sequences = genome_data.extra_positives(hosted)
        fasta = work / "extra_positives.fa"
        fasta.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, sequences)))
        if encode.main([str(fasta), "-o", str(npz), "--threads", str(threads), "-q"]) != 0:
            raise SystemExit("mt-encode failed on the extra positives")
    return read_encoded(npz)


def features(encoded, context: np.ndarray | None) -> np.ndarray:
    """Tree features (k-mer, structure, free energy, stem-loop, splice sites) and the context columns
    (``context``: :func:`mirtron_tools.encoding.context_values`; None for hairpins without a scan context,
    given the context of a conventional candidate of their own length: see :func:`hairpin_context`)."""
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.features import tree_feature_matrix

    return np.concatenate([tree_feature_matrix(model_inputs(encoded, energy=True), structure=True), context],
                          axis=1)


def true_intron_context(encoded, records) -> np.ndarray:
    """Context columns with each candidate's real intron length (the intron genome shortens long introns)."""
    from mirtron_tools.encoding import context_values

    context = context_values(encoded)
    length = {record.contig: record.intron_length for record in records}
    context[:, 0] = np.log10([length[str(contig)] for contig in encoded.annotations["contig"]]).astype(np.float32)
    return context


def hairpin_context(encoded) -> np.ndarray:
    """Extra positives are whole hairpins without an intron: given the context of a conventional mirtron
    (the intron is the hairpin plus the nt that the scan trims, splice distance 0)."""
    from mirtron_tools.encoding import CONTEXT_CHANNELS

    context = np.zeros((len(encoded), len(CONTEXT_CHANNELS)), dtype=np.float32)
    context[:, 0] = np.log10(encoded.lengths).astype(np.float32)
    context[:, 1] = 1.0
    return context


def group_folds(groups: np.ndarray, labels: np.ndarray, folds: int, seed: int = 1) -> np.ndarray:
    """Fold of every row: whole genes per fold; genes with a positive dealt round-robin first."""
    rng = np.random.default_rng(seed)
    genes = np.unique(groups)
    positive_genes = set(groups[labels == 1])
    ordered = [g for g in rng.permutation(genes) if g in positive_genes] + \
              [g for g in rng.permutation(genes) if g not in positive_genes]
    fold_of = {gene: index % folds for index, gene in enumerate(ordered)}
    return np.array([fold_of[g] for g in groups])


def fit(train_x, train_y, weights, config=None):
    from mirtron_tools.boosting import BoostingConfig, fit_trees

    return fit_trees(train_x, train_y, config or BoostingConfig(), sample_weights=weights)


#: tree settings tried out of fold after the extra-positive weight is chosen (the first is the hairpin
#: models' default): fewer/shallower trees and larger leaves, against 98 positives
TREE_CONFIGS = ({}, {"depth": 3, "trees": 300}, {"depth": 4, "min_leaf": 40}, {"depth": 2, "trees": 400},
                {"depth": 4, "trees": 400, "learning_rate": 0.025})


def balanced_weights(labels: np.ndarray, extra_mask: np.ndarray, extra_weight: float) -> np.ndarray:
    """Class-balanced sample weights; an extra positive counts ``extra_weight`` of an intron-cut one."""
    weights = np.where(extra_mask, extra_weight, 1.0)
    positive, negative = weights[labels == 1].sum(), weights[labels == 0].sum()
    return np.where(labels == 1, weights * (negative / positive), weights)


def out_of_fold(x, y, fold, extra_x, extra_weight, config=None):
    from mirtron_tools.boosting import tree_logits

    logits = np.zeros(len(y))
    for index in range(FOLDS):
        train = fold != index
        train_x = np.concatenate([x[train], extra_x]) if extra_weight else x[train]
        train_y = np.concatenate([y[train], np.ones(len(extra_x), dtype=int)]) if extra_weight else y[train]
        extra_mask = np.r_[np.zeros(int(train.sum()), bool), np.ones(len(extra_x) if extra_weight else 0, bool)]
        ensemble = fit(train_x, train_y, balanced_weights(train_y, extra_mask, extra_weight), config)
        logits[~train] = tree_logits(ensemble, x[~train])
    return logits


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of ``sigmoid(a * logit + b)`` by Newton's method on the log loss (natural class balance)."""
    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a * logits + b)))
        gradient = np.array([np.sum((p - labels) * logits), np.sum(p - labels)])
        w = p * (1 - p)
        hessian = np.array([[np.sum(w * logits ** 2), np.sum(w * logits)], [np.sum(w * logits), np.sum(w)]])
        step = np.linalg.solve(hessian + 1e-9 * np.eye(2), gradient)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)


def recall_threshold(probabilities: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest cut-off whose calls recover at least ``recall`` of the positives."""
    positives = np.sort(probabilities[labels == 1])[::-1]
    return float(positives[int(np.ceil(recall * len(positives))) - 1])


def summary(labels, probabilities, threshold) -> dict:
    from mirtron_tools.metrics import evaluate

    record = evaluate(labels, probabilities, threshold)
    order = np.argsort(-probabilities)
    top = max(1, int(round(0.01 * len(labels))))
    record.update(called_share=float(np.mean(probabilities >= threshold)),
                  positives_called=int(np.sum((probabilities >= threshold) & (labels == 1))),
                  positives_top_1pct=int(labels[order[:top]].sum()), n=int(len(labels)),
                  n_positive=int(labels.sum()))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=HERE.parent / "mirtron_tools" / "models" / "genome.keras")
    parser.add_argument("--work", type=Path, default=HERE / "out" / "genome")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from mirtron_tools.boosting import BoostingConfig, TreeEnsemble, tree_logits
    from mirtron_tools.cli.common import load_tensorflow
    from mirtron_tools.encoding import ENCODING_FORMAT_VERSION, model_channels
    from mirtron_tools.ensemble import genome_tree_model
    from mirtron_tools.io.model import save_model
    from mirtron_tools.training import software_versions

    encoded, labels, groups, hosted, n_introns, held = scan_background(args.work, args.threads)
    keep = labels >= 0
    print(f"background: {n_introns} introns ({held} chr19-gene introns held out), {len(labels)} candidates, "
          f"{int((labels == 1).sum())} positive, {int((labels == 0).sum())} background, "
          f"{int((labels < 0).sum())} removed (canonical miRNA)", flush=True)
    extra = encode_extra(args.work, hosted, args.threads)
    load_tensorflow()
    cache = args.work / "features.npz"
    if cache.exists():
        stored = np.load(cache)
        x_all, extra_x = stored["x"], stored["extra"]
    else:
        records, _ = pickle.loads((args.work / "records.pkl").read_bytes())
        x_all = features(encoded, true_intron_context(encoded, records))
        extra_x = features(extra, hairpin_context(extra))
        np.savez(cache, x=x_all, extra=extra_x)
    x, y, group = x_all[keep], labels[keep].astype(int), groups[keep]
    fold = group_folds(group, y, FOLDS)
    from mirtron_tools.metrics import average_precision

    search = {}
    best = None
    for weight in EXTRA_WEIGHTS:
        logits = out_of_fold(x, y, fold, extra_x, weight)
        search[str(weight)] = float(average_precision(y, logits))
        print(f"extra positives weight {weight}: out-of-fold AP {search[str(weight)]:.4f}", flush=True)
        if best is None or search[str(weight)] > search[str(best[0])]:
            best = (weight, logits)
    weight, logits = best
    config_search = {"{}": search[str(weight)]}
    config, best_ap = BoostingConfig(), search[str(weight)]
    for changes in TREE_CONFIGS[1:]:
        candidate = BoostingConfig(**changes)
        candidate_logits = out_of_fold(x, y, fold, extra_x, weight, candidate)
        ap = float(average_precision(y, candidate_logits))
        config_search[json.dumps(changes, sort_keys=True)] = ap
        print(f"trees {changes}: out-of-fold AP {ap:.4f}", flush=True)
        if ap > best_ap:
            config, best_ap, logits = candidate, ap, candidate_logits
    a, b = platt(logits, y)
    calibrated = 1.0 / (1.0 + np.exp(-(a * logits + b)))
    threshold = recall_threshold(calibrated, y, TARGET_RECALL)
    oof = summary(y, calibrated, threshold)
    print(f"chosen weight {weight}, trees {config.to_dict()}; Platt a={a:.4f} b={b:.4f}; threshold {threshold:.4f}; out of fold: "
          + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in oof.items()}), flush=True)

    train_x = np.concatenate([x, extra_x]) if weight else x
    train_y = np.concatenate([y, np.ones(len(extra_x), dtype=int)]) if weight else y
    extra_mask = np.r_[np.zeros(len(x), bool), np.ones(len(extra_x) if weight else 0, bool)]
    ensemble = fit(train_x, train_y, balanced_weights(train_y, extra_mask, weight), config)
    calibrated_trees = TreeEnsemble(ensemble.features, ensemble.thresholds, (ensemble.leaves * a).astype(np.float32),
                                    float(a * ensemble.bias + b))
    check = 1.0 / (1.0 + np.exp(-tree_logits(calibrated_trees, x)))
    channels = model_channels(energy=True, context=True)
    model = genome_tree_model(len(channels), calibrated_trees)
    prior = float(y.mean())
    manifest = {
        "task": "mirtron", "positive_class": "mirtron", "input": "genome_scan",
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encoding_format_version": ENCODING_FORMAT_VERSION, "channels": channels,
        "coverage": None, "max_length": int(encoded.max_length), "threshold": threshold, "seed": 1,
        "prior": prior,
        "calibration": {"method": "Platt scaling of out-of-fold log-odds, natural class balance", "a": a, "b": b},
        "training_data": {
            "sources": {"background": genome_data.IIC, "positives": "exact matches of miRBase_set TRUE, "
                        "putative_mirtrons_set and mirtronDB human precursors in those introns"},
            "n_positive": int(y.sum()), "n_negative": int((y == 0).sum()), "n_extra_positive": int(len(extra_x)),
            "extra_positive_weight": weight, "n_introns": n_introns,
            "sha256": chr19_holdout.sequences_sha256(encoded.sequences),
            "held_out": {"chromosome": "GRCh38 chr19", "rule": chr19_holdout.RULE, "introns_held_out": held,
                         "hairpins": json.loads(json.dumps(human_data.human_mirtron_set().report))["dropped_chr19"]},
        },
        "training": {"members": "boosted_trees", "trees": config.to_dict(), "folds": FOLDS,
                     "extra_weight_search_ap": search, "tree_search_ap": config_search,
                     "target_recall": TARGET_RECALL},
        "description": DESCRIPTION,
        "metrics": {"out_of_fold": oof},
        "built_by": "bench/train_genome_model.py",
        "versions": software_versions(),
    }
    save_model(model, args.output, manifest)
    print(f"{args.output}: {args.output.stat().st_size / 1e6:.2f} MB; in-sample AP "
          f"{float(average_precision(y, check)):.4f}")


if __name__ == "__main__":
    main()
