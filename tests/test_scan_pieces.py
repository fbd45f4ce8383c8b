"""A genome scan in pieces: mt-encode --split/--plan/--chunk, mt-predict PIECE -o PIECE.scores.npz and the
merge of the pieces' scores, which must equal one whole run byte for byte; and every way pieces can be
the wrong ones (missing, twice, of another scan)."""
import json

import numpy as np
import pytest
from conftest import TEST_DATA, assert_files_equal, run_scan

from mirtron_tools.cli import encode, predict
from mirtron_tools.errors import InputError
from mirtron_tools.io.pieces import read_plan, read_scores
from mirtron_tools.pieces import order_pieces

PIECES = 3


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """A whole scan with decoys, its plans and pieces, and every piece's scores."""
    test_data = TEST_DATA
    folder = tmp_path_factory.mktemp("pieces")
    assert run_scan(folder / "whole.npz", "--decoys") == 0
    assert run_scan(folder / "plans", "--decoys", "--split", str(PIECES)) == 0
    for index in range(1, PIECES + 1):
        assert encode.main(["--plan", str(folder / "plans" / f"piece_{index}.plan.npz"), "--genome",
                            str(test_data / "scan_genome.fa"), "-o", str(folder / f"piece_{index}.npz"), "-q"]) == 0
        assert predict.main([str(folder / f"piece_{index}.npz"), "-o", str(folder / f"piece_{index}.scores.npz"),
                             "-q"]) == 0
    return folder


def test_plans_give_the_pieces_of_chunk_and_together_the_whole_run(scan, test_data, tmp_path):
    whole = np.load(scan / "whole.npz")
    ids = []
    for index in range(1, PIECES + 1):
        assert run_scan(tmp_path / f"chunk_{index}.npz", "--decoys", "--chunk", f"{index}/{PIECES}") == 0
        planned, chunked = np.load(scan / f"piece_{index}.npz"), np.load(tmp_path / f"chunk_{index}.npz")
        assert set(planned.files) == set(chunked.files)
        for key in planned.files:
            assert np.array_equal(planned[key], chunked[key]), key
        assert_files_equal(scan / f"piece_{index}.tsv", tmp_path / f"chunk_{index}.tsv")
        record = json.loads(str(planned["scan"]))
        assert record["piece"] == [index, PIECES] and record["parameters"]["decoys"] is True
        ids.extend(planned["ids"].tolist())
    assert ids == whole["ids"].tolist()
    assert json.loads(str(whole["scan"]))["piece"] == [1, 1]


def test_a_plan_holds_only_its_windows_and_their_introns(scan):
    records = [read_plan(scan / "plans" / f"piece_{index}.plan.npz") for index in range(1, PIECES + 1)]
    total_introns = records[0][0]["annotation"]["introns"]
    assert all(len(introns) < total_introns for _, _, introns in records)
    assert sum(record["windows"] for record, _, _ in records) == sum(len(windows) for _, windows, _ in records)


@pytest.mark.parametrize("output", ["bed", "tsv"])
def test_merged_pieces_equal_one_whole_run_byte_for_byte(scan, test_data, tmp_path, output):
    known = str(test_data / "scan_planted.bed")
    assert predict.main([str(scan / "whole.npz"), "-o", str(tmp_path / f"whole.{output}"), "--survey",
                         str(tmp_path / "whole.survey.tsv"), "--known", known, "-q"]) == 0
    pieces = [str(scan / f"piece_{index}.scores.npz") for index in (3, 1, 2)]  # any order: merged in piece order
    assert predict.main([*pieces, "-o", str(tmp_path / f"merged.{output}"), "--survey",
                         str(tmp_path / "merged.survey.tsv"), "--known", known, "-q"]) == 0
    assert_files_equal(tmp_path / f"whole.{output}", tmp_path / f"merged.{output}")
    assert_files_equal(tmp_path / "whole.survey.tsv", tmp_path / "merged.survey.tsv")
    assert "known" in (tmp_path / "merged.survey.tsv").read_text()
    if output == "bed":  # the goldens of the Galaxy workflow test (genome_scan.ga) are this run's
        assert_files_equal(test_data / "scan_calls.bed", tmp_path / "whole.bed")
        assert_files_equal(test_data / "scan_survey.tsv", tmp_path / "whole.survey.tsv")


def test_encoded_pieces_scored_in_one_job_equal_the_whole_run(scan, test_data, tmp_path, capsys):
    pieces = [str(scan / f"piece_{index}.npz") for index in (2, 3, 1)]
    assert predict.main([*pieces, "-o", str(tmp_path / "joint.bed"), "--survey", str(tmp_path / "joint.tsv"),
                         "--known", str(test_data / "scan_planted.bed"), "-q"]) == 0
    assert_files_equal(test_data / "scan_calls.bed", tmp_path / "joint.bed")
    assert_files_equal(test_data / "scan_survey.tsv", tmp_path / "joint.tsv")
    _fails(capsys, [*pieces[:2], "-o", str(tmp_path / "j.bed")], "missing: piece(s) 1", tmp_path / "j.bed")
    _fails(capsys, [*pieces, str(scan / "whole.npz"), "-o", str(tmp_path / "j.bed")], "another scan",
           tmp_path / "j.bed")


