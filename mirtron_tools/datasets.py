"""Labelled training data assembled from encoded sets (pure; no TensorFlow)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .encoding import EncodedSet, concatenate
from .errors import InputError


def labelled_union(positives: Sequence[tuple[str, EncodedSet]], negatives: Sequence[tuple[str, EncodedSet]]
                   ) -> tuple[EncodedSet, np.ndarray, list[str]]:
    """Join labelled sets; ids must be unique across files.

    Identical sequences labelled both ways are dropped (they would teach noise); their ids are
    returned so the command can warn.
    """
    parts: list[EncodedSet] = []
    labels: list[int] = []
    origin: dict[str, str] = {}  # id -> the file it came from
    for label, named_sets in ((1, positives), (0, negatives)):
        for source, encoded in named_sets:
            for identifier in encoded.ids:
                if identifier in origin:
                    raise InputError(source, f"id '{identifier}' is also in {origin[identifier]}; ids must be unique")
                origin[identifier] = source
            parts.append(encoded)
            labels.extend([label] * len(encoded))
    joined = concatenate(parts)
    label_array = np.array(labels, dtype=int)
    by_sequence: dict[str, set[int]] = {}
    for sequence, label in zip(joined.sequences, label_array):
        by_sequence.setdefault(sequence, set()).add(int(label))
    conflicted = {sequence for sequence, seen in by_sequence.items() if len(seen) > 1}
    keep = [row for row, sequence in enumerate(joined.sequences) if sequence not in conflicted]
    dropped = [joined.ids[row] for row, sequence in enumerate(joined.sequences) if sequence in conflicted]
    return joined.subset(keep), label_array[keep], dropped


def labels_for(encoded: EncodedSet, labels: dict[str, int], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``encoded`` that have a label, and those labels; unknown ids in ``labels`` fail."""
    known = set(encoded.ids)
    unknown = [identifier for identifier in labels if identifier not in known]
    if unknown:
        from .errors import shortened

        raise InputError(source, f"{len(unknown)} labelled id(s) are not in the input: {shortened(unknown)}")
    rows = np.array([row for row, identifier in enumerate(encoded.ids) if identifier in labels], dtype=int)
    return rows, np.array([labels[encoded.ids[row]] for row in rows], dtype=int)

