"""Train a genome-scan model: the recipe of the bundled ``genome`` model, for any species' scan.

Input: the candidates of ``mt-encode --genome --annotation`` (a scan NPZ), a label per candidate (1: it
overlaps a known mirtron; 0: background; -1: left out, e.g. a canonical miRNA) and a group per candidate
(its host gene, so that the introns of one gene never sit on both sides of a fold). Optionally, extra
positives: known mirtron hairpins that no scanned intron hosts (encoded alone, by ``mt-encode``).

Model: gradient-boosted trees (:mod:`mirtron_tools.boosting`) on k-mer, structure, free-energy,
stem-loop shape and splice-site features of each candidate plus its scan context (intron length,
subtype, splice distance), in a Keras model (:func:`mirtron_tools.ensemble.genome_tree_model`) with a
manifest like the other models. Choices, all made out of fold (folds grouped by ``groups``), by average
precision on the scan candidates:

1. the weight of the extra positives (:attr:`GenomeTrainingConfig.extra_weights`);
2. the tree settings (:attr:`GenomeTrainingConfig.tree_settings`), with that weight;
3. calibration: Platt scaling of the out-of-fold log-odds at the candidates' own class balance, folded
   into the trees (leaves and bias), so that the probability is the chance that a scan candidate overlaps
   a known mirtron at genome scale; the prior (the share of positives) is written in the manifest;
4. the call threshold: the highest calibrated out-of-fold cut-off that still recovers
   :attr:`GenomeTrainingConfig.target_recall` of the positives.

:func:`train_genome_model` runs it; ``mt-train --genome-scan`` and ``python -m mirtron_tools.recipes
genome`` call it.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .boosting import BoostingConfig, TreeEnsemble, fit_trees, tree_logits
from .encoding import CONTEXT_CHANNELS, ENCODING_FORMAT_VERSION, EncodedSet, context_values, model_inputs
from .errors import InputError
from .metrics import average_precision, evaluate
from .trained_model import TrainedModel, metric_row

logger = logging.getLogger(__name__)

#: tree settings tried out of fold after the extra-positive weight is chosen (the first is the hairpin
#: models' default): fewer/shallower trees and larger leaves, against a few dozen positives
TREE_SETTINGS: tuple[dict, ...] = ({}, {"depth": 3, "trees": 300}, {"depth": 4, "min_leaf": 40},
                                   {"depth": 2, "trees": 400}, {"depth": 4, "trees": 400, "learning_rate": 0.025})
CALIBRATION_METHOD = "Platt scaling of out-of-fold log-odds, natural class balance"


@dataclass(frozen=True)
class GenomeTrainingConfig:
    """Settings of the genome-scan recipe (recorded in the manifest)."""

    folds: int = 5
    #: the call threshold recovers at least this share of the positives out of fold
    target_recall: float = 0.5
    #: weights of an extra positive (relative to a scan-cut one) tried out of fold; only 0 without extras
    extra_weights: tuple[float, ...] = (0.0, 0.25, 1.0)
    tree_settings: tuple[dict, ...] = TREE_SETTINGS
    #: seed of the assignment of groups to folds
    seed: int = 1

    def check(self) -> None:
        """Raise ValueError naming the field that is out of range."""
        if self.folds < 2:
            raise ValueError("folds must be at least 2")
        if not 0 < self.target_recall <= 1:
            raise ValueError("target_recall must be above 0 and at most 1")
        if not self.extra_weights or not self.tree_settings:
            raise ValueError("extra_weights and tree_settings need at least one value each")


@dataclass
class GenomeTrainingData:
    """Scan candidates to train on.

    ``labels``: 1 (overlaps a known mirtron), 0 (background), -1 (left out); ``groups``: one name per
    candidate (host gene); ``context``: the context columns (:data:`~mirtron_tools.encoding.CONTEXT_CHANNELS`)
    when they differ from the scan's own (:func:`~mirtron_tools.encoding.context_values`), e.g. the true
    intron length of a shortened intron; ``extra``: extra positive hairpins without an intron.
    ``features``/``extra_features``: precomputed :func:`candidate_features` (a cache), else computed.
    """

    encoded: EncodedSet
    labels: np.ndarray
    groups: np.ndarray
    sources: dict = field(default_factory=dict)
    context: np.ndarray | None = None
    extra: EncodedSet | None = None
    features: np.ndarray | None = None
    extra_features: np.ndarray | None = None


def scan_groups(encoded: EncodedSet, source: str) -> np.ndarray:
    """The host gene of every candidate of a scan NPZ (its ``gene`` column): the default fold groups."""
    if "gene" not in encoded.annotations:
        raise InputError(source, "has no 'gene' column (is it an mt-encode --annotation scan?): give --groups")
    return np.asarray(encoded.annotations["gene"]).astype(str)


def read_genome_training_data(encoded: str | os.PathLike, labels: str | os.PathLike,
                              groups: str | os.PathLike | None = None,
                              extra_positives: str | os.PathLike | None = None) -> GenomeTrainingData:
    """A scan NPZ labelled by an ``id<TAB>label`` TSV (candidates without a row, and decoys, are left out: -1),
    grouped by an ``id<TAB>group`` TSV (default: each candidate's host gene), and optional extra positive
    hairpins (an mt-encode NPZ)."""
    from .datasets import labels_for
    from .io.encoded import read_encoded
    from .io.text import shortened
    from .io.tsv import read_groups, read_labels

    candidates = read_encoded(encoded)
    rows, values = labels_for(candidates, read_labels(labels), str(labels))
    label_array = np.full(len(candidates), -1, dtype=np.int8)
    label_array[rows] = values
    if len(rows) < len(candidates):
        logger.warning("%s: %d candidate(s) have no label and are left out", encoded, len(candidates) - len(rows))
    if "decoy" in candidates.annotations:  # shuffled copies (mt-encode --decoys) are not candidates
        decoys = np.asarray(candidates.annotations["decoy"]) == 1
        label_array[decoys] = -1
        logger.info("%s: %d decoy row(s) left out", encoded, int(decoys.sum()))
    sources: dict = {"encoded": Path(encoded).name, "labels": Path(labels).name}
    if groups is None:
        group_array = scan_groups(candidates, str(encoded))
    else:
        by_id = read_groups(groups)
        missing = [candidates.ids[row] for row in rows if candidates.ids[row] not in by_id]
        if missing:
            raise InputError(str(groups), f"{len(missing)} labelled candidate(s) have no group: {shortened(missing)}")
        group_array = np.array([by_id.get(identifier, "") for identifier in candidates.ids])
        sources["groups"] = Path(groups).name
    extra = None
    if extra_positives is not None:
        extra = read_encoded(extra_positives)
        sources["extra_positives"] = Path(extra_positives).name
    return GenomeTrainingData(candidates, label_array, group_array, sources, extra=extra)


def candidate_features(encoded: EncodedSet, context: np.ndarray | None = None) -> np.ndarray:
    """``(n, f)`` tree features (k-mer, structure, free energy, stem-loop, splice sites) followed by the
    context columns (default: the scan's own, :func:`~mirtron_tools.encoding.context_values`)."""
    from .features import tree_feature_matrix  # (its module holds Keras layers: TensorFlow loads here)

    if context is None:
        context = context_values(encoded)
    return np.concatenate([tree_feature_matrix(model_inputs(encoded, energy=True), structure=True), context],
                          axis=1)


def hairpin_context(encoded: EncodedSet) -> np.ndarray:
    """Context columns of hairpins without an intron (extra positives): those of a conventional mirtron
    (the intron is the hairpin, splice distance 0)."""
    context = np.zeros((len(encoded), len(CONTEXT_CHANNELS)), dtype=np.float32)
    context[:, 0] = np.log10(encoded.lengths).astype(np.float32)
    context[:, 1] = 1.0
    return context


def group_folds(groups: np.ndarray, labels: np.ndarray, folds: int, seed: int = 1) -> np.ndarray:
    """Fold of every row: whole groups per fold; groups with a positive dealt round-robin first."""
    rng = np.random.default_rng(seed)
    names = np.unique(groups)
    positive_groups = set(groups[labels == 1])
    ordered = [g for g in rng.permutation(names) if g in positive_groups] + \
              [g for g in rng.permutation(names) if g not in positive_groups]
    fold_of = {name: index % folds for index, name in enumerate(ordered)}
    return np.array([fold_of[g] for g in groups])


def balanced_weights(labels: np.ndarray, extra_mask: np.ndarray, extra_weight: float) -> np.ndarray:
    """Class-balanced sample weights; an extra positive counts ``extra_weight`` of a scan-cut one."""
    weights = np.where(extra_mask, extra_weight, 1.0)
    positive, negative = weights[labels == 1].sum(), weights[labels == 0].sum()
    return np.where(labels == 1, weights * (negative / positive), weights)


def _fit(x: np.ndarray, y: np.ndarray, extra_x: np.ndarray, extra_weight: float,
         config: BoostingConfig) -> TreeEnsemble:
    """Trees on ``x`` (and, with a weight, the extra positives), class-balanced."""
    train_x = np.concatenate([x, extra_x]) if extra_weight else x
    train_y = np.concatenate([y, np.ones(len(extra_x), dtype=int)]) if extra_weight else y
    extra_mask = np.r_[np.zeros(len(x), bool), np.ones(len(extra_x) if extra_weight else 0, bool)]
    return fit_trees(train_x, train_y, config, sample_weights=balanced_weights(train_y, extra_mask, extra_weight))


def out_of_fold(x: np.ndarray, y: np.ndarray, fold: np.ndarray, extra_x: np.ndarray, extra_weight: float,
                config: BoostingConfig) -> np.ndarray:
    """Out-of-fold log-odds: each fold scored by trees fitted on the other folds (plus the extras)."""
    logits = np.zeros(len(y))
    for index in np.unique(fold):
        train = fold != index
        logits[~train] = tree_logits(_fit(x[train], y[train], extra_x, extra_weight, config), x[~train])
    return logits


def platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of ``sigmoid(a * logit + b)`` by Newton's method on the log loss (natural class balance)."""
    a, b = 1.0, 0.0
    for _ in range(100):
        with np.errstate(over="ignore"):  # separable data: exp overflows to inf, p to 0
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


def calls_summary(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict:
    """Metrics at ``threshold`` plus the share called, the positives called and those in the top 1 %."""
    record = evaluate(labels, probabilities, threshold)
    order = np.argsort(-probabilities)
    top = max(1, int(round(0.01 * len(labels))))
    record.update(called_share=float(np.mean(probabilities >= threshold)),
                  positives_called=int(np.sum((probabilities >= threshold) & (labels == 1))),
                  positives_top_1pct=int(labels[order[:top]].sum()), n=int(len(labels)),
                  n_positive=int(labels.sum()))
    return record


def check_training_data(data: GenomeTrainingData, config: GenomeTrainingConfig, source: str) -> None:
    """Labels and groups one per candidate; enough positives, and positive groups for every fold."""
    labels, groups = np.asarray(data.labels), np.asarray(data.groups)
    if len(labels) != len(data.encoded) or len(groups) != len(data.encoded):
        raise InputError(source, f"{len(data.encoded)} candidates but {len(labels)} labels and {len(groups)} groups")
    positive_groups = len(set(groups[labels == 1]))
    if positive_groups < config.folds:
        raise InputError(source, f"the positives lie in {positive_groups} group(s): the {config.folds} grouped "
                         "folds need at least one each (give fewer folds or more known mirtrons)")
    if int((labels == 0).sum()) < config.folds:
        raise InputError(source, f"need at least {config.folds} background candidates, found "
                         f"{int((labels == 0).sum())}")


def train_genome_model(data: GenomeTrainingData, config: GenomeTrainingConfig = GenomeTrainingConfig(), *,
                       description: str = "", source: str = "genome-scan training data") -> TrainedModel:
    """Train, calibrate and describe a genome-scan model (see the module docstring); TensorFlow is imported
    to build the Keras model. The manifest's ``metrics.out_of_fold`` are those of the calibrated out-of-fold
    probabilities at the chosen threshold."""
    from .encoding import model_channels
    from .ensemble import genome_tree_model
    from .manifest import sequences_sha256, software_versions

    config.check()
    check_training_data(data, config, source)
    labels = np.asarray(data.labels)
    keep = labels >= 0
    x_all = data.features if data.features is not None else candidate_features(data.encoded, data.context)
    extra_x = np.zeros((0, x_all.shape[1]), dtype=np.float32)
    if data.extra is not None and len(data.extra):
        extra_x = (data.extra_features if data.extra_features is not None
                   else candidate_features(data.extra, hairpin_context(data.extra)))
    x, y, group = x_all[keep], labels[keep].astype(int), np.asarray(data.groups)[keep]
    fold = group_folds(group, y, config.folds, config.seed)
    weights = config.extra_weights if len(extra_x) else (0.0,)
    search: dict[str, float] = {}
    best: tuple[float, np.ndarray] | None = None
    for weight in weights:
        logits = out_of_fold(x, y, fold, extra_x, weight, BoostingConfig(**config.tree_settings[0]))
        search[str(weight)] = float(average_precision(y, logits))
        if len(extra_x):
            logger.info("extra positives weight %s: out-of-fold AP %.4f", weight, search[str(weight)])
        else:
            logger.info("trees %s: out-of-fold AP %.4f", config.tree_settings[0], search[str(weight)])
        if best is None or search[str(weight)] > search[str(best[0])]:
            best = (weight, logits)
    assert best is not None
    weight, logits = best
    tree_search = {json.dumps(config.tree_settings[0], sort_keys=True): search[str(weight)]}
    trees, best_ap = BoostingConfig(**config.tree_settings[0]), search[str(weight)]
    for changes in config.tree_settings[1:]:
        candidate = BoostingConfig(**changes)
        candidate_logits = out_of_fold(x, y, fold, extra_x, weight, candidate)
        ap = float(average_precision(y, candidate_logits))
        tree_search[json.dumps(changes, sort_keys=True)] = ap
        logger.info("trees %s: out-of-fold AP %.4f", changes, ap)
        if ap > best_ap:
            trees, best_ap, logits = candidate, ap, candidate_logits
    a, b = platt(logits, y)
    with np.errstate(over="ignore"):  # separable data: exp overflows to inf, the probability to 0
        calibrated = 1.0 / (1.0 + np.exp(-(a * logits + b)))
    threshold = recall_threshold(calibrated, y, config.target_recall)
    summary = calls_summary(y, calibrated, threshold)
    logger.info("chosen extra weight %s, trees %s; Platt a=%.4f b=%.4f; threshold %.4f", weight, trees.to_dict(),
                a, b, threshold)

    fitted = _fit(x, y, extra_x, weight, trees)
    calibrated_trees = TreeEnsemble(fitted.features, fitted.thresholds, (fitted.leaves * a).astype(np.float32),
                                    float(a * fitted.bias + b))
    channels = model_channels(energy=True, context=True)
    manifest = {
        "task": "mirtron", "positive_class": "mirtron", "input": "genome_scan",
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encoding_format_version": ENCODING_FORMAT_VERSION, "channels": channels,
        "coverage": None, "max_length": int(data.encoded.max_length), "threshold": threshold, "seed": config.seed,
        "prior": float(y.mean()),
        "calibration": {"method": CALIBRATION_METHOD, "a": a, "b": b},
        "training_data": {"sources": data.sources, "n_positive": int(y.sum()), "n_negative": int((y == 0).sum()),
                          "n_extra_positive": int(len(extra_x)), "extra_positive_weight": weight,
                          "sha256": sequences_sha256(data.encoded.sequences)},
        "training": {"members": "boosted_trees", "trees": trees.to_dict(), "folds": config.folds,
                     "extra_weight_search_ap": search, "tree_search_ap": tree_search,
                     "target_recall": config.target_recall},
        "description": description,
        "metrics": {"out_of_fold": summary},
        "versions": software_versions(),
    }
    return TrainedModel(genome_tree_model(len(channels), calibrated_trees), manifest,
                        [metric_row("out_of_fold", "-", len(y), f"{threshold:.4f}", summary)],
                        {f"out_of_fold ({config.folds} grouped folds)": (y, calibrated)},
                        "out_of_fold")
