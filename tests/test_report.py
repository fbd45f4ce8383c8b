"""The HTML report (mt-predict --report), the browser tracks (BED9, GFF3) checked by real parsers
(bedtools, pysam's tabix BED parser) and a headless Chromium, and the outputs of a first run."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import TEST_DATA

from mirtron_tools.cli import predict
from mirtron_tools.coverage import COVERAGE_FORMAT_VERSION, COVERAGE_KIND
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.io.npz import write_arrays
from mirtron_tools.io.predictions import locus, rank_scores, ucsc_contig
from mirtron_tools.report import (
    ReadStack,
    fdr_at_ranks,
    read_stack_text,
    splice_marks,
    structure_svg,
)
from mirtron_tools.survey import survey_rows

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian: apt-get install chromium)")
needs_bedtools = pytest.mark.skipif(shutil.which("bedtools") is None,
                                    reason="no bedtools (Debian: apt-get install bedtools)")


# ------------------------------------------------------------------ pure parts

def test_rank_scores_use_the_range():
    scores = rank_scores(np.array([0.001, 0.5, 0.002, 0.002, 0.9]))
    assert scores.tolist() == [200, 800, 600, 600, 1000]  # ties share the better rank
    assert rank_scores(np.zeros(0)).size == 0


def test_locus_and_contig_names():
    assert locus("19", 66133, 66214, "-") == "19:66134-66214(-)"
    assert [ucsc_contig(name) for name in ("19", "X", "MT", "chr7", "Chr2")] == ["chr19", "chrX", "chrM", "chr7", "Chr2"]


def test_fdr_at_ranks_is_the_survey_at_each_rank():
    generator = np.random.default_rng(3)
    probabilities, decoys = generator.random(200) ** 3, generator.random(150) ** 4
    model, from_decoys = fdr_at_ranks(probabilities, decoys, 50)
    ordered = np.sort(probabilities)[::-1]
    for rank in (1, 7, 50):
        record = survey_rows(probabilities, decoys, cutoffs=(float(ordered[rank - 1]),))[0]
        assert record["called"] == rank
        assert model[rank - 1] == pytest.approx(record["fdr_model"])
        assert from_decoys is not None and from_decoys[rank - 1] == pytest.approx(record["fdr_decoys"])
    assert fdr_at_ranks(probabilities, None, 5)[1] is None


def test_splice_marks_by_subtype():
    assert splice_marks(60, "conventional") == {0: "5\u2032ss", 59: "3\u2032ss"}
    assert splice_marks(60, "5'-tailed") == {59: "3\u2032ss"}
    assert splice_marks(60, "3'-tailed") == {0: "5\u2032ss"}


def test_structure_svg_draws_every_base_and_pair():
    sequence, structure = "GGGGAAACCCCUUUUAAAAUUUU", "((((...))))((((....))))"
    svg = structure_svg(sequence, structure, {0: "5\u2032ss", len(sequence) - 1: "3\u2032ss"})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<title>") == len(sequence)
    assert svg.count("<line ") == structure.count("(")
    assert svg.count('class="splice"') == 2 and "5\u2032ss" in svg and "3\u2032ss" in svg
    coordinates = [float(value) for value in re.findall(r'<circle cx="([-\d.]+)"', svg)]
    assert all(value >= 0 for value in coordinates)


def test_read_stack_aligns_reads_under_the_hairpin():
    sequence, structure = "ACGUACGUACGUACGU", "((((........))))"
    reads = ReadStack(samples=["liver", "brain"], flank=5, sample=np.array([0, 0, 1]),
                      first=np.array([7, 2, 5]), last=np.array([10, 8, 25]), count=np.array([12, 3, 1]),
                      multi=np.array([False, True, False]))
    lines = read_stack_text(sequence, structure, reads).splitlines()
    offset = lines[0].index(sequence)
    assert lines[1][offset:offset + len(sequence)] == structure
    stack = {line[offset:offset + len(sequence)]: line[offset + len(sequence):].strip() for line in lines[2:]}
    assert stack["..GUAC.........."] == "12"  # window 7-10 = hairpin 2-5
    assert stack["<CGU............"] == "3*"  # window 2-8 = hairpin -3..3: runs past the 5' end; multi-mapped
    assert stack["ACGUACGUACGUACG>"] == "1"  # runs past the 3' end
    assert any(line.startswith("liver") and line.endswith("15 in total") for line in lines)


def test_survey_figure_spans_the_scores_and_counts_the_known_loci_once():
    from mirtron_tools.plots import close_figure, survey_figure

    generator = np.random.default_rng(8)
    candidates, decoys = 10 ** generator.uniform(-4, -0.3, 500), 10 ** generator.uniform(-4.5, -0.5, 400)
    figure = survey_figure(candidates, decoys, np.array([0.2, 0.3, 0.01]), threshold=0.02, known_total=5)
    axis = figure.axes[0]
    low, high = axis.get_xlim()
    assert axis.get_xscale() == "log" and low <= 0.02 <= high
    assert high == pytest.approx(max(candidates.max(), decoys.max()), rel=1e-6)  # no empty 0.6-1.0
    assert low == pytest.approx(min(candidates.min(), decoys.min()), rel=1e-6)
    labels = [text.get_text() for text in axis.get_legend().get_texts()]
    assert any("n=3 of 5 on the scanned contigs" in label for label in labels)
    close_figure(figure)


# ------------------------------------------------------------------ the command

def _reads_npz(path, encoded) -> None:
    """A reads NPZ as mt-coverage writes it (the arrays the report reads), for the scan's candidates."""
    generator = np.random.default_rng(5)
    offsets, sample, first, last, count, multi = [0], [], [], [], [], []
    flank = 20
    for length in encoded.lengths:
        reads = int(generator.integers(0, 6))
        for _ in range(reads):
            start = int(generator.integers(flank - 3, flank + length - 20))
            sample.append(int(generator.integers(0, 2)))
            first.append(start)
            last.append(start + int(generator.integers(18, 24)))
            count.append(int(generator.integers(1, 50)))
            multi.append(bool(generator.random() < 0.2))
        offsets.append(offsets[-1] + reads)
    write_arrays(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, {
        "ids": np.array(encoded.ids), "flank": np.array(flank, dtype=np.int32),
        "samples": np.array(["sampleA", "sampleB"]), "read_offsets": np.array(offsets, dtype=np.int64),
        "read_sample": np.array(sample, dtype=np.int16), "read_first": np.array(first, dtype=np.int32),
        "read_last": np.array(last, dtype=np.int32), "read_count": np.array(count, dtype=np.int32),
        "read_multi": np.array(multi, dtype=bool),
        "evidence": generator.random((len(encoded), 2, 2)).astype(np.float32),
        "evidence_names": np.array(["five_prime_homogeneity", "arm_balance"])})


