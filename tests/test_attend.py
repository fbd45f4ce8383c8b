"""mt-attend and mirtron_tools.attribution: weights, forward-pass agreement, mutagenesis, aggregate,
figures in every format, golden tables, and every bad-input path (exit 1, one line, nothing written)."""
import io
import struct
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from conftest import assert_files_equal, write  # noqa: E402

from mirtron_tools import __version__  # noqa: E402
from mirtron_tools.attribution import (  # noqa: E402
    EndProfile,
    TopScoring,
    mutagenesis_importance,
    prediction_groups,
    saturation_mutagenesis,
    substitutions,
)
from mirtron_tools.cli import attend  # noqa: E402
from mirtron_tools.encoding import fold, model_inputs, one_hot  # noqa: E402
from mirtron_tools.io.encoded import read_encoded  # noqa: E402
from mirtron_tools.io.model import load_model, save_model  # noqa: E402


def _table(path):
    lines = path.read_text().splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def _by_id(rows, column):
    values = {}
    for row in rows:
        values.setdefault(row[0], []).append(float(row[column]))
    return {identifier: np.array(value) for identifier, value in values.items()}


@pytest.fixture
def tiny(test_data):
    return ["--model", str(test_data / "tiny_model.keras")]


def test_console_script_installed():
    import shutil
    import subprocess
    from pathlib import Path

    found = shutil.which("mt-attend", path=str(Path(sys.executable).parent)) or shutil.which("mt-attend")
    assert found, f"mt-attend is not installed beside {sys.executable} (pip install . installs it)"
    result = subprocess.run([found, "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_weights_are_a_distribution_and_equal_the_models_own_forward_pass(tmp_path, test_data, tiny):
    output = tmp_path / "a.tsv"
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(output), "-q"]) == 0
    header, rows = _table(output)
    assert header == ["id", "position", "nucleotide", "structure", "attention"]
    weights = _by_id(rows, 4)
    encoded = read_encoded(test_data / "synthetic_hairpins.npz")
    assert list(weights) == encoded.ids
    for identifier, sequence, structure in zip(encoded.ids, encoded.sequences, encoded.structures):
        own = [row for row in rows if row[0] == identifier]
        assert [row[1] for row in own] == [str(position) for position in range(1, len(sequence) + 1)]
        assert "".join(row[2] for row in own) == sequence and "".join(row[3] for row in own) == structure
        assert (weights[identifier] >= 0).all() and abs(weights[identifier].sum() - 1) < 1e-4

    # The model's own forward pass, one unpadded hairpin at a time, with the attention recomputed
    # in numpy from the attention layer's weights and its input (the recurrent states); for an
    # ensemble, the mean over its members.
    model, _ = load_model(test_data / "tiny_model.keras")
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]
    readers = []
    for member in members:
        layer = member.get_layer("attention")
        states = layer.input[0] if isinstance(layer.input, (list, tuple)) else layer.input  # [states, mask]
        readers.append((keras.Model(member.input, states), layer.get_weights()))
    _, predictions = _table(tmp_path / "a.predictions.tsv")
    for array, identifier, prediction in zip(model_inputs(encoded), encoded.ids, predictions):
        expected = np.zeros(len(array))
        for reader, (projection, bias, score_vector) in readers:
            hidden = np.asarray(reader.predict_on_batch(array[None]))[0]
            scores = np.tanh(hidden @ projection + bias) @ score_vector
            member_weights = np.exp(scores - scores.max())
            expected += member_weights / member_weights.sum() / len(readers)
        assert np.allclose(weights[identifier], expected, atol=2e-6), identifier
        probability = float(np.asarray(model.predict_on_batch(array[None])).reshape(-1)[0])
        assert prediction[0] == identifier and abs(float(prediction[2]) - probability) < 1e-4


