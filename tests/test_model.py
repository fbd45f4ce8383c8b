import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirtron_tools.encoding import model_inputs  # noqa: E402
from mirtron_tools.io.encoded import read_encoded  # noqa: E402
from mirtron_tools.io.model import load_model, save_model  # noqa: E402
from mirtron_tools.model import AttentionPooling, attention_model, build_model  # noqa: E402
from mirtron_tools.prediction import attention_arrays, predict_arrays  # noqa: E402


def test_attention_weights_sum_to_one_over_unpadded_positions(test_data):
    model, _ = load_model(test_data / "tiny_model.keras")
    arrays = model_inputs(read_encoded(test_data / "synthetic_hairpins.npz"))
    probabilities, weights = attention_arrays(model, arrays)
    for array, weight in zip(arrays, weights):
        assert weight.shape == (len(array),)
        assert (weight >= 0).all() and abs(weight.sum() - 1) < 1e-4
    assert np.allclose(probabilities, predict_arrays(model, arrays), atol=1e-5)


def test_padding_does_not_change_the_prediction():
    model = build_model(7)
    rng = np.random.default_rng(0)
    x = np.zeros((1, 40, 7), dtype=np.float32)
    x[0, :30, rng.integers(0, 4, 30)] = 1
    x[0, np.arange(30), 4 + rng.integers(0, 3, 30)] = 1
    longer = np.zeros((1, 64, 7), dtype=np.float32)
    longer[:, :40] = x
    reader = attention_model(model)
    short_p, short_w = reader.predict_on_batch(x)
    long_p, long_w = reader.predict_on_batch(longer)
    assert np.allclose(short_p, long_p, atol=1e-5)
    assert np.allclose(short_w[0, :30], long_w[0, :30], atol=1e-5) and not long_w[0, 30:].any()


def test_custom_layer_round_trips_through_keras_file(tmp_path):
    model = build_model(7)
    path = tmp_path / "m.keras"
    save_model(model, path, {"task": "mirtron", "threshold": 0.5, "channels": list("ABCDEFG")})
    loaded, manifest = load_model(path)
    assert isinstance(loaded.get_layer("attention"), AttentionPooling)
    x = np.random.default_rng(1).random((2, 16, 7)).astype(np.float32)
    assert np.allclose(model.predict_on_batch(x), loaded.predict_on_batch(x))
    assert manifest["format_version"] == 1 and manifest["threshold"] == 0.5
