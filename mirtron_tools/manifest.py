"""The model contract: what a manifest records about a trained model, and what a model to fine-tune must
be (pure: no file access; :mod:`mirtron_tools.io.model` reads and writes manifests).

A manifest says what the model reads (task, channels, encoding version, coverage), how it calls
(threshold, prior), what it was trained on (data sources, sha256, class counts, lengths, seed) and how
(the :class:`~mirtron_tools.training.TrainingConfig`, ensemble members and their shares), how well
(held-out metrics, per-member metrics) and with which software. ``mt-train`` and the build scripts of
the bundled models write it through :func:`build_manifest`.
"""
from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import ModelError

#: training keys a fine-tuned model keeps from the model it started from
INHERITED_TRAINING_KEYS = ("kmer_weight", "tree_weight", "trees", "tree_weight_auto")


def check_initial_model(name: str, manifest: dict, channels: list[str]) -> None:
    """A model to fine-tune must read the training data's encoding and channels."""
    from .encoding import ENCODING_FORMAT_VERSION

    if manifest.get("encoding_format_version") != ENCODING_FORMAT_VERSION:
        raise ModelError(f"{name}: model was trained on encoding format version "
                         f"{manifest.get('encoding_format_version')}, this mirtron_tools encodes version "
                         f"{ENCODING_FORMAT_VERSION}")
    if list(manifest.get("channels", [])) != channels:
        raise ModelError(f"{name}: model input channels ({', '.join(manifest.get('channels', []))}) "
                         f"differ from the training data's ({', '.join(channels)})"
                         + (" (give or drop --coverage to match)" if len(manifest.get("channels", [])) != len(channels)
                            else ""))


def initial_model_record(name: str | None, path: Path | None, manifest: dict | None) -> dict | None:
    """What the manifest says about the model a fine-tuned model started from."""
    if name is None or manifest is None or path is None:
        return None
    return {"name": name, "file": Path(path).name, "task": manifest.get("task"),
            "created": manifest.get("created"), "description": manifest.get("description", ""),
            "training_data_sha256": manifest.get("training_data", {}).get("sha256"),
            "architecture": manifest.get("training", {}).get("architecture")}


def build_manifest(*, task: str, config, result, encoded, labels: np.ndarray, arrays, sources: dict,
                   channels: list[str], coverage: dict | None, ensemble: int, seed: int | None,
                   description: str = "", held_out_name: str = "validation", pooled: dict | None = None,
                   initial: tuple[str, Path, dict] | None = None) -> dict:
    """The manifest of a model trained by :func:`mirtron_tools.training.fit` or ``fit_ensemble``.

    ``result``: the TrainingResult; ``arrays``/``labels``: the training inputs (their sha256 is
    recorded); ``pooled``: cross-validation metrics when folds were run; ``initial``: ``(name, path,
    manifest)`` of the model fine-tuned from, whose architecture, members and member shares the new
    model keeps.
    """
    from . import metrics
    from .encoding import ENCODING_FORMAT_VERSION
    from .prediction import training_lengths
    from .prior import training_prior_record

    initial_manifest = initial[2] if initial is not None else None
    inherited = initial_manifest.get("training", {}) if initial_manifest is not None else {}
    training = {**config.to_dict(), "epochs_run": result.epochs_run, "ensemble_members": ensemble,
                # the share the model uses; with auto, also every share tried and its out-of-fold AUC
                **({"tree_weight": result.tree_weight, "tree_weight_auto": True,
                    "tree_weight_search": result.tree_weight_search} if config.tree_weight == "auto" else {}),
                **({"architecture": inherited.get("architecture"), "ensemble_members": inherited.get("ensemble_members", 1),
                    **{key: value for key, value in inherited.items() if key in INHERITED_TRAINING_KEYS}}
                   if initial_manifest is not None else {})}
    return {
        "task": task,
        "positive_class": task,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "encoding_format_version": ENCODING_FORMAT_VERSION,
        "channels": channels,
        "coverage": coverage,
        "max_length": int(encoded.max_length),
        "threshold": float(result.threshold),
        # what mt-predict --prior re-weights from (both classes weigh the same in training) and the share
        # of positives of the data the threshold was chosen on; the lengths the model saw
        **training_prior_record(int(np.sum(result.held_out_labels)),
                                int(np.sum(np.asarray(result.held_out_labels) == 0))),
        "training_lengths": training_lengths(encoded.lengths),
        "seed": seed,
        "training_data": {"sources": sources, "sha256": data_sha256(arrays, labels),
                          "n_positive": int(labels.sum()), "n_negative": int((labels == 0).sum())},
        "training": training,
        "init_model": initial_model_record(*initial) if initial is not None else None,
        "description": description,
        "metrics": {held_out_name.split()[0]: result.validation_metrics,
                    **({"cross_validation_pooled": pooled} if pooled is not None else {})},
        # each part of a blended ensemble on its own: out-of-fold metrics at its own best-F1 threshold
        "member_metrics": {part: {"threshold": threshold, **metrics.evaluate(labels, scores, threshold)}
                           for part, scores in result.held_out_parts.items()
                           for threshold in [metrics.best_f1_threshold(labels, scores)]},
        "versions": software_versions(),
    }


def data_sha256(arrays: Sequence[np.ndarray], labels: np.ndarray) -> str:
    """Fingerprint of the training inputs and labels (order-sensitive)."""
    digest = hashlib.sha256()
    for array, label in zip(arrays, labels):
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        digest.update(bytes([int(label)]))
    return digest.hexdigest()


def sequences_sha256(sequences: Iterable[str]) -> str:
    """Fingerprint of a training set's distinct sequences (order-free), recorded in manifests."""
    digest = hashlib.sha256()
    for sequence in sorted(set(sequences)):
        digest.update(sequence.encode() + b"\n")
    return digest.hexdigest()


def software_versions() -> dict[str, str]:
    """Versions that a model's behaviour depends on."""
    import keras
    import RNA
    import tensorflow as tf

    from . import __version__

    return {"mirtron_tools": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "viennarna": getattr(RNA, "__version__", "unknown"), "numpy": np.__version__}
