"""Model zoo: bundled models listed and resolved by name, bad model names and versions, fine-tuning
(--init-model), and each shipped bundled model's manifest against what its build script records."""
from __future__ import annotations

import importlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mirtron_tools.cli import encode, predict, train
from mirtron_tools.io import model as model_io

#: bundled model -> the recipe that rebuilds it, recipes/NAME.py (``python -m recipes NAME``; each exposes SEED,
#: DATA_DESCRIPTION, BUILT_BY, PREVIOUSLY_BUILT_BY, OUTPUT and build())
#: bundled model -> the recipe that builds it (one recipe builds both read-aware models)
BUILD_SCRIPTS = {**{name: name for name in ("human_mirtron", "premirna", "genome")},
                 "genome_reads": "reads", "human_mirtron_reads": "reads"}


@pytest.fixture
def zoo(tmp_path, test_data, monkeypatch):
    """Pretend two models are bundled: the tiny test model and a corrupt file."""
    (tmp_path / "zoo").mkdir()
    tiny = tmp_path / "zoo" / "tiny.keras"
    tiny.write_bytes((test_data / "tiny_model.keras").read_bytes())
    broken = tmp_path / "zoo" / "broken.keras"
    broken.write_bytes(b"not a zip")
    models = {"tiny": tiny, "broken": broken}
    monkeypatch.setattr(model_io, "bundled_models", lambda: dict(models))
    return models


def _newer_version_copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    model_io.update_manifest(target, {"format_version": model_io.MODEL_FORMAT_VERSION + 1})
    return target