def _assert_table_close(golden, ours, atol):
    golden_header, golden_rows = _table(golden)
    header, rows = _table(ours)
    assert header == golden_header and len(rows) == len(golden_rows)
    numeric = [column for column, name in enumerate(header) if column >= 4]
    for row, expected in zip(rows, golden_rows):
        assert row[:4] == expected[:4]
        assert np.allclose([float(row[column]) for column in numeric],
                           [float(expected[column]) for column in numeric], atol=atol), row


def test_golden_tables_on_the_tiny_model(tmp_path, test_data, tiny):
    # Numbers are compared within a tolerance: TensorFlow's float32 results differ in the last
    # bits between CPUs, which would flip a rounded digit; the text columns must be identical.
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "a.tsv"), "-q",
                        "--chunk-size", "7"]) == 0
    _assert_table_close(test_data / "tiny_attention.tsv", tmp_path / "a.tsv", atol=5e-6)
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "m.tsv"), "-q",
                        "--method", "mutagenesis", "--ids", "syn_mirtron_0001,syn_canonical_0001"]) == 0
    _assert_table_close(test_data / "tiny_mutagenesis.tsv", tmp_path / "m.tsv", atol=5e-5)


def test_fasta_from_stdin_equals_npz_and_labels_split_the_aggregate(tmp_path, test_data, tiny, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((test_data / "synthetic_hairpins.fa").read_bytes())))
    assert attend.main([*tiny, "-", "-o", str(tmp_path / "s.tsv"), "-q", "--chunk-size", "6",
                        "--labels", str(test_data / "synthetic_labels.tsv")]) == 0
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "n.tsv"), "-q"]) == 0
    assert_files_equal(tmp_path / "n.tsv", tmp_path / "s.tsv")
    assert_files_equal(tmp_path / "n.predictions.tsv", tmp_path / "s.predictions.tsv")
    header, rows = _table(tmp_path / "s.aggregate.tsv")
    assert header == ["group", "end", "distance", "hairpins", "mean_score", "mean_relative"]
    groups = {row[0] for row in rows}
    assert groups == {"predicted mirtron", "predicted other", "true mirtron", "true other"}
    # the terminal base of every 'true mirtron' hairpin counts at distance 0 of both ends
    for end in ("5p", "3p"):
        first = next(row for row in rows if row[:3] == ["true mirtron", end, "0"])
        assert first[3] == "10"
    assert {row[0] for row in _table(tmp_path / "n.aggregate.tsv")[1]} == {"predicted mirtron", "predicted other"}


@pytest.mark.parametrize("extension, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_figures_in_every_format(tmp_path, test_data, tiny, extension, magic):
    plots = tmp_path / "figures"  # created by mt-attend
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "a.tsv"), "-q",
                        "--plots", str(plots), "--top", "2", "--format", extension]) == 0
    _, predictions = _table(tmp_path / "a.predictions.tsv")
    best = [row[0] for row in sorted(predictions, key=lambda row: -float(row[2]))[:2]]
    expected = sorted([f"aggregate_attention.{extension}", *(f"{name}_attention.{extension}" for name in best)])
    assert sorted(path.name for path in plots.iterdir()) == expected
    for path in plots.iterdir():
        data = path.read_bytes()
        assert data.startswith(magic) and 10_000 < len(data) < 2_000_000, (path.name, len(data))
        if extension == "png":
            width, height = struct.unpack(">II", data[16:24])
            assert 600 <= width <= 2000 and 300 <= height <= 1000, (path.name, width, height)


def test_mutagenesis_figure_and_long_hairpin_stays_readable(tmp_path, test_data, tiny):
    from mirtron_tools.plots import attribution_figure, save_figure

    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "m.tsv"), "-q",
                        "--plots", str(tmp_path), "--ids", "syn_canonical_0003", "--method", "mutagenesis"]) == 0
    assert (tmp_path / "syn_canonical_0003_mutagenesis.png").stat().st_size > 10_000
    assert (tmp_path / "aggregate_mutagenesis.png").stat().st_size > 10_000
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list("ACGU"), 200))
    structure, _ = fold(sequence)
    figure = attribution_figure("long", sequence, structure, rng.random(200), 0.5, "other", "mutagenesis",
                                rng.normal(size=(200, 4)), {"reads": rng.random(200), "5p_ends": rng.random(200)})
    width, height = figure.get_size_inches()
    assert 20 <= width <= 25 and height < 8, "200 nt must fit at about 0.1 inch per base"
    save_figure(figure, tmp_path / "long.png")
    assert (tmp_path / "long.png").stat().st_size < 2_000_000


