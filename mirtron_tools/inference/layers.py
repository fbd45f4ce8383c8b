"""The layers of the bundled and mt-train models in numpy: Keras built-ins and mirtron_tools' own.

Every builder takes a layer's saved config and its variables (in saving order) and returns a function of
the layer's call arguments (``args``, ``kwargs`` as recorded in the Keras graph), returning one array or a
list of arrays as the Keras layer does. :data:`BUILDERS` maps the saved class names to builders; a class
that is not there makes the model unsupported here (:class:`Unsupported`), and it is scored by Keras.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import features

FLOAT = np.float32
Call = Callable[[list, dict], object]


class Unsupported(Exception):
    """A model has a layer (or a setting of one) that this module does not evaluate."""


def sigmoid(values: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for large negative values."""
    return (FLOAT(0.5) * (FLOAT(1.0) + np.tanh(FLOAT(0.5) * values))).astype(FLOAT, copy=False)


ACTIVATIONS: dict[str | None, Callable[[np.ndarray], np.ndarray]] = {
    None: lambda values: values,
    "linear": lambda values: values,
    "relu": lambda values: np.maximum(values, FLOAT(0.0)),
    "sigmoid": sigmoid,
    "tanh": np.tanh,
}


def _activation(config: dict, key: str = "activation") -> Callable[[np.ndarray], np.ndarray]:
    name = config.get(key)
    if name not in ACTIVATIONS:
        raise Unsupported(f"activation {name!r}")
    return ACTIVATIONS[name]


def _variables(variables: Sequence[np.ndarray], count: int, what: str) -> Sequence[np.ndarray]:
    if len(variables) != count:
        raise Unsupported(f"{what} with {len(variables)} weight arrays (expected {count})")
    return variables


def dense(config: dict, variables: Sequence[np.ndarray]) -> Call:
    kernel, *rest = _variables(variables, 2 if config.get("use_bias", True) else 1, "Dense")
    bias = rest[0] if rest else None
    activation = _activation(config)

    def call(args, kwargs):
        out = args[0] @ kernel
        if bias is not None:
            out = out + bias
        return activation(out)
    return call