def test_list_models_prints_manifest_fields(zoo, capsys):
    with pytest.raises(SystemExit) as stopped:
        predict.main(["--list-models"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    tiny_block = out.split("tiny\n")[1]
    for expected in ("task:          mirtron (positive class: mirtron)",
                     "training data: negative: train_negative.npz; positive: train_positive.npz",
                     "60 positive / 60 negative, sha256 678496aa03ae4767", "created:       2026-11-25T11:00:03Z",
                     "seed 7, one network", "threshold:     0.3696",
                     "metrics (validation): AUC 1.000, AUPR 1.000, F1 1.000, MCC 1.000", str(zoo["tiny"])):
        assert expected in tiny_block, expected
    assert "broken\n  unusable: " in out and "not a .keras model file" in out


def test_list_models_shows_benchmark_metrics(zoo, capsys):
    model_io.update_manifest(zoo["tiny"], {"benchmark": {"some test set": {
        "n": 12, "all": {"auc": 0.5, "aupr": 0.25, "f1": 0.125, "mcc": 0.0, "sensitivity": 1.0,
                         "specificity": 0.0}}}})
    with pytest.raises(SystemExit):
        predict.main(["--list-models"])
    assert ("benchmark (some test set, n=12): AUC 0.500, AUPR 0.250, F1 0.125, MCC 0.000, sensitivity 1.000, "
            "specificity 0.000") in capsys.readouterr().out


def test_list_models_of_this_installation(capsys):
    """The real bundled models: listed without loading TensorFlow, each well under 5 MB."""
    with pytest.raises(SystemExit):
        predict.main(["--list-models"])
    out = capsys.readouterr().out
    installed = model_io.bundled_models()
    if not installed:
        assert out == "no bundled models are installed\n"
    for name, path in installed.items():
        assert f"{name}" in out and "unusable" not in out
        assert path.stat().st_size < 5_000_000, f"{name} is {path.stat().st_size} bytes"
    assert set(installed) <= set(BUILD_SCRIPTS), "every bundled model needs a recipe in recipes/"


def test_bundled_name_resolves_and_scores_like_the_file(zoo, tmp_path, test_data):
    assert model_io.resolve_model("tiny") == zoo["tiny"]
    fasta = str(test_data / "synthetic_hairpins.fa")
    assert predict.main(["--model", "tiny", fasta, "-o", str(tmp_path / "by_name.tsv"), "-q"]) == 0
    assert predict.main(["--model", str(test_data / "tiny_model.keras"), fasta, "-o", str(tmp_path / "by_file.tsv"),
                         "-q"]) == 0
    assert (tmp_path / "by_name.tsv").read_text() == (tmp_path / "by_file.tsv").read_text()


def test_real_bundled_names_resolve_inside_the_package():
    package = Path(model_io.__file__).resolve().parent.parent / "models"
    assert sorted(model_io.bundled_models()) == sorted(BUILD_SCRIPTS)  # every model is installed, none extra
    for name in model_io.bundled_models():
        assert model_io.resolve_model(name) == package / f"{name}.keras"


def _last_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "expected an error line"
    return lines[-1]


def test_unknown_model_lists_the_bundled_names(zoo, tmp_path, test_data, capsys):
    output = tmp_path / "calls.tsv"
    assert predict.main(["--model", "premirnaa", str(test_data / "synthetic_hairpins.fa"), "-o", str(output)]) == 1
    error = _last_error(capsys)
    assert error == "mt-predict: error: premirnaa: neither a bundled model (broken, tiny) nor a readable file"
    assert not output.exists() and not list(tmp_path.glob(".calls*"))


@pytest.mark.parametrize("command", ["predict", "train"])
def test_model_from_a_newer_format_version(tmp_path, test_data, capsys, command):
    newer = _newer_version_copy(test_data / "tiny_model.keras", tmp_path / "newer.keras")
    output = tmp_path / "out.keras"
    if command == "predict":
        output = tmp_path / "calls.tsv"
        status = predict.main(["--model", str(newer), str(test_data / "synthetic_hairpins.fa"), "-o", str(output)])
    else:
        positive, negative = _encoded_training(tmp_path, test_data)
        status = train.main(["--positive", positive, "--negative", negative, "-o", str(output),
                             "--init-model", str(newer), "--seed", "1", "--epochs", "1"])
    assert status == 1
    error = _last_error(capsys)
    assert error.startswith(f"mt-{command}: error: ") and str(newer) in error
    assert f"model format version {model_io.MODEL_FORMAT_VERSION + 1}" in error and "upgrade mirtron_tools" in error
    assert not output.exists()


def _encoded_training(tmp_path, test_data) -> tuple[str, str]:
    paths = []
    for name in ("train_positive", "train_negative"):
        target = tmp_path / f"{name}.npz"
        if not target.exists():
            assert encode.main([str(test_data / f"{name}.fa"), "-o", str(target), "-q"]) == 0
        paths.append(str(target))
    return paths[0], paths[1]


def test_init_model_fine_tunes_a_tiny_model(zoo, tmp_path, test_data):
    from mirtron_tools.io.model import load_model

    positive, negative = _encoded_training(tmp_path, test_data)
    common = ["--positive", positive, "--negative", negative, "--seed", "5", "--epochs", "2", "-q",
              "--learning-rate", "5e-4"]
    assert train.main([*common, "-o", str(tmp_path / "a.keras"), "--init-model", "tiny"]) == 0
    assert train.main([*common, "-o", str(tmp_path / "b.keras"), "--init-model", str(zoo["tiny"])]) == 0
    tuned, manifest = load_model(tmp_path / "a.keras")
    again, _ = load_model(tmp_path / "b.keras")
    start, start_manifest = load_model(zoo["tiny"])
    # same architecture as the starting model, weights moved, and the same run twice gives the same weights
    assert [w.shape for w in tuned.get_weights()] == [w.shape for w in start.get_weights()]
    assert any(not np.array_equal(left, right) for left, right in zip(tuned.get_weights(), start.get_weights()))
    assert all(np.array_equal(left, right) for left, right in zip(tuned.get_weights(), again.get_weights()))
    record = manifest["init_model"]
    assert record["name"] == "tiny" and record["file"] == "tiny.keras" and record["task"] == "mirtron"
    assert record["training_data_sha256"] == start_manifest["training_data"]["sha256"]
    assert manifest["training"]["architecture"] == start_manifest["training"]["architecture"]
    assert manifest["training"]["epochs_run"] <= 2


def test_models_trained_from_scratch_record_no_init_model(tmp_path, test_data):
    from mirtron_tools.io.model import read_manifest

    positive, negative = _encoded_training(tmp_path, test_data)
    assert train.main(["--positive", positive, "--negative", negative, "--seed", "5", "--epochs", "1", "-q",
                       "--lstm-units", "4", "--attention-units", "4", "-o", str(tmp_path / "m.keras")]) == 0
    manifest = read_manifest(tmp_path / "m.keras")
    assert manifest["init_model"] is None and manifest["training"]["architecture"]["lstm_units"] == 4


@pytest.mark.parametrize("case", ["channels", "encoding_version", "ensemble", "folds", "missing"])
def test_init_model_bad_input(tmp_path, test_data, capsys, case):
    positive, negative = _encoded_training(tmp_path, test_data)
    start = tmp_path / "start.keras"
    start.write_bytes((test_data / "tiny_model.keras").read_bytes())
    extra = []
    if case == "channels":  # a coverage model (its network reads 12 channels) and sequence-only data
        start.write_bytes((test_data / "tiny_coverage_model.keras").read_bytes())
        expected = ("start.keras: model input channels (A, C, G, U, paired_open, paired_close, unpaired, "
                    "coverage_depth, coverage_five_prime, coverage_three_prime, coverage_upstream_flank, "
                    "coverage_downstream_flank) differ from the training data's (A, C, G, U, paired_open, "
                    "paired_close, unpaired) (give or drop --coverage to match)")
    elif case == "encoding_version":
        model_io.update_manifest(start, {"encoding_format_version": 99})
        expected = "start.keras: model was trained on encoding format version 99, this mirtron_tools encodes version 1"
    elif case == "ensemble":
        extra = ["--ensemble", "2"]
        expected = "mt-train: --init-model fine-tunes the given model as it is: use it without --folds and --ensemble"
    elif case == "folds":
        extra = ["--folds", "2"]
        expected = "mt-train: --init-model fine-tunes the given model as it is: use it without --folds and --ensemble"
    else:
        start = tmp_path / "absent.keras"
        expected = "absent.keras: neither a bundled model ("
    output = tmp_path / "tuned.keras"
    assert train.main(["--positive", positive, "--negative", negative, "-o", str(output), "--init-model",
                       str(start), "--seed", "1", "--epochs", "1", *extra]) == 1
    error = _last_error(capsys)
    assert error.startswith("mt-train: error: ") and expected in error, error
    assert not output.exists() and not (tmp_path / "tuned.metrics.tsv").exists()


def test_update_manifest_keeps_the_model_loadable(tmp_path, test_data):
    from mirtron_tools.io.model import load_model

    copy = tmp_path / "copy.keras"
    copy.write_bytes((test_data / "tiny_model.keras").read_bytes())
    model_io.update_manifest(copy, {"benchmark": {"x": {"n": 1}}})
    model, manifest = load_model(copy)
    original, _ = load_model(test_data / "tiny_model.keras")
    assert manifest["benchmark"] == {"x": {"n": 1}} and manifest["seed"] == 7
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), original.get_weights()))
    with zipfile.ZipFile(copy) as archive:
        assert sorted(archive.namelist()) == sorted(zipfile.ZipFile(test_data / "tiny_model.keras").namelist())
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".copy")]