@pytest.fixture(scope="module")
def scan_report(tmp_path_factory):
    """One run of mt-predict with every track and report option on the small genome scan."""
    test_data = TEST_DATA
    folder = tmp_path_factory.mktemp("report")
    npz = test_data / "scan_candidates.npz"
    _reads_npz(folder / "reads.npz", read_encoded(npz))
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(npz), "-o", str(folder / "calls.bed"),
                         "--report", str(folder / "report.html"), "--report-top", "20",
                         "--report-reads", str(folder / "reads.npz"), "--known", str(test_data / "scan_planted.bed"),
                         "--survey", str(folder / "survey.tsv"), "-q"]) == 0
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(npz), "-o", str(folder / "calls.tsv"),
                         "-q"]) == 0
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(npz), "-o", str(folder / "calls.gff3"),
                         "--chr-prefix", "-q"]) == 0
    return folder


def _table(path):
    with open(path) as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


def test_report_page_holds_the_top_candidates(scan_report):
    page = (scan_report / "report.html").read_text()
    table = sorted(_table(scan_report / "calls.tsv"), key=lambda row: -float(row["probability"]))
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page  # offline
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="structure"') == 20
    assert page.count('class="strip"') == 20  # the tiny model has an attention layer
    assert page.count('<pre class="reads">') == 20
    assert "data:image/png;base64," in page  # the survey figure, inline
    rows = re.findall(r'<tr class="(called|other)" data-rank="(\d+)" data-id="([^"]+)">', page)
    assert [int(rank) for _, rank, _ in rows] == list(range(1, 21))
    expected = [row["id"] for row in table[:20]]
    assert [identifier for _, _, identifier in rows] == expected
    for row in table[:20]:  # the 1-based locus of the TSV, and the host gene
        assert row["locus"] in page and row["gene"] in page
    assert "planted_" in page  # a known locus overlapped by a top candidate


