"""--prior (Bayes re-weighting of probabilities and the call threshold) and hairpins of any length."""
import math
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import write

from mirtron_tools.cli import encode, predict, train
from mirtron_tools.errors import ModelError
from mirtron_tools.io import model as model_io
from mirtron_tools.listing import model_listing
from mirtron_tools.prediction import LengthCheck, training_lengths
from mirtron_tools.prior import PriorShift, prior_shift, reweight, training_prior_record


def test_reweight_is_bayes_rule_on_the_odds():
    probabilities = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    shifted = reweight(probabilities, 0.5, 0.1)
    odds = probabilities[1:4] / (1 - probabilities[1:4])
    expected = odds * (0.1 / 0.9) / (0.5 / 0.5)
    assert np.allclose(shifted[1:4], expected / (1 + expected))
    assert shifted[0] == 0.0 and shifted[-1] == 1.0
    assert np.all(np.diff(shifted) > 0)  # the ranking is kept
    assert np.allclose(reweight(probabilities, 0.2, 0.2), probabilities)
    assert np.allclose(reweight(reweight(probabilities, 0.5, 0.01), 0.01, 0.5), probabilities)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_reweight_refuses_shares_outside_zero_one(bad):
    with pytest.raises(ValueError):
        reweight([0.5], 0.5, bad)


def test_threshold_keeps_its_posterior_so_the_score_cut_follows_the_prior():
    shift_at_training_share = PriorShift(model_prior=0.5, threshold_prior=0.2, prior=0.2)
    scores = np.linspace(0.01, 0.99, 99)
    threshold = 0.6
    calls = shift_at_training_share.probabilities(scores) >= shift_at_training_share.threshold(threshold)
    assert np.array_equal(calls, scores >= threshold)  # at the share it was chosen at, nothing changes
    rarer = PriorShift(0.5, 0.2, 0.01)
    assert rarer.threshold(threshold) == shift_at_training_share.threshold(threshold)
    cut = rarer.model_score(rarer.threshold(threshold))
    assert cut > threshold  # positives rarer than in training: stronger evidence needed
    # the cut's odds move by the ratio of the prior odds (0.2 -> 0.01)
    assert math.isclose(cut / (1 - cut), threshold / (1 - threshold) * (0.2 / 0.8) / (0.01 / 0.99), rel_tol=1e-6)
    calls = rarer.probabilities(scores) >= rarer.threshold(threshold)
    assert np.array_equal(calls, scores >= cut + 1e-9) or np.array_equal(calls, scores >= cut - 1e-9)
    calibrated = PriorShift(0.005, 0.005, 0.05)  # a model calibrated at its natural share (genome)
    assert math.isclose(calibrated.threshold(0.023), 0.023)


def test_prior_shift_needs_a_recorded_prior():
    with pytest.raises(ModelError, match="old.keras: model records no training prior.*retrain it with mt-train"):
        prior_shift({"threshold": 0.5}, 0.1, "old.keras")
    with pytest.raises(ModelError, match="rebuild it with python bench/x.py"):
        prior_shift({"threshold": 0.5, "built_by": "bench/x.py"}, 0.1, "old.keras")
    with pytest.raises(ModelError, match="rebuild it with python -m recipes genome"):
        prior_shift({"threshold": 0.5, "built_by": "python -m recipes genome"}, 0.1, "old.keras")
    shift = prior_shift({"prior": 0.5, "threshold_prior": 0.25}, 0.1, "m")
    assert (shift.model_prior, shift.threshold_prior, shift.prior) == (0.5, 0.25, 0.1)
    assert prior_shift({"prior": 0.01}, 0.1, "m").threshold_prior == 0.01
    assert training_prior_record(1, 3)["threshold_prior"] == 0.25 and training_prior_record(1, 3)["prior"] == 0.5


