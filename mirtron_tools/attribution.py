"""Which positions of a hairpin decide the call: attention weights and in-silico mutagenesis.

Pure functions over arrays; the model enters only as a ``predict`` callable
(``list of (length, channels) arrays -> probabilities``), so nothing here imports TensorFlow.

Two per-position scores are offered:

- **attention**: the weights of the model's attention layer (non-negative, summing to 1 over
  the unpadded positions). Cheap, but attention says where the model pools information, not
  how much the call depends on it.
- **mutagenesis** (in-silico saturation mutagenesis): every single-base substitution is made,
  the mutant is refolded with ViennaRNA (a substitution can change the whole structure), and
  the change in probability ``p(mutant) - p(reference)`` is recorded. The per-position
  *importance* is the mean absolute change over the substitutions at that position.

Both feed the same aggregate profile: mean score by distance from the 5' and the 3' end, per
group of hairpins (predicted class, true class).
"""
from __future__ import annotations

import contextlib
import heapq
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from .encoding import fold_many, fold_pool, input_array

BASES = "ACGU"
#: Ends of a hairpin the aggregate profile measures distance from.
ENDS = ("5p", "3p")

Predict = Callable[[Sequence[np.ndarray]], np.ndarray]


# --------------------------------------------------------------------------------------------
# Per-position table rows


def attention_header(extra_channels: Sequence[str] = ()) -> list[str]:
    """Header of the per-position attention table."""
    return ["id", "position", "nucleotide", "structure", "attention", *extra_channels]


def mutagenesis_header(extra_channels: Sequence[str] = ()) -> list[str]:
    """Header of the per-position mutagenesis table."""
    return ["id", "position", "nucleotide", "structure", *(f"delta_{base}" for base in BASES), "importance",
            *extra_channels]


def _extra_fields(extra: np.ndarray | None, position: int) -> list[str]:
    if extra is None:
        return []
    return [f"{float(value):.4g}" for value in extra[position]]


def attention_rows(identifier: str, sequence: str, structure: str, weights: np.ndarray,
                   extra: np.ndarray | None = None) -> Iterator[list[str]]:
    """Rows ``id, position (1-based), nucleotide, structure, attention[, extra channels]``.

    ``weights``: ``(length,)``; ``extra``: ``(length, k)`` per-position channels (coverage) or None.
    """
    for position, (nucleotide, state) in enumerate(zip(sequence, structure)):
        yield [identifier, str(position + 1), nucleotide, state, f"{float(weights[position]):.6f}",
               *_extra_fields(extra, position)]


def mutagenesis_rows(identifier: str, sequence: str, structure: str, deltas: np.ndarray,
                     extra: np.ndarray | None = None) -> Iterator[list[str]]:
    """Rows ``id, position, nucleotide, structure, delta_A..delta_U, importance[, extra]``.

    ``deltas``: ``(length, 4)`` change in probability per substitution (0 at the reference base).
    """
    importance = mutagenesis_importance(sequence, deltas)
    for position, (nucleotide, state) in enumerate(zip(sequence, structure)):
        yield [identifier, str(position + 1), nucleotide, state,
               *(f"{float(value):.5f}" for value in deltas[position]), f"{float(importance[position]):.5f}",
               *_extra_fields(extra, position)]


# --------------------------------------------------------------------------------------------
# In-silico saturation mutagenesis


def substitutions(sequence: str) -> list[tuple[int, int, str]]:
    """Every single-base substitution as ``(position, base index in ACGU, mutant sequence)``.

    A known base gets the three others; an unknown one (N, IUPAC) gets all four.
    """
    mutants = []
    for position, reference in enumerate(sequence):
        for index, base in enumerate(BASES):
            if base != reference:
                mutants.append((position, index, sequence[:position] + base + sequence[position + 1:]))
    return mutants


def mutagenesis_importance(sequence: str, deltas: np.ndarray) -> np.ndarray:
    """``(length,)`` mean absolute change in probability over the substitutions at each position."""
    substituted = np.array([[base != reference for base in BASES] for reference in sequence], dtype=bool)
    counts = substituted.sum(axis=1)
    return (np.abs(deltas) * substituted).sum(axis=1) / np.maximum(counts, 1)


