"""Genome-scan scoring: decoys, the survey, known loci, plain-gzip genomes, streaming NPZ reads, one trace
per model, the bundled genome model and the chr19 hold-out of every bundled model."""
import collections
import gzip
import shutil

import numpy as np
import pytest
from conftest import run_scan, write

from mirtron_tools.cli import encode, predict
from mirtron_tools.coordinates import contig_key
from mirtron_tools.encoding import CONTEXT_CHANNELS, context_values, model_inputs
from mirtron_tools.io.encoded import iter_encoded, read_encoded
from mirtron_tools.io.known import KnownIndex, read_known
from mirtron_tools.io.model import bundled_models, read_manifest, resolve_model
from mirtron_tools.scan.decoys import DECOY_FIXED_ENDS, decoy_sequence, dinucleotide_shuffle
from mirtron_tools.scan.windows import Window
from mirtron_tools.survey import COLUMNS, KnownHits, describe_cutoff, survey_rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dinucleotide_shuffle_keeps_counts_and_ends(seed):
    rng = np.random.default_rng(seed)
    sequence = "".join(rng.choice(list("ACGUN"), size=120, p=[0.3, 0.2, 0.2, 0.28, 0.02]))
    shuffled = dinucleotide_shuffle(sequence, np.random.default_rng(seed))
    assert shuffled != sequence
    assert collections.Counter(zip(sequence, sequence[1:])) == collections.Counter(zip(shuffled, shuffled[1:]))
    assert (shuffled[0], shuffled[-1]) == (sequence[0], sequence[-1])


def test_decoy_is_seeded_by_the_window_and_keeps_splice_ends():
    window = Window("chr1", 100, 200, "+", False, True, False)
    sequence = "GU" + "ACGGCUAGCUUAGGCAUCGAUCGGAUC" * 3 + "AG"
    first, second = decoy_sequence(window, sequence), decoy_sequence(window, sequence)
    assert first == second and first != sequence
    assert first[:DECOY_FIXED_ENDS] == "GU" and first[-DECOY_FIXED_ENDS:] == "AG"
    other = decoy_sequence(Window("chr1", 101, 201, "+", False, True, False), sequence)
    assert other != first


def test_scan_with_decoys_keeps_the_real_candidates(tmp_path, test_data):
    assert run_scan(tmp_path / "plain.npz") == 0
    assert run_scan(tmp_path / "decoys.npz", "--decoys", "--threads", "2") == 0
    plain, both = read_encoded(tmp_path / "plain.npz"), read_encoded(tmp_path / "decoys.npz")
    decoy = both.annotations["decoy"] == 1
    assert decoy.any() and (~decoy).any()
    real = both.subset(np.flatnonzero(~decoy))
    assert sorted(real.ids) == sorted(plain.ids)
    assert all(identifier.startswith("decoy:") for identifier in np.array(both.ids)[decoy])
    # the same decoys in every run (seeded by window), whatever the threads
    assert run_scan(tmp_path / "again.npz", "--decoys") == 0
    assert read_encoded(tmp_path / "again.npz").sequences == both.sequences


def test_decoys_only_with_a_genome_scan(tmp_path, test_data, capsys):
    with pytest.raises(SystemExit) as stopped:
        encode.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "x.npz"), "--decoys"])
    assert stopped.value.code == 2
    assert "--decoys: only with --annotation" in capsys.readouterr().err


def test_plain_gzip_genome_scans_like_the_plain_one(tmp_path, test_data, monkeypatch):
    monkeypatch.setenv("MIRTRON_CACHE", str(tmp_path / "cache"))
    genome = tmp_path / "genome.fa.gz"
    with open(test_data / "scan_genome.fa", "rb") as source, gzip.open(genome, "wb") as target:
        shutil.copyfileobj(source, target)
    assert run_scan(tmp_path / "gz.npz", genome=genome) == 0
    assert run_scan(tmp_path / "plain.npz") == 0
    assert (tmp_path / "gz.tsv").read_text() == (tmp_path / "plain.tsv").read_text()
    copies = list((tmp_path / "cache").glob("genomes/*/genome.fa"))
    assert len(copies) == 1  # decompressed once into the cache, never beside the genome
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("genome")) == ["genome.fa.gz"]
    assert run_scan(tmp_path / "gz2.npz", genome=genome) == 0
    assert list((tmp_path / "cache").glob("genomes/*/genome.fa")) == copies


