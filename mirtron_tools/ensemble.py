"""Ensembles: attention networks averaged, blended with a logistic regression and gradient-boosted trees
over the fixed features of :mod:`mirtron_tools.features`.

The layers are registered for serialization under the package name ``mirtron_tools`` (the name saved
models carry), and the member names below are the names of sub-models inside saved files: both stay.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .features import ContextFeatures, regression_features, tree_features
from .model import ATTENTION_LAYER, PROBABILITY_LAYER


@keras.saving.register_keras_serializable(package="mirtron_tools")
class BoostedTrees(keras.layers.Layer):
    """Probability from gradient-boosted trees of a fixed depth (see :mod:`mirtron_tools.boosting`).

    Input ``(batch, features)``; output ``(batch, 1)``. The trees are non-trainable weights:
    ``split_features`` and ``thresholds`` ``(trees, 2^depth - 1)``, ``leaves`` ``(trees, 2^depth)``,
    ``bias`` ``(1,)``; at each node a row goes right when ``feature > threshold``.
    """

    def __init__(self, trees: int = 1, depth: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.trees, self.depth = int(trees), int(depth)

    def build(self, input_shape):
        internal, leaves = 2 ** self.depth - 1, 2 ** self.depth
        self.split_features = self.add_weight(shape=(self.trees, internal), initializer="zeros", dtype="int32",
                                              trainable=False, name="split_features")
        self.thresholds = self.add_weight(shape=(self.trees, internal), initializer="zeros", trainable=False,
                                          name="thresholds")
        self.leaves = self.add_weight(shape=(self.trees, leaves), initializer="zeros", trainable=False,
                                      name="leaves")
        self.bias = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="bias")

    def call(self, inputs):
        internal = 2 ** self.depth - 1
        batch = ops.shape(inputs)[0]
        offsets = ops.expand_dims(ops.arange(self.trees, dtype="int32"), 0)
        features = ops.reshape(self.split_features, (-1,))
        thresholds = ops.reshape(self.thresholds, (-1,))
        node = ops.zeros((batch, self.trees), dtype="int32")
        for _ in range(self.depth):
            flat = offsets * internal + node
            value = ops.take_along_axis(inputs, ops.take(features, flat), axis=1)
            node = 2 * node + 1 + ops.cast(value > ops.take(thresholds, flat), "int32")
        leaf = ops.take(ops.reshape(self.leaves, (-1,)), offsets * (internal + 1) + node - internal)
        return ops.sigmoid(ops.sum(leaf, axis=1, keepdims=True) + self.bias)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "trees": self.trees, "depth": self.depth}


#: the regression member on k-mer frequencies alone (a model trained without the free-energy channel)
KMER_REGRESSION_MEMBER = "kmer_logistic"
#: the regression member of a model trained with the free-energy channel: k-mers + structure features
FEATURE_REGRESSION_MEMBER = "feature_logistic"
#: the gradient-boosted tree member: k-mers, structure features (with the free-energy channel) and
#: stem-loop shape features
TREE_MEMBER = "boosted_trees"
#: the members of an ensemble that are not attention networks
FEATURE_MEMBERS = (KMER_REGRESSION_MEMBER, FEATURE_REGRESSION_MEMBER, TREE_MEMBER)


@keras.saving.register_keras_serializable(package="mirtron_tools")
class Blend(keras.layers.Layer):
    """``(1 - weight) * a + weight * b`` of two probabilities."""

    def __init__(self, weight: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, inputs):
        first, second = inputs
        return (1.0 - self.weight) * first + self.weight * second

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@keras.saving.register_keras_serializable(package="mirtron_tools")
class Mixture(keras.layers.Layer):
    """``sum_i weights[i] * inputs[i]`` of several probabilities (weights summing to 1)."""

    def __init__(self, weights: tuple[float, ...] = (1.0,), **kwargs):
        super().__init__(**kwargs)
        self.mixture_weights = tuple(float(w) for w in weights)

    def call(self, inputs):
        return sum(weight * part for weight, part in zip(self.mixture_weights, inputs))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weights": list(self.mixture_weights)}


def regression_model(channels: int, weights: tuple | None = None, structure: bool = False) -> keras.Model:
    """The regression member: logistic regression on :class:`~mirtron_tools.features.KmerFrequencies`
    (and :class:`~mirtron_tools.features.StructureFeatures` when ``structure``); ``weights`` =
    ``(kernel, bias)`` if known."""
    inputs, features = regression_features(channels, structure)
    dense = keras.layers.Dense(1, activation="sigmoid", name="kmer_probability")  # the name saved models carry
    name = FEATURE_REGRESSION_MEMBER if structure else KMER_REGRESSION_MEMBER
    model = keras.Model(inputs, dense(features), name=name)
    if weights is not None:
        kernel, bias = weights
        dense.set_weights([np.asarray(kernel, dtype="float32").reshape(-1, 1),
                           np.asarray(bias, dtype="float32").reshape(1)])
    return model


def genome_tree_model(channels: int, ensemble, context_first: int = 8, context_count: int = 5) -> keras.Model:
    """The genome-scan model: :class:`BoostedTrees` over :func:`~mirtron_tools.features.tree_features` (with
    the free-energy channel) followed by :class:`~mirtron_tools.features.ContextFeatures`, holding
    ``ensemble`` (a :class:`mirtron_tools.boosting.TreeEnsemble`)."""
    inputs, features = tree_features(channels, structure=True)
    context = ContextFeatures(context_first, context_count, name="context")(inputs)
    features = keras.layers.Concatenate(name="genome_features")([features, context])
    layer = BoostedTrees(len(ensemble.features), ensemble.depth, name="tree_probability")
    model = keras.Model(inputs, layer(features), name="genome_trees")
    layer.set_weights([np.asarray(ensemble.features, dtype="int32"), np.asarray(ensemble.thresholds, "float32"),
                       np.asarray(ensemble.leaves, "float32"), np.array([ensemble.bias], "float32")])
    return model


def tree_model(channels: int, ensemble, structure: bool = False) -> keras.Model:
    """The tree member: :class:`BoostedTrees` over :func:`~mirtron_tools.features.tree_features`, holding
    ``ensemble`` (a :class:`mirtron_tools.boosting.TreeEnsemble`)."""
    inputs, features = tree_features(channels, structure)
    layer = BoostedTrees(len(ensemble.features), ensemble.depth, name="tree_probability")
    model = keras.Model(inputs, layer(features), name=TREE_MEMBER)
    layer.set_weights([np.asarray(ensemble.features, dtype="int32"), np.asarray(ensemble.thresholds, "float32"),
                       np.asarray(ensemble.leaves, "float32"), np.array([ensemble.bias], "float32")])
    return model


def ensemble_model(members: list[keras.Model], regression_member: keras.Model | None = None,
                   regression_weight: float = 0.0, tree_member: keras.Model | None = None,
                   tree_weight: float = 0.0) -> keras.Model:
    """Average the probabilities of several trained networks (same input channels).

    With ``regression_member`` (a :func:`regression_model`) and/or ``tree_member`` (a
    :func:`tree_model`) the result is ``(1 - regression_weight - tree_weight) * network mean +
    regression_weight * regression + tree_weight * trees``; attention read-outs still come from the
    networks alone.
    """
    channels = members[0].input.shape[-1]
    inputs = keras.Input(shape=(None, channels), name="hairpin")
    for index, member in enumerate(members):
        member.name = f"member_{index + 1}"
    outputs = [member(inputs) for member in members]
    if regression_member is None and tree_member is None:
        averaged = keras.layers.Average(name=PROBABILITY_LAYER)(outputs)
        return keras.Model(inputs, averaged, name="mirtron_ensemble")
    networks = keras.layers.Average(name="network_mean")(outputs) if len(outputs) > 1 else outputs[0]
    if tree_member is None:
        assert regression_member is not None  # both None returned above
        blended = Blend(regression_weight, name=PROBABILITY_LAYER)([networks, regression_member(inputs)])
        return keras.Model(inputs, blended, name="mirtron_ensemble")
    parts, weights = [networks], [1.0 - regression_weight - tree_weight]
    if regression_member is not None:
        parts.append(regression_member(inputs))
        weights.append(regression_weight)
    parts.append(tree_member(inputs))
    weights.append(tree_weight)
    return keras.Model(inputs, Mixture(tuple(weights), name=PROBABILITY_LAYER)(parts), name="mirtron_ensemble")


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The attention networks of an ensemble (empty for a single network)."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)
            and layer.name not in FEATURE_MEMBERS]


def attention_model(model: keras.Model) -> keras.Model:
    """A model with the same inputs returning ``(probability, attention weights)``.

    For an ensemble the weights are the mean of the members' weights (still summing to 1).
    """
    members = ensemble_members(model)
    if members:
        weights = [attention_model(member)(model.input)[1] for member in members]
        averaged = keras.layers.Average(name="mean_attention")(weights) if len(weights) > 1 else weights[0]
        return keras.Model(model.input, [model.output, averaged])
    try:
        layer = model.get_layer(ATTENTION_LAYER)
    except ValueError:
        raise ValueError("the model has no attention layer") from None
    return keras.Model(model.input, [model.output, layer.output[1]])
