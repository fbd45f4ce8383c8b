import math

import numpy as np

from mirtron_tools import metrics


def test_auc_perfect_random_and_ties():
    labels = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.roc_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert metrics.roc_auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert math.isnan(metrics.roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200), 2)
    positives, negatives = scores[labels == 1], scores[labels == 0]
    pairwise = np.mean([(p > n) + 0.5 * (p == n) for p in positives for n in negatives])
    assert abs(metrics.roc_auc(labels, scores) - pairwise) < 1e-12


def test_threshold_metrics_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.05])
    result = metrics.threshold_metrics(labels, scores, 0.5)
    # TP=2 FN=1 FP=1 TN=3
    assert result["sensitivity"] == 2 / 3 and result["specificity"] == 3 / 4
    assert result["f1"] == 2 * 2 / (2 * 2 + 1 + 1)
    assert abs(result["mcc"] - (2 * 3 - 1 * 1) / math.sqrt(3 * 3 * 4 * 4)) < 1e-12


def test_average_precision_and_best_threshold():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert abs(metrics.average_precision(labels, scores) - (0.5 * 1 + 0.5 * 2 / 3)) < 1e-12
    threshold = metrics.best_f1_threshold(labels, scores)
    assert metrics.threshold_metrics(labels, scores, threshold)["f1"] == max(
        metrics.threshold_metrics(labels, scores, t)["f1"] for t in scores)
