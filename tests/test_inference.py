"""The numpy scorer (mirtron_tools.inference) against Keras: every bundled model, the test data, a genome scan.

Keras loads each model once per module (a module-scoped fixture); the numpy scorer is what mt-predict and
mt-attend use, so these are the probabilities users get.
"""
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from conftest import EXAMPLES, TEST_DATA, write  # noqa: E402

from mirtron_tools.encoding import encode_sequences, model_inputs, uses_context, uses_energy  # noqa: E402
from mirtron_tools.inference import Scorer, load_scorer  # noqa: E402
from mirtron_tools.io.encoded import read_encoded  # noqa: E402
from mirtron_tools.io.fasta import read_fasta  # noqa: E402
from mirtron_tools.io.model import bundled_models, load_model, read_manifest, save_model  # noqa: E402
from mirtron_tools.prediction import attention_arrays, predict_arrays  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5
BUNDLED = sorted(bundled_models())


@pytest.fixture(scope="module")
def keras_models():
    """Keras models by path, loaded on first use and kept for the module."""
    loaded: dict = {}

    def get(path):
        if str(path) not in loaded:
            loaded[str(path)] = load_model(path)[0]
        return loaded[str(path)]
    return get


def _hairpins_fa():
    records = list(read_fasta(EXAMPLES / "hairpins.fa"))
    return encode_sequences([record.identifier for record in records], [record.sequence for record in records])


@pytest.fixture(scope="module")
def datasets():
    """Encoded hairpins: the README example, the synthetic test set, a genome scan's candidates."""
    return {"hairpins.fa": _hairpins_fa(),
            "synthetic_hairpins.npz": read_encoded(TEST_DATA / "synthetic_hairpins.npz"),
            "scan_candidates.npz": read_encoded(TEST_DATA / "scan_candidates.npz")}


def _arrays(manifest, encoded):
    return model_inputs(encoded, None, energy=uses_energy(manifest), context=uses_context(manifest))


def test_every_bundled_model_is_scored_in_numpy():
    assert {"genome", "human_mirtron", "premirna"} <= set(BUNDLED)
    for name in BUNDLED:
        assert load_scorer(bundled_models()[name]).engine == "numpy", name


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_models_equal_keras(name, datasets, keras_models):
    path = bundled_models()[name]
    manifest = read_manifest(path)
    scorer = load_scorer(path)
    inputs = ["scan_candidates.npz"] if uses_context(manifest) else sorted(datasets)
    for source in inputs:
        arrays = _arrays(manifest, datasets[source])
        light = scorer.predict(arrays)
        reference = predict_arrays(keras_models(path), arrays)
        assert light.dtype == np.float32 and light.shape == (len(arrays),)
        difference = np.abs(light - reference).max()
        assert difference <= TOLERANCE, f"{name} on {source}: {difference:g}"


def test_small_batches_and_one_hairpin_equal_keras(datasets, keras_models):
    """Batch composition (padding, length buckets) does not change a hairpin's probability."""
    path = bundled_models()["genome"]
    arrays = _arrays(read_manifest(path), datasets["scan_candidates.npz"])
    scorer = load_scorer(path)
    whole = scorer.predict(arrays)
    assert np.abs(scorer.predict(arrays, batch_size=7) - predict_arrays(keras_models(path), arrays, 7)).max() \
        <= TOLERANCE
    assert np.abs(scorer.predict(arrays[:1])[0] - whole[0]) <= TOLERANCE


def test_feature_layers_are_bit_equal_to_keras(datasets):
    """The trees compare features with thresholds taken from training values: one rounding step decides a
    branch, so the numpy features must be the Keras layers' bit for bit (the free-energy sum and log(length)
    follow TensorFlow's CPU arithmetic)."""
    from mirtron_tools import features as layers
    from mirtron_tools.batches import iterate_padded
    from mirtron_tools.inference import features

    pairs = [(layers.KmerFrequencies(), features.kmer_frequencies),
             (layers.StructureFeatures(), features.structure_features),
             (layers.StemLoopFeatures(), features.stem_loop_features),
             (layers.SpliceSiteFeatures(), features.splice_site_features)]
    for source, encoded in datasets.items():
        arrays = model_inputs(encoded, None, energy=True)
        for _, batch in iterate_padded(arrays, 16):
            for layer, function in pairs:
                expected, got = np.asarray(layer(batch)), function(batch)
                assert got.dtype == np.float32 and got.shape == expected.shape
                assert np.array_equal(got, expected), f"{type(layer).__name__} on {source}"


