"""Read evidence: signatures of small-RNA-seq reads (mirtron_tools.reads), their collection from BAMs
(mt-coverage), the read-aware scoring of mt-predict (sequence prior x read likelihood ratio), its TSV
columns, the survey's permutation estimate, pieces, bad inputs and the real srnadiff reads."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import write
from simulate import planted_bam

from mirtron_tools.cli import coverage as coverage_cli
from mirtron_tools.cli import encode, predict
from mirtron_tools.io.reads import read_evidence
from mirtron_tools.reads import (
    EVIDENCE_INDEX,
    FEATURES,
    Geometry,
    ReadModel,
    Reads,
    evidence,
    failed_criteria,
    fit_read_model,
    intron_anchors,
    is_duplex,
    pair_table,
    permuted_scores,
    pooled,
)

# a pre-miRNA-like hairpin of 60 nt: a stem of 25 pairs around an 8-nt loop, and a 2-nt 3' overhang
STRUCTURE = "(" * 25 + "." * 8 + ")" * 25 + ".."


def reads(*rows) -> Reads:
    """Reads from (first, last, count, sample) rows."""
    first, last, count, sample = (np.array(column) for column in zip(*rows))
    return Reads(first.astype(np.int32), last.astype(np.int32), count.astype(np.int32), np.zeros(len(first), bool),
                 sample.astype(np.int16))


def test_pair_table_and_duplex():
    partners = pair_table(STRUCTURE)
    assert partners[0] == 57 and partners[24] == 33 and partners[30] == -1 and partners[59] == -1
    # Dicer's duplex: the 5p read's 5' end (0) pairs with the base 2 nt before the 3p read's 3' end (59)
    assert is_duplex(partners, (0, 21), (38, 59))
    assert is_duplex(partners, (2, 23), (36, 57))
    assert not is_duplex(partners, (0, 21), (30, 45))


def test_intron_anchors_both_strands():
    # plus strand: intron 100-300, candidate 100-160: donor at 0, acceptor far
    assert intron_anchors(100, 160, "+", "100-300") == (0, 199)
    # minus strand: the intron's first nt (donor) is its genomic end; candidate 240-300 at that end
    assert intron_anchors(240, 300, "-", "100-300") == (0, 199)
    # several host introns: the one whose end is nearest a hairpin end
    assert intron_anchors(100, 160, "+", "50-400,100-162") == (0, 61)
    assert intron_anchors(0, 10, "+", "") == (None, None)


def test_mirtron_signature_and_failed_criteria():
    geometry = Geometry(60, STRUCTURE, donor=0, acceptor=59)
    mirtron = reads((0, 21, 8, 0), (1, 21, 1, 0), (38, 59, 5, 0), (0, 21, 3, 1))
    values = evidence(mirtron, geometry, 2)
    assert values.shape == (2, len(EVIDENCE_INDEX))
    row = pooled(values[None])[0]
    assert row[EVIDENCE_INDEX["reads"]] == 17 and row[EVIDENCE_INDEX["reads_3p_arm"]] == 5
    assert row[EVIDENCE_INDEX["duplex"]] == 1 and row[EVIDENCE_INDEX["splice_anchored"]] > 0.9
    assert row[EVIDENCE_INDEX["length_share"]] == 1.0 and row[EVIDENCE_INDEX["loop_reads"]] == 0
    assert failed_criteria(values[None]) == [""]
    # debris: 5' ends at the donor but 30 nt long, over the loop, with reads on the intron body
    debris = reads((0, 29, 4, 0), (20, 45, 2, 0), (80, 100, 9, 0))
    failed = failed_criteria(evidence(debris, Geometry(60, STRUCTURE, 0, 300), 1)[None])[0].split(",")
    assert {"duplex", "products", "loop", "degradation"} <= set(failed)
    assert failed_criteria(np.zeros((1, 1, len(EVIDENCE_INDEX)))) == ["reads"]


def test_read_model_keeps_the_prior_without_reads_and_fits_a_likelihood_ratio():
    rng = np.random.default_rng(3)
    geometry = Geometry(60, STRUCTURE, 0, 59)
    positives = [evidence(reads((0, 21, int(rng.integers(1, 9)), 0), (38, 59, int(rng.integers(0, 5)), 0)),
                          geometry, 1) for _ in range(40)]
    negatives = [evidence(reads((int(start), int(start) + int(rng.integers(15, 34)), int(rng.integers(1, 9)), 0)),
                          geometry, 1) for start in rng.integers(-50, 50, size=40)]
    values = np.array(positives + negatives)
    labels = np.r_[np.ones(40), np.zeros(40)]
    model = fit_read_model(values, labels)
    assert len(model.weights) == len(FEATURES)
    ratio = model.log_ratio(values)
    assert ratio[:40].mean() > 2 and ratio[40:].mean() < 0
    prior = np.full(3, 0.01)
    none = np.zeros((3, 1, len(EVIDENCE_INDEX)), dtype=np.float32)
    assert np.allclose(model.combine(prior, none), 0.01)
    assert ReadModel.from_manifest(model.to_manifest()) == model
    # permutation: a perfect signature moved onto a hairpin of another shape no longer scores as high
    other = Geometry(60, "." * 60, None, None)
    permuted = permuted_scores(model, np.full(2, 0.01), [reads((0, 21, 8, 0), (38, 59, 5, 0)), Reads.empty()],
                               [geometry, other], 1, permutations=10)
    assert permuted.shape == (10, 2)
    real = model.combine(np.full(1, 0.01), evidence(reads((0, 21, 8, 0), (38, 59, 5, 0)), geometry, 1)[None])[0]
    assert permuted.min() <= real


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from conftest import TEST_DATA

    folder = tmp_path_factory.mktemp("planted")
    bam = planted_bam(folder / "sample1.bam", TEST_DATA)
    scan, reads_npz = folder / "scan.npz", folder / "reads.npz"
    assert encode.main(["--genome", str(TEST_DATA / "scan_genome.fa"), "--annotation",
                        str(TEST_DATA / "scan_genes.gff3"), "--decoys", "-o", str(scan), "-q"]) == 0
    assert coverage_cli.main([str(scan), str(bam), "-o", str(reads_npz), "-q"]) == 0
    return scan, bam, reads_npz


def test_coverage_writes_reads_and_evidence_of_a_scan(planted, test_data):
    scan, bam, reads_npz = planted
    found = read_evidence(reads_npz)
    assert found.samples == ["sample1"] and found.scan is not None and found.scan["piece"] == [1, 1]
    with_reads = found.values[:, 0, EVIDENCE_INDEX["reads"]] > 0
    assert with_reads.sum() >= 6
    anchored = found.values[with_reads, 0, EVIDENCE_INDEX["splice_anchored"]]
    assert (anchored > 0.5).sum() >= 6  # the planted mirtrons' products sit at their splice sites
    decoys = np.array([identifier.startswith("decoy:") for identifier in found.ids])
    assert decoys.any() and found.values[decoys].sum() == 0  # shuffled windows: nothing maps there


def test_read_aware_genome_scan_chain(planted, test_data, tmp_path, capsys):
    scan, bam, reads_npz = planted
    calls, survey = tmp_path / "calls.tsv", tmp_path / "survey.tsv"
    assert predict.main([str(scan), "--coverage", str(reads_npz), "-o", str(calls),
                         "--survey", str(survey), "--known", str(test_data / "scan_planted.bed")]) == 0
    assert "'genome_reads' model" in capsys.readouterr().err
    header, *rows = [line.split("\t") for line in calls.read_text().splitlines()]
    for column in ("sequence_probability", "samples_with_evidence", "reads:sample1", "splice_anchored", "failed"):
        assert column in header
    table = {row[0]: dict(zip(header, row)) for row in rows}
    with_reads = [row for row in table.values() if int(row["reads:sample1"]) > 0]
    risen = [row for row in with_reads if float(row["probability"]) > float(row["sequence_probability"])]
    assert len(risen) >= 6
    without = [row for row in table.values() if int(row["reads:sample1"]) == 0]
    assert all(row["probability"] == row["sequence_probability"] and row["failed"] == "reads" for row in without)
    header = next(line for line in survey.read_text().splitlines() if not line.startswith("#")).split("\t")
    assert header[-3:] == ["expected_false_permuted", "expected_false_permuted_sd", "fdr_permuted"]
    assert "read signatures permuted" in survey.read_text()


def test_read_aware_pieces_merge_to_one_run(planted, test_data, tmp_path, capsys):
    scan, bam, reads_npz = planted
    whole = tmp_path / "whole.tsv"
    assert predict.main([str(scan), "--coverage", str(reads_npz), "-o", str(whole),
                         "--survey", str(tmp_path / "whole.survey.tsv"), "-q"]) == 0
    plans = tmp_path / "plans"
    genome, genes = str(test_data / "scan_genome.fa"), str(test_data / "scan_genes.gff3")
    assert encode.main(["--genome", genome, "--annotation", genes, "--decoys", "--split", "2", "-o", str(plans),
                        "-q"]) == 0
    scores = []
    for plan in sorted(plans.glob("*.plan.npz")):
        name = plan.name.split(".")[0]
        piece, piece_reads = tmp_path / f"{name}.npz", tmp_path / f"{name}.reads.npz"
        assert encode.main(["--plan", str(plan), "--genome", genome, "-o", str(piece), "-q"]) == 0
        assert coverage_cli.main([str(piece), str(bam), "-o", str(piece_reads), "-q"]) == 0
        scores.append(tmp_path / f"{name}.scores.npz")
        assert predict.main([str(piece), "--coverage", str(piece_reads), "-o", str(scores[-1]), "-q"]) == 0
    # a piece given every piece's reads (as Galaxy gives a mapped job a reduced collection) takes its own
    own, given_all = tmp_path / "own.tsv", tmp_path / "all.tsv"
    piece_reads = sorted(str(path) for path in tmp_path.glob("piece_*.reads.npz"))
    assert predict.main([str(tmp_path / "piece_1.npz"), "--coverage", piece_reads[0], "-o", str(own), "-q"]) == 0
    assert predict.main([str(tmp_path / "piece_1.npz"), "--coverage", *reversed(piece_reads), "-o", str(given_all),
                         "-q"]) == 0
    assert own.read_text() == given_all.read_text()
    # a piece scored with the whole scan's reads: another scan's record
    wrong = tmp_path / "wrong.scores.npz"
    assert predict.main([str(tmp_path / "piece_1.npz"), "--coverage", str(reads_npz), "-o", str(wrong), "-q"]) == 1
    assert "holds the reads of another scan or piece" in capsys.readouterr().err and not wrong.exists()
    merged = tmp_path / "merged.tsv"
    assert predict.main([*map(str, reversed(scores)), "-o", str(merged), "--survey",
                         str(tmp_path / "merged.survey.tsv"), "-q"]) == 0
    assert merged.read_text() == whole.read_text()
    assert (tmp_path / "merged.survey.tsv").read_text() == (tmp_path / "whole.survey.tsv").read_text()


def test_bad_read_inputs(planted, test_data, tmp_path, capsys):
    scan_path, bam, reads_npz = planted
    scan = str(scan_path)
    # the same BAM twice (here under two names)
    twin = tmp_path / "twin.bam"
    shutil.copy(bam, twin)
    shutil.copy(f"{bam}.bai", f"{twin}.bai")
    out = tmp_path / "x.npz"
    assert coverage_cli.main([scan, str(bam), str(twin), "-o", str(out), "-q"]) == 1
    assert "same alignment file" in capsys.readouterr().err and not out.exists()
    # a BAM of another assembly: no contig of the scan
    other = planted_bam(tmp_path / "other.bam", test_data, extra_contig="chrZ")
    assert coverage_cli.main([scan, str(other), "-o", str(out), "-q"]) == 1
    assert "no contig" in capsys.readouterr().err and not out.exists()
    # the reads of another scan given to mt-predict
    fasta = write(tmp_path / "h.fa", ">gm1:100-154(+)\n" + "ACGU" * 13 + "AC\n")
    assert encode.main([str(fasta), "-o", str(tmp_path / "h.npz"), "-q"]) == 0
    calls = tmp_path / "c.tsv"
    assert predict.main([str(tmp_path / "h.npz"), "--coverage", str(reads_npz), "-o", str(calls), "-q"]) == 1
    assert "have no reads counted" in capsys.readouterr().err and not calls.exists()


def test_real_srnadiff_signatures(tmp_path, shared_data):
    """The real mirtron locus and canonical hairpins of the srnadiff BAMs (docs/reads.md's table)."""
    import pysam

    source = shared_data / "srnadiff" / "inst" / "extdata"
    bams = []
    for bam in sorted(source.glob("SRR*.bam")):
        shutil.copy(bam, tmp_path / bam.name)
        pysam.index(str(tmp_path / bam.name))
        bams.append(str(tmp_path / bam.name))
    names = dict(line.split("\t") for line in
                 (shared_data / "derived_splits" / "chr14_mirbase22_hairpins.names.tsv").read_text().splitlines())
    records = {"hsa-mirtron-1636": ("14:59459004-59459065(-)",
                                    "CTCAGTAAGAATAGTGAGTCTGTGGCATTTGATTTATAACCCACTCTCTCCCTATTCCCAG")}
    for block in (shared_data / "derived_splits" / "chr14_mirbase22_hairpins.fa").read_text().split(">")[1:]:
        header, *lines = block.strip().splitlines()
        if names[header] in ("hsa-mir-625", "hsa-mir-3173", "hsa-mir-1260a"):
            records[names[header]] = (header, "".join(lines))
    fasta = write(tmp_path / "loci.fa", "".join(f">{h}\n{s}\n" for h, s in records.values()))
    assert encode.main([str(fasta), "-o", str(tmp_path / "loci.npz"), "-q"]) == 0
    assert coverage_cli.main([str(tmp_path / "loci.npz"), *bams, "-o", str(tmp_path / "r.npz"), "-q"]) == 0
    found = read_evidence(tmp_path / "r.npz")
    pool = pooled(found.values)
    row = {name: pool[found.ids.index(header)] for name, (header, _) in records.items()}
    mirtron = row["hsa-mirtron-1636"]
    # 18 reads, all on the 5p arm, 17 at one 5' end (after the 5-nt tail), 22-23 nt, none past the hairpin;
    # the 3p arm, which would end at the acceptor, has no reads: no duplex and no splice anchoring here
    assert mirtron[EVIDENCE_INDEX["reads"]] == 18 and mirtron[EVIDENCE_INDEX["reads_5p_arm"]] == 18
    assert mirtron[EVIDENCE_INDEX["five_prime_precision"]] == pytest.approx(17 / 18, abs=0.01)
    assert mirtron[EVIDENCE_INDEX["past_hairpin"]] == 0 and mirtron[EVIDENCE_INDEX["duplex"]] == 0
    assert found.values[found.ids.index(records["hsa-mirtron-1636"][0]), :, EVIDENCE_INDEX["reads"]].min() == 0
    # canonical: both arms in a Dicer duplex (mir-625, mir-3173), mostly multi-mapped by bowtie2 (mir-625)
    assert row["hsa-mir-625"][EVIDENCE_INDEX["duplex"]] == 1 and row["hsa-mir-3173"][EVIDENCE_INDEX["duplex"]] == 1
    assert row["hsa-mir-625"][EVIDENCE_INDEX["multi_mapped"]] > 0.9 * row["hsa-mir-625"][EVIDENCE_INDEX["reads"]]
    assert row["hsa-mir-1260a"][EVIDENCE_INDEX["length_share"]] < 0.5