def test_report_refused_without_structures(tmp_path, test_data, capsys):
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(test_data / "synthetic_hairpins.fa"),
                         "-o", str(tmp_path / "x.tsv"), "--report", str(tmp_path / "x.html")]) == 1
    assert "--report draws the candidates' structures from an NPZ" in capsys.readouterr().err
    pieces = [str(test_data / f"scan_piece_{index}.scores.npz") for index in (1, 2, 3)]
    assert predict.main([*pieces, "-o", str(tmp_path / "m.bed"), "--report", str(tmp_path / "m.html")]) == 1
    assert "give --report when scoring" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@needs_bedtools
def test_tracks_parse_in_bedtools(scan_report, test_data, tmp_path):
    """bedtools reads the BED (track line, BED9) and the GFF3; both name the same intervals, and the
    intervals hold the candidates' sequences."""
    bed, gff3 = scan_report / "calls.bed", scan_report / "calls.gff3"
    run = subprocess.run(["bedtools", "sort", "-i", str(bed)], capture_output=True, text=True, check=True)
    assert len(run.stdout.splitlines()) == len(read_encoded(test_data / "scan_candidates.npz"))
    # the GFF3's 1-based features are the BED's 0-based intervals (on UCSC contig names)
    chr_bed = tmp_path / "chr.bed"
    chr_bed.write_text("".join(f"chr{line}\n" for line in bed.read_text().splitlines()[1:]))
    run = subprocess.run(["bedtools", "intersect", "-a", str(gff3), "-b", str(chr_bed), "-f", "1.0", "-r", "-s",
                          "-v"], capture_output=True, text=True, check=True)
    assert run.stdout == ""
    genome = tmp_path / "genome.fa"
    shutil.copyfile(test_data / "scan_genome.fa", genome)
    run = subprocess.run(["bedtools", "getfasta", "-s", "-tab", "-fi", str(genome), "-bed", str(bed)],
                         capture_output=True, text=True, check=True)
    sequences = {row["locus"]: row for row in _table(scan_report / "calls.tsv")}
    encoded = read_encoded(test_data / "scan_candidates.npz")
    by_id = dict(zip(encoded.ids, encoded.sequences))
    fetched = [line.split("\t")[1].upper().replace("T", "U") for line in run.stdout.splitlines()]
    rows = [line.split("\t") for line in bed.read_text().splitlines()[1:]]
    for row, sequence in zip(rows, fetched):
        identifier = sequences[locus(row[0], int(row[1]), int(row[2]), row[5])]["id"]
        assert sequence == by_id[identifier]


def test_bed_parses_as_bed9_in_pysam(scan_report, tmp_path):
    """htslib's tabix BED parser (pysam.asBed) reads every field, colours by call included."""
    import pysam

    lines = (scan_report / "calls.bed").read_text().splitlines()
    assert lines[0].startswith("track ") and 'itemRgb="On"' in lines[0]
    body = tmp_path / "calls.bed"
    body.write_text("".join(f"{line}\n" for line in sorted(lines[1:], key=lambda line: (
        line.split("\t")[0], int(line.split("\t")[1])))))
    indexed = pysam.tabix_index(str(body), preset="bed", force=True)
    calls = {row["locus"]: row["call"] for row in _table(scan_report / "calls.tsv")}
    with pysam.TabixFile(indexed, parser=pysam.asBed()) as bed:
        records = [record for contig in bed.contigs for record in bed.fetch(contig)]
    assert len(records) == len(lines) - 1
    for record in records:
        colour = "200,30,30" if calls[locus(record.contig, record.start, record.end, record.strand)] == "mirtron" \
            else "150,150,150"
        assert record.itemRGB == colour and 1 <= int(record.score) <= 1000
        assert (int(record.thickStart), int(record.thickEnd)) == (record.start, record.end)


