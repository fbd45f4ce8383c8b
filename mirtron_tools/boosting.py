"""Gradient-boosted decision trees for binary classification, in numpy (no TensorFlow, no scikit-learn).

The trees are complete binary trees of a fixed depth stored as arrays, so that the
:class:`~mirtron_tools.ensemble.BoostedTrees` Keras layer evaluates them inside a saved model with the
same arithmetic: at every internal node a hairpin goes right when ``feature > threshold``. A node
that has nothing worth splitting gets the threshold ``+inf`` (everything goes left) and its unused
right subtree keeps leaf values of 0.

Fitting follows the usual second-order recipe (XGBoost, LightGBM, scikit-learn's
HistGradientBoosting): log loss, per-sample weights (classes weighted equally, as the other
members), candidate thresholds at quantile bin edges of each feature, leaf value
``-sum(gradient) / (sum(hessian) + l2)`` shrunk by the learning rate. Deterministic: no sampling.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class BoostingConfig:
    """Settings of the tree member (recorded in the model manifest)."""

    trees: int = 200
    depth: int = 4
    learning_rate: float = 0.05
    l2: float = 1.0
    #: a split needs at least this many training hairpins on each side
    min_leaf: int = 20
    #: at most this many candidate thresholds per feature
    bins: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TreeEnsemble:
    """Fitted trees. Internal nodes of tree t are numbered breadth-first from 0 (children of n are
    2n+1 and 2n+2); leaves are the nodes past the internal ones, renumbered from 0.

    features: ``(trees, 2^depth - 1)`` int32; thresholds: the same shape, float32;
    leaves: ``(trees, 2^depth)`` float32 log-odds contributions; bias: the starting log-odds.
    """

    features: np.ndarray
    thresholds: np.ndarray
    leaves: np.ndarray
    bias: float

    @property
    def depth(self) -> int:
        return int(np.log2(self.leaves.shape[1]))


def bin_edges(features: np.ndarray, bins: int) -> list[np.ndarray]:
    """Per feature, the distinct quantile edges (at most ``bins - 1``) between its training values."""
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    edges = []
    for column in features.T.astype(np.float32):
        values = np.unique(column)
        if len(values) <= 1:
            edges.append(np.empty(0, dtype=np.float32))
            continue
        if len(values) <= bins:
            candidates = values[:-1]
        else:
            candidates = np.unique(np.quantile(column, quantiles, method="lower").astype(np.float32))
            candidates = candidates[candidates < values[-1]]
        edges.append(candidates.astype(np.float32))
    return edges


def _best_splits(histograms, counts, l2, min_leaf):
    """Per node, the best (gain, feature, edge index) from gradient/hessian/count histograms of
    shape ``(nodes, features, bins)``; a bin index b means "left = bins 0..b"."""
    gradient, hessian = histograms
    left_g, left_h, left_n = (np.cumsum(a, axis=2)[:, :, :-1] for a in (gradient, hessian, counts))
    total_g, total_h, total_n = (a.sum(axis=2)[:, :1, None] for a in (gradient, hessian, counts))
    right_g, right_h, right_n = total_g - left_g, total_h - left_h, total_n - left_n
    gain = (left_g ** 2 / (left_h + l2) + right_g ** 2 / (right_h + l2) - total_g ** 2 / (total_h + l2))
    # (at least one hairpin a side: a split past a feature's last edge would leave one side empty)
    least = max(min_leaf, 1)
    gain[(left_n < least) | (right_n < least)] = -np.inf
    flat = gain.reshape(len(gain), -1)
    best = np.argmax(flat, axis=1)
    return flat[np.arange(len(flat)), best], best // gain.shape[2], best % gain.shape[2]


def fit_trees(features: np.ndarray, labels: np.ndarray, config: BoostingConfig = BoostingConfig(),
              sample_weights: np.ndarray | None = None) -> TreeEnsemble:
    """Fit ``config.trees`` trees of depth ``config.depth`` to minimise the weighted log loss.

    features: ``(n, f)``; labels: ``(n,)`` of 0/1; sample_weights: ``(n,)``, default 1.
    """
    features = np.asarray(features, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.float64)
    weights = np.ones(len(labels)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    n, width = features.shape
    edges = bin_edges(features, config.bins)
    slots = max(len(e) for e in edges) + 1
    # bin of every value: the number of edges below it (x <= edge k  <=>  bin <= k)
    binned = np.stack([np.searchsorted(e, features[:, f], side="left") for f, e in enumerate(edges)], axis=1)
    flat_bins = (np.arange(width) * slots)[None, :] + binned  # (n, f)
    internal, leaf_count = 2 ** config.depth - 1, 2 ** config.depth
    tree_features = np.zeros((config.trees, internal), dtype=np.int32)
    tree_thresholds = np.full((config.trees, internal), np.inf, dtype=np.float32)
    tree_leaves = np.zeros((config.trees, leaf_count), dtype=np.float32)
    positive = np.sum(weights * labels) / np.sum(weights)
    bias = float(np.log(positive / (1 - positive))) if 0 < positive < 1 else 0.0
    logits = np.full(n, bias)
    for tree in range(config.trees):
        probability = 1.0 / (1.0 + np.exp(-logits))
        gradient = weights * (probability - labels)
        hessian = weights * np.maximum(probability * (1 - probability), 1e-12)
        node = np.zeros(n, dtype=np.int64)  # index among the nodes of the current level
        for level in range(config.depth):
            nodes = 2 ** level
            index = (node[:, None] * (width * slots) + flat_bins).ravel()
            size = nodes * width * slots
            shape = (nodes, width, slots)
            histograms = tuple(np.bincount(index, np.repeat(values, width), size).reshape(shape)
                               for values in (gradient, hessian))
            counts = np.bincount(index, minlength=size).reshape(shape).astype(np.float64)
            gain, feature, edge = _best_splits(histograms, counts, config.l2, config.min_leaf)
            first = nodes - 1
            split = gain > 1e-12
            for offset in np.flatnonzero(split):
                tree_features[tree, first + offset] = feature[offset]
                tree_thresholds[tree, first + offset] = edges[feature[offset]][edge[offset]]
            goes_right = binned[np.arange(n), feature[node]] > edge[node]
            node = 2 * node + (goes_right & split[node])
        totals_g = np.bincount(node, gradient, leaf_count)
        totals_h = np.bincount(node, hessian, leaf_count)
        tree_leaves[tree] = (-config.learning_rate * totals_g / (totals_h + config.l2)).astype(np.float32)
        logits += tree_leaves[tree][node]
    return TreeEnsemble(tree_features, tree_thresholds, tree_leaves, bias)


def tree_logits(ensemble: TreeEnsemble, features: np.ndarray) -> np.ndarray:
    """Log-odds of every row of ``features`` ``(n, f)``: the bias plus one leaf of every tree."""
    features = np.asarray(features, dtype=np.float32)
    n, trees = len(features), len(ensemble.features)
    internal = ensemble.features.shape[1]
    node = np.zeros((n, trees), dtype=np.int64)
    columns = np.arange(trees)[None, :]
    for _ in range(ensemble.depth):
        chosen = features[np.arange(n)[:, None], ensemble.features[columns, node]]
        node = 2 * node + 1 + (chosen > ensemble.thresholds[columns, node])
    return ensemble.bias + ensemble.leaves[columns, node - internal].sum(axis=1, dtype=np.float64)


def tree_probability(ensemble: TreeEnsemble, features: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-tree_logits(ensemble, features)))).astype(np.float32)