def test_length_check_warns_once_with_counts():
    check = LengthCheck.from_manifest({"training_lengths": {"min": 50, "max": 200}})
    check.add([60, 250, 40])
    check.add([600, 100])
    assert check.message("m.keras") == ("3 of 5 hairpins (40-600 nt) are outside the lengths model m.keras saw in "
                                        "training (50-200 nt): their probabilities are extrapolated")
    quiet = LengthCheck.from_manifest({"training_lengths": {"min": 50, "max": 200}})
    quiet.add([50, 200])
    assert quiet.message("m") is None
    unknown = LengthCheck.from_manifest({})  # models without the record: nothing to compare with
    unknown.add([5000])
    assert unknown.message("m") is None
    assert training_lengths([70, 41, 180]) == {"min": 41, "max": 180}


@pytest.fixture
def tiny_with_prior(tmp_path, test_data):
    path = tmp_path / "tiny_prior.keras"
    shutil.copy(test_data / "tiny_model.keras", path)
    model_io.update_manifest(path, {"prior": 0.5, "threshold_prior": 0.25,
                                    "training_lengths": {"min": 50, "max": 90}})
    return path


def _rows(path):
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def _hairpin(length: int, seed: int) -> str:
    rng = random.Random(seed)
    arm = "".join(rng.choice("ACGU") for _ in range((length - 8) // 2))
    pair = {"A": "U", "U": "A", "G": "C", "C": "G"}
    return arm + "GAAAUAAC"[: length - 2 * len(arm)] + "".join(pair[base] for base in reversed(arm))


def test_predict_with_prior_reweights_probabilities_and_threshold(tmp_path, test_data, tiny_with_prior, capsys):
    fasta = test_data / "synthetic_hairpins.fa"
    assert predict.main([str(fasta), "-m", str(tiny_with_prior), "-o", str(tmp_path / "plain.tsv"), "-q"]) == 0
    assert predict.main([str(fasta), "-m", str(tiny_with_prior), "-o", str(tmp_path / "prior.tsv"),
                         "--prior", "0.05"]) == 0
    err = capsys.readouterr().err
    assert "--prior 0.05: probabilities re-weighted from the model's prior 0.5" in err
    plain, shifted = _rows(tmp_path / "plain.tsv"), _rows(tmp_path / "prior.tsv")
    manifest = model_io.read_manifest(tiny_with_prior)
    shift = PriorShift(0.5, 0.25, 0.05)
    threshold = shift.threshold(manifest["threshold"])
    for before, after in zip(plain, shifted):
        assert before["id"] == after["id"]
        expected = float(shift.probabilities([float(before["probability"])])[0])
        assert abs(float(after["probability"]) - expected) < 1e-3
        assert (after["call"] != "other") == (float(after["probability"]) >= threshold - 1e-4) or \
            abs(float(after["probability"]) - threshold) < 1e-3
    # at the share the threshold was chosen at, the calls are today's
    assert predict.main([str(fasta), "-m", str(tiny_with_prior), "-o", str(tmp_path / "same.tsv"), "-q",
                         "--prior", "0.25"]) == 0
    assert [row["call"] for row in _rows(tmp_path / "same.tsv")] == [row["call"] for row in plain]


@pytest.mark.parametrize("bad", ["0", "1", "-0.2", "1.5", "nan", "x"])
def test_prior_outside_zero_one_is_a_usage_error(tmp_path, test_data, capsys, bad):
    with pytest.raises(SystemExit) as exit_info:
        predict.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "x.tsv"), "--prior", bad])
    assert exit_info.value.code == 2
    assert "--prior" in capsys.readouterr().err
    assert not (tmp_path / "x.tsv").exists()