def test_genome_that_is_not_fasta_is_one_line(tmp_path, test_data, capsys):
    genome = write(tmp_path / "genome.fa", "\x00\x01binary\n")
    assert run_scan(tmp_path / "x.npz", genome=genome) == 1
    error = capsys.readouterr().err
    assert error.startswith("mt-encode: error:") and "[E::" not in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "x.npz").exists()


def test_iter_encoded_equals_read_encoded(test_data):
    whole = read_encoded(test_data / "scan_candidates.npz")
    chunks = list(iter_encoded(test_data / "scan_candidates.npz", 7))
    assert [len(chunk) for chunk in chunks[:-1]] == [7] * (len(chunks) - 1)
    assert [i for chunk in chunks for i in chunk.ids] == whole.ids
    assert [s for chunk in chunks for s in chunk.structures] == whole.structures
    for key, value in whole.annotations.items():
        assert np.concatenate([chunk.annotations[key] for chunk in chunks]).tolist() == value.tolist()


def test_context_channels(test_data):
    encoded = read_encoded(test_data / "scan_candidates.npz")
    values = context_values(encoded)
    assert values.shape == (len(encoded), len(CONTEXT_CHANNELS))
    first = str(encoded.annotations["intron"][0]).split(",")
    shortest = min(int(end) - int(start) for start, end in (span.split("-") for span in first))
    assert values[0, 0] == pytest.approx(np.log10(shortest))
    assert (values[:, 1:4].sum(axis=1) == 1).all()
    assert values[:, 4].tolist() == encoded.annotations["splice_distance"].astype(float).tolist()
    arrays = model_inputs(encoded, energy=True, context=True)
    assert arrays[0].shape == (len(encoded.sequences[0]), 8 + len(CONTEXT_CHANNELS))
    assert (arrays[0][:, 8:] == values[0]).all()


def test_survey_rows_by_hand():
    probabilities = np.array([0.95, 0.9, 0.6, 0.2, 0.05])
    decoys = np.array([0.92, 0.1, 0.1, 0.1])
    known = KnownHits(rows=np.array([0, 1, 3]), loci=np.array([0, 0, 1]), total=3)
    rows = {row["cutoff"]: row for row in survey_rows(probabilities, decoys, known, cutoffs=(0.5, 0.9), threshold=0.3)}
    assert sorted(rows) == [0.3, 0.5, 0.9]
    at = rows[0.9]
    assert at["called"] == 2 and at["expected_false_model"] == pytest.approx(0.15)
    assert at["fdr_model"] == pytest.approx(0.075)
    assert at["decoys_called"] == 1 and at["expected_false_decoys"] == pytest.approx(1.25)
    assert at["fdr_decoys"] == pytest.approx(0.625)
    assert (at["known_called"], at["known_total"]) == (1, 3)
    assert rows[0.3]["called"] == 3 and rows[0.3]["known_called"] == 1
    assert set(COLUMNS) == set(at) | set()
    assert "2 candidates called (40.00 %)" in describe_cutoff(at)


def test_known_loci_gff3_bed_and_contig_rule(tmp_path):
    gff3 = write(tmp_path / "hsa.gff3", "##gff-version 3\n"
                 "chr19\t.\tmiRNA_primary_transcript\t101\t160\t.\t+\t.\tID=MI1;Name=hsa-mir-a\n"
                 "chr19\t.\tmiRNA\t110\t131\t.\t+\t.\tID=MIMAT1;Name=hsa-miR-a-5p\n"
                 "chr19\t.\tmiRNA_primary_transcript\t150\t200\t.\t+\t.\tID=MI2;Name=hsa-mir-b\n"
                 "chrM\t.\tmiRNA_primary_transcript\t10\t70\t.\t-\t.\tID=MI3;Name=hsa-mir-c\n")
    loci = read_known(gff3)
    assert [(locus.contig, locus.start, locus.end, locus.strand) for locus in loci] == [
        ("chr19", 100, 200, "+"), ("chrM", 9, 70, "-")]
    assert loci[0].names == ("hsa-mir-a", "hsa-mir-b")
    index = KnownIndex(loci)
    assert index.overlaps("19", 190, 260, "+") == [0] and index.overlaps("19", 200, 260, "+") == []
    assert index.overlaps("19", 120, 130, "-") == [] and index.overlaps("MT", 0, 10, "-") == [1]
    assert contig_key("chrMT") == contig_key("M") == "MT"
    bed = write(tmp_path / "known.bed", "19\t5\t20\tx\t0\t+\n19\t15\t30\ty\t0\t+\n")
    assert [(locus.start, locus.end) for locus in read_known(bed)] == [(5, 30)]
    assert index.total_on_seen_contigs() == 2


