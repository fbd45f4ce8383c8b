"""Binary classification metrics in plain numpy (no scikit-learn at run time)."""
from __future__ import annotations

import math

import numpy as np

METRIC_NAMES = ("auc", "aupr", "f1", "mcc", "sensitivity", "specificity", "precision", "accuracy")
#: How messages write a metric: abbreviations in capitals, words in lower case (tables and
#: manifests keep the lower-case keys of METRIC_NAMES as column names).
METRIC_LABELS = {"auc": "AUC", "aupr": "AUPR", "f1": "F1", "mcc": "MCC"}


def metric_label(name: str) -> str:
    """The name of a metric in a message: ``auc`` -> ``AUC``, ``sensitivity`` stays."""
    return METRIC_LABELS.get(name, name)


def metrics_text(values: dict, names=METRIC_NAMES) -> str:
    """``AUC 0.989, AUPR 0.975, F1 0.938, ...``: the one way every command writes metrics in a message."""
    return ", ".join(f"{metric_label(name)} {values[name]:.3f}" for name in names
                     if isinstance(values.get(name), (int, float)))


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    if labels.shape != scores.shape:
        raise ValueError("labels and scores differ in shape")
    return labels, scores


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); NaN with one class."""
    labels, scores = _check(labels, scores)
    positives = labels.sum()
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        stop = start
        while stop + 1 < len(scores) and sorted_scores[stop + 1] == sorted_scores[start]:
            stop += 1
        ranks[order[start:stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _cumulative_calls(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True positives and all positive calls at each distinct threshold, highest first."""
    order = np.argsort(-scores, kind="mergesort")
    last_of_tie = np.r_[np.diff(scores[order]) != 0, True]
    return np.cumsum(labels[order])[last_of_tie], np.arange(1, len(labels) + 1)[last_of_tie]


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    labels, scores = _check(labels, scores)
    true_positives, called = _cumulative_calls(labels, scores)
    false_positives = called - true_positives
    positives, negatives = max(labels.sum(), 1), max(len(labels) - labels.sum(), 1)
    return np.r_[0, false_positives / negatives], np.r_[0, true_positives / positives]


def precision_recall_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision at every distinct threshold (highest threshold first)."""
    labels, scores = _check(labels, scores)
    true_positives, called = _cumulative_calls(labels, scores)
    return true_positives / max(labels.sum(), 1), true_positives / called


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision (step-wise)."""
    labels, scores = _check(labels, scores)
    if labels.sum() == 0:
        return float("nan")
    recall, precision = precision_recall_curve(labels, scores)
    return float(np.sum(np.diff(np.r_[0, recall]) * precision))


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """F1, MCC, sensitivity, specificity, precision and accuracy of ``scores >= threshold``."""
    labels, scores = _check(labels, scores)
    called = scores >= threshold
    true_positive = float(np.sum(called & (labels == 1)))
    false_positive = float(np.sum(called & (labels == 0)))
    false_negative = float(np.sum(~called & (labels == 1)))
    true_negative = float(np.sum(~called & (labels == 0)))

    def ratio(numerator: float, denominator: float) -> float:
        return numerator / denominator if denominator else float("nan")

    denominator = math.sqrt((true_positive + false_positive) * (true_positive + false_negative)
                            * (true_negative + false_positive) * (true_negative + false_negative))
    return {
        "f1": ratio(2 * true_positive, 2 * true_positive + false_positive + false_negative),
        "mcc": ratio(true_positive * true_negative - false_positive * false_negative, denominator)
        if denominator else 0.0,
        "sensitivity": ratio(true_positive, true_positive + false_negative),
        "specificity": ratio(true_negative, true_negative + false_positive),
        "precision": ratio(true_positive, true_positive + false_positive),
        "accuracy": ratio(true_positive + true_negative, len(labels)),
    }


def evaluate(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """All of :data:`METRIC_NAMES` for one set of scores."""
    result = {"auc": roc_auc(labels, scores), "aupr": average_precision(labels, scores)}
    result.update(threshold_metrics(labels, scores, threshold))
    return {name: result[name] for name in METRIC_NAMES}


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The threshold that maximises F1; midway between neighbouring scores for robustness."""
    labels, scores = _check(labels, scores)
    candidates = np.unique(scores)
    if len(candidates) == 1:
        return float(candidates[0])
    best, best_f1 = 0.5, -1.0
    for index, candidate in enumerate(candidates):
        f1 = threshold_metrics(labels, scores, candidate)["f1"]
        if not math.isnan(f1) and f1 > best_f1:
            lower = candidates[index - 1] if index else candidate
            best, best_f1 = (lower + candidate) / 2 if index else candidate, f1
    return float(best)


class LabelledScores:
    """Scores of the labelled hairpins (``truth``: id -> 0/1), gathered chunk by chunk in input order."""

    def __init__(self, truth: dict[str, int]) -> None:
        self.truth = truth
        self.seen: set[str] = set()
        self.ids: list[str] = []
        self.scores: list[float] = []

    def add(self, ids, probabilities, rows) -> None:
        self.seen.update(ids)
        for row in rows:
            if ids[row] in self.truth:
                self.ids.append(ids[row])
                self.scores.append(float(probabilities[row]))

    def unknown(self) -> list[str]:
        """Labelled ids that were not in the input."""
        return [identifier for identifier in self.truth if identifier not in self.seen]

    def evaluate(self, threshold: float) -> tuple[int, dict[str, float]]:
        labels = np.array([self.truth[identifier] for identifier in self.ids], dtype=int)
        return len(labels), evaluate(labels, np.array(self.scores), threshold)
