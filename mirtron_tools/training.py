"""Fitting, cross-validation and threshold choice for the attention LSTM."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import metrics
from .batches import length_batches, pad
from .boosting import fit_trees, tree_probability
from .config import AUTO, AUTO_TREE_WEIGHTS, InitialModel, TrainingConfig  # noqa: F401  (TensorFlow-free; re-exported)
from .datasets import TrainingData
from .manifest import data_sha256, software_versions  # noqa: F401  (re-exported: the fingerprint mt-train records)
from .model import build_model
from .prediction import predict_arrays
from .trained_model import METRICS_HEADER, TrainedModel, metric_row, write_trained_model  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    model: object
    threshold: float
    validation_metrics: dict[str, float]
    epochs_run: int
    history: dict[str, list[float]]
    #: the held-out labels and scores the threshold was chosen on (validation split or out-of-fold)
    held_out_labels: np.ndarray
    held_out_scores: np.ndarray
    #: a blended ensemble: the out-of-fold scores of its parts ("networks", "kmer", "trees")
    held_out_parts: dict[str, np.ndarray] = field(default_factory=dict)
    #: the trees' share in the model (chosen when the config asked for "auto"), and with "auto" the
    #: out-of-fold AUC of the blend at every share tried
    tree_weight: float = 0.0
    tree_weight_search: dict[str, float] = field(default_factory=dict)


def set_seed(seed: int | None) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic ops."""
    if seed is None:
        return
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def balanced_class_weights(labels: np.ndarray) -> tuple[float, float]:
    """``(negative, positive)`` per-hairpin weights that give both classes the same total weight."""
    positives = max(int(np.sum(labels)), 1)
    negatives = max(len(labels) - int(np.sum(labels)), 1)
    return len(labels) / (2 * negatives), len(labels) / (2 * positives)


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, held_out)`` with ``fraction`` of each class held out."""
    held_out: list[int] = []
    for value in (0, 1):
        rows = np.flatnonzero(labels == value)
        rng.shuffle(rows)
        held_out.extend(rows[: max(1, int(round(fraction * len(rows))))])
    held_out_array = np.sort(np.array(held_out, dtype=int))
    train = np.setdiff1d(np.arange(len(labels)), held_out_array)
    return train, held_out_array


def stratified_folds(labels: np.ndarray, folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Held-out row indices of ``folds`` stratified folds."""
    assignment = np.empty(len(labels), dtype=int)
    for value in (0, 1):
        rows = np.flatnonzero(labels == value)
        rng.shuffle(rows)
        assignment[rows] = np.arange(len(rows)) % folds
    return [np.flatnonzero(assignment == fold) for fold in range(folds)]