def test_eigen_arithmetic_matches_tensorflow():
    import tensorflow as tf

    from mirtron_tools.inference.features import eigen_log, eigen_sum

    rng = np.random.default_rng(3)
    values = rng.random((40, 160)).astype(np.float32)  # padded as Keras scoring pads: a multiple of 16
    values[20:] = np.float32(0.3171)  # a repeated value, as the free-energy channel
    values[:, 140:] = 0
    values[5, 61:] = 0
    assert np.array_equal(eigen_sum(values), tf.reduce_sum(tf.constant(values), axis=1, keepdims=True).numpy())
    lengths = np.arange(1, 3000, dtype=np.float32)
    assert np.array_equal(eigen_log(lengths), tf.math.log(tf.constant(lengths)).numpy())


def test_coverage_model_equals_keras(keras_models):
    from mirtron_tools.io.coverage import read_coverage_files
    from mirtron_tools.scoring import ModelInputs

    path = TEST_DATA / "tiny_coverage_model.keras"
    manifest = read_manifest(path)
    coverage = read_coverage_files([str(TEST_DATA / "sim_candidates.cov.npz")])
    inputs = ModelInputs(manifest, "sim_candidates.npz", coverage, "sim_candidates.cov.npz")
    encoded = read_encoded(TEST_DATA / "sim_candidates.npz")
    arrays = inputs.arrays(encoded, inputs.extra(encoded))
    scorer = load_scorer(path)
    assert scorer.engine == "numpy"
    assert np.abs(scorer.predict(arrays) - predict_arrays(keras_models(path), arrays)).max() <= TOLERANCE


@pytest.mark.parametrize("model", ["human_mirtron", "tiny_model"])
def test_attention_read_out_equals_keras(model, datasets, keras_models):
    path = bundled_models()[model] if model in bundled_models() else TEST_DATA / f"{model}.keras"
    manifest = read_manifest(path, check=False)
    arrays = _arrays(manifest, datasets["synthetic_hairpins.npz"])
    probabilities, weights = load_scorer(path).attention(arrays, batch_size=8)
    expected_probabilities, expected_weights = attention_arrays(keras_models(path), arrays, 8)
    assert np.abs(probabilities - expected_probabilities).max() <= TOLERANCE
    for got, expected, array in zip(weights, expected_weights, arrays):
        assert got.shape == (len(array),)
        assert np.abs(got - expected).max() <= TOLERANCE
        assert abs(float(got.sum()) - 1.0) < 1e-5


def test_genome_model_has_no_attention_read_out():
    from mirtron_tools.errors import ModelError

    with pytest.raises(ModelError, match="no attention layer"):
        load_scorer(bundled_models()["genome"]).attention_readers()


def test_feature_member_names_agree_with_the_ensemble_module():
    from mirtron_tools import ensemble, inference, model

    assert inference.FEATURE_MEMBERS == ensemble.FEATURE_MEMBERS
    assert inference.ATTENTION_LAYER == model.ATTENTION_LAYER


MANIFEST = {"task": "mirtron", "positive_class": "mirtron", "threshold": 0.5, "encoding_format_version": 1,
            "channels": ["A", "C", "G", "U", "paired_open", "paired_close", "unpaired"], "coverage": None,
            "max_length": 200}


def test_plain_lstm_equals_keras(tmp_path, datasets):
    keras.utils.set_random_seed(2)
    inputs = keras.Input(shape=(None, 7))
    hidden = keras.layers.LSTM(5)(keras.layers.Masking()(inputs))
    plain = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    save_model(plain, tmp_path / "plain.keras", MANIFEST)
    arrays = model_inputs(datasets["synthetic_hairpins.npz"])
    scorer = load_scorer(tmp_path / "plain.keras")
    assert scorer.engine == "numpy"
    assert np.abs(scorer.predict(arrays, 6) - predict_arrays(plain, arrays, 6)).max() <= TOLERANCE


def test_unknown_layer_falls_back_to_keras_with_one_log_line(tmp_path, datasets, caplog):
    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=(None, 7))
    hidden = keras.layers.GRU(3)(keras.layers.Masking()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    save_model(model, tmp_path / "gru.keras", MANIFEST)
    arrays = model_inputs(datasets["synthetic_hairpins.npz"])
    with caplog.at_level(logging.INFO, logger="mirtron_tools.inference"):
        scorer = load_scorer(tmp_path / "gru.keras")
    assert scorer.engine == "keras"
    lines = [record.getMessage() for record in caplog.records if record.name == "mirtron_tools.inference"]
    assert len(lines) == 1 and "GRU" in lines[0] and "Keras" in lines[0]
    assert np.abs(scorer.predict(arrays) - predict_arrays(model, arrays)).max() == 0


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=environment,
                          timeout=300, cwd=ROOT)


def test_mt_predict_does_not_import_tensorflow(tmp_path):
    output = tmp_path / "calls.tsv"
    code = ("import sys\nfrom mirtron_tools.cli import predict\n"
            "code = predict.main([sys.argv[1], '-o', sys.argv[2], '-q'])\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules, code)")
    result = _run_python(code, str(EXAMPLES / "hairpins.fa"), str(output))
    assert result.stdout.split() == ["False", "False", "0"], result.stderr
    assert len(output.read_text().splitlines()) == 18


