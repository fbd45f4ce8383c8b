import numpy as np
import pytest
from simulate import hairpin_set

from mirtron_tools.encoding import (
    CHANNELS,
    EncodedSet,
    concatenate,
    decode_one_hot,
    encode_sequences,
    fold,
    fold_many,
    model_inputs,
    one_hot,
    one_hot_batch,
)


def test_one_hot_channels_and_padding():
    array = one_hot("ACGUN", "((.))", length=7)
    assert array.shape == (7, len(CHANNELS))
    assert array[:4, :4].argmax(axis=1).tolist() == [0, 1, 2, 3]
    assert not array[4, :4].any(), "N is all-zero in the nucleotide channels"
    assert array[:5, 4:].argmax(axis=1).tolist() == [0, 0, 2, 1, 1]
    assert not array[5:].any(), "padding is all zero"


@pytest.mark.parametrize("sequence", ["GGGAAAUCCC", "ACGUNACGUR", "A"])
def test_one_hot_round_trip(sequence):
    structure = fold(sequence)[0]
    decoded_sequence, decoded_structure = decode_one_hot(one_hot(sequence, structure, length=20))
    assert decoded_structure == structure
    assert decoded_sequence == sequence.replace("R", "N")


def test_fold_known_hairpin_and_ambiguity():
    structure, energy = fold("GGGGAAACCCC")
    assert structure == "((((...))))" and energy < 0
    structure, _ = fold("GGGGARACCCC")  # IUPAC code folds as N
    assert len(structure) == 11


def test_fold_many_parallel_equals_serial():
    sequences = [sequence for _, sequence in hairpin_set(80, True, seed=3, prefix="x")]
    assert fold_many(sequences, threads=2) == fold_many(sequences, threads=1)


def test_encoded_set_arrays_round_trip_and_subset():
    records = hairpin_set(5, False, seed=4, prefix="c")
    encoded = encode_sequences([r[0] for r in records], [r[1] for r in records])
    encoded.annotations["strand"] = np.array(["+", "-", "+", "+", "-"])
    again = EncodedSet.from_arrays(encoded.to_arrays())
    assert again.ids == encoded.ids and again.structures == encoded.structures
    assert again.annotations["strand"].tolist() == ["+", "-", "+", "+", "-"]
    part = encoded.subset([3, 1])
    assert part.ids == [encoded.ids[3], encoded.ids[1]]
    joined = concatenate([encoded.subset([0, 1]), encoded.subset([2, 3, 4])])
    assert joined.ids == encoded.ids and np.allclose(joined.mfe, encoded.mfe)


def test_model_inputs_match_one_hot_batch_and_extra_channels():
    records = hairpin_set(3, True, seed=5, prefix="m")
    encoded = encode_sequences([r[0] for r in records], [r[1] for r in records])
    arrays = model_inputs(encoded)
    batch = one_hot_batch(encoded.sequences, encoded.structures)
    for row, array in enumerate(arrays):
        assert np.array_equal(array, batch[row, : len(array)])
    extra = [np.ones((len(sequence), 2)) for sequence in encoded.sequences]
    with_extra = model_inputs(encoded, extra)
    assert with_extra[0].shape == (len(encoded.sequences[0]), len(CHANNELS) + 2)
    # the free-energy channel sits between the sequence channels and the extra ones
    with_energy = model_inputs(encoded, extra, energy=True)
    for row, array in enumerate(with_energy):
        assert array.shape == (len(encoded.sequences[row]), len(CHANNELS) + 3)
        assert np.array_equal(array[:, :len(CHANNELS)], batch[row, : len(array)])
        assert np.allclose(array[:, len(CHANNELS)], -encoded.mfe[row] / len(encoded.sequences[row]))
        assert np.array_equal(array[:, len(CHANNELS) + 1:], extra[row])
    assert encoded.mfe.max() < 0 < with_energy[0][0, len(CHANNELS)]
