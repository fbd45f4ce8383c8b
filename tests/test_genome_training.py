"""Training a genome-scan model (mirtron_tools.genome_training; mt-train --genome-scan) on the tiny scan of
test-data: candidates labelled by the planted mirtrons of scan_planted.bed."""
from __future__ import annotations

import numpy as np
import pytest

from mirtron_tools import genome_training
from mirtron_tools.errors import InputError
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.io.tsv import read_groups


def _planted_labels(test_data, path):
    """id<TAB>label of every scan candidate: 1 when it overlaps a planted mirtron, else 0."""
    encoded = read_encoded(test_data / "scan_candidates.npz")
    planted = [line.split("\t") for line in (test_data / "scan_planted.bed").read_text().splitlines()]
    annotations = encoded.annotations
    rows = []
    for row, identifier in enumerate(encoded.ids):
        contig, start, end = str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row])
        hit = any(fields[0] == contig and int(fields[1]) < end and start < int(fields[2]) for fields in planted)
        rows.append(f"{identifier}\t{int(hit)}\n")
    path.write_text("id\tlabel\n" + "".join(rows))
    return encoded, path


def test_group_folds_keep_groups_whole_and_spread_positive_groups():
    groups = np.array(["a", "a", "b", "b", "c", "d", "d", "e", "f", "g"])
    labels = np.array([1, 0, 1, 0, 1, 0, 0, 0, 1, 0])
    fold = genome_training.group_folds(groups, labels, 3)
    for name in set(groups):
        assert len(set(fold[groups == name])) == 1, name
    positive_folds = [fold[groups == name][0] for name in ("a", "b", "c", "f")]
    assert sorted(np.bincount(positive_folds, minlength=3)) == [1, 1, 2]  # dealt round-robin first
    assert np.array_equal(fold, genome_training.group_folds(groups, labels, 3))  # seeded


def test_platt_recovers_the_scaling_and_recall_threshold_recovers_the_share():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))).astype(int)
    a, b = genome_training.platt(logits, labels)
    assert abs(a - 0.5) < 0.05 and abs(b + 1.0) < 0.05
    probabilities = np.array([0.9, 0.8, 0.7, 0.6, 0.1])
    truth = np.array([1, 0, 1, 1, 1])
    threshold = genome_training.recall_threshold(probabilities, truth, 0.5)
    assert threshold == 0.7 and np.mean(probabilities[truth == 1] >= threshold) >= 0.5


def test_read_groups(tmp_path):
    path = tmp_path / "groups.tsv"
    path.write_text("id\tgroup\n# a comment\nx\tg1\ny\tg1\nz\tg2\n")
    assert read_groups(path) == {"x": "g1", "y": "g1", "z": "g2"}
    path.write_text("x\tg1\nx\tg2\n")
    with pytest.raises(InputError, match="two groups"):
        read_groups(path)


def test_too_few_positive_groups_for_the_folds_is_one_error(test_data, tmp_path):
    encoded, labels = _planted_labels(test_data, tmp_path / "labels.tsv")
    data = genome_training.read_genome_training_data(test_data / "scan_candidates.npz", labels)
    with pytest.raises(InputError, match="the positives lie in 6 group"):
        genome_training.check_training_data(data, genome_training.GenomeTrainingConfig(folds=7), "scan")


def test_mt_train_genome_scan_trains_the_library_recipe(test_data, tmp_path, capsys):
    """mt-train --genome-scan writes a calibrated genome-scan model whose manifest follows from the data and the
    recipe; the library call without argv gives the same model; the model scores the scan as recorded."""
    from mirtron_tools.cli import train
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.io.model import load_model, read_manifest
    from mirtron_tools.prediction import predict_arrays

    encoded, labels = _planted_labels(test_data, tmp_path / "labels.tsv")
    output = tmp_path / "scan_model.keras"
    assert train.main(["--genome-scan", "--encoded", str(test_data / "scan_candidates.npz"), "--labels",
                       str(labels), "--folds", "3", "--trees", "30", "--seed", "1", "-o", str(output), "-q"]) == 0
    manifest = read_manifest(output)
    assert manifest["input"] == "genome_scan" and manifest["channels"][-5:] == ["log10_intron_length", "conventional",
                                                                              "five_tailed", "three_tailed",
                                                                              "splice_distance"]
    data = manifest["training_data"]
    assert (data["n_positive"], data["n_negative"]) == (8, len(encoded) - 8)
    assert manifest["prior"] == pytest.approx(8 / len(encoded))
    assert manifest["training"]["folds"] == 3 and manifest["training"]["trees"]["trees"] == 30
    assert list(manifest["training"]["tree_search_ap"]) == ['{"trees": 30}']  # --trees fixes them: no search
    out_of_fold = manifest["metrics"]["out_of_fold"]
    assert out_of_fold["n"] == len(encoded) and out_of_fold["sensitivity"] >= 0.5  # the recall target
    table = (tmp_path / "scan_model.metrics.tsv").read_text().splitlines()
    assert table[1].split("\t")[:4] == ["out_of_fold", "-", str(len(encoded)), f"{manifest['threshold']:.4f}"]
    assert (tmp_path / "scan_model.curves.png").stat().st_size > 0

    library = genome_training.train_genome_model(
        genome_training.read_genome_training_data(test_data / "scan_candidates.npz", labels),
        genome_training.GenomeTrainingConfig(folds=3, seed=1, tree_settings=({"trees": 30},)))
    assert library.manifest["metrics"] == manifest["metrics"] and library.manifest["threshold"] == manifest["threshold"]

    model, _ = load_model(output)
    scores = predict_arrays(model, model_inputs(encoded, energy=True, context=True))
    assert np.allclose(scores, predict_arrays(library.model, model_inputs(encoded, energy=True, context=True)))
    truth = np.array([line.split("\t")[1] == "1" for line in labels.read_text().splitlines()[1:]])
    assert scores[truth].mean() > scores[~truth].mean()  # fitted on these very candidates


@pytest.mark.parametrize("extra, message", [
    (["--positive", "x.npz"], "--positive: not with --genome-scan"),
    (["--ensemble", "3"], "--ensemble: not with --genome-scan"),
])
def test_genome_scan_refuses_hairpin_options(test_data, tmp_path, capsys, extra, message):
    from mirtron_tools.cli import train

    with pytest.raises(SystemExit) as stop:
        train.main(["--genome-scan", "--encoded", str(test_data / "scan_candidates.npz"), "--labels", "l.tsv",
                    "-o", str(tmp_path / "m.keras"), *extra])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_scan_options_need_genome_scan(test_data, tmp_path, capsys):
    from mirtron_tools.cli import train

    with pytest.raises(SystemExit) as stop:
        train.main(["--positive", "a.npz", "--negative", "b.npz", "--groups", "g.tsv", "-o", str(tmp_path / "m.keras")])
    assert stop.value.code == 2 and "--groups: only with --genome-scan" in capsys.readouterr().err
