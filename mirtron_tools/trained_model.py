"""A trained model with its manifest, metrics table and ROC/PR curves, and how the three are written
together (free of TensorFlow until the model is saved: :mod:`mirtron_tools.training` and
:mod:`mirtron_tools.genome_training` return it, ``mt-train`` writes it)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from . import metrics

#: columns of the metrics table of a trained model (MODEL.metrics.tsv)
METRICS_HEADER = ("split", "fold", "n", "threshold", *metrics.METRIC_NAMES)


@dataclass
class TrainedModel:
    """A model with its manifest, the rows of its metrics table (:data:`METRICS_HEADER`) and the held-out
    ``{name: (labels, scores)}`` of its ROC/PR figure."""

    model: object
    manifest: dict
    metrics_rows: list[list] = field(default_factory=list)
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: the split the manifest's metrics and threshold come from ("validation", "out_of_fold (5 members)", ...)
    held_out_name: str = "validation"
    epochs_run: int = 0


def metric_row(split: str, fold: object, count: int, threshold: str, values: dict) -> list:
    """A row of the metrics table (:data:`METRICS_HEADER`): metrics with 4 decimals."""
    return [split, fold, count, threshold, *(f"{values[name]:.4f}" for name in metrics.METRIC_NAMES)]


def write_trained_model(trained: TrainedModel, model_path: str | os.PathLike, metrics_path: str | os.PathLike,
                        plot_path: str | os.PathLike, title: str = "") -> None:
    """The model (with its manifest), its metrics table and its ROC/PR figure: all three appear together or
    not at all (each is written to a temporary file, and the renames happen after the last was written)."""
    from .io.atomic import atomic_outputs
    from .io.model import save_model
    from .io.tsv import write_table
    from .plots import curves_figure, save_figure

    with atomic_outputs() as group:
        save_model(trained.model, group.path(model_path, suffix=".keras"), trained.manifest)
        write_table(metrics_path, METRICS_HEADER, trained.metrics_rows, group=group)
        save_figure(curves_figure(trained.curves, title=title), group.path(plot_path, suffix=".png"))
