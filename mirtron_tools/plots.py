"""Figures (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import numpy as np

from . import metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def curves_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = ""):
    """ROC and precision-recall curves side by side; ``curves`` maps a name to (labels, scores)."""
    pyplot = _pyplot()
    figure, (roc_axis, pr_axis) = pyplot.subplots(1, 2, figsize=(9, 4.2))
    for name, (labels, scores) in curves.items():
        false_positive_rate, true_positive_rate = metrics.roc_curve(labels, scores)
        roc_axis.plot(false_positive_rate, true_positive_rate,
                      label=f"{name} (AUC {metrics.roc_auc(labels, scores):.3f})")
        recall, precision = metrics.precision_recall_curve(labels, scores)
        pr_axis.step(np.r_[0, recall], np.r_[precision[0] if len(precision) else 1, precision], where="pre",
                     label=f"{name} (AP {metrics.average_precision(labels, scores):.3f})")
    roc_axis.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    roc_axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01))
    pr_axis.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    roc_axis.legend(loc="lower right", fontsize=8)
    pr_axis.legend(loc="lower left", fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def save_figure(figure, path) -> None:
    """Save and close a figure (the caller supplies a temporary path for atomic output)."""
    pyplot = _pyplot()
    figure.savefig(path, dpi=120, format=str(path).rsplit(".", 1)[-1] if "." in str(path) else "png")
    pyplot.close(figure)