def test_gff3_features(scan_report):
    lines = (scan_report / "calls.gff3").read_text().splitlines()
    assert lines[0] == "##gff-version 3"
    fields = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 9 and row[0].startswith("chr") and row[2] == "pre_miRNA" for row in fields)
    table = {row["id"]: row for row in _table(scan_report / "calls.tsv")}
    for row in fields:
        attributes = dict(item.split("=", 1) for item in row[8].split(";"))
        candidate = table[attributes["ID"]]
        assert f"{row[0][3:]}:{row[3]}-{row[4]}({row[6]})" == candidate["locus"]
        assert row[5] == candidate["probability"] and attributes["call"] == candidate["call"]
        assert re.fullmatch(re.escape(f"{candidate['gene']}|{candidate['subtype']}") + r"(#\d+)?", attributes["Name"])


# ------------------------------------------------------------------ a real browser

def _chromium(*arguments, profile):
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--hide-scrollbars", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@needs_chromium
def test_report_sorts_in_chromium(scan_report, tmp_path):
    """The table's script runs: a sort asked for by the URL (as a click would) reorders the rows."""
    url = (scan_report / "report.html").as_uri()
    for key, expected in (("probability-asc", "ascending"), ("rank-desc", "descending")):
        result = _chromium("--virtual-time-budget=5000", "--dump-dom", f"{url}#sort={key}", profile=tmp_path / "p")
        assert result.returncode == 0, result.stderr[-2000:]
        dom = result.stdout
        assert f'data-sorted="{key}"' in dom
        body = dom[dom.index('id="candidates"'):]
        ranks = [int(rank) for rank in re.findall(r'<tr class="(?:called|other)" data-rank="(\d+)"', body)][:20]
        probabilities = [float(value) for value in re.findall(
            r'data-rank="\d+" data-id="[^"]+"><td class="num" data-value="\d+">.*?</td><td class="num" '
            r'data-value="([\d.e-]+)"', body)][:20]
        assert sorted(ranks) == list(range(1, 21)) and len(probabilities) == 20
        if expected == "ascending":
            assert probabilities == sorted(probabilities) and ranks != sorted(ranks)
        else:
            assert ranks == sorted(ranks, reverse=True)


@needs_chromium
def test_report_renders_in_chromium(scan_report, tmp_path, test_data):
    """A screenshot of a small report: the page, the survey figure and the structures are drawn."""
    import matplotlib.image

    page = tmp_path / "small.html"
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(test_data / "scan_candidates.npz"),
                         "-o", str(tmp_path / "c.tsv"), "--report", str(page), "--report-top", "2",
                         "--known", str(test_data / "scan_planted.bed"), "-q"]) == 0
    shot = tmp_path / "shot.png"
    result = _chromium("--window-size=1300,2400", "--virtual-time-budget=5000", f"--screenshot={shot}",
                       page.as_uri(), profile=tmp_path / "p")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = matplotlib.image.imread(shot)[..., :3]
    assert image.shape[:2] == (2400, 1300)
    ink = np.any(image < 0.9, axis=2)
    assert ink.mean() > 0.02  # not a blank page
    colours = {tuple(pixel) for pixel in np.round(image[1200:].reshape(-1, 3) * 8).astype(int)}
    assert len(colours) > 40  # the structures (coloured bases) and attention strips below the survey


# ------------------------------------------------------------------ a first run: no silent overwrite

