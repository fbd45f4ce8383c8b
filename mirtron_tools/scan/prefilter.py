"""The optional prefilter: skip a window before folding when no helix-like diagonal of its dot plot reaches the
anchored end (``ScanParameters.prefilter``; off by default)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .parameters import ScanParameters

_CODES = np.zeros(256, dtype=np.int8)
for _index, _letter in enumerate("ACGU"):
    _CODES[ord(_letter)] = _index + 1
_PAIR_SCORE = np.full((5, 5), 2.0, dtype=np.float32)
for _first, _second, _score in (("A", "U", -2), ("U", "A", -2), ("G", "C", -3), ("C", "G", -3),
                                ("G", "U", -1), ("U", "G", -1)):
    _PAIR_SCORE["-ACGU".index(_first), "-ACGU".index(_second)] = _score
_MIN_LOOP = 3


def prefilter_scores(sequences: Sequence[str], anchor: str, parameters: ScanParameters) -> np.ndarray:
    """Best helix score reaching the anchored end of each sequence (lower = more helix-like).

    For every anti-diagonal of the dot plot whose 3' partner (``anchor="3"``) or 5' partner
    (``anchor="5"``) lies within ``max_splice_distance + 2 * prefilter_block`` nt of the
    anchored end, the sum of per-pair scores (GC -3, AU -2, GU -1, anything else +2) over
    ``prefilter_block`` consecutive positions; the minimum over all such blocks. Vectorised over
    the sequences (numpy), which is what makes it cheap beside folding.
    """
    block = parameters.prefilter_block
    count = len(sequences)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    size = max(len(sequence) for sequence in sequences)
    codes = np.zeros((count, size), dtype=np.int8)
    for row, sequence in enumerate(sequences):
        text = sequence if anchor == "3" else sequence[::-1]
        # right-align, so the anchored end is the last column (5' anchors are read reversed)
        codes[row, size - len(text):] = _CODES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    reach = min(parameters.max_splice_distance + 2 * block, size)
    tail = np.arange(size - reach, size)
    best = np.zeros(count, dtype=np.float32)
    zero_column = np.zeros((count, 1), dtype=np.float32)
    for diagonal in range(size - reach, 2 * size - 1):
        partner = diagonal - tail
        valid = (partner >= 0) & (partner < tail - _MIN_LOOP)
        if int(valid.sum()) < block:
            continue
        ends, starts = codes[:, tail[valid]], codes[:, partner[valid]]
        scores = _PAIR_SCORE[ends, starts]
        scores[(ends == 0) | (starts == 0)] = 2.0
        sums = np.cumsum(np.concatenate([zero_column, scores], axis=1), axis=1)
        best = np.minimum(best, (sums[:, block:] - sums[:, :-block]).min(axis=1))
    return best


def prefilter_keep(sequences: Sequence[str], anchor: str, parameters: ScanParameters) -> np.ndarray:
    """Boolean mask: the sequences that the prefilter lets through to folding."""
    return prefilter_scores(sequences, anchor, parameters) <= parameters.prefilter_threshold
