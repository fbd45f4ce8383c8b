"""Prediction and attention read-out, in length-bucketed batches."""
from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .batches import iterate_padded
from .errors import ModelError

logger = logging.getLogger(__name__)


class CompiledModel:
    """A model's forward pass traced once, for any batch size and length (``[None, None, channels]``).

    Keras' ``predict_on_batch`` traces a new graph for every padded length it meets (seconds each,
    for an ensemble); one shape-polymorphic trace serves the whole run. ``trace_seconds`` says what
    the trace cost. The outputs are those of ``model(batch, training=False)``, unchanged.
    """

    def __init__(self, model, channels: int):
        import tensorflow as tf

        started = time.perf_counter()
        function = tf.function(lambda batch: model(batch, training=False),
                               input_signature=[tf.TensorSpec([None, None, channels], tf.float32)])
        self._concrete = function.get_concrete_function()
        self.trace_seconds = time.perf_counter() - started
        self.channels = channels
        logger.debug("traced %s once for inputs of any length (%.2f s)", model.name, self.trace_seconds)

    def __call__(self, batch: np.ndarray):
        import tensorflow as tf

        outputs = self._concrete(tf.constant(batch, dtype=tf.float32))
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(output) for output in outputs]
        return np.asarray(outputs)


#: One compiled forward pass per loaded model and channel count.
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled(model, channels: int) -> CompiledModel:
    """The :class:`CompiledModel` of ``model`` (built on first use, then reused for the whole run)."""
    known = _COMPILED.setdefault(model, {})
    if channels not in known:
        known[channels] = CompiledModel(model, channels)
    return known[channels]


def predict_arrays(model, arrays: Sequence[np.ndarray], batch_size: int = 256,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Probabilities for per-record ``(length, channels)`` arrays, returned in input order;
    ``progress`` is called with the number of records of each batch scored."""
    probabilities = np.empty(len(arrays), dtype=np.float32)
    if not len(arrays):
        return probabilities
    forward = compiled(model, arrays[0].shape[1])
    for rows, batch in iterate_padded(arrays, batch_size):
        probabilities[rows] = np.asarray(forward(batch)).reshape(-1)
        if progress is not None:
            progress(len(rows))
    return probabilities


#: One attention read-out per loaded model: building (and tracing) it again for every chunk is
#: slow, above all for ensembles.
_READERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _attention_reader(model):
    from .ensemble import attention_model

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
    if not len(arrays):
        return probabilities, weights
    forward = compiled(reader, arrays[0].shape[1])
    for rows, batch in iterate_padded(arrays, batch_size):
        batch_probabilities, batch_weights = forward(batch)
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


@dataclass
class LengthCheck:
    """Counts the hairpins outside the lengths a model saw in training (manifest
    ``training_lengths``: ``{"min": nt, "max": nt}``), so that a command warns once, not per hairpin.

    The networks read any length, but their probabilities are extrapolations outside that range.
    A manifest without the record (models of older versions) checks nothing.
    """

    shortest: int | None = None
    longest: int | None = None
    scored: int = 0
    outside: int = 0
    seen_shortest: int | None = None
    seen_longest: int | None = None

    @classmethod
    def from_manifest(cls, manifest: dict) -> "LengthCheck":
        record = manifest.get("training_lengths")
        if not isinstance(record, dict) or not all(isinstance(record.get(key), int) for key in ("min", "max")):
            return cls()
        return cls(shortest=int(record["min"]), longest=int(record["max"]))

    def add(self, lengths) -> None:
        """Record a chunk's hairpin lengths (nt)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if not len(lengths) or self.shortest is None:
            return
        self.scored += len(lengths)
        outside = lengths[(lengths < self.shortest) | (lengths > self.longest)]
        if len(outside):
            self.outside += len(outside)
            low, high = int(outside.min()), int(outside.max())
            self.seen_shortest = low if self.seen_shortest is None else min(self.seen_shortest, low)
            self.seen_longest = high if self.seen_longest is None else max(self.seen_longest, high)

    def message(self, model_name: str) -> str | None:
        """One warning line when any hairpin was outside the training lengths, else None."""
        if not self.outside:
            return None
        span = (f"{self.seen_shortest} nt" if self.seen_shortest == self.seen_longest
                else f"{self.seen_shortest}-{self.seen_longest} nt")
        return (f"{self.outside} of {self.scored} hairpins ({span}) are outside the lengths model {model_name} saw "
                f"in training ({self.shortest}-{self.longest} nt): their probabilities are extrapolated")


def training_lengths(lengths) -> dict:
    """The manifest's ``training_lengths`` record of a training set's hairpin lengths (nt)."""
    lengths = np.asarray(lengths)
    return {"min": int(lengths.min()), "max": int(lengths.max())}
