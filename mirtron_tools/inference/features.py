"""The fixed feature layers of :mod:`mirtron_tools.features` in numpy, step for step.

Each function takes a padded ``(batch, positions, channels)`` float32 batch (all-zero rows are padding)
and returns ``(batch, features)`` float32, with the arithmetic of the Keras layer in the same order (the
trees compare these features with thresholds taken from training values, so the order matters: a value
one rounding step off a threshold would take another branch).
"""
from __future__ import annotations

import numpy as np

from ..batches import LENGTH_QUANTUM

FLOAT = np.float32


def _present(inputs: np.ndarray) -> np.ndarray:
    return np.any(inputs != 0, axis=-1).astype(FLOAT)


def _sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum over ``axis`` keeping it, in float32."""
    return np.asarray(np.sum(values, axis=axis, keepdims=True, dtype=FLOAT))


def _counts(left: np.ndarray, right: np.ndarray, valid: np.ndarray) -> np.ndarray:
    batch = left.shape[0]
    return np.einsum("bli,blj->bij", left * valid[..., None], right).reshape(batch, -1)


def kmer_frequencies(inputs: np.ndarray) -> np.ndarray:
    """:class:`~mirtron_tools.features.KmerFrequencies`: ``(batch, 116)``."""
    bases = inputs[..., :4]
    present = _present(inputs)
    lengths = _sum(present, 1)
    batch = bases.shape[0]

    def frequencies(total, valid, scale):
        return FLOAT(scale) * total / np.maximum(_sum(valid, 1), FLOAT(1.0))

    pair_valid = present[:, :-1] * present[:, 1:]
    triple_valid = present[:, :-2] * present[:, 1:-1] * present[:, 2:]
    pairs = _counts(bases[:, :-1], bases[:, 1:], pair_valid)
    first_two = (bases[:, :-2, :, None] * bases[:, 1:-1, None, :]).reshape(batch, -1, 16)
    triples = _counts(first_two, bases[:, 2:], triple_valid)
    positions = np.arange(bases.shape[1], dtype=FLOAT)
    last_pair_start = (positions[None, :-1] == lengths - 2).astype(FLOAT)
    return np.concatenate([
        frequencies(np.sum(bases * present[..., None], axis=1, dtype=FLOAT), present, 4.0),
        frequencies(pairs, pair_valid, 16.0),
        frequencies(triples, triple_valid, 64.0),
        (bases[:, 0, :, None] * bases[:, 1, None, :]).reshape(batch, 16),
        _counts(bases[:, :-1], bases[:, 1:], last_pair_start),
    ], axis=-1).astype(FLOAT)


#: lanes of TensorFlow's float32 reductions and vector math on x86-64 (Eigen's AVX ``Packet8f``)
PACKET = 8


def _horizontal_sum(lanes: np.ndarray) -> np.ndarray:
    """Eigen's ``predux`` of ``(batch, 8)`` lanes: halves added until 4, then ``(a0 + a2) + (a1 + a3)``."""
    while lanes.shape[1] > 4:
        half = lanes.shape[1] // 2
        lanes = lanes[:, :half] + lanes[:, half:]
    pairs = lanes[:, :2] + lanes[:, 2:4]
    return pairs[:, 0] + pairs[:, 1]


