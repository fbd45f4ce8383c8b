"""Fitting, cross-validation and threshold choice for the attention LSTM."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import metrics
from .batches import length_batches, pad
from .model import Architecture, build_model
from .prediction import predict_arrays

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (recorded in the model manifest)."""

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 12
    validation_fraction: float = 0.15
    seed: int | None = None
    architecture: Architecture = field(default_factory=Architecture)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["architecture"] = self.architecture.to_dict()
        return record


@dataclass
class TrainingResult:
    model: object
    threshold: float
    validation_metrics: dict[str, float]
    epochs_run: int
    history: dict[str, list[float]]
    #: the held-out labels and scores the threshold was chosen on (validation split or out-of-fold)
    held_out_labels: np.ndarray | None = None
    held_out_scores: np.ndarray | None = None


def set_seed(seed: int | None) -> None:
    """Seed Python, numpy and TensorFlow, and ask TensorFlow for deterministic ops."""
    if seed is None:
        return
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def data_sha256(arrays: Sequence[np.ndarray], labels: np.ndarray) -> str:
    """Fingerprint of the training inputs and labels (order-sensitive)."""
    digest = hashlib.sha256()
    for array, label in zip(arrays, labels):
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        digest.update(bytes([int(label)]))
    return digest.hexdigest()


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, held_out)`` with ``fraction`` of each class held out."""
    held_out = []
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

    positives = max(int(labels.sum()), 1)
    negatives = max(len(labels) - int(labels.sum()), 1)
    class_weights = {0: len(labels) / (2 * negatives), 1: len(labels) / (2 * positives)}

    model = initial_model if initial_model is not None else build_model(arrays[0].shape[1], config.architecture)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
                  loss="binary_crossentropy")
    train_data = _batches_dataset(arrays, labels, config.batch_size, config.seed, True, class_weights)
    validation_data = _batches_dataset(validation_arrays, validation_labels, 256, config.seed, False,
                                       {0: 1.0, 1: 1.0})
    callbacks: list = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                     restore_best_weights=True),
                       keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
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


def fit_ensemble(
    arrays: Sequence[np.ndarray],
    labels: np.ndarray,
    config: TrainingConfig,
    members: int,
    on_member: Callable[[int, dict], None] | None = None,
) -> TrainingResult:
    """Cross-validation ensemble: member i trains on all folds but i and stops early on fold i.

    Every training hairpin is held out by exactly one member, so the threshold is chosen on
    out-of-fold scores of all the data (far steadier than one small validation split), and those
    out-of-fold metrics are the ones reported. The model averages the members' probabilities.
    """
    from .model import ensemble_model

    labels = np.asarray(labels, dtype=int)
    rng = np.random.default_rng(config.seed)
    out_of_fold = np.full(len(labels), np.nan, dtype=np.float32)
    trained, epochs, history = [], [], {}
    for member, held_out in enumerate(stratified_folds(labels, members, rng)):
        train_rows = np.setdiff1d(np.arange(len(labels)), held_out)
        member_seed = None if config.seed is None else config.seed + 1000 * (member + 1)
        set_seed(member_seed)
        result = fit([arrays[row] for row in train_rows], labels[train_rows],
                     TrainingConfig(**{**asdict(config), "architecture": config.architecture, "seed": member_seed}),
                     validation=([arrays[row] for row in held_out], labels[held_out]))
        out_of_fold[held_out] = predict_arrays(result.model, [arrays[row] for row in held_out])
        trained.append(result.model)
        epochs.append(result.epochs_run)
        history[f"member_{member + 1}_val_loss"] = result.history.get("val_loss", [])
        if on_member is not None:
            on_member(member, {"epochs": result.epochs_run, **result.validation_metrics})
    threshold = metrics.best_f1_threshold(labels, out_of_fold)
    return TrainingResult(model=ensemble_model(trained), threshold=threshold,
                          validation_metrics=metrics.evaluate(labels, out_of_fold, threshold),
                          epochs_run=int(sum(epochs)), history=history, held_out_labels=labels,
                          held_out_scores=out_of_fold)


def cross_validate(
    arrays: Sequence[np.ndarray],
    labels: np.ndarray,
    config: TrainingConfig,
    folds: int,
    on_fold: Callable[[int, dict], None] | None = None,
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
        result = fit([arrays[row] for row in train_rows], labels[train_rows], fold_config)
        scores = predict_arrays(result.model, [arrays[row] for row in held_out])
        out_of_fold[held_out] = scores
        fold_metrics = {"fold": fold + 1, "n": len(held_out), "threshold": result.threshold,
                        **metrics.evaluate(labels[held_out], scores, result.threshold)}
        results.append(fold_metrics)
        if on_fold is not None:
            on_fold(fold, fold_metrics)
    return results, out_of_fold


def software_versions() -> dict[str, str]:
    """Versions that a model's behaviour depends on."""
    import keras
    import RNA
    import tensorflow as tf

    from . import __version__

    return {"mirtron_tools": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "viennarna": getattr(RNA, "__version__", "unknown"), "numpy": np.__version__}
