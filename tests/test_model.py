import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirtron_tools.encoding import model_inputs  # noqa: E402
from mirtron_tools.ensemble import attention_model  # noqa: E402
from mirtron_tools.io.encoded import read_encoded  # noqa: E402
from mirtron_tools.io.model import load_model, save_model  # noqa: E402
from mirtron_tools.model import AttentionPooling, build_model  # noqa: E402
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


def _naive_regression_feature_matrix(sequence):
    """1-3-mer frequencies (per window, N-containing windows count as none) and end dinucleotides."""
    import itertools

    features = []
    for k in (1, 2, 3):
        words = ["".join(p) for p in itertools.product("ACGU", repeat=k)]
        windows = [sequence[i:i + k] for i in range(len(sequence) - k + 1)]
        valid = [w for w in windows if set(w) <= set("ACGU")]
        features.extend(4 ** k * valid.count(word) / max(len(windows), 1) for word in words)
    pairs = ["".join(p) for p in itertools.product("ACGU", repeat=2)]
    for end in (sequence[:2], sequence[-2:]):
        features.extend(float(end == word) for word in pairs)
    return np.array(features)


def test_kmer_frequencies_match_a_direct_count_and_ignore_padding():
    from mirtron_tools.encoding import one_hot_batch
    from mirtron_tools.features import KmerFrequencies

    sequences = ["GUACGAGGUCCAG", "ACGUNACG", "UUUAG"]
    batch = one_hot_batch(sequences, ["." * len(s) for s in sequences], length=20).astype(np.float32)
    features = np.asarray(KmerFrequencies()(batch))
    assert features.shape == (3, 116)
    for row, sequence in zip(features, sequences):
        assert np.allclose(row, _naive_regression_feature_matrix(sequence), atol=1e-5), sequence


def _naive_structure_features(sequence, structure, mfe):
    """Xue et al.'s features written out directly: -MFE/100, -MFE per nt, MFE index, log length,
    paired share, GC share, then the 32 (states i-1, i, i+1; base i) triplet frequencies."""
    import itertools

    length = len(sequence)
    paired = ["1" if c in "()" else "0" for c in structure]
    gc = (sequence.count("G") + sequence.count("C")) / length
    keys = ["".join(states) + base for states in itertools.product("01", repeat=3) for base in "ACGU"]
    counts = dict.fromkeys(keys, 0)
    for i in range(1, length - 1):
        key = paired[i - 1] + paired[i] + paired[i + 1] + sequence[i]
        if key in counts:
            counts[key] += 1
    total = max(sum(counts.values()), 1)
    return np.array([-mfe / 100, -mfe / length, -mfe / length / max(gc, 0.05), np.log(length),
                     paired.count("1") / length, gc, *(value / total for value in counts.values())])


def test_structure_features_match_a_direct_count_and_ignore_padding():
    from mirtron_tools.encoding import fold, input_array
    from mirtron_tools.features import StructureFeatures

    sequences = ["GGGCUAGCUUCGGCUAGCCC", "ACGUNACGUUUCGACGUAAGU", "AUAUAU", "GCGCGCGGAAACGCGCGCAUAGCUAGCUAUUUUAGCUAGCUAUG"]
    batch = np.zeros((len(sequences), 50, 8), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        structure, mfe = fold(sequence)
        batch[row, :len(sequence)] = input_array(sequence, structure, mfe)
    features = np.asarray(StructureFeatures()(batch))
    assert features.shape == (len(sequences), 38)
    for row, sequence in enumerate(sequences):
        structure, mfe = fold(sequence)
        assert np.allclose(features[row], _naive_structure_features(sequence, structure, mfe), atol=1e-5), sequence
    assert features[0, 0] > 0.05 and features[2, 0] == 0  # a real stem has a free energy; AUAUAU does not fold


def test_logistic_fit_is_the_penalised_optimum():
    from mirtron_tools.training import fit_logistic, logistic_probability

    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 5)) * [1, 10, 0.1, 1, 1] + [0, 5, 0, 0, 0]
    labels = (features[:, 0] - features[:, 3] + rng.normal(size=300) > 0.5).astype(int)
    kernel, bias = fit_logistic(features, labels, c=0.1)
    probability = logistic_probability(features, kernel, bias)
    # the gradient of c * weighted log loss + |w|^2 / 2, in the standardised coordinates, is zero
    scale = features.std(axis=0)
    weights = np.where(labels == 1, 300 / (2 * labels.sum()), 300 / (2 * (300 - labels.sum())))
    standardised = (features - features.mean(axis=0)) / scale
    gradient = 0.1 * standardised.T @ (weights * (probability - labels)) + kernel * scale
    assert np.abs(gradient).max() < 1e-3 and abs((weights * (probability - labels)).sum()) < 1e-3
    assert kernel[0] > 0 > kernel[3] and abs(kernel[2] * scale[2]) < abs(kernel[0] * scale[0])