def saturation_mutagenesis(
    sequences: Sequence[str],
    predict: Predict,
    reference_probabilities: np.ndarray,
    extra: Sequence[np.ndarray] | None = None,
    threads: int = 1,
    energy: bool = False,
    group_mutants: int = 512,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield, per hairpin in input order, a ``(length, 4)`` float32 array of ``p(mutant) - p(reference)``.

    Each mutant is refolded with ViennaRNA before it is encoded. ``extra`` (coverage) channels
    are kept as they are: a substitution does not change the reads. With ``energy`` the inputs
    carry the free-energy channel, from each mutant's own fold. Hairpins are processed in
    groups of about ``group_mutants`` mutants (two hairpins of 85 nt): that bounds memory, lets a
    caller report progress hairpin by hairpin, and keeps a batch of mutants for ``predict``; with
    ``threads`` > 1 one pool of fold processes serves every group. ``reference_probabilities``
    must come from the same ``predict``.
    """
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(fold_pool(threads)) if threads > 1 and len(sequences) else None
        yield from _mutagenesis_groups(sequences, predict, reference_probabilities, extra, threads, energy,
                                       group_mutants, progress, pool)


def _mutagenesis_groups(sequences, predict, reference_probabilities, extra, threads, energy, group_mutants,
                        progress, pool) -> Iterator[np.ndarray]:
    start = 0
    while start < len(sequences):
        stop, mutants = start, 0
        while stop < len(sequences) and (stop == start or mutants + 3 * len(sequences[stop]) <= group_mutants):
            mutants += 3 * len(sequences[stop])
            stop += 1
        plan = [substitutions(sequences[row]) for row in range(start, stop)]
        mutant_sequences = [mutant for record in plan for _, _, mutant in record]
        folded = fold_many(mutant_sequences, threads=threads, pool=pool)
        arrays, cursor = [], 0
        for offset, record in enumerate(plan):
            for _, _, mutant in record:
                structure, mfe = folded[cursor]
                arrays.append(input_array(mutant, structure, mfe if energy else None,
                                          None if extra is None else extra[start + offset]))
                cursor += 1
        probabilities = predict(arrays) if arrays else np.empty(0, dtype=np.float32)
        cursor = 0
        for offset, record in enumerate(plan):
            row = start + offset
            deltas = np.zeros((len(sequences[row]), len(BASES)), dtype=np.float32)
            for position, index, _ in record:
                deltas[position, index] = probabilities[cursor] - reference_probabilities[row]
                cursor += 1
            yield deltas
            if progress:
                progress(1)
        start = stop


# --------------------------------------------------------------------------------------------
# Aggregate profile by distance from the ends


@dataclass
class EndProfile:
    """Running sums of a per-position score by distance from the 5' and 3' ends, per group.

    Distance 0 is the terminal nucleotide. Two means are kept per (group, end, distance):
    ``mean_score``, the plain mean, and ``mean_relative``, the mean of ``score * length / sum``:
    1.0 means "as much as a uniform spread would give", which makes hairpins of different
    lengths comparable (attention weights of a long hairpin are smaller because they sum to 1).
    Memory is ``O(groups * longest hairpin)`` whatever the number of hairpins; ``max_length``
    is the initial size, and the sums grow when a longer hairpin arrives.
    """

    max_length: int = 200
    sums: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    relative_sums: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    counts: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    group_sizes: dict[str, int] = field(default_factory=dict)

    def add(self, group: str, scores: np.ndarray) -> None:
        """Add one hairpin's ``(length,)`` scores to ``group``."""
        scores = np.asarray(scores, dtype=np.float64)
        length = len(scores)
        if length == 0:
            return
        if length > self.max_length:
            grow = length - self.max_length
            for store in (self.sums, self.relative_sums, self.counts):
                for key, values in store.items():
                    store[key] = np.concatenate([values, np.zeros(grow, dtype=values.dtype)])
            self.max_length = length
        total = scores.sum()
        relative = scores * length / total if total > 0 else np.ones(length)  # no signal: uniform
        self.group_sizes[group] = self.group_sizes.get(group, 0) + 1
        for end, ordered, ordered_relative in (("5p", scores, relative), ("3p", scores[::-1], relative[::-1])):
            key = (group, end)
            if key not in self.sums:
                self.sums[key] = np.zeros(self.max_length)
                self.relative_sums[key] = np.zeros(self.max_length)
                self.counts[key] = np.zeros(self.max_length, dtype=np.int64)
            self.sums[key][:length] += ordered
            self.relative_sums[key][:length] += ordered_relative
            self.counts[key][:length] += 1

    @property
    def groups(self) -> list[str]:
        return list(self.group_sizes)

    def curve(self, group: str, end: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(counts, mean_score, mean_relative)`` over distances where at least one hairpin reaches."""
        counts = self.counts[(group, end)]
        reached = int((counts > 0).sum())
        counts = counts[:reached]
        return (counts, self.sums[(group, end)][:reached] / counts,
                self.relative_sums[(group, end)][:reached] / counts)

    HEADER = ("group", "end", "distance", "hairpins", "mean_score", "mean_relative")

    def rows(self) -> Iterator[list[str]]:
        """Table rows: group, end (5p/3p), distance (0 = terminal base), hairpins, means."""
        for group in self.groups:
            for end in ENDS:
                counts, mean, relative = self.curve(group, end)
                for distance in range(len(counts)):
                    yield [group, end, str(distance), str(int(counts[distance])), f"{mean[distance]:.6f}",
                           f"{relative[distance]:.4f}"]


def prediction_groups(probability: float, threshold: float, positive_class: str,
                      true_label: int | None = None) -> list[str]:
    """Aggregate groups one hairpin belongs to: ``predicted <class>`` and, if labelled, ``true <class>``."""
    groups = [f"predicted {positive_class if probability >= threshold else 'other'}"]
    if true_label is not None:
        groups.append(f"true {positive_class if true_label else 'other'}")
    return groups


# --------------------------------------------------------------------------------------------
# Keeping the hairpins to draw


@dataclass(order=True)
class _Ranked:
    probability: float
    order: int
    payload: object = field(compare=False)


class TopScoring:
    """The ``count`` highest-probability items seen so far (ties: the earlier one wins); bounded memory."""

    def __init__(self, count: int):
        self.count = count
        self._heap: list[_Ranked] = []
        self._seen = 0

    def offer(self, probability: float, payload: object) -> None:
        if self.count <= 0:
            return
        item = _Ranked(float(probability), -self._seen, payload)
        self._seen += 1
        if len(self._heap) < self.count:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def items(self) -> list[object]:
        """Payloads from the highest probability down."""
        return [item.payload for item in sorted(self._heap, reverse=True)]
