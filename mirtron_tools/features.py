"""Fixed (weightless) feature layers of a padded hairpin batch, and the feature matrices of a data set.

Every layer reads ``(batch, positions, channels)`` float32 with all-zero rows as padding and returns
``(batch, features)``. They feed the regression and tree members (:mod:`mirtron_tools.ensemble`); they are
registered for serialization under the package name ``mirtron_tools`` (the name saved models carry).
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from .batches import pad


def _last_marked(marked, positions):
    """Per position i, 1 + the position of the last marked position at or before i (0 if none).

    A cumulative maximum of ``(position + 1) * marked``, computed without a scan: the marked positions
    sorted first (in order), then the ``count``-th of them, where ``count`` is the number marked up to i.
    (``associative_scan`` builds a graph whose depth depends on the length: slow to trace for inputs of
    unknown length, and not compilable by XLA.) ``marked``: ``(batch, positions)`` of 0/1;
    ``positions``: ``(1, positions)`` of 0, 1, 2, ...
    """
    length = ops.cast(ops.shape(marked)[1], marked.dtype)
    order = ops.argsort((1.0 - marked) * length + positions, axis=1)
    count = ops.cast(ops.cumsum(marked, axis=1), "int32")
    chosen = ops.take_along_axis(ops.cast(order, marked.dtype), ops.maximum(count - 1, 0), axis=1)
    return ops.cast(count > 0, marked.dtype) * (chosen + 1.0)


def _present(inputs):
    """1.0 at the positions of a hairpin, 0.0 at padding (rows of all-zero channels), per position."""
    return ops.cast(ops.any(ops.not_equal(inputs, 0), axis=-1), inputs.dtype)


@keras.saving.register_keras_serializable(package="mirtron_tools")
class KmerFrequencies(keras.layers.Layer):
    """Exact 1-, 2- and 3-mer frequencies of the unpadded sequence and its first and last dinucleotide.

    Reads the first four (nucleotide) channels; padding (all-zero rows) is ignored, unknown bases
    count as no k-mer. Frequencies are scaled by 4^k so each feature is about 1 on average.
    Output: ``(batch, 4 + 16 + 64 + 16 + 16)``; no weights.
    """

    def call(self, inputs):
        bases = inputs[..., :4]
        present = _present(inputs)
        lengths = ops.sum(present, axis=1, keepdims=True)
        batch = ops.shape(bases)[0]

        def counts(left, right, valid):
            # sum over positions of the outer product left_i x right_i (a batched matrix product;
            # nothing of size positions x words is materialised)
            return ops.reshape(ops.einsum("bli,blj->bij", left * ops.expand_dims(valid, -1), right), (batch, -1))

        def frequencies(total, valid, scale):
            return scale * total / ops.maximum(ops.sum(valid, axis=1, keepdims=True), 1.0)

        pair_valid = present[:, :-1] * present[:, 1:]
        triple_valid = present[:, :-2] * present[:, 1:-1] * present[:, 2:]
        pairs = counts(bases[:, :-1], bases[:, 1:], pair_valid)
        # 3-mers: (first base x second base) x third base, over the windows that fit
        first_two = ops.reshape(ops.expand_dims(bases[:, :-2], -1) * ops.expand_dims(bases[:, 1:-1], -2),
                                (batch, -1, 16))
        triples = counts(first_two, bases[:, 2:], triple_valid)
        positions = ops.cast(ops.arange(ops.shape(bases)[1]), bases.dtype)
        last_pair_start = ops.cast(ops.equal(ops.expand_dims(positions[:-1], 0), lengths - 2), bases.dtype)
        return ops.concatenate([
            frequencies(ops.sum(bases * ops.expand_dims(present, -1), axis=1), present, 4.0),
            frequencies(pairs, pair_valid, 16.0),
            frequencies(triples, triple_valid, 64.0),
            ops.reshape(ops.expand_dims(bases[:, 0], -1) * ops.expand_dims(bases[:, 1], -2), (batch, 16)),
            counts(bases[:, :-1], bases[:, 1:], last_pair_start),
        ], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4 + 16 + 64 + 16 + 16)


@keras.saving.register_keras_serializable(package="mirtron_tools")
class StructureFeatures(keras.layers.Layer):
    """Classic pre-miRNA features of the unpadded hairpin (Xue et al. 2005; the miPred family).

    Reads the nucleotide channels, the three dot-bracket channels and the free-energy channel
    (channel 8, ``-MFE / length``; see :data:`mirtron_tools.encoding.ENERGY_CHANNEL`). Output
    ``(batch, 38)``: ``-MFE / 100``, ``-MFE`` per nt, the MFE index (``-MFE`` per nt / GC share,
    GC share floored at 0.05), log length, paired share, GC share, then the 32 frequencies of
    (paired/unpaired states of positions i-1, i, i+1; base at i) over the interior positions with
    a known base, in the order (state bits, base ACGU). No weights.
    """

    def call(self, inputs):
        bases = inputs[..., :4]
        paired = inputs[..., 4] + inputs[..., 5]
        energy = inputs[..., 7]
        present = _present(inputs)
        length = ops.maximum(ops.sum(present, axis=1, keepdims=True), 1.0)
        per_nt = ops.sum(energy * present, axis=1, keepdims=True) / length
        gc = ops.sum((bases[..., 1] + bases[..., 2]) * present, axis=1, keepdims=True) / length
        paired_share = ops.sum(paired * present, axis=1, keepdims=True) / length
        states = ops.stack([(1.0 - paired) * present, paired * present], axis=-1)  # (batch, L, 2)
        batch = ops.shape(bases)[0]
        neighbours = ops.reshape(ops.expand_dims(states[:, :-2], -1) * ops.expand_dims(states[:, 1:-1], -2),
                                 (batch, -1, 4))
        neighbours = ops.reshape(ops.expand_dims(neighbours, -1) * ops.expand_dims(states[:, 2:], -2),
                                 (batch, -1, 8))
        counts = ops.reshape(ops.einsum("bli,blj->bij", neighbours, bases[:, 1:-1]), (batch, 32))
        counts = counts / ops.maximum(ops.sum(counts, axis=1, keepdims=True), 1.0)
        return ops.concatenate([per_nt * length / 100.0, per_nt, per_nt / ops.maximum(gc, 0.05),
                                ops.log(length), paired_share, gc, counts], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 6 + 32)


@keras.saving.register_keras_serializable(package="mirtron_tools")
class StemLoopFeatures(keras.layers.Layer):
    """Shape of the dot-bracket of the unpadded hairpin: its unpaired ends, loops, stems and arms.

    Reads the three dot-bracket channels (4-6). Output ``(batch, 17)``, lengths in nucleotides:
    unpaired 5' end (positions before the first paired base), unpaired 3' end, their difference
    (3' minus 5'), both as shares of the length, unpaired shares of the first and of the last 10
    positions; the number of hairpin loops (a ``)`` whose previous bracket is ``(``), the size of
    the largest one (ties: the first) and its centre as a share of the length; the number of stem
    runs (maximal runs of ``(`` or of ``)``) and the mean run length; the number of interior
    unpaired runs (bulges and internal loops: unpaired runs that are neither an end nor a hairpin
    loop) and the interior unpaired share of the length; the unpaired bases of the 5' arm (before
    the largest loop, 5' end excluded) and of the 3' arm (after it, 3' end excluded), and 3' minus
    5'. No weights. Where a hairpin has no loop, loop size, centre and arms are 0.
    """

    def call(self, inputs):
        opening, closing, unpaired = inputs[..., 4], inputs[..., 5], inputs[..., 6]
        present = _present(inputs)
        bracket = opening + closing
        length = ops.maximum(ops.sum(present, axis=1, keepdims=True), 1.0)
        positions = ops.expand_dims(ops.cast(ops.arange(ops.shape(inputs)[1]), opening.dtype), 0)
        five_end = ops.sum(present * ops.cast(ops.equal(ops.cumsum(bracket, axis=1), 0), opening.dtype),
                           axis=1, keepdims=True)
        after_last = ops.flip(ops.cumsum(ops.flip(bracket, axis=1), axis=1), axis=1)
        three_end = ops.sum(present * ops.cast(ops.equal(after_last, 0), opening.dtype), axis=1, keepdims=True)
        window = ops.minimum(length, 10.0)
        first_ten = ops.sum(unpaired * ops.cast(positions < 10, opening.dtype), axis=1, keepdims=True) / window
        last_ten = ops.sum(unpaired * ops.cast(positions >= length - 10, opening.dtype), axis=1,
                           keepdims=True) / window

        def previous(values):
            # values at i-1 (0 before the first position)
            return ops.pad(values[:, :-1], [[0, 0], [1, 0]])

        # 1-based position of the last bracket at or before i (0 if none), then of the one before i
        last_bracket = _last_marked(bracket, positions)
        before = previous(last_bracket)
        opened_before = ops.take_along_axis(opening, ops.cast(ops.maximum(before - 1, 0), "int32"), axis=1)
        loop_end = closing * opened_before * ops.cast(before > 0, opening.dtype)
        loop_size = loop_end * (positions - before)
        loops = ops.sum(loop_end, axis=1, keepdims=True)
        largest = ops.max(loop_size, axis=1, keepdims=True)
        # the first loop of the largest size: its closing position (b) and opening position (a)
        score = loop_end * (loop_size + 1.0) * 4096.0 - positions  # hairpins shorter than 4096 nt
        chosen = ops.cast(ops.equal(positions, ops.expand_dims(ops.cast(ops.argmax(score, axis=1), opening.dtype),
                                                               -1)), opening.dtype) * loop_end
        has_loop = ops.cast(loops > 0, opening.dtype)
        loop_close = ops.sum(chosen * positions, axis=1, keepdims=True)
        loop_open = loop_close - largest - 1.0
        centre = has_loop * (loop_open + loop_close) / 2.0 / length
        runs = ops.sum(opening * (1.0 - previous(opening)) + closing * (1.0 - previous(closing)), axis=1,
                       keepdims=True)
        mean_run = ops.sum(bracket, axis=1, keepdims=True) / ops.maximum(runs, 1.0)
        unpaired_runs = ops.sum(unpaired * (1.0 - previous(unpaired)), axis=1, keepdims=True)
        nonempty_loops = ops.sum(loop_end * ops.cast(loop_size > 0, opening.dtype), axis=1, keepdims=True)
        interior_runs = ops.maximum(unpaired_runs - ops.cast(five_end > 0, opening.dtype)
                                    - ops.cast(three_end > 0, opening.dtype) - nonempty_loops, 0.0)
        interior = ops.maximum(ops.sum(unpaired, axis=1, keepdims=True) - five_end - three_end
                               - ops.sum(loop_size, axis=1, keepdims=True), 0.0)
        five_arm = has_loop * (ops.sum(unpaired * ops.cast(positions < loop_open, opening.dtype), axis=1,
                                       keepdims=True) - five_end)
        three_arm = has_loop * (ops.sum(unpaired * ops.cast(positions > loop_close, opening.dtype), axis=1,
                                        keepdims=True) - three_end)
        return ops.concatenate([five_end, three_end, three_end - five_end, five_end / length, three_end / length,
                                first_ten, last_ten, loops, largest, centre, runs, mean_run, interior_runs,
                                interior / length, five_arm, three_arm, three_arm - five_arm], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 17)


@keras.saving.register_keras_serializable(package="mirtron_tools")
class SpliceSiteFeatures(keras.layers.Layer):
    """Pyrimidine (C or U) shares of the unpadded hairpin in windows where introns keep their splice
    signals: positions ``[n-12, n-2)`` and ``[n-22, n-2)`` (the polypyrimidine tract before a 3'
    splice acceptor in the last two bases), the first 10 (after a 5' donor) and ``[n-35, n-15)``
    (where branch points sit), for a hairpin of ``n`` nt; windows are clipped to the hairpin and a
    share is of the positions present (0 for an empty window). Reads the nucleotide channels
    (0-3: A, C, G, U). Output ``(batch, 4)``; no weights.
    """

    #: (start, end) of each window, counted from the 5' end (>= 0) or from the 3' end (< 0, as n + value)
    WINDOWS = ((-12, -2), (-22, -2), (0, 10), (-35, -15))

    def call(self, inputs):
        bases = inputs[..., :4]
        present = _present(inputs)
        pyrimidine = (bases[..., 1] + bases[..., 3]) * present
        length = ops.sum(present, axis=1, keepdims=True)
        positions = ops.expand_dims(ops.cast(ops.arange(ops.shape(inputs)[1]), bases.dtype), 0)
        shares = []
        for start, end in self.WINDOWS:
            low = start + length if start < 0 else ops.zeros_like(length) + start
            high = end + length if end < 0 else ops.minimum(length, float(end))
            window = present * ops.cast(positions >= low, bases.dtype) * ops.cast(positions < high, bases.dtype)
            shares.append(ops.sum(pyrimidine * window, axis=1, keepdims=True)
                          / ops.maximum(ops.sum(window, axis=1, keepdims=True), 1.0))
        return ops.concatenate(shares, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.WINDOWS))


@keras.saving.register_keras_serializable(package="mirtron_tools")
class ContextFeatures(keras.layers.Layer):
    """The genome-scan context channels (:data:`mirtron_tools.encoding.CONTEXT_CHANNELS`, constant along a
    hairpin) as features: their values at the first position. ``first`` is the index of the first context
    channel. Output ``(batch, count)``; no weights."""

    def __init__(self, first: int = 8, count: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.first, self.count = int(first), int(count)

    def call(self, inputs):
        return inputs[:, 0, self.first:self.first + self.count]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.count)

    def get_config(self):
        return {**super().get_config(), "first": self.first, "count": self.count}


def regression_features(channels: int, structure: bool = False):
    """``(inputs, features)`` tensors of the regression member: k-mer frequencies, plus
    :class:`StructureFeatures` when ``structure`` (inputs with the free-energy channel)."""
    inputs = keras.Input(shape=(None, channels), name="hairpin")
    features = KmerFrequencies(name="kmer_frequencies")(inputs)
    if structure:
        features = keras.layers.Concatenate(name="features")(
            [features, StructureFeatures(name="structure_features")(inputs)])
    return inputs, features



def tree_features(channels: int, structure: bool = False):
    """``(inputs, features)`` tensors of the tree member: the regression member's features
    (:func:`regression_features`) followed by :class:`StemLoopFeatures` and :class:`SpliceSiteFeatures`.
    (Models saved before the splice-site features keep their own graph and load unchanged.)"""
    inputs, features = regression_features(channels, structure)
    features = keras.layers.Concatenate(name="tree_features")(
        [features, StemLoopFeatures(name="stem_loop")(inputs), SpliceSiteFeatures(name="splice_sites")(inputs)])
    return inputs, features



def _feature_matrix(graph, arrays: Sequence[np.ndarray], structure: bool, batch_size: int) -> np.ndarray:
    extractor = keras.Model(*graph(arrays[0].shape[1], structure))
    rows = [np.asarray(extractor(pad(arrays[start:start + batch_size]).astype(np.float32)))
            for start in range(0, len(arrays), batch_size)]
    return np.concatenate(rows)


def regression_feature_matrix(arrays: Sequence[np.ndarray], structure: bool = False,
                              batch_size: int = 256) -> np.ndarray:
    """The regression member's features of every hairpin (``arrays``: one ``(length, channels)`` array
    each): :class:`KmerFrequencies` ``(n, 116)``, then :class:`StructureFeatures` (38 more, ``(n, 154)``)
    when ``structure``."""
    return _feature_matrix(regression_features, arrays, structure, batch_size)


def tree_feature_matrix(arrays: Sequence[np.ndarray], structure: bool = False, batch_size: int = 256) -> np.ndarray:
    """The tree member's features of every hairpin: :func:`regression_feature_matrix`'s, followed by
    :class:`StemLoopFeatures` (17 more) and :class:`SpliceSiteFeatures` (4 more)."""
    return _feature_matrix(tree_features, arrays, structure, batch_size)
