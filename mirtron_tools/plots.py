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


# --------------------------------------------------------------------------------------------
# Attribution figures (mt-attend): one hairpin, and the aggregate profile by distance from the ends

_SCORE_LABELS = {"attention": "attention weight", "mutagenesis": "importance\n(mean |Δp|)"}


def _position_axis(axis, sequence: str, structure: str) -> None:
    """Nucleotide and dot-bracket character under every position (monospace, two lines)."""
    length = len(sequence)
    size = 7 if length <= 90 else 6 if length <= 140 else 5
    axis.set_xticks(np.arange(length))
    axis.set_xticklabels([f"{base}\n{state}" for base, state in zip(sequence, structure)], fontsize=size,
                         family="monospace")
    axis.tick_params(axis="x", length=0, pad=2)
    axis.set_xlim(-0.5, length - 0.5)


def attribution_figure(identifier: str, sequence: str, structure: str, scores: np.ndarray,
                       probability: float, call: str, method: str = "attention",
                       deltas: np.ndarray | None = None, tracks: dict[str, np.ndarray] | None = None,
                       note: str | None = None):
    """One hairpin: per-position score as bars and as a heat strip, optional coverage tracks.

    ``scores``: ``(length,)`` attention weights or mutagenesis importance; ``deltas``:
    ``(length, 4)`` change in probability per substitution (mutagenesis), drawn as an
    A/C/G/U heat map instead of the one-row strip; ``tracks``: name -> ``(length,)`` read counts.
    The sequence and its dot-bracket run along the x axis; the title gives the probability and
    ``note`` (what share of the call the explained networks carry).
    """
    pyplot = _pyplot()
    length = len(sequence)
    tracks = tracks or {}
    strip_rows = 4 if deltas is not None else 1
    heights = [2.2, 0.35 * strip_rows + 0.25] + [0.9] * len(tracks)
    width = max(6.0, 0.105 * length + 1.8)
    figure, axes = pyplot.subplots(len(heights), 1, figsize=(width, sum(heights) + 1.3 + (0.3 if note else 0)),
                                   sharex=True,
                                   gridspec_kw={"height_ratios": heights})
    if note:  # room for the second title line above the position numbers (before the colour bar is placed)
        figure.subplots_adjust(top=1 - 0.95 / figure.get_figheight())
    bars_axis, strip_axis, track_axes = axes[0], axes[1], axes[2:]
    positions = np.arange(length)
    bars_axis.bar(positions, scores, width=0.85, color="#4a6fa5")
    if method == "attention":
        bars_axis.axhline(1.0 / length, color="grey", linestyle=":", linewidth=1, label="uniform (1/length)")
        bars_axis.legend(loc="upper right", fontsize=7, frameon=False)
    elif deltas is not None:  # the dots of the A/C/G/U map, explained once where there is room
        from matplotlib.lines import Line2D

        bars_axis.legend(handles=[Line2D([], [], marker="o", color="black", linestyle="", markersize=3,
                                         label="dot below: the hairpin's own base (not substituted)")],
                         loc="upper right", fontsize=7, frameon=False)
    bars_axis.set_ylabel(_SCORE_LABELS.get(method, method), fontsize=8)
    bars_axis.set_ylim(0, max(float(np.max(scores)) * 1.12, 1e-9))
    secondary = bars_axis.secondary_xaxis("top")
    secondary.set_xticks(np.arange(9, length, 10), labels=[str(tick + 1) for tick in np.arange(9, length, 10)],
                         fontsize=7)
    if deltas is not None:
        limit = max(float(np.max(np.abs(deltas))), 1e-6)
        image = strip_axis.imshow(deltas.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                                  interpolation="nearest")
        strip_axis.set_yticks(range(4), labels=list("ACGU"), fontsize=7, family="monospace")
        own = [(position, "ACGU".index(base)) for position, base in enumerate(sequence) if base in "ACGU"]
        if own:  # the hairpin's own base: no substitution, marked so a white cell is not read as "no effect"
            strip_axis.scatter(*zip(*own), s=4, color="black", marker="o", linewidths=0)
        colorbar_label = "Δp"
    else:
        image = strip_axis.imshow(np.asarray(scores)[None, :], aspect="auto", cmap="viridis",
                                  interpolation="nearest")
        strip_axis.set_yticks([])
        colorbar_label = "weight"
    colorbar = figure.colorbar(image, ax=list(axes), fraction=0.015 if width > 10 else 0.03, pad=0.01)
    colorbar.set_label(colorbar_label, fontsize=8)
    colorbar.ax.tick_params(labelsize=7)
    for axis, (name, values) in zip(track_axes, tracks.items()):
        axis.fill_between(positions, values, step="mid", color="#c07a2c", alpha=0.8)
        axis.set_ylabel("reads", fontsize=7)
        axis.text(0.005, 0.95, name, transform=axis.transAxes, fontsize=7, va="top", ha="left")
        axis.set_ylim(bottom=0, top=max(1.0, float(np.max(values)) * 1.15) if len(values) else 1.0)
        axis.yaxis.get_major_locator().set_params(integer=True)
        axis.tick_params(axis="y", labelsize=7)
    for axis in axes:
        axis.tick_params(axis="y", labelsize=7)
    _position_axis(axes[-1], sequence, structure)
    what = "attention" if method == "attention" else "in-silico saturation mutagenesis"
    figure.suptitle(f"{identifier}  ({length} nt): probability {probability:.3f}, call {call}  [{what}]"
                    + (f"\n{note}" if note else ""), fontsize=10)
    return figure