def test_ensemble_with_kmer_member_blends_round_trips_and_reads_attention_from_networks(tmp_path):
    from mirtron_tools.ensemble import KMER_REGRESSION_MEMBER, ensemble_members, ensemble_model, regression_model
    from mirtron_tools.features import regression_feature_matrix

    rng = np.random.default_rng(2)
    x = np.zeros((3, 30, 7), dtype=np.float32)
    for row, length in enumerate((30, 24, 18)):
        x[row, np.arange(length), rng.integers(0, 4, length)] = 1
        x[row, np.arange(length), 4 + rng.integers(0, 3, length)] = 1
    networks = [build_model(7), build_model(7)]
    kernel, bias = rng.normal(size=116) * 0.1, -0.3
    model = ensemble_model(networks, regression_model(7, (kernel, bias)), regression_weight=0.25)
    network_mean = np.mean([np.asarray(n.predict_on_batch(x)).ravel() for n in networks], axis=0)
    arrays = [x[0], x[1, :24], x[2, :18]]
    linear = 1 / (1 + np.exp(-(regression_feature_matrix(arrays) @ kernel + bias)))
    assert np.allclose(np.asarray(model.predict_on_batch(x)).ravel(), 0.75 * network_mean + 0.25 * linear, atol=1e-5)
    assert [member.name for member in ensemble_members(model)] == ["member_1", "member_2"]
    save_model(model, tmp_path / "e.keras", {"task": "mirtron", "threshold": 0.5, "channels": list("ABCDEFG")})
    loaded, _ = load_model(tmp_path / "e.keras")
    assert loaded.get_layer(KMER_REGRESSION_MEMBER) is not None
    assert np.allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
    probabilities, weights = attention_arrays(loaded, arrays)
    assert np.allclose(probabilities, predict_arrays(model, arrays), atol=1e-5)
    assert all(abs(w.sum() - 1) < 1e-4 and len(w) == len(a) for w, a in zip(weights, arrays))


def test_regression_member_with_structure_features_round_trips(tmp_path):
    from mirtron_tools.ensemble import FEATURE_REGRESSION_MEMBER, ensemble_members, ensemble_model, regression_model
    from mirtron_tools.features import regression_feature_matrix

    rng = np.random.default_rng(4)
    arrays = []
    for length in (30, 22):
        array = np.zeros((length, 8), dtype=np.float32)
        array[np.arange(length), rng.integers(0, 4, length)] = 1
        array[np.arange(length), 4 + rng.integers(0, 3, length)] = 1
        array[:, 7] = 0.3
        arrays.append(array)
    features = regression_feature_matrix(arrays, structure=True)
    assert features.shape == (2, 154) and np.allclose(features[:, :116], regression_feature_matrix(arrays))
    kernel, bias = rng.normal(size=154) * 0.1, 0.2
    model = ensemble_model([build_model(8), build_model(8)], regression_model(8, (kernel, bias), structure=True),
                           regression_weight=0.5)
    assert len(ensemble_members(model)) == 2
    save_model(model, tmp_path / "f.keras", {"task": "premirna", "threshold": 0.5, "channels": list("ABCDEFGH")})
    loaded, _ = load_model(tmp_path / "f.keras")
    member = loaded.get_layer(FEATURE_REGRESSION_MEMBER)
    assert np.allclose(np.asarray(member.predict_on_batch(arrays[1][None])).ravel(),
                       1 / (1 + np.exp(-(features[1] @ kernel + bias))), atol=1e-5)
    assert np.allclose(predict_arrays(loaded, arrays), predict_arrays(model, arrays), atol=1e-6)


