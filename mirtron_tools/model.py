"""Keras architecture: masked bidirectional LSTM with additive attention pooling.

Input: ``(batch, positions, channels)`` float32, zero rows are padding (masked).
Output: probability of the positive class. The ``attention`` layer's per-position weights
(non-negative, summing to 1 over unpadded positions) can be read back with
:func:`mirtron_tools.ensemble.attention_model` (which averages an ensemble's members). The fixed feature
layers are in :mod:`mirtron_tools.features`, the ensembles (regression, trees, blends) in
:mod:`mirtron_tools.ensemble`.
"""
from __future__ import annotations

import keras
from keras import ops

from .config import Architecture  # noqa: F401  (TensorFlow-free; re-exported here)

ATTENTION_LAYER = "attention"
PROBABILITY_LAYER = "probability"


@keras.saving.register_keras_serializable(package="mirtron_tools")
class AttentionPooling(keras.layers.Layer):
    """Additive (Bahdanau-style) attention pooling over time.

    ``score_t = v . tanh(W h_t + b)``, softmax over unmasked positions; returns
    ``(context, weights)`` with shapes ``(batch, features)`` and ``(batch, positions)``.
    """

    def __init__(self, units: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.projection = self.add_weight(name="projection", shape=(features, self.units),
                                          initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.score_vector = self.add_weight(name="score_vector", shape=(self.units,),
                                            initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs, mask=None):
        hidden = ops.tanh(ops.matmul(inputs, self.projection) + self.bias)
        scores = ops.sum(hidden * self.score_vector, axis=-1)
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = weights * ops.cast(mask, weights.dtype)
        context = ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)
        return context, weights

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), (input_shape[0], input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@keras.saving.register_keras_serializable(package="mirtron_tools")
class MaskedMean(keras.layers.Layer):
    """Mean of ``features`` over the positions where ``raw`` (the padded input) is not all zero.

    Used after a convolution, which does not carry Keras masks: this turns per-position motif
    detectors into k-mer-like frequencies that ignore padding.
    """

    def call(self, inputs):
        features, raw = inputs
        present = ops.cast(ops.any(ops.not_equal(raw, 0), axis=-1), features.dtype)
        total = ops.sum(features * ops.expand_dims(present, -1), axis=1)
        return total / ops.maximum(ops.sum(present, axis=1, keepdims=True), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])


def build_model(channels: int, architecture: Architecture = Architecture()) -> keras.Model:
    """Build the classifier for inputs with ``channels`` features per position, any length."""
    inputs = keras.Input(shape=(None, channels), name="hairpin")
    masked = keras.layers.Masking(mask_value=0.0, name="padding")(inputs)
    recurrent, forward_end, _, backward_end, _ = keras.layers.Bidirectional(
        keras.layers.LSTM(architecture.lstm_units, return_sequences=True, return_state=True,
                          recurrent_dropout=architecture.recurrent_dropout),
        name="bilstm",
    )(masked)
    recurrent = keras.layers.Dropout(architecture.dropout, name="sequence_dropout")(recurrent)
    context, _weights = AttentionPooling(architecture.attention_units, name=ATTENTION_LAYER)(recurrent)
    # The final states summarise the two ends of the hairpin, where splicing defines a mirtron
    # (donor GU at the 5' end, acceptor AG at the 3' end); attention pooling alone may blur them.
    pieces = [context, forward_end, backward_end]
    if architecture.motif_filters:
        motifs = keras.layers.Conv1D(architecture.motif_filters, architecture.motif_width, padding="same",
                                     activation="relu", name="motifs")(inputs)
        pieces.append(MaskedMean(name="motif_frequencies")([motifs, inputs]))
    summary = keras.layers.Concatenate(name="summary")(pieces)
    hidden = keras.layers.Dense(architecture.dense_units, activation="relu", name="dense")(summary)
    hidden = keras.layers.Dropout(architecture.dropout, name="dense_dropout")(hidden)
    output = keras.layers.Dense(1, activation="sigmoid", name=PROBABILITY_LAYER)(hidden)
    return keras.Model(inputs, output, name="mirtron_lstm_attention")