# --- each shipped bundled model against its build script -------------------------------------------------

def _build_script(name: str):
    return importlib.import_module(f"recipes.{BUILD_SCRIPTS[name]}")


def _check_versions(name: str, manifest: dict, script) -> None:
    from mirtron_tools.encoding import ENCODING_FORMAT_VERSION

    assert manifest["format_version"] == model_io.MODEL_FORMAT_VERSION, f"{name}: rebuild with {script.__name__}"
    assert manifest["encoding_format_version"] == ENCODING_FORMAT_VERSION, f"{name}: rebuild with {script.__name__}"
    assert manifest["seed"] == script.SEED
    # a model built before the recipes left bench/ names its old script; the data it describes are the same
    assert manifest["description"] in (script.DESCRIPTION, f"{script.DATA_DESCRIPTION}; built by {script.PREVIOUSLY_BUILT_BY}")


def _same_folding(manifest: dict) -> None:
    import RNA

    recorded = manifest.get("versions", {}).get("viennarna")
    if recorded != getattr(RNA, "__version__", "unknown"):
        pytest.skip(f"the model was built with ViennaRNA {recorded}, this is {RNA.__version__}: structures, and so "
                    "the training-data sha256, may differ")


def _check_tree_weight(manifest, script):
    """The tree share the script asks for: a fixed one, or "auto" with every share tried recorded."""
    training = manifest["training"]
    if script.TREE_WEIGHT == "auto":
        assert training["tree_weight_auto"] is True
        search = training["tree_weight_search"]
        assert search[f"{training['tree_weight']:g}"] == max(search.values())
    else:
        assert training["tree_weight"] == script.TREE_WEIGHT


