"""Length-bucketed batches: hairpins of similar length share a batch, so short ones are not
padded to the longest one in the whole set (numpy only)."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

#: Padded lengths are rounded up to a multiple of this, which bounds TensorFlow retracing.
LENGTH_QUANTUM = 16


def pad(arrays: Sequence[np.ndarray], quantum: int = LENGTH_QUANTUM) -> np.ndarray:
    """Stack ``(length_i, channels)`` arrays into ``(n, padded_length, channels)`` float32."""
    longest = max(len(array) for array in arrays)
    padded_length = -(-longest // quantum) * quantum
    channels = arrays[0].shape[1]
    batch = np.zeros((len(arrays), padded_length, channels), dtype=np.float32)
    for row, array in enumerate(arrays):
        batch[row, : len(array)] = array
    return batch


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None
                   ) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length.

    Without ``rng`` the order is deterministic (sorted by length). With ``rng`` rows are shuffled
    within equal lengths and the batch order is shuffled, for training.
    """
    length_array = np.asarray(lengths)
    tie_breaker = rng.random(len(length_array)) if rng is not None else np.arange(len(length_array))
    order = np.lexsort((tie_breaker, length_array))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def iterate_padded(arrays: Sequence[np.ndarray], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(row_indices, padded_batch)`` in length order, for prediction."""
    for rows in length_batches([len(array) for array in arrays], batch_size):
        yield rows, pad([arrays[row] for row in rows])