def _batches_dataset(arrays, labels, batch_size, seed, shuffle, class_weights):
    """A tf.data pipeline of length-bucketed, padded batches; reshuffled every epoch when asked.

    The signature leaves the length free: batches of different lengths share one traced graph
    per padded length (see batches.LENGTH_QUANTUM).
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed) if shuffle else None
    lengths = [len(array) for array in arrays]
    channels = arrays[0].shape[1]
    weight_of = np.array([class_weights[0], class_weights[1]], dtype=np.float32)

    def generate():
        for rows in length_batches(lengths, batch_size, rng):
            targets = labels[rows].astype(np.float32)
            yield pad([arrays[row] for row in rows]), targets, weight_of[labels[rows]]

    signature = (tf.TensorSpec((None, None, channels), tf.float32), tf.TensorSpec((None,), tf.float32),
                 tf.TensorSpec((None,), tf.float32))
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


def fit(
    arrays: Sequence[np.ndarray],
    labels: np.ndarray,
    config: TrainingConfig,
    validation: tuple[Sequence[np.ndarray], np.ndarray] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    initial_model=None,
) -> TrainingResult:
    """Train on ``arrays`` (one ``(length, channels)`` array per record) and binary ``labels``.

    Without ``validation`` a stratified ``validation_fraction`` of the data is held out for early
    stopping and the threshold (the one that maximises F1 on it).
    """
    import keras

    labels = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(config.seed)
    if validation is None:
        train_rows, validation_rows = stratified_split(labels, config.validation_fraction, rng)
        validation = ([arrays[row] for row in validation_rows], labels[validation_rows])
        arrays, labels = [arrays[row] for row in train_rows], labels[train_rows]
    validation_arrays, validation_labels = validation[0], np.asarray(validation[1], dtype=int)

    negative_weight, positive_weight = balanced_class_weights(labels)
    class_weights = {0: negative_weight, 1: positive_weight}

    model = initial_model if initial_model is not None else build_model(arrays[0].shape[1], config.architecture)
    if config.monitor not in ("loss", "auc"):
        raise ValueError(f"unknown early-stopping monitor {config.monitor!r}")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
                  loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc")] if config.monitor == "auc" else None)
    train_data = _batches_dataset(arrays, labels, config.batch_size, config.seed, True, class_weights)
    validation_data = _batches_dataset(validation_arrays, validation_labels, 256, config.seed, False,
                                       {0: 1.0, 1: 1.0})
    watched, mode = f"val_{config.monitor}", "min" if config.monitor == "loss" else "max"
    callbacks: list = [keras.callbacks.EarlyStopping(monitor=watched, mode=mode, patience=config.patience,
                                                     restore_best_weights=True),
                       keras.callbacks.ReduceLROnPlateau(monitor=watched, mode=mode, factor=0.5,
                                                         patience=max(2, config.patience // 3))]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: on_epoch(epoch, logs)))
    history = model.fit(train_data, validation_data=validation_data, epochs=config.epochs, verbose=0,
                        callbacks=callbacks)
    scores = predict_arrays(model, validation_arrays)
    threshold = metrics.best_f1_threshold(validation_labels, scores)
    return TrainingResult(
        model=model,
        threshold=threshold,
        validation_metrics=metrics.evaluate(validation_labels, scores, threshold),
        epochs_run=len(history.history.get("loss", [])),
        history={key: [float(value) for value in values] for key, values in history.history.items()},
        held_out_labels=validation_labels,
        held_out_scores=scores,
    )


#: inverse L2 strength of the k-mer logistic regression (scikit-learn's C, on standardised features)
KMER_C = 0.1


def fit_logistic(features: np.ndarray, labels: np.ndarray, c: float = KMER_C,
                 iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression (Newton's method, classes weighted equally).

    Minimises ``c * sum(weight_i * log loss_i) + |w|^2 / 2`` on standardised features, as
    scikit-learn's LogisticRegression(C=c) behind a StandardScaler does, and returns
    ``(kernel, bias)`` for the raw features. Deterministic; no intercept penalty.
    """
    labels = np.asarray(labels, dtype=float)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.c_[(features - mean) / scale, np.ones(len(features))]
    sample = np.array(balanced_class_weights(labels))[labels.astype(int)]
    penalty = np.ones(design.shape[1])
    penalty[-1] = 0.0
    coefficients = np.zeros(design.shape[1])
    for _ in range(iterations):
        probability = 1.0 / (1.0 + np.exp(-design @ coefficients))
        gradient = c * design.T @ (sample * (probability - labels)) + penalty * coefficients
        hessian = c * (design * (sample * probability * (1 - probability))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(penalty)), gradient)
        coefficients -= step
        if np.abs(step).max() < 1e-8:
            break
    kernel = coefficients[:-1] / scale
    return kernel, float(coefficients[-1] - (mean * kernel).sum())


def logistic_probability(features: np.ndarray, kernel: np.ndarray, bias: float) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-(features @ kernel + bias)))).astype(np.float32)


def _out_of_fold(features: np.ndarray, labels: np.ndarray, folds: list[np.ndarray], fit_member: Callable,
                 probability: Callable) -> np.ndarray:
    """Each fold's probabilities from a member fitted (``fit_member(features, labels)``) on the others."""
    scores = np.empty(len(labels), dtype=np.float32)
    for held_out in folds:
        train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
        scores[held_out] = probability(fit_member(features[train_rows], labels[train_rows]), features[held_out])
    return scores


