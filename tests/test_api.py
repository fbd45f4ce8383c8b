"""The library without argv: what a Python user, bench/ and recipes/ call, giving what the commands give.

Encoding (mirtron_tools.candidates), the genome scan (mirtron_tools.genome_scan) and training
(mirtron_tools.training.train) write the same files as mt-encode and mt-train."""
from __future__ import annotations

import numpy as np
import pytest

from mirtron_tools.candidates import encode_candidates
from mirtron_tools.config import Architecture, TrainingConfig
from mirtron_tools.datasets import read_training_data
from mirtron_tools.genome_scan import plan_scan, scan_genome, scan_plan, write_scan
from mirtron_tools.io.encoded import read_encoded, write_encoded


def test_encode_candidates_writes_the_mt_encode_golden(test_data, tmp_path):
    encoded = encode_candidates(test_data / "synthetic_hairpins.fa")
    write_encoded(tmp_path / "hairpins.npz", encoded)
    assert (tmp_path / "hairpins.tsv").read_text() == (test_data / "synthetic_hairpins.tsv").read_text()
    located = encode_candidates(test_data / "sim_candidates.bed", test_data / "sim_genome.fa")
    write_encoded(tmp_path / "located.npz", located)
    assert (tmp_path / "located.tsv").read_text() == (test_data / "sim_candidates.tsv").read_text()


def test_scan_genome_and_its_pieces_give_the_golden_candidates(test_data, tmp_path):
    genome, annotation = test_data / "scan_genome.fa", test_data / "scan_genes.gtf"
    write_scan(tmp_path / "scan.npz", scan_genome(genome, annotation))
    assert (tmp_path / "scan.tsv").read_text() == (test_data / "scan_candidates.tsv").read_text()
    sizes = plan_scan(genome, annotation, tmp_path / "plans", 2)
    pieces = [scan_plan(tmp_path / "plans" / f"piece_{index}.plan.npz", genome) for index in (1, 2)]
    assert sum(sizes) == sum(piece.record["windows"] for piece in pieces)
    assert [identifier for piece in pieces for identifier in piece.encoded.ids] == read_encoded(
        tmp_path / "scan.npz").ids


@pytest.mark.slow  # two trainings (about 40 s on 2 cores); mt-train's own tests run training.train already
def test_train_gives_the_model_that_mt_train_writes(test_data, tmp_path):
    """training.train + write_trained_model, without argv, and mt-train with the same settings: the same
    weights, threshold and metrics (the command only parses and wires)."""
    from mirtron_tools.cli import train as command
    from mirtron_tools.io.model import load_model, read_manifest
    from mirtron_tools.training import train, write_trained_model

    hairpins, labels = test_data / "synthetic_hairpins.npz", test_data / "synthetic_labels.tsv"
    data = read_training_data(encoded=hairpins, labels=labels)
    assert (len(data.labels), int(data.labels.sum())) == (20, 10)
    config = TrainingConfig(seed=3, epochs=2, architecture=Architecture(lstm_units=4, attention_units=4))
    trained = train(data, config, description="library")
    write_trained_model(trained, tmp_path / "library.keras", tmp_path / "library.tsv", tmp_path / "library.png")
    assert command.main(["--encoded", str(hairpins), "--labels", str(labels), "-o", str(tmp_path / "command.keras"), "--seed", "3", "--epochs", "2", "--lstm-units", "4",
                         "--attention-units", "4", "--description", "library", "-q"]) == 0
    library, command_manifest = read_manifest(tmp_path / "library.keras"), read_manifest(tmp_path / "command.keras")
    for key in ("threshold", "metrics", "training", "training_data", "channels", "prior", "training_lengths"):
        assert library[key] == command_manifest[key], key
    assert (tmp_path / "library.tsv").read_text() == (tmp_path / "command.metrics.tsv").read_text()
    weights = [model.get_weights() for model, _ in (load_model(tmp_path / "library.keras"),
                                                    load_model(tmp_path / "command.keras"))]
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_reads_and_read_aware_scoring_without_argv(test_data, tmp_path, capsys):
    """A scan, its reads and their read-aware scoring through the library (mirtron_tools.genome_scan,
    read_collection, predict_run) write what mt-encode, mt-coverage and mt-predict write."""
    from simulate import planted_bam

    from mirtron_tools.cli import coverage as coverage_command
    from mirtron_tools.cli import predict as predict_command
    from mirtron_tools.io.reads import read_evidence
    from mirtron_tools.predict_run import PredictRequest, predict
    from mirtron_tools.read_collection import CollectRequest, collect
    from mirtron_tools.scan.parameters import ScanParameters

    scan = tmp_path / "scan.npz"
    write_scan(scan, scan_genome(test_data / "scan_genome.fa", test_data / "scan_genes.gff3",
                                 ScanParameters(decoys=True)))
    bam = str(planted_bam(tmp_path / "sample1.bam", test_data))
    evidence = collect(CollectRequest(str(scan), [bam], str(tmp_path / "reads.npz"), str(tmp_path / "reads.tsv")))
    assert evidence.samples == ["sample1"] and evidence.values.sum() > 0
    predict(PredictRequest([str(scan)], str(tmp_path / "calls.tsv"), coverage=[str(tmp_path / "reads.npz")],
                           survey=str(tmp_path / "survey.tsv")))
    assert coverage_command.main([str(scan), bam, "-o", str(tmp_path / "command.npz"), "-q"]) == 0
    assert np.array_equal(read_evidence(tmp_path / "command.npz").values, evidence.values)
    assert predict_command.main([str(scan), "--coverage", str(tmp_path / "command.npz"), "-o",
                                 str(tmp_path / "command.tsv"), "-q"]) == 0
    assert (tmp_path / "command.tsv").read_text() == (tmp_path / "calls.tsv").read_text()