def test_sidecar_table_of_an_input_is_refused(tmp_path, test_data, capsys):
    npz = tmp_path / "chr.npz"
    shutil.copyfile(test_data / "scan_candidates.npz", npz)
    (tmp_path / "chr.tsv").write_text("mt-encode's table\n")
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(npz), "-o", str(tmp_path / "chr.tsv")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "is the table written beside" in error and "chr.npz" in error
    assert (tmp_path / "chr.tsv").read_text() == "mt-encode's table\n"


def test_every_written_file_is_logged(tmp_path, test_data, capsys):
    outputs = [tmp_path / name for name in ("c.bed", "s.tsv", "s.png", "r.html")]
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(test_data / "scan_candidates.npz"),
                         "-o", str(outputs[0]), "--survey", str(outputs[1]), "--survey-plot", str(outputs[2]),
                         "--report", str(outputs[3]), "--report-top", "2"]) == 0
    log = capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in outputs)
    for path in outputs:
        assert str(path) in log


def test_sidecar_tables_are_refused_by_every_command(tmp_path, test_data, capsys):
    from mirtron_tools.cli import attend, coverage

    for name in ("h", "c"):
        shutil.copyfile(test_data / ("synthetic_hairpins.npz" if name == "h" else "sim_candidates.npz"),
                        tmp_path / f"{name}.npz")
        (tmp_path / f"{name}.tsv").write_text("mt-encode's table\n")
    assert attend.main(["-m", str(test_data / "tiny_model.keras"), str(tmp_path / "h.npz"),
                        "-o", str(tmp_path / "h.tsv")]) == 1
    assert "h.tsv: is the table written beside" in capsys.readouterr().err
    assert coverage.main([str(tmp_path / "c.npz"), str(test_data / "sim_reads.bam"), "-o", str(tmp_path / "x.npz"),
                          "--table", str(tmp_path / "c.tsv")]) == 1
    assert "c.tsv: is the table written beside" in capsys.readouterr().err
    assert {path.name for path in tmp_path.iterdir()} == {"h.npz", "h.tsv", "c.npz", "c.tsv"}
    assert all(path.read_text() == "mt-encode's table\n" for path in tmp_path.glob("*.tsv"))


@pytest.mark.slow
@needs_chromium
def test_chr19_report_in_chromium(tmp_path, shared_data):
    """The README's chr19 example on its first 3 Mb (under a minute on 2 free cores): the page of the top 100
    candidates loads in Chromium with a structure each and the survey, and stays small."""
    from mirtron_tools.cli import encode

    folder = shared_data / "intronIC" / "test_data"
    npz, page = tmp_path / "chr19.npz", tmp_path / "chr19.html"
    assert encode.main(["--genome", str(folder / "Homo_sapiens.Chr19.Ensembl_91.fa.gz"), "--annotation",
                        str(folder / "Homo_sapiens.Chr19.Ensembl_91.gff3.gz"), "--region", "19:1-3000000",
                        "--decoys", "--threads", "2", "-o", str(npz), "-q"]) == 0
    assert predict.main([str(npz), "-o", str(tmp_path / "chr19.bed"), "--report", str(page), "--known",
                         str(shared_data / "derived_splits" / "chr19_known_mirtrons.bed"), "-q"]) == 0
    assert page.stat().st_size < 20e6
    result = _chromium("--virtual-time-budget=10000", "--dump-dom", f"{page.as_uri()}#sort=probability-desc",
                       profile=tmp_path / "p")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert 'data-sorted="probability-desc"' in dom
    assert len(re.findall(r'<tr class="(?:called|other)" data-rank="\d+"', dom)) == 100
    assert dom.count('class="structure"') == 100 and "Survey of the scan" in dom
    shot = tmp_path / "shot.png"
    result = _chromium("--window-size=1280,2000", "--virtual-time-budget=10000", f"--screenshot={shot}",
                       page.as_uri(), profile=tmp_path / "p")
    import matplotlib.image

    image = matplotlib.image.imread(shot)[..., :3]
    assert np.any(image < 0.9, axis=2).mean() > 0.02