def fit_ensemble(
    arrays: Sequence[np.ndarray],
    labels: np.ndarray,
    config: TrainingConfig,
    members: int,
    on_member: Callable[[int, dict], None] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> TrainingResult:
    """Cross-validation ensemble: member i trains on all folds but i and stops early on fold i.

    Every training hairpin is held out by exactly one member, so the threshold is chosen on
    out-of-fold scores of all the data (far steadier than one small validation split), and those
    out-of-fold metrics are the ones reported. The model averages the members' probabilities.
    With ``config.regression_weight`` > 0 a logistic regression on k-mers (with ``config.energy`` also on
    structure and free-energy features) takes that share of the probability, and with
    ``config.tree_weight`` > 0 gradient-boosted trees on the same features plus stem-loop shape
    features (:mod:`mirtron_tools.boosting`) take theirs: each fitted on the same folds for the
    out-of-fold scores, then on all the data.
    """
    from .ensemble import ensemble_model, regression_model, tree_model
    from .features import regression_feature_matrix, tree_feature_matrix

    labels = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(config.seed)
    out_of_fold = np.full(len(labels), np.nan, dtype=np.float32)
    trained, epochs, history = [], [], {}
    folds = stratified_folds(labels, members, rng)
    for member, held_out in enumerate(folds):
        train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
        member_seed = None if config.seed is None else config.seed + 1000 * (member + 1)
        set_seed(member_seed)
        result = fit([arrays[row] for row in train_rows], labels[train_rows],
                     TrainingConfig(**{**asdict(config), "architecture": config.architecture, "seed": member_seed}),
                     validation=([arrays[row] for row in held_out], labels[held_out]), on_epoch=on_epoch)
        out_of_fold[held_out] = predict_arrays(result.model, [arrays[row] for row in held_out])
        trained.append(result.model)
        epochs.append(result.epochs_run)
        history[f"member_{member + 1}_val_loss"] = result.history.get("val_loss", [])
        if on_member is not None:
            on_member(member, {"epochs": result.epochs_run, **result.validation_metrics})
    regression_member, tree_member, parts = None, None, {"networks": out_of_fold}
    tree_weight = 0.0 if config.tree_weight == AUTO else float(config.tree_weight)
    search: dict[str, float] = {}
    if config.regression_weight:
        features = regression_feature_matrix(arrays, structure=config.energy)
        parts["kmer"] = _out_of_fold(features, labels, folds, fit_logistic,
                                     lambda fitted, rows: logistic_probability(rows, *fitted))
        regression_member = regression_model(arrays[0].shape[1], fit_logistic(features, labels),
                                             structure=config.energy)
    if config.tree_weight:
        features = tree_feature_matrix(arrays, structure=config.energy)
        class_weights = np.array(balanced_class_weights(labels))  # of all the data, for every fold alike

        def fit_balanced_trees(rows, row_labels):
            return fit_trees(rows, row_labels, config.trees, sample_weights=class_weights[row_labels])

        parts["trees"] = _out_of_fold(features, labels, folds, fit_balanced_trees, tree_probability)
        if config.tree_weight == AUTO:
            tree_weight, search = choose_tree_weight(labels, parts, config.regression_weight)
            logger.info("tree share chosen on out-of-fold AUC: %g", tree_weight)
        tree_member = tree_model(arrays[0].shape[1], fit_balanced_trees(features, labels), structure=config.energy)
    out_of_fold = blend_parts(parts, config.regression_weight, tree_weight)
    if len(parts) == 1:
        parts = {}
    threshold = metrics.best_f1_threshold(labels, out_of_fold)
    model = ensemble_model(trained, regression_member, config.regression_weight, tree_member, tree_weight)
    return TrainingResult(model=model,
                          threshold=threshold, validation_metrics=metrics.evaluate(labels, out_of_fold, threshold),
                          epochs_run=int(sum(epochs)), history=history, held_out_labels=labels,
                          held_out_scores=out_of_fold, held_out_parts=parts, tree_weight=tree_weight,
                          tree_weight_search=search)


def blend_parts(parts: dict[str, np.ndarray], regression_weight: float = 0.0,
                tree_weight: float = 0.0) -> np.ndarray:
    """An ensemble's probability from its parts' (``networks``, optional ``kmer`` (the regression member)
    and ``trees``), as :func:`mirtron_tools.ensemble.ensemble_model` blends them."""
    blended = (1.0 - regression_weight - tree_weight) * parts["networks"]
    if "kmer" in parts:
        blended = blended + regression_weight * parts["kmer"]
    if "trees" in parts:
        blended = blended + tree_weight * parts["trees"]
    return blended.astype(np.float32)


def choose_tree_weight(labels: np.ndarray, parts: dict[str, np.ndarray],
                       regression_weight: float = 0.0) -> tuple[float, dict[str, float]]:
    """The trees' share with the best out-of-fold AUC of the blend, among :data:`AUTO_TREE_WEIGHTS`
    that leave the networks at least 0.1 beside ``regression_weight``; equal AUCs: the share nearest 0.5.

    Returns the share and ``{share: AUC}`` of every share tried. The out-of-fold metrics of the
    chosen blend are then slightly optimistic (one number was chosen on them).
    """
    search = {}
    for share in AUTO_TREE_WEIGHTS:
        if share + regression_weight <= 0.9 + 1e-9:
            search[f"{share:g}"] = metrics.roc_auc(labels, blend_parts(parts, regression_weight, share))
    if not search:
        raise ValueError("tree_weight auto needs regression_weight 0.8 or less")
    best = max(search.items(), key=lambda item: (round(item[1], 12), -abs(float(item[0]) - 0.5)))
    return float(best[0]), search


def cross_validate(
    arrays: Sequence[np.ndarray],
    labels: np.ndarray,
    config: TrainingConfig,
    folds: int,
    on_fold: Callable[[int, dict], None] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> tuple[list[dict[str, float]], np.ndarray]:
    """Stratified K-fold: per-fold metrics on each held-out fold and out-of-fold probabilities.

    Each fold's threshold comes from its own inner validation split, never from the held-out fold.
    """
    labels = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(config.seed)
    out_of_fold = np.full(len(labels), np.nan, dtype=np.float32)
    results = []
    for fold, held_out in enumerate(stratified_folds(labels, folds, rng)):
        train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
        fold_config = TrainingConfig(**{**asdict(config), "architecture": config.architecture,
                                        "seed": None if config.seed is None else config.seed + fold + 1})
        set_seed(fold_config.seed)
        result = fit([arrays[row] for row in train_rows], labels[train_rows], fold_config, on_epoch=on_epoch)
        scores = predict_arrays(result.model, [arrays[row] for row in held_out])
        out_of_fold[held_out] = scores
        fold_metrics = {"fold": fold + 1, "n": len(held_out), "threshold": result.threshold,
                        **metrics.evaluate(labels[held_out], scores, result.threshold)}
        results.append(fold_metrics)
        if on_fold is not None:
            on_fold(fold, fold_metrics)
    return results, out_of_fold


# --- the library entry point of mt-train (hairpin models) -----------------------------------------------

def train(data: TrainingData, config: TrainingConfig, *, task: str = "mirtron", ensemble: int = 1, folds: int = 0,
          description: str = "", initial: InitialModel | None = None,
          on_epoch: Callable[[str, int, dict], None] | None = None,
          on_fold: Callable[[int, dict], None] | None = None,
          on_member: Callable[[int, dict], None] | None = None) -> TrainedModel:
    """Train a hairpin model as ``mt-train`` does: optional stratified ``folds``-fold cross-validation,
    then one network (a ``validation_fraction`` split; fine-tuning ``initial`` when given) or an
    ``ensemble`` of cross-validation members, and its manifest.

    ``config.energy`` adds the free-energy channel; ``data.extra`` the extra channels. ``on_epoch(stage,
    epoch, logs)`` is called after every epoch of every network (``stage`` names the run: cross-validation,
    ensemble members or training), ``on_fold``/``on_member`` after each fold/member. Check ``config`` with
    :meth:`TrainingConfig.check` first. TensorFlow is imported here.
    """
    from .encoding import model_channels, model_inputs
    from .manifest import build_manifest

    arrays = model_inputs(data.encoded, data.extra, energy=config.energy)
    labels = np.asarray(data.labels, dtype=int)

    def stage(name: str) -> Callable[[int, dict], None] | None:
        return None if on_epoch is None else lambda epoch, logs: on_epoch(name, epoch, logs)

    rows: list[list] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pooled = None
    if folds:
        fold_results, out_of_fold = cross_validate(arrays, labels, config, folds, on_fold=on_fold,
                                                   on_epoch=stage(f"cross-validation ({folds} folds)"))
        rows.extend(metric_row("fold", result["fold"], int(result["n"]), f"{result['threshold']:.4f}", result)
                    for result in fold_results)
        pooled = metrics.evaluate(labels, out_of_fold, float(np.median([r["threshold"] for r in fold_results])))
        rows.append(metric_row("cross_validation_pooled", "all", len(labels), "median", pooled))
        curves[f"{folds}-fold CV"] = (labels, out_of_fold)
    set_seed(config.seed)
    if ensemble > 1:
        result = fit_ensemble(arrays, labels, config, ensemble, on_member=on_member,
                              on_epoch=stage(f"training {ensemble} ensemble members"))
        held_out_name = f"out_of_fold ({ensemble} members)"
    else:
        initial_model = None
        if initial is not None:
            from .io.model import load_model

            initial_model, _ = load_model(initial.path)
            logger.info("fine-tuning %s (%s)", initial.name, initial.manifest.get("task"))
        result = fit(arrays, labels, config, on_epoch=stage("training"), initial_model=initial_model)
        held_out_name = "validation"
    assert result.held_out_labels is not None and result.held_out_scores is not None
    rows.append(metric_row(held_out_name.split()[0], "-", len(result.held_out_labels), f"{result.threshold:.4f}",
                            result.validation_metrics))
    curves[held_out_name] = (result.held_out_labels, result.held_out_scores)
    manifest = build_manifest(
        task=task, config=config, result=result, encoded=data.encoded, labels=labels, arrays=arrays,
        sources=data.sources, channels=model_channels(config.energy, data.extra_channels), coverage=data.coverage,
        ensemble=ensemble, seed=config.seed, description=description, held_out_name=held_out_name, pooled=pooled,
        initial=(initial.name, initial.path, initial.manifest) if initial is not None else None)
    return TrainedModel(result.model, manifest, rows, curves, held_out_name, result.epochs_run)
