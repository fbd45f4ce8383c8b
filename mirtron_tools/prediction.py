"""Prediction and attention read-out, in length-bucketed batches."""
from __future__ import annotations

import weakref
from typing import Sequence

import numpy as np

from .batches import iterate_padded
from .errors import ModelError


def predict_arrays(model, arrays: Sequence[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Probabilities for per-record ``(length, channels)`` arrays, returned in input order."""
    probabilities = np.empty(len(arrays), dtype=np.float32)
    for rows, batch in iterate_padded(arrays, batch_size):
        probabilities[rows] = np.asarray(model.predict_on_batch(batch)).reshape(-1)
    return probabilities


#: One attention read-out per loaded model: building (and tracing) it again for every chunk is
#: slow, above all for ensembles.
_READERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _attention_reader(model):
    from .model import attention_model

    if model not in _READERS:
        try:
            _READERS[model] = attention_model(model)
        except ValueError as error:
            raise ModelError(str(error)) from None
    return _READERS[model]


def attention_arrays(model, arrays: Sequence[np.ndarray], batch_size: int = 256
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Probabilities and per-position attention weights (unpadded, one array per record)."""
    reader = _attention_reader(model)
    probabilities = np.empty(len(arrays), dtype=np.float32)
    weights: list[np.ndarray] = [np.empty(0)] * len(arrays)
    for rows, batch in iterate_padded(arrays, batch_size):
        batch_probabilities, batch_weights = reader.predict_on_batch(batch)
        probabilities[rows] = np.asarray(batch_probabilities).reshape(-1)
        for position, row in enumerate(rows):
            weights[row] = np.asarray(batch_weights[position, : len(arrays[row])], dtype=np.float32)
    return probabilities, weights


def check_inputs(manifest: dict, channels: int, source: str) -> None:
    """Fail clearly when the inputs do not have the channels the model was trained on."""
    expected = manifest.get("channels", [])
    if len(expected) != channels:
        extra = [name for name in expected if name not in ("A", "C", "G", "U", "paired_open", "paired_close",
                                                          "unpaired")]
        hint = f" (the model also needs: {', '.join(extra)})" if extra else ""
        raise ModelError(f"{source}: inputs have {channels} channels, the model expects "
                         f"{len(expected)}{hint}")