def conv1d(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """``Conv1D`` with stride 1 and dilation 1, ``same`` or ``valid`` padding, channels last."""
    if (tuple(config.get("strides", [1])) != (1,) or tuple(config.get("dilation_rate", [1])) != (1,)
            or config.get("groups", 1) != 1 or config.get("data_format", "channels_last") != "channels_last"
            or config.get("padding") not in ("same", "valid")):
        raise Unsupported("Conv1D settings")
    kernel, *rest = _variables(variables, 2 if config.get("use_bias", True) else 1, "Conv1D")
    bias = rest[0] if rest else None
    width = kernel.shape[0]
    activation = _activation(config)
    same = config["padding"] == "same"

    def call(args, kwargs):
        inputs = args[0]
        if same:
            left = (width - 1) // 2
            inputs = np.pad(inputs, [(0, 0), (left, width - 1 - left), (0, 0)])
        length = inputs.shape[1] - width + 1
        out = inputs[:, 0:length] @ kernel[0]
        for offset in range(1, width):
            out += inputs[:, offset:offset + length] @ kernel[offset]
        if bias is not None:
            out = out + bias
        return activation(out)
    return call


def _check_lstm(layer: dict) -> None:
    if (layer.get("class_name") != "LSTM" or layer["config"].get("stateful")
            or not layer["config"].get("use_bias", True) or layer["config"].get("activation", "tanh") != "tanh"
            or layer["config"].get("recurrent_activation", "sigmoid") != "sigmoid"):
        raise Unsupported("LSTM settings")


#: positions whose input projections are computed at once (memory: steps x 2 x batch x 4 units floats)
STEP_BLOCK = 32


def _gate_weights(cell: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An LSTM cell's kernel, recurrent kernel and bias with the gates reordered from Keras' (input, forget,
    candidate, output) to (input, forget, output, candidate) and the three sigmoid gates halved: then one
    ``tanh`` over all gates gives them all, ``sigmoid(z) = (1 + tanh(z / 2)) / 2`` (halving is exact)."""
    units = cell[1].shape[0]
    order = np.concatenate([np.arange(0, 2 * units), np.arange(3 * units, 4 * units), np.arange(2 * units, 3 * units)])
    scale = np.concatenate([np.full(3 * units, 0.5, dtype=FLOAT), np.ones(units, dtype=FLOAT)])
    return tuple(np.ascontiguousarray(np.asarray(weights, dtype=FLOAT)[..., order] * scale)  # type: ignore[return-value]
                 for weights in cell[:3])


def _lstm_loop(inputs: np.ndarray, mask, cells: Sequence[Sequence[np.ndarray]], backwards: Sequence[bool],
               sequences: bool, zero_masked: bool):
    """Run LSTM cells (one per direction) over ``(batch, positions, channels)`` in one loop over positions,
    as a stacked matrix product. Masked steps keep the state; their output is zero (``zero_masked``, Keras'
    ``zero_output_for_mask``) or the previous one. Returns ``(outputs (directions, batch, positions, units)
    or None, hidden, cell)``, the states at the end."""
    batch, length, _ = inputs.shape
    valid = np.ones((batch, length), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    weights = [_gate_weights(cell) for cell in cells]
    directions, units = len(cells), weights[0][1].shape[0]
    recurrent = np.stack([weight[1] for weight in weights])
    # the input projections in the order each direction reads them, a block of steps at a time (bounded
    # memory): (steps, directions, batch, 4 units), contiguous per step
    order = np.stack([np.arange(length)[::-1] if backward else np.arange(length) for backward in backwards])
    inputs = np.asarray(inputs, dtype=FLOAT)
    steps_valid = np.stack([valid[:, order[row]].T for row in range(directions)], axis=1)  # (steps, dirs, batch)
    complete = np.asarray(steps_valid.all(axis=(1, 2)))
    hidden = np.zeros((directions, batch, units), dtype=FLOAT)
    cell_state = np.zeros((directions, batch, units), dtype=FLOAT)
    outputs = np.zeros((length, directions, batch, units), dtype=FLOAT) if sequences else None
    previous = hidden
    gates = np.empty((directions, batch, 4 * units), dtype=FLOAT)
    half = FLOAT(0.5)
    projected = np.empty((min(STEP_BLOCK, length), directions, batch, 4 * units), dtype=FLOAT)
    for step in range(length):
        if step % STEP_BLOCK == 0:
            block = order[:, step:step + STEP_BLOCK]
            for row, weight in enumerate(weights):
                values = inputs[:, block[row]] @ weight[0]  # (batch, steps, 4 units)
                values += weight[2]
                projected[:block.shape[1], row] = values.transpose(1, 0, 2)
        np.matmul(hidden, recurrent, out=gates)
        gates += projected[step % STEP_BLOCK]
        np.tanh(gates, out=gates)
        sigmoids = gates[..., :3 * units]
        sigmoids *= half
        sigmoids += half
        entry, forget = gates[..., :units], gates[..., units:2 * units]
        exit_gate, candidate = gates[..., 2 * units:3 * units], gates[..., 3 * units:]
        new_cell = forget * cell_state
        entry *= candidate
        new_cell += entry
        new_hidden = np.tanh(new_cell)
        new_hidden *= exit_gate
        if complete[step]:
            cell_state, hidden, output = new_cell, new_hidden, new_hidden
        else:
            keep = steps_valid[step][..., None]
            cell_state = np.where(keep, new_cell, cell_state)
            hidden = np.where(keep, new_hidden, hidden)
            output = np.where(keep, new_hidden, FLOAT(0.0) if zero_masked else previous)
        previous = output
        if outputs is not None:
            outputs[step] = output
    if outputs is None:
        return None, hidden, cell_state
    # back to positions: (directions, batch, positions, units)
    arranged = np.empty((directions, batch, length, units), dtype=FLOAT)
    for row in range(directions):
        arranged[row][:, order[row]] = outputs[:, row].transpose(1, 0, 2)
    return arranged, hidden, cell_state


def lstm(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """``LSTM`` (one direction): the last output, or the sequence, and the final states if asked for."""
    _check_lstm({"class_name": "LSTM", "config": config})
    sequences, states = bool(config.get("return_sequences")), bool(config.get("return_state"))
    zero_masked = bool(config.get("zero_output_for_mask", False))
    if not sequences and zero_masked:
        raise Unsupported("LSTM settings")
    cell_variables = _variables(variables, 3, "LSTM")

    def call(args, kwargs):
        outputs, hidden, cell = _lstm_loop(args[0], kwargs.get("mask"), [cell_variables],
                                           [bool(config.get("go_backwards"))], sequences, zero_masked)
        result = outputs[0] if outputs is not None else hidden[0]
        return [result, hidden[0], cell[0]] if states else result
    return call


def bidirectional_lstm(config: dict, forward: Sequence[np.ndarray], backward: Sequence[np.ndarray]) -> Call:
    """``Bidirectional(LSTM(...))``, merge mode ``concat``: the backward layer reads the hairpin from its 3'
    end, and its sequence output is turned back; final states ``[h, c]`` forward then backward."""
    layer = config["layer"]
    back = config.get("backward_layer", {"class_name": "LSTM", "config": {**layer["config"], "go_backwards": True}})
    if config.get("merge_mode", "concat") != "concat":
        raise Unsupported("Bidirectional merge mode")
    _check_lstm(layer)
    _check_lstm(back)
    settings = layer["config"]
    if settings.get("go_backwards") or not back["config"].get("go_backwards", True):
        raise Unsupported("LSTM directions")
    sequences, states = bool(settings.get("return_sequences")), bool(settings.get("return_state"))
    zero_masked = bool(settings.get("zero_output_for_mask", True))
    if not sequences and zero_masked:
        raise Unsupported("LSTM settings")
    cells = [_variables(forward, 3, "LSTM"), _variables(backward, 3, "LSTM")]

    def call(args, kwargs):
        outputs, hidden, cell = _lstm_loop(args[0], kwargs.get("mask"), cells, [False, True], sequences,
                                           zero_masked)
        merged = np.concatenate([outputs[0], outputs[1]] if outputs is not None else [hidden[0], hidden[1]],
                                axis=-1)
        return [merged, hidden[0], cell[0], hidden[1], cell[1]] if states else merged
    return call


def attention_pooling(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """:class:`~mirtron_tools.model.AttentionPooling`: ``(context, weights)``."""
    projection, bias, score_vector = _variables(variables, 3, "AttentionPooling")

    def call(args, kwargs):
        inputs = args[0]
        mask = kwargs.get("mask")
        hidden = np.tanh(inputs @ projection + bias)
        scores = np.sum(hidden * score_vector, axis=-1)
        if mask is not None:
            scores = np.where(mask, scores, FLOAT(-1e9))
        scores = scores - scores.max(axis=-1, keepdims=True)
        exponent = np.exp(scores)
        weights = exponent / exponent.sum(axis=-1, keepdims=True)
        if mask is not None:
            weights = weights * np.asarray(mask, dtype=FLOAT)
        context = np.sum(inputs * weights[..., None], axis=1)
        return [context.astype(FLOAT, copy=False), weights.astype(FLOAT, copy=False)]
    return call


def masked_mean(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """:class:`~mirtron_tools.model.MaskedMean`."""
    def call(args, kwargs):
        values, raw = args[0]
        present = np.any(raw != 0, axis=-1).astype(FLOAT)
        total = np.sum(values * present[..., None], axis=1)
        return total / np.maximum(np.sum(present, axis=1, keepdims=True), FLOAT(1.0))
    return call


def boosted_trees(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """:class:`~mirtron_tools.ensemble.BoostedTrees`, as :func:`mirtron_tools.boosting.tree_logits`."""
    split_features, thresholds, leaves, bias = _variables(variables, 4, "BoostedTrees")
    trees, internal = split_features.shape
    depth = int(config.get("depth", round(np.log2(leaves.shape[1]))))
    if leaves.shape[1] != 2 ** depth or internal != 2 ** depth - 1:
        raise Unsupported("BoostedTrees shape")
    split_features = split_features.astype(np.int64)
    columns = np.arange(trees)[None, :]

    def call(args, kwargs):
        inputs = np.asarray(args[0], dtype=FLOAT)
        rows = np.arange(len(inputs))[:, None]
        node = np.zeros((len(inputs), trees), dtype=np.int64)
        for _ in range(depth):
            value = inputs[rows, split_features[columns, node]]
            node = 2 * node + 1 + (value > thresholds[columns, node])
        total = np.sum(leaves[columns, node - internal], axis=1, keepdims=True, dtype=FLOAT)
        return sigmoid(total + bias)
    return call


def _weightless(function: Callable[..., np.ndarray]) -> Callable[[dict, Sequence[np.ndarray]], Call]:
    def build(config: dict, variables: Sequence[np.ndarray]) -> Call:
        _variables(variables, 0, "feature layer")
        return lambda args, kwargs: function(np.asarray(args[0], dtype=FLOAT))
    return build


def context(config: dict, variables: Sequence[np.ndarray]) -> Call:
    first, count = int(config.get("first", 8)), int(config.get("count", 5))
    return lambda args, kwargs: features.context_features(args[0], first, count)


def concatenate(config: dict, variables: Sequence[np.ndarray]) -> Call:
    axis = int(config.get("axis", -1))
    return lambda args, kwargs: np.concatenate(args[0], axis=axis)


def average(config: dict, variables: Sequence[np.ndarray]) -> Call:
    def call(args, kwargs):
        parts = args[0]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total / FLOAT(len(parts))
    return call


def blend(config: dict, variables: Sequence[np.ndarray]) -> Call:
    weight = FLOAT(config.get("weight", 0.5))
    return lambda args, kwargs: (FLOAT(1.0) - weight) * args[0][0] + weight * args[0][1]


def mixture(config: dict, variables: Sequence[np.ndarray]) -> Call:
    weights = [FLOAT(weight) for weight in config.get("weights", [1.0])]

    def call(args, kwargs):
        total = FLOAT(0.0)
        for weight, part in zip(weights, args[0]):
            total = total + weight * part
        return total
    return call


def masking(config: dict, variables: Sequence[np.ndarray]) -> Call:
    value = FLOAT(config.get("mask_value", 0.0))

    def call(args, kwargs):
        inputs = args[0]
        return inputs * np.any(inputs != value, axis=-1, keepdims=True).astype(FLOAT)
    return call


def not_equal(config: dict, variables: Sequence[np.ndarray]) -> Call:
    return lambda args, kwargs: np.not_equal(args[0], args[1])


def any_of(config: dict, variables: Sequence[np.ndarray]) -> Call:
    axis, keepdims = config.get("axis"), bool(config.get("keepdims", False))
    return lambda args, kwargs: np.any(args[0], axis=axis, keepdims=keepdims)


def identity(config: dict, variables: Sequence[np.ndarray]) -> Call:
    """Dropout at inference."""
    return lambda args, kwargs: args[0]


#: saved class name (``registered_name`` for mirtron_tools' layers) -> builder
BUILDERS: dict[str, Callable[[dict, Sequence[np.ndarray]], Call]] = {
    "Dense": dense,
    "LSTM": lstm,
    "Conv1D": conv1d,
    "Concatenate": concatenate,
    "Average": average,
    "Masking": masking,
    "Dropout": identity,
    "NotEqual": not_equal,
    "Any": any_of,
    "mirtron_tools>AttentionPooling": attention_pooling,
    "mirtron_tools>MaskedMean": masked_mean,
    "mirtron_tools>BoostedTrees": boosted_trees,
    "mirtron_tools>Blend": blend,
    "mirtron_tools>Mixture": mixture,
    "mirtron_tools>ContextFeatures": context,
    "mirtron_tools>KmerFrequencies": _weightless(features.kmer_frequencies),
    "mirtron_tools>StructureFeatures": _weightless(features.structure_features),
    "mirtron_tools>StemLoopFeatures": _weightless(features.stem_loop_features),
    "mirtron_tools>SpliceSiteFeatures": _weightless(features.splice_site_features),
}