def _naive_stem_loop_features(structure):
    """StemLoopFeatures computed from the dot-bracket string with plain string operations."""
    import re

    n = len(structure)
    five = len(structure) - len(structure.lstrip("."))
    three = len(structure) - len(structure.rstrip("."))
    if not structure.strip("."):
        five = three = n
    loops = [(m.start(), m.end() - 1) for m in re.finditer(r"\(\.*\)", structure)]
    sizes = [end - start - 1 for start, end in loops]
    largest = max(sizes, default=0)
    opening, closing = loops[sizes.index(largest)] if loops else (0, 0)
    runs = len(re.findall(r"\(+|\)+", structure))
    dot_runs = [(m.start(), m.end()) for m in re.finditer(r"\.+", structure)]
    hairpin_runs = sum(1 for start, end in loops if end - start > 1)
    interior_runs = max(len(dot_runs) - (five > 0) - (three > 0) - hairpin_runs, 0)
    interior = max(structure.count(".") - five - three - sum(sizes), 0)
    five_arm = structure[:opening].count(".") - five if loops else 0
    three_arm = structure[closing + 1:].count(".") - three if loops else 0
    window = min(n, 10)
    return [five, three, three - five, five / n, three / n, structure[:10].count(".") / window,
            structure[-10:].count(".") / window, len(loops), largest,
            (opening + closing) / 2 / n if loops else 0.0, runs, (n - structure.count(".")) / max(runs, 1),
            interior_runs, interior / n, five_arm, three_arm, three_arm - five_arm]


def test_stem_loop_features_match_the_dot_bracket_and_ignore_padding():
    from mirtron_tools.encoding import input_array
    from mirtron_tools.features import StemLoopFeatures

    structures = ["..((((...)).((....))))...", "(((....)))", "((((.((.....))..))))..", "........",
                  ".((((...((....)).....))))", "(((...)))(((.......)))", "((((((.(((....)))..)))))).....",
                  "((((..((.(((.............))).))..))))"]
    rng = np.random.default_rng(7)
    width = max(map(len, structures)) + 5
    batch = np.zeros((len(structures), width, 7), dtype=np.float32)
    for row, structure in enumerate(structures):
        sequence = "".join(rng.choice(list("ACGU"), len(structure)))
        batch[row, :len(structure)] = input_array(sequence, structure)
    features = np.asarray(StemLoopFeatures()(batch))
    assert features.shape == (len(structures), 17)
    for row, structure in enumerate(structures):
        assert np.allclose(features[row], _naive_stem_loop_features(structure), atol=1e-5), structure