def eigen_sum(values: np.ndarray) -> np.ndarray:
    """``(batch, 1)`` float32 sums of ``(batch, positions)`` values, added in the order TensorFlow's CPU
    kernel adds them (Eigen's inner-most reducer: four interleaved 8-lane accumulators, then the remaining
    packets, then single values, then a horizontal sum), over the batch padded as Keras scoring pads it (to
    a multiple of :data:`~mirtron_tools.batches.LENGTH_QUANTUM`).

    The free-energy channel is one value repeated along a hairpin: summed in another order, the total can
    end one rounding step away, and the trees compare it with thresholds that are training values."""
    batch, positions = values.shape
    padded = -(-positions // LENGTH_QUANTUM) * LENGTH_QUANTUM
    values = np.pad(np.asarray(values, dtype=FLOAT), [(0, 0), (0, padded - positions)])
    accumulators = [np.zeros((batch, PACKET), dtype=FLOAT) for _ in range(4)]
    start = 0
    if padded >= 4 * PACKET:
        start = padded // (4 * PACKET) * (4 * PACKET)
        for block in range(0, start, 4 * PACKET):
            for lane_group in range(4):
                offset = block + lane_group * PACKET
                accumulators[lane_group] = accumulators[lane_group] + values[:, offset:offset + PACKET]
        for lane_group in (1, 2, 3):
            accumulators[0] = accumulators[0] + accumulators[lane_group]
    lanes = accumulators[0]
    whole = padded // PACKET * PACKET
    for offset in range(start, whole, PACKET):
        lanes = lanes + values[:, offset:offset + PACKET]
    single = np.zeros(batch, dtype=FLOAT)
    for offset in range(max(start, whole), padded):
        single = single + values[:, offset]
    return (single + _horizontal_sum(lanes))[:, None]


#: Eigen's rational approximation of log(1 + x) (``plog_impl_float``)
_LOG_NUMERATOR = (FLOAT(0.18256296349849254), FLOAT(1.0000000190281063), FLOAT(1.0000000190281136))
_LOG_DENOMINATOR = (FLOAT(0.049616247954120038), FLOAT(0.59923249590823520), FLOAT(1.4999999999999927), FLOAT(1.0))


def eigen_log(values: np.ndarray) -> np.ndarray:
    """Natural logarithm of positive float32 values as TensorFlow's CPU kernel computes it (Eigen's
    ``plog_float``, without fused multiply-add), which can differ from a correctly rounded logarithm by one
    step: ``log(length)`` is a tree feature."""
    values = np.asarray(values, dtype=FLOAT)
    mantissa, exponent = np.frexp(values)
    mantissa, exponent = mantissa.astype(FLOAT), exponent.astype(FLOAT)
    low = mantissa < FLOAT(0.707106781186547524)
    shifted = mantissa - FLOAT(1.0)
    exponent = exponent - np.where(low, FLOAT(1.0), FLOAT(0.0))
    shifted = shifted + np.where(low, mantissa, FLOAT(0.0))
    numerator = _LOG_NUMERATOR[0]
    for coefficient in _LOG_NUMERATOR[1:]:
        numerator = numerator * shifted + coefficient
    numerator = shifted * numerator
    denominator = _LOG_DENOMINATOR[0]
    for coefficient in _LOG_DENOMINATOR[1:]:
        denominator = denominator * shifted + coefficient
    return (exponent * FLOAT(0.693147180559945309) + numerator / denominator).astype(FLOAT)


def structure_features(inputs: np.ndarray) -> np.ndarray:
    """:class:`~mirtron_tools.features.StructureFeatures`: ``(batch, 38)``."""
    bases = inputs[..., :4]
    paired = inputs[..., 4] + inputs[..., 5]
    energy = inputs[..., 7]
    present = _present(inputs)
    length = np.maximum(_sum(present, 1), FLOAT(1.0))
    per_nt = eigen_sum(energy * present) / length
    gc = _sum((bases[..., 1] + bases[..., 2]) * present, 1) / length
    paired_share = _sum(paired * present, 1) / length
    states = np.stack([(FLOAT(1.0) - paired) * present, paired * present], axis=-1)
    batch = bases.shape[0]
    neighbours = (states[:, :-2, :, None] * states[:, 1:-1, None, :]).reshape(batch, -1, 4)
    neighbours = (neighbours[..., None] * states[:, 2:, None, :]).reshape(batch, -1, 8)
    counts = np.einsum("bli,blj->bij", neighbours, bases[:, 1:-1]).reshape(batch, 32)
    counts = counts / np.maximum(_sum(counts, 1), FLOAT(1.0))
    return np.concatenate([per_nt * length / FLOAT(100.0), per_nt, per_nt / np.maximum(gc, FLOAT(0.05)),
                           eigen_log(length), paired_share, gc, counts], axis=-1).astype(FLOAT)


def _last_marked(marked: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """1 + the position of the last marked position at or before each position (0 if none): a running
    maximum, which is what the Keras layer's sort-based formula computes."""
    running = np.maximum.accumulate((positions + FLOAT(1.0)) * marked, axis=1)
    return running.astype(FLOAT)


def stem_loop_features(inputs: np.ndarray) -> np.ndarray:
    """:class:`~mirtron_tools.features.StemLoopFeatures`: ``(batch, 17)``."""
    opening, closing, unpaired = inputs[..., 4], inputs[..., 5], inputs[..., 6]
    present = _present(inputs)
    bracket = opening + closing
    length = np.maximum(_sum(present, 1), FLOAT(1.0))
    positions = np.arange(inputs.shape[1], dtype=FLOAT)[None, :]
    five_end = _sum(present * (np.cumsum(bracket, axis=1, dtype=FLOAT) == 0), 1)
    after_last = np.flip(np.cumsum(np.flip(bracket, axis=1), axis=1, dtype=FLOAT), axis=1)
    three_end = _sum(present * (after_last == 0), 1)
    window = np.minimum(length, FLOAT(10.0))
    first_ten = _sum(unpaired * (positions < 10), 1) / window
    last_ten = _sum(unpaired * (positions >= length - 10), 1) / window

    def previous(values):
        return np.pad(values[:, :-1], [(0, 0), (1, 0)])

    last_bracket = _last_marked(bracket, positions)
    before = previous(last_bracket)
    opened_before = np.take_along_axis(opening, np.maximum(before - 1, 0).astype(np.int64), axis=1)
    loop_end = closing * opened_before * (before > 0)
    loop_size = loop_end * (positions - before)
    loops = _sum(loop_end, 1)
    largest = np.max(loop_size, axis=1, keepdims=True)
    score = loop_end * (loop_size + FLOAT(1.0)) * FLOAT(4096.0) - positions
    chosen = (positions == np.argmax(score, axis=1)[:, None].astype(FLOAT)) * loop_end
    has_loop = (loops > 0).astype(FLOAT)
    loop_close = _sum(chosen * positions, 1)
    loop_open = loop_close - largest - FLOAT(1.0)
    centre = has_loop * (loop_open + loop_close) / FLOAT(2.0) / length
    runs = _sum(opening * (FLOAT(1.0) - previous(opening)) + closing * (FLOAT(1.0) - previous(closing)), 1)
    mean_run = _sum(bracket, 1) / np.maximum(runs, FLOAT(1.0))
    unpaired_runs = _sum(unpaired * (FLOAT(1.0) - previous(unpaired)), 1)
    nonempty_loops = _sum(loop_end * (loop_size > 0), 1)
    interior_runs = np.maximum(unpaired_runs - (five_end > 0) - (three_end > 0) - nonempty_loops, FLOAT(0.0))
    interior = np.maximum(_sum(unpaired, 1) - five_end - three_end - _sum(loop_size, 1), FLOAT(0.0))
    five_arm = has_loop * (_sum(unpaired * (positions < loop_open), 1) - five_end)
    three_arm = has_loop * (_sum(unpaired * (positions > loop_close), 1) - three_end)
    return np.concatenate([five_end, three_end, three_end - five_end, five_end / length, three_end / length,
                           first_ten, last_ten, loops, largest, centre, runs, mean_run, interior_runs,
                           interior / length, five_arm, three_arm, three_arm - five_arm], axis=-1).astype(FLOAT)


#: the windows of :class:`~mirtron_tools.features.SpliceSiteFeatures`
SPLICE_WINDOWS = ((-12, -2), (-22, -2), (0, 10), (-35, -15))


def splice_site_features(inputs: np.ndarray) -> np.ndarray:
    """:class:`~mirtron_tools.features.SpliceSiteFeatures`: ``(batch, 4)``."""
    bases = inputs[..., :4]
    present = _present(inputs)
    pyrimidine = (bases[..., 1] + bases[..., 3]) * present
    length = _sum(present, 1)
    positions = np.arange(inputs.shape[1], dtype=FLOAT)[None, :]
    shares = []
    for start, end in SPLICE_WINDOWS:
        low = start + length if start < 0 else np.zeros_like(length) + FLOAT(start)
        high = end + length if end < 0 else np.minimum(length, FLOAT(end))
        window = present * (positions >= low) * (positions < high)
        shares.append(_sum(pyrimidine * window, 1) / np.maximum(_sum(window, 1), FLOAT(1.0)))
    return np.concatenate(shares, axis=-1).astype(FLOAT)


def context_features(inputs: np.ndarray, first: int, count: int) -> np.ndarray:
    """:class:`~mirtron_tools.features.ContextFeatures`: the context channels at the first position."""
    return np.ascontiguousarray(inputs[:, 0, first:first + count], dtype=FLOAT)