def test_the_committed_pieces_merge_to_the_goldens(test_data, tmp_path):
    """test-data's pieces (the Galaxy merge test's inputs) still merge to the single-job goldens."""
    pieces = [str(test_data / f"scan_piece_{index}.scores.npz") for index in (1, 2, 3)]
    assert predict.main([*pieces, "-o", str(tmp_path / "m.bed"), "--survey", str(tmp_path / "s.tsv"), "--known",
                         str(test_data / "scan_planted.bed"), "-q"]) == 0
    assert_files_equal(test_data / "scan_calls.bed", tmp_path / "m.bed")
    assert_files_equal(test_data / "scan_survey.tsv", tmp_path / "s.tsv")


def test_scores_keep_every_row_and_record_the_model(scan):
    record, model, scored = read_scores(scan / "piece_1.scores.npz")
    encoded = np.load(scan / "piece_1.npz")
    assert list(scored.ids) == encoded["ids"].tolist()  # decoys included
    assert scored.decoys().sum() == encoded["annotation_decoy"].sum() > 0
    assert model["name"] == "genome.keras" and len(model["sha256"]) == 64 and model["prior"] is None
    assert record == json.loads(str(encoded["scan"]))
    assert scored.probabilities.dtype == np.float32


def _fails(capsys, argv, message, output=None):
    assert predict.main(argv) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    if output is not None:
        assert not output.exists()


def test_missing_duplicated_and_foreign_pieces_are_refused(scan, test_data, tmp_path, capsys):
    merged = tmp_path / "merged.bed"
    pieces = [str(scan / f"piece_{index}.scores.npz") for index in range(1, PIECES + 1)]
    _fails(capsys, [*pieces[:2], "-o", str(merged)], "pieces of this scan are missing: piece(s) 3", merged)
    _fails(capsys, [*pieces, pieces[1], "-o", str(merged)], "piece 2/3 is given twice", merged)
    # a piece of the same genome scanned without decoys is another scan
    assert encode.main(["--genome", str(test_data / "scan_genome.fa"), "--annotation",
                        str(test_data / "scan_genes.gtf"), "--chunk", "3/3", "-o", str(tmp_path / "other.npz"),
                        "-q"]) == 0
    assert predict.main([str(tmp_path / "other.npz"), "-o", str(tmp_path / "other.scores.npz"), "-q"]) == 0
    _fails(capsys, [*pieces[:2], str(tmp_path / "other.scores.npz"), "-o", str(merged)],
           "is a piece of another scan than", merged)
    _fails(capsys, [*pieces, str(scan / "whole.npz"), "-o", str(merged)], "is not a scores NPZ of mt-predict",
           merged)
    _fails(capsys, [*pieces, "-o", str(tmp_path / "m.npz")], "merged predictions are TSV or BED")
    truncated = tmp_path / "piece_3.truncated.npz"  # a piece cut short in transfer: one line, not a traceback
    truncated.write_bytes((scan / "piece_3.scores.npz").read_bytes()[:3000])
    _fails(capsys, [*pieces[:2], str(truncated), "-o", str(merged)], str(truncated), merged)
    _fails(capsys, [*pieces, "-o", str(merged), "--model", "human_mirtron"], "belong(s) to scoring the pieces",
           merged)


def test_a_scores_npz_is_only_for_scan_pieces(scan, test_data, tmp_path, capsys):
    out = tmp_path / "x.npz"
    _fails(capsys, [str(test_data / "synthetic_hairpins.fa"), "-o", str(out)], "has no genome-scan record", out)
    _fails(capsys, [str(scan / "piece_1.npz"), "-o", str(out), "--survey", str(tmp_path / "s.tsv")],
           "give --survey when merging the pieces", out)
    _fails(capsys, [str(test_data / "synthetic_hairpins.fa"), str(scan / "piece_2.npz"), "-o",
                    str(tmp_path / "x.tsv")], "mt-predict scores one input, or the NPZs of every piece")


def test_plan_checks(scan, test_data, tmp_path, capsys):
    plan = str(scan / "plans" / "piece_1.plan.npz")
    assert encode.main(["--plan", plan, "--genome", str(test_data / "sim_genome.fa"), "-o",
                        str(tmp_path / "p.npz"), "-q"]) == 1
    assert "is not the genome that plan" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()
    with pytest.raises(SystemExit) as exit_info:
        encode.main(["--plan", plan, "--genome", "g.fa", "--annotation", "x.gtf", "-o", "o.npz"])
    assert exit_info.value.code == 2
    # a folder holding the plans of another split is refused, and nothing is written into it
    assert run_scan(scan / "plans", "--decoys", "--split", "2") == 1
    assert "holds plans of another split" in capsys.readouterr().err
    assert sorted(path.name for path in (scan / "plans").iterdir()) == [f"piece_{i}.plan.npz" for i in (1, 2, 3)]


def test_order_pieces_unit():
    record = {"parameters": {"decoys": True}, "max_length": 200, "region": None, "mirtron_tools": "1",
              "genome": {"name": "g.fa", "contigs": 1, "sha256": "a"},
              "annotation": {"name": "a.gtf", "introns": 5, "sha256": "b"}, "windows": 3}
    pieces = [{**record, "piece": [index, 3], "genome": {**record["genome"], "name": f"copy{index}.fa"}}
              for index in (2, 3, 1)]
    assert order_pieces(pieces, ["b", "c", "a"]) == [2, 0, 1]  # file names do not matter, contents do
    with pytest.raises(InputError, match="annotation.sha256"):
        order_pieces([pieces[0], {**pieces[1], "annotation": {**record["annotation"], "sha256": "x"}}], ["b", "c"])
    with pytest.raises(InputError, match="count 3 vs 4"):
        order_pieces([pieces[0], {**pieces[1], "piece": [1, 4]}], ["b", "c"])