def test_splice_site_features_are_pyrimidine_shares_of_clipped_windows():
    from mirtron_tools.encoding import input_array
    from mirtron_tools.features import SpliceSiteFeatures

    def share(part):
        known = [base for base in part if base in "ACGU"]
        return sum(base in "CU" for base in known) / len(part) if part else 0.0

    rng = np.random.default_rng(11)
    # a 3' polypyrimidine tract before AG, short hairpins whose windows are clipped or empty,
    # and an unknown base (counted as a position, never as a pyrimidine)
    sequences = ["GUAAGA" + "".join(rng.choice(list("ACGU"), 40)) + "CUUCCUUUCCCUUCUCCCAG", "ACGUAC", "CU",
                 "".join(rng.choice(list("ACGU"), 90)), "GGGNCCUUUAGGAACCCUUUUNCUAG"]
    width = max(map(len, sequences)) + 4
    batch = np.zeros((len(sequences), width, 7), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        batch[row, :len(sequence)] = input_array(sequence, "." * len(sequence))
    features = np.asarray(SpliceSiteFeatures()(batch))
    assert features.shape == (len(sequences), 4)
    for row, s in enumerate(sequences):
        n = len(s)
        expected = [share(s[max(n - 12, 0):max(n - 2, 0)]), share(s[max(n - 22, 0):max(n - 2, 0)]), share(s[:10]),
                    share(s[max(n - 35, 0):max(n - 15, 0)])]
        assert np.allclose(features[row], expected, atol=1e-6), s
    assert features[0, 0] == 1.0 and features[0, 2] < 0.5


def test_boosted_trees_fit_the_data_and_the_keras_layer_matches_numpy(tmp_path):
    from mirtron_tools.boosting import BoostingConfig, fit_trees, tree_logits, tree_probability
    from mirtron_tools.ensemble import BoostedTrees

    rng = np.random.default_rng(3)
    features = rng.normal(size=(600, 5)).astype(np.float32)
    # an interaction that no linear model captures: positive when x0 and x1 have the same sign
    labels = ((features[:, 0] * features[:, 1] > 0) ^ (rng.random(600) < 0.05)).astype(int)
    ensemble = fit_trees(features[:400], labels[:400], BoostingConfig(trees=60, depth=3, learning_rate=0.2, min_leaf=5))
    assert ensemble.features.shape == (60, 7) and ensemble.leaves.shape == (60, 8)
    held_out = tree_probability(ensemble, features[400:])
    accuracy = ((held_out > 0.5) == labels[400:]).mean()
    assert accuracy > 0.85
    # the log loss falls as trees are added (each tree is a Newton step on the training data)
    first = tree_logits(type(ensemble)(ensemble.features[:5], ensemble.thresholds[:5], ensemble.leaves[:5],
                                       ensemble.bias), features[:400])
    every = tree_logits(ensemble, features[:400])

    def log_loss(logits):
        return np.mean(np.log1p(np.exp(-(2 * labels[:400] - 1) * logits)))

    assert log_loss(every) < log_loss(first) < np.log(2)
    layer = BoostedTrees(60, 3)
    layer.build((None, 5))
    layer.set_weights([ensemble.features, ensemble.thresholds, ensemble.leaves, np.array([ensemble.bias], "float32")])
    assert np.allclose(np.asarray(layer(features)).ravel(), tree_probability(ensemble, features), atol=1e-5)


def test_fit_trees_is_deterministic_and_weights_count():
    from mirtron_tools.boosting import BoostingConfig, fit_trees

    rng = np.random.default_rng(5)
    features = rng.normal(size=(300, 4))
    labels = (features[:, 2] + 0.5 * rng.normal(size=300) > 1).astype(int)
    config = BoostingConfig(trees=10, depth=2, min_leaf=5)
    once, again = fit_trees(features, labels, config), fit_trees(features, labels, config)
    assert all(np.array_equal(a, b) for a, b in zip((once.features, once.thresholds, once.leaves),
                                                   (again.features, again.thresholds, again.leaves)))
    weighted = fit_trees(features, labels, config, sample_weights=np.where(labels == 1, 5.0, 1.0))
    assert weighted.bias > once.bias  # a heavier positive class starts from higher log-odds


def test_ensemble_with_tree_member_mixes_round_trips_and_reads_attention_from_networks(tmp_path):
    from mirtron_tools.boosting import BoostingConfig, fit_trees, tree_probability
    from mirtron_tools.ensemble import (
        FEATURE_REGRESSION_MEMBER,
        TREE_MEMBER,
        ensemble_members,
        ensemble_model,
        regression_model,
        tree_model,
    )
    from mirtron_tools.features import regression_feature_matrix, tree_feature_matrix

    rng = np.random.default_rng(6)
    arrays = []
    for length in rng.integers(20, 40, 30):
        array = np.zeros((length, 8), dtype=np.float32)
        array[np.arange(length), rng.integers(0, 4, length)] = 1
        array[np.arange(length), 4 + rng.integers(0, 3, length)] = 1
        array[:, 7] = rng.random()
        arrays.append(array)
    labels = np.arange(30) % 2
    features = tree_feature_matrix(arrays, structure=True)
    assert features.shape == (30, 154 + 17 + 4)
    assert np.allclose(features[:, :154], regression_feature_matrix(arrays, structure=True))
    trees = fit_trees(features, labels, BoostingConfig(trees=8, depth=2, min_leaf=3))
    networks = [build_model(8), build_model(8)]
    regression = regression_model(8, (rng.normal(size=154) * 0.1, 0.0), structure=True)
    model = ensemble_model(networks, regression, 0.2, tree_model(8, trees, structure=True), 0.5)
    assert len(ensemble_members(model)) == 2
    save_model(model, tmp_path / "t.keras", {"task": "premirna", "threshold": 0.5, "channels": list("ABCDEFGH")})
    loaded, _ = load_model(tmp_path / "t.keras")
    assert np.allclose(predict_arrays(loaded.get_layer(TREE_MEMBER), arrays), tree_probability(trees, features),
                       atol=1e-5)
    parts = [predict_arrays(member, arrays) for member in ensemble_members(loaded)]
    expected = (0.3 * np.mean(parts, axis=0) + 0.2 * predict_arrays(loaded.get_layer(FEATURE_REGRESSION_MEMBER), arrays)
                + 0.5 * tree_probability(trees, features))
    assert np.allclose(predict_arrays(loaded, arrays), expected, atol=1e-5)
    probabilities, weights = attention_arrays(loaded, arrays)
    assert all(abs(w.sum() - 1) < 1e-4 and len(w) == len(a) for w, a in zip(weights, arrays))


def test_choose_tree_weight_follows_the_better_part_and_breaks_ties_at_a_half():
    from mirtron_tools.metrics import roc_auc
    from mirtron_tools.training import AUTO_TREE_WEIGHTS, blend_parts, choose_tree_weight

    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1], 200)
    signal = labels + rng.normal(scale=0.8, size=400)
    noise = rng.normal(size=400)
    good, poor = 1 / (1 + np.exp(-signal)), 1 / (1 + np.exp(-(0.3 * signal + noise)))
    share, search = choose_tree_weight(labels, {"networks": poor, "trees": good})
    assert share == max(AUTO_TREE_WEIGHTS) and len(search) == len(AUTO_TREE_WEIGHTS)
    assert search["0.9"] == pytest.approx(roc_auc(labels, blend_parts({"networks": poor, "trees": good}, 0, 0.9)))
    assert choose_tree_weight(labels, {"networks": good, "trees": poor})[0] == min(AUTO_TREE_WEIGHTS)
    # identical parts: every share has the same AUC, the tie goes to a half
    assert choose_tree_weight(labels, {"networks": good, "trees": good})[0] == 0.5
    # a k-mer share leaves the networks at least 0.1
    share, search = choose_tree_weight(labels, {"networks": poor, "kmer": poor, "trees": good}, regression_weight=0.3)
    assert share == 0.6 and max(map(float, search)) == 0.6
    blended = blend_parts({"networks": poor, "kmer": noise, "trees": good}, 0.3, 0.6)
    assert np.allclose(blended, 0.1 * poor + 0.3 * noise + 0.6 * good, atol=1e-6)