def end_profile_figure(profile, method: str = "attention", title: str = "", minimum_fraction: float = 0.5):
    """Mean relative score by distance from the 5' end (left) and the 3' end (right), per group.

    ``profile`` is an :class:`mirtron_tools.attribution.EndProfile`. A group's curve stops where
    fewer than ``minimum_fraction`` of its hairpins are that long, so every point drawn is a mean
    over at least that share of the group. 1.0 = what a uniform spread over the hairpin gives.
    """
    pyplot = _pyplot()
    figure, (five_axis, three_axis) = pyplot.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    # Positive class in reds, 'other' in blues; predicted solid and dark, true dashed and light.
    colours = {("predicted", False): "#b2182b", ("predicted", True): "#2166ac",
               ("true", False): "#ef8a62", ("true", True): "#67a9cf"}
    for group in sorted(profile.groups, key=lambda name: (not name.startswith("predicted"), name.endswith("other"))):
        kind, _, name = group.partition(" ")
        colour = colours.get((kind, name == "other"), "#444444")
        style = "-" if kind == "predicted" else "--"
        size = profile.group_sizes[group]
        for end, axis in (("5p", five_axis), ("3p", three_axis)):
            counts, _, relative = profile.curve(group, end)
            keep = int((counts >= max(1, minimum_fraction * size)).sum())
            axis.plot(np.arange(keep), relative[:keep], style, color=colour, linewidth=1.6,
                      label=f"{group} (n={size})")
    for axis in (five_axis, three_axis):
        axis.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        axis.grid(alpha=0.3)
    three_axis.invert_xaxis()
    five_axis.set(xlabel="distance from the 5' end (nt)",
                  ylabel=("mean attention relative to uniform" if method == "attention"
                          else "mean importance relative to the hairpin mean"))
    three_axis.set(xlabel="distance from the 3' end (nt)")
    five_axis.set_title("5' end", fontsize=10)
    three_axis.set_title("3' end", fontsize=10)
    five_axis.legend(fontsize=8, loc="upper right")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------------
# Genome-scan survey (mt-predict --survey-plot)

def survey_figure(candidates: np.ndarray, decoys: np.ndarray | None, known: np.ndarray | None, threshold: float,
                  known_total: int | None = None):
    """Score distributions of the scan's candidates, its decoys and the known loci (each locus at its
    best-scored candidate), as shares of each group per probability bin; the call threshold as a line.

    Genome-scale probabilities crowd near 0, so the x axis is logarithmic and its 40 bins span the
    scores that occur (lowest to highest, 0 counted in the first bin), not 0-1. ``known_total``: the
    known loci on the scanned contigs (the survey's ``known_total``), so the legend says how many of
    them a candidate reaches (``known`` holds only those)."""
    pyplot = _pyplot()
    figure, axis = pyplot.subplots(figsize=(9.5, 4), constrained_layout=True)
    groups = [("candidates", candidates, "#444444"), ("decoys", decoys, "#1f77b4"), ("known loci", known, "#d62728")]
    present = [np.asarray(values, dtype=np.float64) for _, values, _ in groups if values is not None and len(values)]
    every = np.concatenate(present) if present else np.array([threshold])
    positive = every[every > 0]
    low = max(float(positive.min()) if len(positive) else 1e-4, 1e-6)
    low = min(low, threshold) if threshold > 0 else low
    high = min(1.0, max(float(every.max()), threshold))
    high = high if high > low * 1.01 else low * 2
    bins = np.geomspace(low, high * (1 + 1e-9), 41)
    for label, values, colour in groups:
        if values is None or not len(values):
            continue
        counts, _ = np.histogram(np.clip(np.asarray(values, dtype=np.float64), low, high), bins=bins)
        if label == "known loci":
            reached = f"n={len(values)}" + (f" of {known_total} on the scanned contigs" if known_total else "")
            label = f"known loci with a candidate\n({reached};\neach at its best candidate)"
        else:
            label = f"{label} (n={len(values)})"
        axis.stairs(counts / len(values), bins, color=colour, label=label, linewidth=1.4)
    axis.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"call threshold {threshold:.3g}")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("probability (genome-scale, log scale)")
    axis.set_ylabel("share of the group per bin")
    axis.set_xlim(low, high)
    axis.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axis.set_title("mt-predict: genome-scan scores")
    return figure


def figure_png(figure, dpi: int = 100) -> bytes:
    """A figure as PNG bytes (for an HTML report), the figure left open."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    return buffer.getvalue()


def close_figure(figure) -> None:
    _pyplot().close(figure)