def _genome_model_installed():
    return "genome" in bundled_models()


@pytest.mark.skipif(not _genome_model_installed(), reason="genome model not installed")
def test_scan_npz_is_scored_by_the_genome_model_with_a_survey(tmp_path, test_data, capsys):
    npz = tmp_path / "scan.npz"
    assert run_scan(npz, "--decoys") == 0
    output, survey, plot = tmp_path / "calls.tsv", tmp_path / "survey.tsv", tmp_path / "survey.png"
    assert predict.main([str(npz), "-o", str(output), "--survey", str(survey), "--survey-plot", str(plot),
                         "--known", str(test_data / "scan_planted.bed")]) == 0
    error = capsys.readouterr().err
    assert "scoring with the bundled 'genome' model" in error and "estimated false discovery rate" in error
    lines = output.read_text().splitlines()
    assert lines[0].split("\t")[:8] == ["id", "length", "probability", "call", "contig", "start", "end", "strand"]
    assert not any(line.startswith("decoy:") for line in lines)
    assert len(lines) - 1 == len(read_encoded(test_data / "scan_candidates.npz"))
    table = survey.read_text().splitlines()
    assert table[0].startswith("# default call:")
    header = next(line for line in table if not line.startswith("#")).split("\t")
    assert header == list(COLUMNS)
    rows = [dict(zip(header, line.split("\t"))) for line in table if not line.startswith(("#", "cutoff"))]
    planted = len((test_data / "scan_planted.bed").read_text().splitlines())
    assert all(int(row["known_total"]) == planted for row in rows)
    planted_spans = [line.split("\t") for line in (test_data / "scan_planted.bed").read_text().splitlines()]
    calls = [line.split("\t") for line in lines[1:]]
    for row in rows:  # known loci called, recounted from the predictions themselves
        cutoff = float(row["cutoff"])
        expected = sum(1 for contig, start, end, _, _, strand in planted_spans
                       if any(call[4] == contig and call[7] == strand and int(call[5]) < int(end)
                              and int(start) < int(call[6]) and float(call[2]) >= cutoff for call in calls))
        assert int(row["known_called"]) == expected
    assert [int(row["called"]) for row in rows] == sorted((int(row["called"]) for row in rows), reverse=True)
    assert all(row["fdr_decoys"] != "NA" for row in rows)
    assert plot.stat().st_size > 1000


@pytest.mark.skipif(not _genome_model_installed(), reason="genome model not installed")
def test_known_of_another_assembly_and_survey_of_hairpins_fail_cleanly(tmp_path, test_data, capsys):
    output, survey = tmp_path / "calls.tsv", tmp_path / "survey.tsv"
    other = write(tmp_path / "other.bed", "chr7\t100\t200\tx\t0\t+\n")
    assert predict.main([str(test_data / "scan_candidates.npz"), "-o", str(output), "--survey", str(survey),
                         "--known", str(other)]) == 1
    assert "no known locus overlaps any candidate" in capsys.readouterr().err
    assert not output.exists() and not survey.exists() and list(tmp_path.iterdir()) == [other]
    assert predict.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(output), "--survey", str(survey)]) == 1
    assert "--survey needs a genome-scan NPZ" in capsys.readouterr().err
    assert predict.main(["--model", "genome", str(test_data / "synthetic_hairpins.fa"), "-o", str(output)]) == 1
    assert "reads where a candidate sits in its intron" in capsys.readouterr().err
    assert not output.exists()
    from mirtron_tools.cli import attend

    assert attend.main(["--model", "genome", "--method", "mutagenesis", str(test_data / "scan_candidates.npz"),
                        "-o", str(output)]) == 1
    assert "mt-attend explains hairpin models" in capsys.readouterr().err
    assert not output.exists()


