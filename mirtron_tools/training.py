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
    patience: int = 10
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
    import keras

    class LengthBucketedDataset(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.lengths = [len(array) for array in arrays]
            self.on_epoch_end()

        def on_epoch_end(self):
            self.batches = length_batches(self.lengths, batch_size, self.rng if shuffle else None)

        def __len__(self):
            return len(self.batches)

        def __getitem__(self, index):
            rows = self.batches[index]
            targets = labels[rows].astype(np.float32)
            weights = np.where(targets == 1, class_weights[1], class_weights[0]).astype(np.float32)
            return pad([arrays[row] for row in rows]), targets, weights

    return LengthBucketedDataset()




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
                                                     restore_best_weights=True)]
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
    )


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