def test_substitutions_and_importance():
    mutants = substitutions("GNA")
    assert len(mutants) == 3 + 4 + 3
    assert ("GNA"[:1] + "C" + "A") in [mutant for _, _, mutant in mutants]
    assert all(mutant != "GNA" for _, _, mutant in mutants)
    deltas = np.array([[0.1, -0.2, 0.0, 0.3], [0.4, 0.4, -0.4, 0.4], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    assert np.allclose(mutagenesis_importance("GNA", deltas), [0.2, 0.4, 0.0])


def test_saturation_mutagenesis_refolds_and_rescores_every_substitution(test_data):
    model, _ = load_model(test_data / "tiny_model.keras")

    def predict(arrays):
        return np.array([float(np.asarray(model.predict_on_batch(array[None])).reshape(-1)[0]) for array in arrays])

    sequences = ["GUGCUAGCAUCGAAAGAUGCUAGCAG", "CCAUGGAAACCAUGG"]
    reference = predict([one_hot(sequence, fold(sequence)[0]).astype(np.float32) for sequence in sequences])
    # group_mutants=10 forces one hairpin per group; the results must not depend on grouping
    results = list(saturation_mutagenesis(sequences, predict, reference, group_mutants=10))
    again = list(saturation_mutagenesis(sequences, predict, reference))
    for sequence, deltas, other in zip(sequences, results, again):
        assert deltas.shape == (len(sequence), 4) and np.allclose(deltas, other, atol=1e-6)
        assert all(deltas[position, "ACGU".index(base)] == 0 for position, base in enumerate(sequence))
    mutant = "GUGCUAGCAUCGAAAGAUGCUAGCAG"[:5] + "G" + "GUGCUAGCAUCGAAAGAUGCUAGCAG"[6:]
    expected = predict([one_hot(mutant, fold(mutant)[0]).astype(np.float32)])[0] - reference[0]
    assert abs(results[0][5, 2] - expected) < 1e-6


def test_end_profile_means_and_relative_scale():
    profile = EndProfile(max_length=5)
    profile.add("a", np.array([0.5, 0.25, 0.25]))
    profile.add("a", np.array([0.1, 0.2, 0.3, 0.4]))
    counts, mean, relative = profile.curve("a", "5p")
    assert counts.tolist() == [2, 2, 2, 1]
    assert np.allclose(mean, [0.3, 0.225, 0.275, 0.4])
    assert np.allclose(relative, [(1.5 + 0.4) / 2, (0.75 + 0.8) / 2, (0.75 + 1.2) / 2, 1.6])
    counts, mean, _ = profile.curve("a", "3p")
    assert np.allclose(mean, [(0.25 + 0.4) / 2, (0.25 + 0.3) / 2, (0.5 + 0.2) / 2, 0.1])
    rows = list(profile.rows())
    assert rows[0] == ["a", "5p", "0", "2", "0.300000", "0.9500"] and len(rows) == 8
    assert list(EndProfile().rows()) == []
    profile.add("b", np.ones(8) / 8)  # longer than the initial size: the sums grow
    assert profile.curve("b", "3p")[0].tolist() == [1] * 8 and profile.curve("a", "5p")[0].tolist() == [2, 2, 2, 1]
    assert prediction_groups(0.7, 0.5, "mirtron", 0) == ["predicted mirtron", "true other"]
    assert prediction_groups(0.2, 0.5, "mirtron") == ["predicted other"]


def test_top_scoring_keeps_the_best_in_order():
    top = TopScoring(2)
    for probability, name in [(0.2, "a"), (0.9, "b"), (0.5, "c"), (0.9, "d"), (0.1, "e")]:
        top.offer(probability, name)
    assert top.items() == ["b", "d"]
    assert TopScoring(0).items() == []


def test_model_without_attention_layer_works_with_mutagenesis(tmp_path, test_data, capsys):
    inputs = keras.Input(shape=(None, 7))
    hidden = keras.layers.LSTM(4)(keras.layers.Masking()(inputs))
    plain = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    save_model(plain, tmp_path / "plain.keras", {"task": "mirtron", "positive_class": "mirtron", "threshold": 0.5,
                                                  "encoding_format_version": 1,
                                                  "channels": ["A", "C", "G", "U", "paired_open", "paired_close",
                                                               "unpaired"], "coverage": None, "max_length": 200})
    fasta = write(tmp_path / "h.fa", ">x\nGUGCUAGCAUCGAAAGAUGCUAGCAG\n")
    common = ["--model", str(tmp_path / "plain.keras"), str(fasta)]
    assert attend.main([*common, "-o", str(tmp_path / "a.tsv")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"mt-attend: error: {tmp_path / 'plain.keras'}: the model has no attention layer "
                     "('--method mutagenesis' works with any model)"]
    assert not (tmp_path / "a.tsv").exists()
    assert attend.main([*common, "-o", str(tmp_path / "m.tsv"), "--method", "mutagenesis", "-q"]) == 0
    assert len(_table(tmp_path / "m.tsv")[1]) == 26


def _coverage_model(folder):
    """A small untrained model over sequence + the issue-3 coverage channels, with such a manifest."""
    from mirtron_tools.coverage import MODEL_CHANNELS, NORMALISATION
    from mirtron_tools.encoding import CHANNELS
    from mirtron_tools.model import Architecture, build_model

    keras.utils.set_random_seed(5)
    model = build_model(len(CHANNELS) + len(MODEL_CHANNELS), Architecture(lstm_units=4, attention_units=4,
                                                                          dense_units=4))
    save_model(model, folder / "cov.keras", {
        "task": "mirtron", "positive_class": "mirtron", "threshold": 0.5, "max_length": 200,
        "encoding_format_version": 1, "channels": [*CHANNELS, *MODEL_CHANNELS],
        "coverage": {"channels": list(MODEL_CHANNELS), "flank": 5, "normalisation": NORMALISATION,
                     "format_version": 1, "settings": {}}})
    return str(folder / "cov.keras")


def _coverage_file(folder, encoded, flank=5):
    from mirtron_tools.coverage import CoverageSet
    from mirtron_tools.io.coverage import write_coverage

    rng = np.random.default_rng(3)
    counts = [rng.poisson(4, size=(len(sequence) + 2 * flank, 3)).astype(np.int32) for sequence in encoded.sequences]
    coverage = CoverageSet(ids=list(encoded.ids), lengths=encoded.lengths, flank=flank, counts=counts,
                           library_sizes=np.full(len(encoded), 5e5))
    write_coverage(folder / "h.cov.npz", coverage)
    return str(folder / "h.cov.npz"), coverage


def test_coverage_model_gets_its_channels_in_table_and_figure(tmp_path, test_data):
    from mirtron_tools.coverage import MODEL_CHANNELS, coverage_channels

    encoded = read_encoded(test_data / "synthetic_hairpins.npz")
    model = _coverage_model(tmp_path)
    coverage_path, coverage = _coverage_file(tmp_path, encoded)
    output = tmp_path / "a.tsv"
    assert attend.main(["--model", model, str(test_data / "synthetic_hairpins.npz"), "--coverage", coverage_path,
                        "-o", str(output), "-q", "--ids", "syn_mirtron_0002,syn_canonical_0005",
                        "--plots", str(tmp_path / "figs"), "--format", "svg", "--chunk-size", "1"]) == 0
    header, rows = _table(output)
    assert header == ["id", "position", "nucleotide", "structure", "attention", *MODEL_CHANNELS]
    subset = encoded.subset([encoded.ids.index("syn_mirtron_0002"), encoded.ids.index("syn_canonical_0005")])
    expected = np.concatenate(coverage_channels(subset, coverage))
    assert np.allclose(np.array([[float(value) for value in row[5:]] for row in rows]), expected, rtol=1e-3)
    for weights in _by_id(rows, 4).values():
        assert abs(weights.sum() - 1) < 1e-4
    svg = (tmp_path / "figs" / "syn_mirtron_0002_attention.svg").read_text()
    assert "read 5' ends" in svg and "read depth" in svg  # read counts, not the model's scale


@pytest.mark.parametrize("case", ["unknown_ids_npz", "unknown_ids_fasta", "unknown_ids_stdin", "plot_folder_is_file",
                                  "plot_folder_parent_missing", "plot_folder_read_only", "coverage_model_no_coverage",
                                  "coverage_for_sequence_model", "coverage_missing_ids", "missing_model"])
def test_bad_input(tmp_path, test_data, capsys, monkeypatch, case):
    inputs = tmp_path / "in"
    inputs.mkdir()
    model, data = str(test_data / "tiny_model.keras"), str(test_data / "synthetic_hairpins.npz")
    output = tmp_path / "out" / "a.tsv"
    output.parent.mkdir()
    extra = []
    if case.startswith("unknown_ids"):
        extra = ["--ids", "syn_mirtron_0001,nobody,nobody2"]
        if case == "unknown_ids_fasta":
            data = str(test_data / "synthetic_hairpins.fa")
        elif case == "unknown_ids_stdin":
            data = "-"
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
                (test_data / "synthetic_hairpins.fa").read_bytes())))
        expected = "2 id(s) given with --ids are not in the input: nobody, nobody2"
        extra += ["--plots", str(tmp_path / "out" / "figs")]
    elif case == "plot_folder_is_file":
        extra = ["--plots", str(write(inputs / "figs", "x"))]
        expected = "figs: plot folder is a file, not a folder"
    elif case == "plot_folder_parent_missing":
        extra = ["--plots", str(tmp_path / "out" / "no" / "figs")]
        expected = "cannot create the plot folder"
    elif case == "plot_folder_read_only":
        import os

        if os.geteuid() == 0:
            pytest.skip("root can write into a read-only folder")
        locked = inputs / "locked"
        locked.mkdir(mode=0o500)
        extra = ["--plots", str(locked)]
        expected = "plot folder is not writable"
    elif case == "coverage_model_no_coverage":
        model = _coverage_model(inputs)
        expected = "cov.keras: this model was trained with small-RNA-seq coverage (coverage_depth,"
    elif case == "coverage_for_sequence_model":
        extra = ["--coverage", _coverage_file(inputs, read_encoded(data))[0]]
        expected = "tiny_model.keras: this model was trained on sequence only; it cannot use --coverage"
    elif case == "coverage_missing_ids":
        model = _coverage_model(inputs)
        extra = ["--coverage", _coverage_file(inputs, read_encoded(data).subset(range(5)))[0]]
        expected = "h.cov.npz: 15 of 20 sequence id(s) have no coverage"
    else:
        model = str(inputs / "missing.keras")
        expected = "missing.keras: neither a bundled model"
    assert attend.main(["--model", model, data, "-o", str(output), "-q", *extra]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("mt-attend: error: ") and expected in error[0], error
    assert list(output.parent.iterdir()) == [], "nothing may be left behind"


def test_read_only_plot_folder_checked_before_work(tmp_path, test_data, tiny, monkeypatch, capsys):
    # As root the permission bits are not enforced; simulate a folder the user cannot write.
    import os

    folder = tmp_path / "figs"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(folder) else real_access(path, mode))
    assert attend.main([*tiny, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "a.tsv"),
                        "--plots", str(folder)]) == 1
    assert capsys.readouterr().err.strip() == f"mt-attend: error: {folder}: plot folder is not writable"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["figs"] and not any(folder.iterdir())