@pytest.mark.slow  # rebuilds the training set from ../shared/data (minutes); .ci/run runs it
@pytest.mark.skipif("premirna" not in model_io.bundled_models(), reason="premirna model not installed")
def test_premirna_manifest_matches_its_build_script(shared_data, tmp_path):
    script = _build_script("premirna")
    manifest = model_io.read_manifest(model_io.resolve_model("premirna"))
    _check_versions("premirna", manifest, script)
    assert manifest["task"] == "premirna" and manifest["built_by"] in (script.BUILT_BY, script.PREVIOUSLY_BUILT_BY)
    assert manifest["training"]["epochs"] == script.EPOCHS and manifest["training"]["patience"] == script.PATIENCE
    assert manifest["training"]["ensemble_members"] == script.MEMBERS
    assert manifest["training"]["kmer_weight"] == script.REGRESSION_WEIGHT and manifest["training"]["energy"] == script.ENERGY
    _check_tree_weight(manifest, script)
    assert manifest["max_length"] == script.MAX_LENGTH
    positives, negatives = script.deepmirgene_records("cv/whole", shared_data)
    assert manifest["training_data"]["inputs_sha256"] == script.inputs_sha256(positives, negatives)
    assert (manifest["training_data"]["n_positive"], manifest["training_data"]["n_negative"]) == (1447, 7402)  # chr19 held out; 20 sequences are in both files: mt-train drops them
    assert "deepMiRGene whole test (test/whole/*_test.fa)" in manifest["benchmark"]
    _same_folding(manifest)
    positive_npz, negative_npz, _ = script.encode_part(tmp_path, "cv/whole", 2, shared_data)
    bundled = _build_script("human_mirtron")  # the same fingerprint function mt-train uses
    assert manifest["training_data"]["sha256"] == bundled.training_fingerprint(positive_npz, negative_npz,
                                                                                energy=script.ENERGY)


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
@pytest.mark.skipif("human_mirtron" not in model_io.bundled_models(), reason="human_mirtron model not installed")
def test_human_mirtron_manifest_matches_its_build_script(shared_data, tmp_path):
    script = _build_script("human_mirtron")
    manifest = model_io.read_manifest(model_io.resolve_model("human_mirtron"))
    _check_versions("human_mirtron", manifest, script)
    assert manifest["training"]["ensemble_members"] == script.MEMBERS
    assert manifest["training"]["kmer_weight"] == script.REGRESSION_WEIGHT
    _check_tree_weight(manifest, script)
    assert manifest["training"]["energy"] == script.ENERGY
    _same_folding(manifest)
    positive_npz, negative_npz, _ = script.encode_inputs(tmp_path, 2)
    assert manifest["training_data"]["sha256"] == script.training_fingerprint(positive_npz, negative_npz)


def test_recipes_exist_for_every_name():
    """Each bundled model names the recipe that built it (or, built before the recipes left bench/, the script
    it was then), and that recipe writes that model by default."""
    for name in BUILD_SCRIPTS:
        recipe = _build_script(name)
        manifest = model_io.read_manifest(model_io.resolve_model(name))
        assert manifest["built_by"] in (recipe.BUILT_BY, recipe.PREVIOUSLY_BUILT_BY), name
        assert recipe.BUILT_BY == f"python -m recipes {BUILD_SCRIPTS[name]}" and callable(recipe.build)
        if BUILD_SCRIPTS[name] == name or name == "genome_reads":  # (the reads recipe writes the other beside it)
            assert recipe.OUTPUT.parts[-3:] == ("mirtron_tools", "models", f"{name}.keras"), f"recipes/{name}.py"
