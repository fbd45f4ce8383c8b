"""mt-encode --annotation (genome scan) and mt-predict BED output: goldens, shards, bad input,
and real sequence from ../shared/data (skipped with a reason where it is absent)."""
import csv
import gzip
import re
import shutil

import numpy as np
import pytest
from conftest import assert_files_equal, run_scan, write

from mirtron_tools.cli import encode, predict
from mirtron_tools.encoding import concatenate
from mirtron_tools.io.bed import read_bed
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.scan.parameters import ScanParameters
from mirtron_tools.scan.prefilter import prefilter_keep


def test_scan_golden_and_threads(tmp_path, test_data):
    assert run_scan(tmp_path / "scan.npz", "--threads", "2") == 0
    assert_files_equal(test_data / "scan_candidates.tsv", tmp_path / "scan.tsv")
    encoded = read_encoded(tmp_path / "scan.npz")
    for key in ("contig", "start", "end", "strand", "subtype", "gene", "transcript", "intron_number",
                "splice_distance"):
        assert key in encoded.annotations
    assert set(encoded.annotations["subtype"]) == {"conventional", "5'-tailed", "3'-tailed"}


def test_planted_mirtrons_found_with_their_subtype(test_data):
    encoded = read_encoded(test_data / "scan_candidates.npz")
    table = encoded.annotations
    for line in (test_data / "scan_planted.bed").read_text().splitlines():
        contig, start, end, name, _, strand = line.split("\t")
        start, end, subtype = int(start), int(end), name.split("|")[1]
        rows = [row for row in range(len(encoded)) if table["contig"][row] == contig
                and table["strand"][row] == strand and table["subtype"][row] == subtype]
        overlaps = [min(end, table["end"][row]) - max(start, table["start"][row]) for row in rows]
        assert overlaps and max(overlaps) >= 0.9 * (end - start), f"{name} not found as {subtype}"


def test_gff3_gzip_gives_the_same_candidates(tmp_path, test_data):
    with gzip.open(tmp_path / "genes.gff3.gz", "wt") as stream:
        stream.write((test_data / "scan_genes.gff3").read_text())
    assert encode.main(["--genome", str(test_data / "scan_genome.fa"), "--annotation",
                        str(tmp_path / "genes.gff3.gz"), "-o", str(tmp_path / "g.npz"), "-q"]) == 0
    ours, golden = read_encoded(tmp_path / "g.npz"), read_encoded(test_data / "scan_candidates.npz")
    assert ours.ids == golden.ids and ours.structures == golden.structures
    assert list(ours.annotations["transcript"]) == list(golden.annotations["transcript"])


def _same(first, second):
    assert first.ids == second.ids and first.sequences == second.sequences
    assert first.structures == second.structures and np.array_equal(first.mfe, second.mfe)
    assert sorted(first.annotations) == sorted(second.annotations)
    for key in first.annotations:
        assert list(first.annotations[key]) == list(second.annotations[key]), key


def test_shards_equal_the_whole_run(tmp_path, test_data):
    whole = read_encoded(test_data / "scan_candidates.npz")
    pieces = []
    for index in range(1, 5):
        assert run_scan(tmp_path / f"c{index}.npz", "--chunk", f"{index}/4") == 0
        pieces.append(read_encoded(tmp_path / f"c{index}.npz"))
    assert all(len(piece) for piece in pieces)
    _same(concatenate(pieces), whole)
    regions = ["gm1:1-9000", "gm1:9001-26493", "gm2"]
    parts = []
    for number, region in enumerate(regions):
        assert run_scan(tmp_path / f"r{number}.npz", "--region", region) == 0
        parts.append(read_encoded(tmp_path / f"r{number}.npz"))
    _same(concatenate(parts), whole)


def test_empty_chunk_writes_an_empty_set(tmp_path, test_data, capsys):
    assert run_scan(tmp_path / "e.npz", "--region", "gm1:1-50") == 0
    assert len(read_encoded(tmp_path / "e.npz")) == 0