def test_prior_with_a_model_without_one_fails_in_one_line_before_tensorflow(tmp_path, test_data):
    code = ("import sys\nfrom mirtron_tools.cli import predict\n"
            f"status = predict.main([{str(test_data / 'synthetic_hairpins.fa')!r}, '-o', "
            f"{str(tmp_path / 'x.tsv')!r}, '-m', {str(test_data / 'tiny_model.keras')!r}, '--prior', '0.01'])\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\nsys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tiny_model.keras: model records no training prior" in lines[0]
    assert "mt-train" in lines[0] and not (tmp_path / "x.tsv").exists()


def test_bundled_models_record_a_prior_and_lengths():
    for name in ("human_mirtron", "premirna", "genome"):
        if name not in model_io.bundled_models():
            continue
        manifest = model_io.read_manifest(model_io.resolve_model(name))
        assert 0 < manifest["prior"] < 1, name
        prior_shift(manifest, 0.01, name)
    listing = model_listing(model_io.bundled_models())
    assert "mt-predict --prior re-weights" in listing


def test_long_hairpins_are_scored_with_one_warning(tmp_path, tiny_with_prior, capsys):
    records = [("short", _hairpin(70, 1)), ("long", _hairpin(240, 2)), ("plant", _hairpin(520, 3))]
    fasta = write(tmp_path / "long.fa", "".join(f">{name}\n{sequence}\n" for name, sequence in records))
    assert predict.main([str(fasta), "-m", str(tiny_with_prior), "-o", str(tmp_path / "p.tsv")]) == 0
    err = capsys.readouterr().err
    assert [row["id"] for row in _rows(tmp_path / "p.tsv")] == ["short", "long", "plant"]
    warnings = [line for line in err.splitlines() if "outside the lengths" in line]
    assert warnings == ["mt-predict: warning: 2 of 3 hairpins (240-520 nt) are outside the lengths model "
                        "tiny_prior.keras saw in training (50-90 nt): their probabilities are extrapolated"] \
        or (len(warnings) == 1 and "2 of 3 hairpins (240-520 nt)" in warnings[0])
    # mt-encode keeps them too, and --max-length still bounds them
    assert encode.main([str(fasta), "-o", str(tmp_path / "long.npz"), "-q"]) == 0
    assert encode.main([str(fasta), "-o", str(tmp_path / "cut.npz"), "--max-length", "300"]) == 1
    assert "record 'plant' is 520 nt, longer than --max-length 300" in capsys.readouterr().err


def test_default_length_bound_is_at_least_500_nt():
    from mirtron_tools.encoding import DEFAULT_MAX_LENGTH

    assert DEFAULT_MAX_LENGTH >= 500
    for module in (encode, predict):
        assert module.build_parser().parse_args(["x.fa", "-o", "y"]).max_length == DEFAULT_MAX_LENGTH


def test_train_records_prior_threshold_share_and_lengths(tmp_path, test_data):
    assert train.main(["--encoded", str(test_data / "synthetic_hairpins.npz"), "--labels",
                       str(test_data / "synthetic_labels.tsv"), "-o", str(tmp_path / "m.keras"), "--epochs", "1",
                       "--lstm-units", "4", "--seed", "1", "-q"]) == 0
    manifest = model_io.read_manifest(tmp_path / "m.keras")
    assert manifest["prior"] == 0.5 and "weighted equally" in manifest["prior_basis"]
    assert 0 < manifest["threshold_prior"] < 1
    lengths = [len(line) for line in (test_data / "synthetic_hairpins.fa").read_text().splitlines()
               if not line.startswith(">")]
    assert manifest["training_lengths"] == {"min": min(lengths), "max": max(lengths)}


# human_mirtron rebuilds a larger training set: over the per-test budget on 2 shared cores (.ci/run runs it)
@pytest.mark.parametrize("name", [pytest.param("human_mirtron", marks=pytest.mark.slow), "premirna"])
def test_bundled_prior_and_lengths_follow_from_the_recipes_data(shared_data, name):
    if name not in model_io.bundled_models():
        pytest.skip(f"{name} model not installed")
    from recipes import priors

    manifest = model_io.read_manifest(model_io.resolve_model(name))
    expected = priors.prior_fields(name, shared_data)
    assert {key: manifest[key] for key in expected} == expected