def test_training_config_check_names_the_contradiction():
    """The model contract's option checks live in the library (mt-train only maps field names to options)."""
    from mirtron_tools.boosting import BoostingConfig
    from mirtron_tools.training import TrainingConfig

    TrainingConfig(tree_weight="auto").check(ensemble=3)
    for config, run, message in [
        (TrainingConfig(regression_weight=0.5), {}, "regression_weight needs an ensemble"),
        (TrainingConfig(tree_weight=0.6, regression_weight=0.5), {"ensemble": 2}, "add up to more than 1"),
        (TrainingConfig(tree_weight="auto", regression_weight=0.9), {"ensemble": 2}, "0.8 or less"),
        (TrainingConfig(tree_weight=1.5), {"ensemble": 2}, "between 0 and 1, or auto"),
        (TrainingConfig(), {"ensemble": 2, "fine_tuning": True}, "without folds and ensemble"),
        (TrainingConfig(monitor="accuracy"), {}, "monitor"),
    ]:
        with pytest.raises(ValueError, match=message):
            config.check(**run)
    record = TrainingConfig(tree_weight=0.5, trees=BoostingConfig(trees=7, depth=2)).to_dict()
    assert record["trees"]["trees"] == 7 and record["trees"]["depth"] == 2 and "trees" not in TrainingConfig().to_dict()
