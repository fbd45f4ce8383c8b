"""Every command: --help, --version, golden outputs, and each bad-input path (exit 1, one line, no output)."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_files_equal, write

from mirtron_tools import __version__
from mirtron_tools.cli import attend, encode, predict, train
from mirtron_tools.cli import coverage as coverage_cli
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.listing import model_listing

COMMANDS = {"mt-encode": encode, "mt-train": train, "mt-predict": predict, "mt-coverage": coverage_cli,
            "mt-attend": attend}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_and_version(name, capsys):
    module = COMMANDS[name]
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0 and name in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--version"])
    assert exit_info.value.code == 0 and __version__ in capsys.readouterr().out


def test_console_scripts_installed():
    for name in COMMANDS:
        found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
        assert found, f"{name} is not installed beside {sys.executable} (pip install . installs it)"
        result = subprocess.run([found, "--version"], capture_output=True, text=True)
        assert result.returncode == 0 and __version__ in result.stdout


def test_installed_mt_predict_runs_the_readme_job_outside_the_source_tree(tmp_path):
    """The README's main job with the installed command, from another folder, so the installed
    package (with its bundled model files) is what runs, not this source tree."""
    from conftest import EXAMPLES

    command = shutil.which("mt-predict", path=str(Path(sys.executable).parent)) or shutil.which("mt-predict")
    result = subprocess.run([command, str(EXAMPLES / "hairpins.fa"), "-o", "calls.tsv", "-q"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    calls = dict(line.split("\t")[::3] for line in (tmp_path / "calls.tsv").read_text().splitlines()[1:])
    assert calls["hsa-mir-877"] == "mirtron" and calls["hsa-mir-21"] == "other"
    listing = subprocess.run([command, "--list-models"], cwd=tmp_path, capture_output=True, text=True)
    assert "human_mirtron" in listing.stdout and "premirna" in listing.stdout


def test_a_reader_that_stops_early_ends_the_command_quietly():
    # mt-predict ... -o - | head: every write after head exits raises BrokenPipeError
    script = ("import sys\n"
              "from mirtron_tools.cli import common\n"
              "def execute(args):\n"
              "    while True:\n"
              "        sys.stdout.write('id\\tlength\\tprobability\\tcall\\n' * 1000)\n"
              "        sys.stdout.flush()\n"
              "sys.exit(common.run(common.base_parser('mt-x', ''), [], execute))\n")
    reader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.read(100)
    reader.stdout.close()
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b""


@pytest.mark.parametrize("module", ["encode", "coverage"])
def test_help_does_not_import_tensorflow(module):
    code = (f"import sys; from mirtron_tools.cli import {module}\n"
            f"try:\n    {module}.main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"assert 'tensorflow' not in sys.modules, '{module} imported TensorFlow'")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_encode_golden(tmp_path, test_data):
    output = tmp_path / "out.npz"
    assert encode.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(output), "-q", "--threads", "2"]) == 0
    assert_files_equal(test_data / "synthetic_hairpins.tsv", tmp_path / "out.tsv")
    ours, golden = read_encoded(output), read_encoded(test_data / "synthetic_hairpins.npz")
    assert ours.ids == golden.ids and ours.structures == golden.structures
    with np.load(output) as arrays:
        assert arrays["onehot"].shape == (20, max(arrays["lengths"]), 7)
        assert int(arrays["format_version"]) == 1


def test_encode_from_stdin_with_ambiguity_warning(tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b">x\nGGGGAAANCCCC\n")))
    assert encode.main(["-", "-o", str(tmp_path / "s.npz")]) == 0
    assert "1 position(s) in 1 record(s) are N or IUPAC" in capsys.readouterr().err
    assert read_encoded(tmp_path / "s.npz").sequences == ["GGGGAAANCCCC"]


def test_encode_long_sequences(tmp_path, capsys):
    fasta = write(tmp_path / "l.fa", ">short\nGGGAAACCC\n>long\n" + "A" * 30 + "\n")
    assert encode.main([str(fasta), "-o", str(tmp_path / "l.npz"), "--max-length", "20"]) == 1
    assert "l.fa:3: record 'long' is 30 nt, longer than --max-length 20" in capsys.readouterr().err
    assert not (tmp_path / "l.npz").exists()
    assert encode.main([str(fasta), "-o", str(tmp_path / "l.npz"), "--max-length", "20", "--skip-long"]) == 0
    assert read_encoded(tmp_path / "l.npz").ids == ["short"]


@pytest.mark.parametrize("text, message", [
    ("", "file is empty"),
    ("GGGAAACCC\n", "not FASTA"),
    (">a\n>b\nGGG\n", "record 'a' has no sequence"),
    (">a\nGGG\n>a\nCCC\n", "duplicate record id 'a'"),
    (">a\nGGJ\n", "record 'a' has character 'J'"),
])
def test_encode_bad_input(tmp_path, capsys, text, message):
    fasta = write(tmp_path / "bad.fa", text)
    assert encode.main([str(fasta), "-o", str(tmp_path / "bad.npz")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("mt-encode: error: ") and "bad.fa" in error[0]
    assert message in error[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.fa"], "no output left behind"


def test_encode_missing_input_and_output_folder(tmp_path, capsys):
    assert encode.main([str(tmp_path / "none.fa"), "-o", str(tmp_path / "x.npz")]) == 1
    assert "none.fa: no such file" in capsys.readouterr().err
    assert encode.main([str(tmp_path / "none.fa"), "-o", str(tmp_path / "no" / "x.npz")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_predict_golden_with_tiny_model(tmp_path, test_data):
    output = tmp_path / "calls.tsv"
    assert predict.main(["--model", str(test_data / "tiny_model.keras"), str(test_data / "synthetic_hairpins.fa"),
                         "-o", str(output), "-q"]) == 0
    ours = [line.split("\t") for line in output.read_text().splitlines()]
    golden = [line.split("\t") for line in (test_data / "tiny_predictions.tsv").read_text().splitlines()]
    assert [row[:2] for row in ours] == [row[:2] for row in golden]
    assert np.allclose([float(row[2]) for row in ours[1:]], [float(row[2]) for row in golden[1:]], atol=2e-3)


def test_predict_npz_equals_fasta_and_evaluates(tmp_path, test_data, capsys):
    model = str(test_data / "tiny_model.keras")
    assert predict.main(["--model", model, str(test_data / "synthetic_hairpins.npz"), "-o", str(tmp_path / "a.tsv"),
                         "--chunk-size", "7", "--labels", str(test_data / "synthetic_labels.tsv"),
                         "--metrics", str(tmp_path / "m.tsv")]) == 0
    assert predict.main(["--model", model, str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "b.tsv"),
                         "-q"]) == 0
    assert_files_equal(tmp_path / "b.tsv", tmp_path / "a.tsv")
    assert "evaluation on 20 labelled hairpins: AUC" in capsys.readouterr().err
    header, row = (tmp_path / "m.tsv").read_text().splitlines()
    assert header.split("\t")[:4] == ["n", "threshold", "auc", "aupr"] and row.startswith("20\t")


def test_predict_bundled_model_on_the_worked_example(tmp_path, capsys):
    from conftest import EXAMPLES

    assert predict.main([str(EXAMPLES / "hairpins.fa"), "-o", "-", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id\tlength\tprobability\tcall" and len(lines) == 18
    calls = {line.split("\t")[0]: line.split("\t")[3] for line in lines[1:]}
    assert calls["hsa-mir-877"] == "mirtron" and calls["hsa-let-7a-1"] == "other"


@pytest.mark.parametrize("case", ["unknown_label_id", "corrupt_model", "other_npz_version", "unknown_model"])
def test_predict_bad_input(tmp_path, test_data, capsys, case):
    from mirtron_tools.io.npz import write_arrays

    model, data, extra = str(test_data / "tiny_model.keras"), str(test_data / "synthetic_hairpins.fa"), []
    if case == "unknown_label_id":
        extra = ["--labels", str(write(tmp_path / "labels.tsv", "syn_mirtron_0001\t1\nnobody\t0\n"))]
        expected = "labels.tsv: 1 labelled id(s) are not in the input: nobody"
    elif case == "corrupt_model":
        model = str(tmp_path / "cut.keras")
        (tmp_path / "cut.keras").write_bytes((test_data / "tiny_model.keras").read_bytes()[:3000])
        expected = "cut.keras: not a .keras model file"
    elif case == "other_npz_version":
        data = str(tmp_path / "v0.npz")
        write_arrays(data, "mirtron_tools.encoded", 0, {"ids": np.array(["a"])})
        expected = "v0.npz: mirtron_tools.encoded NPZ has format version 0"
    else:
        model = "no_such_model"
        expected = "no_such_model: neither a bundled model (genome, genome_reads, human_mirtron"
    output = tmp_path / "calls.tsv"
    assert predict.main(["--model", model, data, "-o", str(output), *extra]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("mt-predict: error: ") and expected in error[-1]
    assert not output.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".calls")]


def _encode_training_sets(tmp_path, test_data):
    paths = []
    for name in ("train_positive", "train_negative"):
        assert encode.main([str(test_data / f"{name}.fa"), "-o", str(tmp_path / f"{name}.npz"), "-q"]) == 0
        paths.append(str(tmp_path / f"{name}.npz"))
    return paths


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
def test_train_is_reproducible_and_writes_manifest_metrics_plot(tmp_path, test_data):
    from mirtron_tools.io.model import load_model

    positive, negative = _encode_training_sets(tmp_path, test_data)
    common = ["--positive", positive, "--negative", negative, "--seed", "3", "--epochs", "3", "--lstm-units", "4",
              "--attention-units", "4", "-q"]
    assert train.main([*common, "-o", str(tmp_path / "a.keras"), "--folds", "2"]) == 0
    assert train.main([*common, "-o", str(tmp_path / "b.keras")]) == 0
    first, manifest = load_model(tmp_path / "a.keras")
    second, _ = load_model(tmp_path / "b.keras")
    for left, right in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(left, right), "same seed and data must give the same weights"
    assert manifest["seed"] == 3 and len(manifest["training_data"]["sha256"]) == 64
    assert manifest["channels"][:4] == ["A", "C", "G", "U"] and manifest["versions"]["tensorflow"]
    assert set(manifest["metrics"]) == {"validation", "cross_validation_pooled"}
    metrics = (tmp_path / "a.metrics.tsv").read_text().splitlines()
    assert metrics[0].startswith("split\tfold\tn\tthreshold\tauc") and len(metrics) == 1 + 2 + 1 + 1
    assert (tmp_path / "a.curves.png").read_bytes()[:4] == b"\x89PNG"


def test_train_with_labels_table_and_warns_without_seed(tmp_path, test_data, capsys):
    assert train.main(["--encoded", str(test_data / "synthetic_hairpins.npz"), "--labels",
                       str(test_data / "synthetic_labels.tsv"), "-o", str(tmp_path / "m.keras"), "--epochs", "1",
                       "--lstm-units", "4"]) == 0
    assert "no --seed given" in capsys.readouterr().err


def test_train_bad_input(tmp_path, test_data, capsys):
    positive, _ = _encode_training_sets(tmp_path, test_data)
    assert train.main(["--positive", positive, "--negative", positive, "-o", str(tmp_path / "m.keras")]) == 1
    assert "is also in" in capsys.readouterr().err
    assert train.main(["--positive", positive, "-o", str(tmp_path / "m.keras")]) == 1
    assert "give both --positive and --negative" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
def test_train_ensemble_with_kmer_member_watching_auc(tmp_path, test_data, capsys):
    from mirtron_tools.io.model import load_model

    positive, negative = _encode_training_sets(tmp_path, test_data)
    common = ["--positive", positive, "--negative", negative, "--seed", "3", "--epochs", "2", "--lstm-units", "4",
              "--attention-units", "4", "-q", "-o", str(tmp_path / "k.keras")]
    assert train.main([*common, "--kmer-weight", "0.5"]) == 1
    assert "--kmer-weight needs --ensemble" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # out of range: a usage error at parse time
        train.main([*common, "--ensemble", "2", "--kmer-weight", "1.5"])
    assert usage.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "k.keras").exists()
    assert train.main([*common, "--ensemble", "2", "--kmer-weight", "0.5", "--monitor", "auc"]) == 0
    model, manifest = load_model(tmp_path / "k.keras")
    assert manifest["training"]["kmer_weight"] == 0.5 and manifest["training"]["ensemble_members"] == 2
    assert manifest["training"]["monitor"] == "auc"
    assert model.get_layer("kmer_logistic") and model.get_layer("probability").weight == 0.5
    assert "+ k-mer logistic regression (weight 0.5)" in model_listing({"k": tmp_path / "k.keras"})


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
def test_train_ensemble_with_tree_member_then_predict_and_attend(tmp_path, test_data, capsys):
    from mirtron_tools.ensemble import TREE_MEMBER
    from mirtron_tools.io.model import load_model
    from mirtron_tools.prediction import predict_arrays

    positive, negative = _encode_training_sets(tmp_path, test_data)
    model_path = tmp_path / "t.keras"
    common = ["--positive", positive, "--negative", negative, "--seed", "3", "--epochs", "2", "--lstm-units", "4",
              "--attention-units", "4", "-q", "-o", str(model_path)]
    assert train.main([*common, "--tree-weight", "0.5"]) == 1
    assert "--tree-weight needs --ensemble" in capsys.readouterr().err
    assert train.main([*common, "--ensemble", "2", "--tree-weight", "0.6", "--kmer-weight", "0.5"]) == 1
    assert "add up to more than 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        train.main([*common, "--ensemble", "2", "--tree-weight", "-0.1"])
    assert usage.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    assert not model_path.exists()
    assert train.main([*common, "--ensemble", "2", "--tree-weight", "0.5", "--energy", "--trees", "10",
                       "--tree-depth", "3"]) == 0
    model, manifest = load_model(model_path)
    assert manifest["training"]["tree_weight"] == 0.5 and manifest["training"]["trees"]["depth"] == 3
    assert set(manifest["member_metrics"]) == {"networks", "trees"}
    assert 0 <= manifest["member_metrics"]["trees"]["auc"] <= 1
    assert model.get_layer(TREE_MEMBER) and model.get_layer("probability").mixture_weights == (0.5, 0.5)
    listing = model_listing({"t": model_path})
    assert "+ 10 boosted trees of depth 3 (weight 0.5)" in listing
    assert "  trees alone (out_of_fold, threshold " in listing and "  networks alone (out_of_fold" in listing
    hairpins = test_data / "synthetic_hairpins"
    assert predict.main(["--model", str(model_path), str(hairpins.with_suffix(".fa")), "-o",
                         str(tmp_path / "p.tsv"), "-q"]) == 0
    rows = [line.split("\t") for line in (tmp_path / "p.tsv").read_text().splitlines()[1:]]
    encoded = read_encoded(hairpins.with_suffix(".npz"))
    from mirtron_tools.encoding import model_inputs

    arrays = model_inputs(encoded, energy=True)
    networks = np.mean([predict_arrays(model.get_layer(f"member_{i}"), arrays) for i in (1, 2)], axis=0)
    expected = 0.5 * networks + 0.5 * predict_arrays(model.get_layer(TREE_MEMBER), arrays)
    assert np.allclose([float(row[2]) for row in rows], expected, atol=1e-4)
    assert attend.main(["--model", str(model_path), str(hairpins.with_suffix(".npz")), "-o",
                        str(tmp_path / "a.tsv"), "-q"]) == 0
    # fine-tuning keeps the trees (frozen) and says so in the manifest
    tuned = tmp_path / "f.keras"
    common[-1] = str(tuned)
    assert train.main([*common, "--init-model", str(model_path), "--epochs", "1"]) == 0
    tuned_model, tuned_manifest = load_model(tuned)
    assert tuned_manifest["training"]["tree_weight"] == 0.5 and tuned_manifest["training"]["trees"]["trees"] == 10
    assert np.array_equal(tuned_model.get_layer(TREE_MEMBER).get_weights()[2], model.get_layer(TREE_MEMBER).get_weights()[2])


def test_train_tree_weight_auto_records_the_share_chosen_on_out_of_fold_auc(tmp_path, test_data, capsys):
    from mirtron_tools.io.model import load_model

    positive, negative = _encode_training_sets(tmp_path, test_data)
    model_path, metrics_path = tmp_path / "auto.keras", tmp_path / "auto.tsv"
    common = ["--positive", positive, "--negative", negative, "--seed", "3", "--epochs", "2", "--lstm-units", "4",
              "--attention-units", "4", "-q", "-o", str(model_path), "--metrics", str(metrics_path)]
    assert train.main([*common, "--ensemble", "2", "--tree-weight", "auto", "--kmer-weight", "0.85"]) == 1
    assert "--tree-weight auto needs --kmer-weight 0.8 or less" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train.main([*common, "--ensemble", "2", "--tree-weight", "half"])
    assert "'auto'" in capsys.readouterr().err and not model_path.exists()
    assert train.main([*common, "--ensemble", "2", "--tree-weight", "auto", "--trees", "10"]) == 0
    model, manifest = load_model(model_path)
    training = manifest["training"]
    search = training["tree_weight_search"]
    assert training["tree_weight_auto"] is True and list(search) == [f"{0.1 * step:g}" for step in range(1, 10)]
    assert search[f"{training['tree_weight']:g}"] == max(search.values())
    assert model.get_layer("probability").mixture_weights == pytest.approx((1 - training["tree_weight"],
                                                                            training["tree_weight"]))
    # the recorded out-of-fold AUC of the model is the chosen share's
    assert manifest["metrics"]["out_of_fold"]["auc"] == pytest.approx(search[f"{training['tree_weight']:g}"], abs=1e-6)
    assert f"(weight {training['tree_weight']:g}, chosen on out-of-fold AUC)" in model_listing({"a": model_path})


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
def test_energy_model_reads_the_free_energy_in_predict_attend_and_fine_tuning(tmp_path, test_data, capsys):
    from mirtron_tools.attribution import saturation_mutagenesis
    from mirtron_tools.encoding import ENERGY_CHANNEL, fold, input_array, model_inputs
    from mirtron_tools.io.model import load_model
    from mirtron_tools.prediction import predict_arrays

    positive, negative = _encode_training_sets(tmp_path, test_data)
    common = ["--positive", positive, "--negative", negative, "--seed", "3", "--epochs", "2", "--lstm-units", "4",
              "--attention-units", "4", "-q"]
    model_path = tmp_path / "e.keras"
    assert train.main([*common, "--ensemble", "2", "--kmer-weight", "0.5", "--energy", "-o", str(model_path)]) == 0
    model, manifest = load_model(model_path)
    assert manifest["channels"][7] == ENERGY_CHANNEL and len(manifest["channels"]) == 8
    assert manifest["training"]["energy"] is True and model.get_layer("feature_logistic")
    assert "k-mer + structure/free-energy logistic regression" in model_listing({"e": model_path})
    # mt-predict adds the channel itself, from the NPZ's mfe column or from folding a FASTA record
    hairpins = test_data / "synthetic_hairpins"
    for source, output in ((hairpins.with_suffix(".npz"), "n.tsv"), (hairpins.with_suffix(".fa"), "f.tsv")):
        assert predict.main(["--model", str(model_path), str(source), "-o", str(tmp_path / output), "-q"]) == 0
    assert_files_equal(tmp_path / "n.tsv", tmp_path / "f.tsv")
    encoded = read_encoded(hairpins.with_suffix(".npz"))
    expected = predict_arrays(model, model_inputs(encoded, energy=True))
    rows = [line.split("\t") for line in (tmp_path / "n.tsv").read_text().splitlines()[1:]]
    assert np.allclose([float(row[2]) for row in rows], expected, atol=1e-4)
    # the energy matters: the same hairpins with a different free energy score differently
    shifted = model_inputs(encoded, energy=True)
    for array in shifted:
        array[:, 7] += 0.3
    assert np.abs(predict_arrays(model, shifted) - expected).max() > 1e-4
    # mutagenesis scores each mutant with its own fold and free energy
    sequence = encoded.sequences[0]
    reference = predict_arrays(model, [input_array(sequence, *fold(sequence))])
    deltas = next(saturation_mutagenesis([sequence], lambda a: predict_arrays(model, a), reference, energy=True))
    mutant = sequence[:4] + ("A" if sequence[4] != "A" else "C") + sequence[5:]
    index = "ACGU".index(mutant[4])
    expected_delta = predict_arrays(model, [input_array(mutant, *fold(mutant))])[0] - reference[0]
    assert abs(deltas[4, index] - expected_delta) < 1e-5
    assert attend.main(["--model", str(model_path), str(hairpins.with_suffix(".fa")), "-o", str(tmp_path / "m.tsv"),
                        "-q", "--method", "mutagenesis", "--ids", encoded.ids[0]]) == 0
    # fine-tuning a network trained with the channel keeps it without --energy being repeated
    single = tmp_path / "s.keras"
    assert train.main([*common, "--energy", "-o", str(single)]) == 0
    assert train.main([*common, "--init-model", str(single), "--epochs", "1", "-o", str(tmp_path / "t.keras")]) == 0
    assert load_model(tmp_path / "t.keras")[1]["channels"][7] == ENERGY_CHANNEL