def test_prefilter_option_keeps_planted(tmp_path, test_data):
    assert run_scan(tmp_path / "p.npz", "--prefilter") == 0
    filtered, whole = read_encoded(tmp_path / "p.npz"), read_encoded(test_data / "scan_candidates.npz")
    assert set(filtered.ids) <= set(whole.ids)
    for line in (test_data / "scan_planted.bed").read_text().splitlines():
        contig, start, end, name, _, strand = line.split("\t")
        assert any(identifier.startswith(f"{contig}:{start}-") or identifier.endswith(f"-{end}({strand})")
                   for identifier in filtered.ids), name


@pytest.mark.parametrize("argv", [
    ["--annotation", "x.gtf", "-o", "o.npz"],                        # no --genome
    ["in.fa", "--genome", "g.fa", "--annotation", "x.gtf", "-o", "o.npz"],  # both modes
    ["in.fa", "--region", "c:1-2", "-o", "o.npz"],                   # scan option without scan
    ["--genome", "g.fa", "--annotation", "x.gtf", "--chunk", "3/2", "-o", "o.npz"],
    ["-o", "o.npz"],                                                 # nothing to do
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        encode.main(argv)
    assert exit_info.value.code == 2


def _fails(capsys, argv, message, output):
    assert encode.main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("mt-encode: error: ") and message in error, error
    assert not output.exists() and not output.with_suffix(".tsv").exists()


def test_bad_annotation_inputs(tmp_path, test_data, capsys):
    genome, output = str(test_data / "scan_genome.fa"), tmp_path / "o.npz"
    gtf = (test_data / "scan_genes.gtf").read_text().splitlines()
    broken = gtf[:5] + ["gm1\tsim\texon\t100"] + gtf[5:]
    _fails(capsys, ["--genome", genome, "--annotation", str(write(tmp_path / "b.gtf", "\n".join(broken))),
                    "-o", str(output)], "b.gtf:6: expected 9 tab-separated columns", output)
    swapped = [line.replace('exon_number "1"', 'exon_number "7"') for line in gtf]
    _fails(capsys, ["--genome", genome, "--annotation", str(write(tmp_path / "s.gtf", "\n".join(swapped))),
                    "-o", str(output)], "are out of order", output)
    renamed = [("other" + line) if line.startswith("gm") else line for line in gtf]
    _fails(capsys, ["--genome", genome, "--annotation", str(write(tmp_path / "c.gtf", "\n".join(renamed))),
                    "-o", str(output)], "2 contig(s) of the annotation are not in genome", output)
    single = write(tmp_path / "one.gtf", 'gm1\tsim\texon\t10\t90\t.\t+\t.\tgene_id "g"; transcript_id "t";\n')
    _fails(capsys, ["--genome", genome, "--annotation", str(single), "-o", str(output)],
           "no introns: all 1 transcript(s) have a single exon", output)
    _fails(capsys, ["--genome", genome, "--annotation", str(test_data / "scan_genes.gtf"), "--region",
                    "gm1:1-99999999", "-o", str(output)], "is outside contig gm1", output)
    _fails(capsys, ["--genome", genome, "--annotation", str(test_data / "scan_genes.gtf"), "--region",
                    "chrgm9:1-10", "-o", str(output)], "contig 'chrgm9' is not in genome", output)


def test_one_contig_naming_rule_for_annotation_region_and_bed(tmp_path, test_data, capsys):
    """chr-prefixed names in the GTF, --region and a BED reach the genome's unprefixed contigs, logged once."""
    genome = str(test_data / "scan_genome.fa")
    gtf = (test_data / "scan_genes.gtf").read_text().splitlines()
    renamed = write(tmp_path / "c.gtf", "\n".join(("chr" + line) for line in gtf))
    assert encode.main(["--genome", genome, "--annotation", str(renamed), "-o", str(tmp_path / "c.npz")]) == 0
    assert "contig 'chrgm1' is 'gm1' in genome" in capsys.readouterr().err
    assert encode.main(["--genome", genome, "--annotation", str(test_data / "scan_genes.gtf"),
                        "-o", str(tmp_path / "p.npz"), "-q"]) == 0
    assert (tmp_path / "c.tsv").read_text() == (tmp_path / "p.tsv").read_text()
    for region, name in (("chrgm1:1-8000", "r1"), ("gm1:1-8000", "r2")):
        assert encode.main(["--genome", genome, "--annotation", str(test_data / "scan_genes.gtf"), "--region",
                            region, "-o", str(tmp_path / f"{name}.npz"), "-q"]) == 0
    assert (tmp_path / "r1.tsv").read_text() == (tmp_path / "r2.tsv").read_text()
    planted = (test_data / "scan_planted.bed").read_text().splitlines()
    bed = write(tmp_path / "chr.bed", "\n".join("chr" + line for line in planted) + "\n")
    assert encode.main([str(bed), "--genome", genome, "-o", str(tmp_path / "b.npz"), "-q"]) == 0
    assert set(read_encoded(tmp_path / "b.npz").annotations["contig"]) <= {"gm1", "gm2"}


def test_genome_without_index_in_read_only_folder(tmp_path, test_data):
    """Indexed into the cache (the folder is never written, also where root could), the same scan as beside
    a fresh index; the fault suite (tests/test_faults.py) covers stale indexes."""
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(test_data / "scan_genome.fa", folder / "g.fa")
    folder.chmod(0o555)
    try:
        assert encode.main(["--genome", str(folder / "g.fa"), "--annotation", str(test_data / "scan_genes.gtf"),
                            "-o", str(tmp_path / "o.npz"), "-q"]) == 0
        assert sorted(path.name for path in folder.iterdir()) == ["g.fa"]
    finally:
        folder.chmod(0o755)
    assert_files_equal(test_data / "scan_candidates.tsv", tmp_path / "o.tsv")


# ------------------------------------------------------------------ mt-predict BED / TSV columns

def test_predict_bed_sorted_and_filtered(tmp_path, test_data):
    model, npz = str(test_data / "tiny_model.keras"), str(test_data / "scan_candidates.npz")
    assert predict.main(["-m", model, npz, "-o", str(tmp_path / "all.bed"), "-q"]) == 0
    track, *lines = (tmp_path / "all.bed").read_text().splitlines()
    assert track.startswith('track name="mirtron_tools"') and 'itemRgb="On"' in track
    rows = [line.split("\t") for line in lines]
    encoded = read_encoded(npz)
    assert len(rows) == len(encoded) and all(len(row) == 9 for row in rows)
    keys = [(row[0], int(row[1]), int(row[2])) for row in rows]
    assert keys == sorted(keys)
    assert all(re.fullmatch(r"GENE\d+-host\|(conventional|5'-tailed|3'-tailed)(#\d+)?", row[3]) for row in rows)
    assert len({row[3] for row in rows}) == len(rows)  # unique: the BED can be encoded again
    assert [identifier for identifier, _, _ in read_bed(tmp_path / "all.bed")] == [row[3] for row in rows]
    assert predict.main(["-m", model, npz, "-o", str(tmp_path / "all.tsv"), "-q"]) == 0
    with open(tmp_path / "all.tsv") as stream:
        table = list(csv.DictReader(stream, delimiter="\t"))
    assert list(table[0])[:4] == ["id", "length", "probability", "call"] and list(table[0])[-1] == "locus"
    assert {"subtype", "gene", "transcript", "intron_number", "splice_distance", "contig"} <= set(table[0])
    for row in table:  # the locus is 1-based: BED start + 1
        assert row["locus"] == f"{row['contig']}:{int(row['start']) + 1}-{row['end']}({row['strand']})"
    by_locus = {(row["contig"], int(row["start"]), int(row["end"]), row["strand"]): row for row in table}
    probabilities = np.array([float(by_locus[(row[0], int(row[1]), int(row[2]), row[5])]["probability"])
                              for row in rows])
    scores = np.array([int(row[4]) for row in rows])
    # rank scores: the best candidate 1000, the range used, and the order of the probabilities kept
    assert scores.max() == 1000 and scores.min() <= 1000 / len(rows) + 1
    order = np.argsort(-probabilities, kind="stable")
    assert np.all(np.diff(scores[order]) <= 0)
    called = {row["id"] for row in table if row["call"] == "mirtron"}
    colours = {(row[0], int(row[1]), int(row[2]), row[5]): row[8] for row in rows}
    for key, row in by_locus.items():
        assert colours[key] == ("200,30,30" if row["id"] in called else "150,150,150")
    cut = float(np.median(probabilities))
    assert predict.main(["-m", model, npz, "-o", str(tmp_path / "top.txt"), "--format", "bed",
                         "--min-probability", str(cut), "--sort", "score", "-q"]) == 0
    kept = [line.split("\t") for line in (tmp_path / "top.txt").read_text().splitlines()[1:]]
    assert 0 < len(kept) == int(np.sum(probabilities >= cut))
    assert [int(row[4]) for row in kept] == sorted((int(row[4]) for row in kept), reverse=True)


def test_predict_bed_needs_coordinates(tmp_path, test_data, capsys):
    assert predict.main(["-m", str(test_data / "tiny_model.keras"), str(test_data / "synthetic_hairpins.npz"),
                         "-o", str(tmp_path / "x.bed")]) == 1
    assert "BED output needs genomic coordinates" in capsys.readouterr().err
    assert not (tmp_path / "x.bed").exists()


# ------------------------------------------------------------------ real sequence (../shared/data)

def test_bambu_wasc1_mir6859_copy_is_a_5p_tailed_candidate(tmp_path, shared_data):
    folder = shared_data / "bambu" / "inst" / "extdata"
    output = tmp_path / "bambu.npz"
    assert encode.main(["--genome", str(folder / "Homo_sapiens.GRCh38.dna_sm.primary_assembly_chr9_1_1000000.fa"),
                        "--annotation", str(folder / "Homo_sapiens.GRCh38.91_chr9_1_1000000.gtf"),
                        "-o", str(output), "-q", "--threads", "2"]) == 0
    encoded = read_encoded(output)
    table = encoded.annotations
    # hsa-mir-6859 copy: chr9:17,480-17,547 (-), 1-based -> [17479, 17547); ends at the WASHC1 intron 5 acceptor
    hits = [row for row in range(len(encoded)) if table["strand"][row] == "-" and table["start"][row] == 17479
            and table["subtype"][row] == "5'-tailed" and table["end"][row] - 17479 >= 0.9 * 68]
    assert hits, "the hsa-mir-6859 copy is not a 5'-tailed candidate"
    row = hits[0]
    assert "WASHC1" in table["gene"][row] and "ENST00000442898" in table["transcript"][row]
    numbers = dict(zip(table["transcript"][row].split(","), table["intron_number"][row].split(",")))
    assert numbers["ENST00000442898"] == "5"
    from mirtron_tools.io.model import bundled_models

    if "human_mirtron" in bundled_models():
        assert predict.main([str(output), "-o", str(tmp_path / "b.tsv"), "-q"]) == 0
        with open(tmp_path / "b.tsv") as stream:
            scores = {row["id"]: float(row["probability"]) for row in csv.DictReader(stream, delimiter="\t")}
        rank = 1 + sum(1 for value in scores.values() if value > scores[encoded.ids[row]])
        print(f"hsa-mir-6859 copy {encoded.ids[row]}: probability {scores[encoded.ids[row]]:.3f}, "
              f"rank {rank} of {len(scores)}")


def test_hisat2_mir6816_is_a_conventional_candidate(tmp_path, shared_data):
    genome = shared_data / "hisat2_example" / "example" / "reference" / "22_20-21M.fa"
    contig = "22:20000001-21000000"
    # hand-made gene model: the ~75-nt intron GTAAGG...CACAG of hsa-mir-6816 (GRCh37
    # 20,102,209-20,102,274, -; the donor is 9 nt upstream of the hairpin), exons around it
    annotation = write(tmp_path / "mir6816.gtf",
                       f'{contig}\tmanual\texon\t102284\t102400\t.\t-\t.\tgene_id "HOST"; transcript_id "T1";\n'
                       f'{contig}\tmanual\texon\t102100\t102208\t.\t-\t.\tgene_id "HOST"; transcript_id "T1";\n')
    writable = tmp_path / "genome.fa"
    shutil.copy(genome, writable)  # the shared folder is read-only and has no .fai for this file
    assert encode.main(["--genome", str(writable), "--annotation", str(annotation), "-o",
                        str(tmp_path / "m.npz"), "-q"]) == 0
    encoded = read_encoded(tmp_path / "m.npz")
    table = encoded.annotations
    conventional = [row for row in range(len(encoded)) if table["subtype"][row] == "conventional"]
    assert len(conventional) == 1
    row = conventional[0]
    hairpin = "CCGAGUGGGGCGGGGCAGGUCCCUGCAGGGACUGUGACACUGAAGGACCUGCACCUUCGCCCACAG"  # miRBase hsa-mir-6816
    assert (table["start"][row], table["end"][row]) == (102208, 102283)
    assert encoded.sequences[row].startswith("GUAAGG") and encoded.sequences[row].endswith(hairpin)


def _mirbase_mirtrons(shared_data):
    with open(shared_data / "cnnMirtronPred" / "data" / "miRBase_set.csv") as stream:
        return {row[0]: row[1].upper().replace("T", "U") for row in csv.reader(stream) if row[2] == "TRUE"}


@pytest.mark.slow  # over the per-test budget (pyproject's timeout) on 2 shared cores; .ci/run runs it
def test_prefilter_recall_on_mirbase_mirtrons(shared_data):
    """Every placed miRBase v22 mirtron (GTF pieces: srnadiff chr14, bambu chr9:1-1 Mb) sits at an
    intron end, and the prefilter keeps >= 99 % of all 216 miRBase mirtron hairpins.

    The hairpin alone is a lower bound for its window: the prefilter takes a minimum over
    partner positions, and the window only adds partners."""
    from mirtron_tools.io.annotation import read_transcripts
    from mirtron_tools.scan.genes import introns_from_transcripts

    mirtrons = _mirbase_mirtrons(shared_data)
    loci = {}
    with open(shared_data / "mirbase22_hsa_gff3" / "hsa.gff3") as stream:
        for line in stream:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 9 and fields[2] == "miRNA_primary_transcript":
                name = re.search(r"Name=([^;]+)", fields[8])[1]
                if name in mirtrons:
                    loci[name] = (fields[0].removeprefix("chr"), int(fields[3]) - 1, int(fields[4]), fields[6])
    pieces = [(shared_data / "srnadiff" / "inst" / "extdata" / "Homo_sapiens.GRCh38.76.gtf.gz", "14", 0, 10 ** 9),
              (shared_data / "bambu" / "inst" / "extdata" / "Homo_sapiens.GRCh38.91_chr9_1_1000000.gtf", "9", 0,
               1_000_000)]
    parameters = ScanParameters()
    placed = []
    for path, contig, low, high in pieces:
        introns = introns_from_transcripts(read_transcripts(path))
        for name, (where, start, end, strand) in loci.items():
            if where != contig or not low <= start < high:
                continue
            hosts = [intron for intron in introns if intron.strand == strand and intron.start <= start
                     and end <= intron.end]
            assert hosts, f"{name} is in no intron of {path.name}"
            ends = []
            for intron in hosts:
                acceptor_gap = (start - intron.start) if strand == "-" else (intron.end - end)
                donor_gap = (intron.end - end) if strand == "-" else (start - intron.start)
                ends.append(min(acceptor_gap, donor_gap))
            assert min(ends) <= parameters.max_splice_distance + 10, f"{name} is not at an intron end"
            placed.append(name)
    assert sorted(placed) == ["hsa-mir-6764", "hsa-mir-6765"]
    sequences = [mirtrons[name] for name in placed]
    assert (prefilter_keep(sequences, "3", parameters) | prefilter_keep(sequences, "5", parameters)).all()
    everything = list(mirtrons.values())
    kept = prefilter_keep(everything, "3", parameters) | prefilter_keep(everything, "5", parameters)
    assert kept.mean() >= 0.99, f"prefilter keeps {kept.sum()} of {len(everything)} miRBase mirtrons"