def test_mt_attend_attention_does_not_import_tensorflow(tmp_path):
    code = ("import sys\nfrom mirtron_tools.cli import attend\n"
            "code = attend.main([sys.argv[1], '-o', sys.argv[2], '-q', '--model', 'premirna'])\n"
            "print('tensorflow' in sys.modules, code)")
    result = _run_python(code, str(TEST_DATA / "synthetic_hairpins.npz"), str(tmp_path / "a.tsv"))
    assert result.stdout.split() == ["False", "0"], result.stderr


@pytest.mark.parametrize("text, problem", [
    ("id\tlength\tprobability\nx\t60\t0.5\n", "not FASTA"),
    (">sp|P69905|HBA_HUMAN\nMVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF\n", "has character 'E'"),
])
def test_wrong_input_format_fails_before_any_model_is_read(tmp_path, capsys, text, problem):
    """The input is sniffed first: the error names it even when the model named does not exist."""
    from mirtron_tools.cli import attend, predict

    source = write(tmp_path / "input.txt", text)
    for command in (predict.main, attend.main):
        code = command([str(source), "-o", str(tmp_path / "out.tsv"), "--model", str(tmp_path / "absent.keras")])
        error = capsys.readouterr().err.strip().splitlines()
        assert code == 1
        assert len(error) == 1 and str(source) in error[0] and problem in error[0], error
    assert not (tmp_path / "out.tsv").exists()


def test_scorer_interface(datasets):
    scorer = load_scorer(bundled_models()["premirna"])
    assert isinstance(scorer, Scorer) and scorer.manifest["task"] and scorer.path.name == "premirna.keras"
    arrays = _arrays(scorer.manifest, datasets["synthetic_hairpins.npz"])
    counted: list[int] = []
    probabilities = scorer.predict(arrays, batch_size=6, progress=counted.append)
    assert sum(counted) == len(arrays) and len(counted) == 4
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert scorer.predict([]).shape == (0,)


def test_engine_variable_scores_with_keras(monkeypatch, datasets):
    from mirtron_tools.inference import ENGINE_VARIABLE
    from mirtron_tools.inference.blas import limit_blas_threads

    path = TEST_DATA / "tiny_model.keras"
    arrays = model_inputs(datasets["synthetic_hairpins.npz"])
    light = load_scorer(path)
    monkeypatch.setenv(ENGINE_VARIABLE, "keras")
    heavy = load_scorer(path)
    assert (light.engine, heavy.engine) == ("numpy", "keras")
    assert np.abs(light.predict(arrays) - heavy.predict(arrays)).max() <= TOLERANCE
    assert limit_blas_threads(1) in (True, False)


def test_threads_give_the_same_probabilities(datasets):
    path = bundled_models()["premirna"]
    manifest = read_manifest(path)
    arrays = _arrays(manifest, datasets["scan_candidates.npz"])
    one = load_scorer(path).predict(arrays, batch_size=8)
    assert np.array_equal(load_scorer(path, threads=2).predict(arrays, batch_size=8), one)


def test_genome_model_equals_eager_keras(datasets, keras_models):
    """Bit for bit the arithmetic the trees were fit on (features computed eagerly): TensorFlow's graph
    optimiser reorders ``per_nt * length / 100`` in compiled scoring, which moved 1 of 8,611 chr19 candidates
    by 0.001 (docs/speed.md); eager Keras and the numpy scorer agree on all of them."""
    from mirtron_tools.batches import length_batches, pad

    path = bundled_models()["genome"]
    arrays = _arrays(read_manifest(path), datasets["scan_candidates.npz"])
    light = load_scorer(path).predict(arrays, batch_size=16)
    for rows in length_batches([len(array) for array in arrays], 16):
        eager = np.asarray(keras_models(path)(pad([arrays[row] for row in rows]), training=False)).reshape(-1)
        assert np.abs(eager - light[rows]).max() <= 1e-6


def test_weights_are_found_where_keras_saves_them():
    from mirtron_tools.inference.graph import Graph, snake_case
    from mirtron_tools.inference.layers import Unsupported
    from mirtron_tools.io.model import read_network

    assert [snake_case(name) for name in ("Conv1D", "BoostedTrees", "AttentionPooling", "Functional", "Dense")] \
        == ["conv1d", "boosted_trees", "attention_pooling", "functional", "dense"]
    config, weights = read_network(TEST_DATA / "tiny_model.keras")
    assert not any("optimizer" in key for key in weights)
    Graph(config, weights)
    missing = {key: value for key, value in weights.items() if "/attention_pooling/" not in key}
    with pytest.raises(Unsupported, match="AttentionPooling"):
        Graph(config, missing)