def test_one_trace_serves_every_length_and_matches_keras(test_data):
    from mirtron_tools.io.model import load_model
    from mirtron_tools.prediction import compiled, predict_arrays

    model, manifest = load_model(test_data / "tiny_model.keras")
    encoded = read_encoded(test_data / "synthetic_hairpins.npz")
    arrays = model_inputs(encoded)
    probabilities = predict_arrays(model, arrays, batch_size=7)
    forward = compiled(model, arrays[0].shape[1])
    assert compiled(model, arrays[0].shape[1]) is forward and forward.trace_seconds > 0
    assert predict_arrays(model, arrays, batch_size=64).tolist() == pytest.approx(probabilities.tolist(), abs=1e-6)
    for row in (0, 5, len(arrays) - 1):
        reference = float(np.asarray(model.predict_on_batch(arrays[row][None]))[0, 0])
        assert probabilities[row] == pytest.approx(reference, abs=1e-5)


@pytest.mark.parametrize("name", ["human_mirtron", "premirna", "genome"])
def test_bundled_models_hold_out_chr19(name, shared_data):
    """Every bundled model records the chr19 hold-out, and none of the 134 known chr19 mirtron sequences
    (nor a hairpin equal to, containing or inside one) is in its recorded training set."""
    if name not in bundled_models():
        pytest.skip(f"{name} model not installed")
    manifest = read_manifest(resolve_model(name))
    held_out = manifest["training_data"]["held_out"]
    assert held_out["chromosome"] == "GRCh38 chr19" and "chr19" in held_out["rule"]
    if name == "genome":
        assert held_out["introns_held_out"] == 891
        return
    from recipes import chr19_holdout as holdout
    from recipes import human_data
    from recipes import premirna as build

    if name == "human_mirtron":
        everything = set(human_data.human_mirtron_set(shared_data, hold_out_chr19=False).sequences)
    else:
        everything = {sequence for records in build.deepmirgene_records("cv/whole", shared_data, hold_out_chr19=False)
                      for _, sequence in records}
    dropped = set(held_out["dropped_sequences"])
    assert dropped <= everything and held_out["dropped"] == len(dropped) > 50
    kept = everything - dropped
    assert holdout.sequences_sha256(kept) == held_out["kept_sha256"]  # what the model was trained on
    for hairpin in _chr19_hairpins(shared_data):
        assert not any(hairpin in sequence or sequence in hairpin for sequence in kept), hairpin


def _chr19_hairpins(shared_data) -> list[str]:
    """The 134 known chr19 mirtron sequences and the chr19 miRBase v22 hairpins, RNA letters, from chr19."""
    with gzip.open(shared_data / "intronIC/test_data/Homo_sapiens.Chr19.Ensembl_91.fa.gz", "rt") as stream:
        chromosome = "".join(line.strip() for line in stream if not line.startswith(">")).upper()
    complement = str.maketrans("ACGTN", "TGCAN")
    spans = []
    for line in (shared_data / "derived_splits/chr19_known_mirtrons.bed").read_text().splitlines():
        fields = line.split("\t")
        spans.append((int(fields[1]), int(fields[2]), fields[5]))
    for line in (shared_data / "mirbase22_hsa_gff3/hsa.gff3").read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 9 and fields[0] == "chr19" and fields[2] == "miRNA_primary_transcript":
            spans.append((int(fields[3]) - 1, int(fields[4]), fields[6]))
    result = []
    for start, end, strand in spans:
        piece = chromosome[start:end]
        result.append((piece.translate(complement)[::-1] if strand == "-" else piece).replace("T", "U"))
    return result


def test_missing_input_fails_before_tensorflow_loads(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom mirtron_tools.cli import predict\n"
            f"status = predict.main([{str(tmp_path / 'nothere.fa')!r}, '-o', {str(tmp_path / 'x.tsv')!r}])\n"
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\nsys.exit(status)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().endswith("nothere.fa: no such file")
