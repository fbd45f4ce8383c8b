"""Coverage: pileup arithmetic, coordinates, BAM checks, the simulator, mt-coverage, coverage models."""
import gzip
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_files_equal, write
from simulate import (
    FLAG_DUPLICATE,
    FLAG_REVERSE,
    FLAG_SECONDARY,
    ExpressionLevel,
    hairpin_set,
    loci_bed_rows,
    place_hairpins,
    simulate_reads,
    write_alignments,
)

from mirtron_tools.cli import coverage as coverage_cli
from mirtron_tools.cli import encode, predict, train
from mirtron_tools.coordinates import (
    Region,
    contig_key,
    parse_interval,
    parse_region,
    region_for_sequence,
    regions_of,
    same_contig,
)
from mirtron_tools.coverage import (
    MODEL_CHANNELS,
    CoverageSet,
    candidate_tracks,
    coverage_channels,
    loop_centre,
    merge_coverage,
)
from mirtron_tools.encoding import model_inputs
from mirtron_tools.errors import InputError
from mirtron_tools.io.bam import match_contigs
from mirtron_tools.io.coverage import read_coverage
from mirtron_tools.io.encoded import read_encoded, write_encoded
from mirtron_tools.io.genome import reverse_complement_rna

# ------------------------------------------------------------------ pileup arithmetic

def test_plus_strand_tracks_and_summary():
    # hairpin [100, 110) on +, flank 3: window [97, 113), index = position - 97
    starts = np.array([100, 100, 105, 95, 108, 100])
    ends = np.array([105, 104, 110, 101, 115, 110])
    reverse = np.array([False, False, False, False, False, True])  # the last one is on the other strand
    tracks, summary = candidate_tracks(starts, ends, reverse, 100, 110, "+", 3)
    assert tracks.shape == (16, 3) and tracks.dtype == np.int32
    depth, five, three = tracks.T
    expected_depth = np.zeros(16, dtype=int)
    for start, end in [(100, 105), (100, 104), (105, 110), (95, 101), (108, 115)]:
        expected_depth[max(start - 97, 0):min(end - 97, 16)] += 1
    assert depth.tolist() == expected_depth.tolist()
    assert five[3] == 2 and five[8] == 1 and five[14] == 0 and five.sum() == 4  # read at 95 starts outside
    assert three[7] == 1 and three[6] == 1 and three[12] == 1 and three[3] == 1 and three.sum() == 4
    assert summary.total_reads == 5
    assert summary.reads_past_hairpin == 2 and summary.reads_in_flanks_only == 0
    assert summary.fraction_5p_end_at_hairpin_start == pytest.approx(2 / 5)   # 100, 100 (95 is 5 nt off)
    assert summary.fraction_3p_end_at_hairpin_end == pytest.approx(1 / 5)     # 109
    assert summary.reads_5p_arm + summary.reads_3p_arm == 5


def test_minus_strand_tracks_run_5_prime_to_3_prime():
    # hairpin [100, 110) on -, flank 2: window index 0 is genomic base 111, index 2 is base 109 (hairpin start)
    starts, ends, reverse = np.array([105, 100, 100]), np.array([110, 103, 110]), np.array([True, True, False])
    tracks, summary = candidate_tracks(starts, ends, reverse, 100, 110, "-", 2)
    depth, five, three = tracks.T
    assert five[2] == 1      # read [105,110) on -: 5' end is base 109, the hairpin's first base
    assert three[6] == 1     # its 3' end is base 105 -> hairpin position 4 -> index 6
    assert five[9] == 1 and three[11] == 1   # read [100,103): 5' at 102 (position 7), 3' at 100 (position 9)
    assert five.sum() == 2 and three.sum() == 2   # the plus-strand read is not counted
    assert depth.tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0]
    assert summary.total_reads == 2 and summary.fraction_5p_end_at_hairpin_start == 1 / 2
    assert summary.fraction_3p_end_at_hairpin_end == 1 / 2


def test_no_reads_gives_zero_tracks_and_nan_fractions():
    tracks, summary = candidate_tracks(np.zeros(0), np.zeros(0), np.zeros(0, bool), 10, 30, "+", 5)
    assert tracks.shape == (30, 3) and not tracks.any()
    assert summary.total_reads == 0 and np.isnan(summary.fraction_5p_end_at_hairpin_start)


def test_arm_assignment_follows_the_loop():
    assert loop_centre("((((....))))") == 5.5
    assert loop_centre("........") == 3.5
    structure = "((((((....))))))....................."  # loop at 6-9: reads after it are 3p
    starts, ends = np.array([0, 12, 20]), np.array([6, 18, 30])
    _, summary = candidate_tracks(starts, ends, np.zeros(3, bool), 0, len(structure), "+", 0, structure)
    assert (summary.reads_5p_arm, summary.reads_3p_arm) == (1, 2)


# ------------------------------------------------------------------ coordinates

@pytest.mark.parametrize("header, expected", [
    ("chr1:100-160(+)", ("chr1", 100, 160, "+")),
    ("14:65471101-65471186(-)", ("14", 65471101, 65471186, "-")),
    ("chr2:1,000-1,060:-", ("chr2", 1000, 1060, "-")),
    ("mir-1::chrX:5-65(+)", ("chrX", 5, 65, "+")),
    ("chr3:7-67", ("chr3", 7, 67, "+")),
    ("hsa-mir-625", None),
    ("id:1896;", None),
])
def test_parse_region(header, expected):
    assert parse_region(header) == expected


@pytest.mark.parametrize("text, expected", [
    ("chr19", ("chr19", None, None)),
    (" 19:1,001-2,000 ", ("19", 1001, 2000)),
    ("chrM:1-50", ("chrM", 1, 50)),
    ("chr1:100-200(+)", None),   # a strand is no part of a scan region
    ("chr1:100", None),
    ("", None),
])
def test_parse_interval_reads_samtools_regions(text, expected):
    """mt-encode --region's parser shares the contig and span patterns of the header parser above."""
    assert parse_interval(text) == expected


def test_one_contig_naming_rule():
    assert contig_key("chrMT") == contig_key("M") == contig_key("chrm") == "MT"
    assert contig_key("chr19") == contig_key("19") == "19"
    assert same_contig("19", ["chr19", "chr1", "19_KI270866v1_alt"]) == ["chr19"]


def test_region_convention_is_decided_by_length():
    region, convention = region_for_sequence("chr1:100-160(-)", 60, "x.fa")
    assert region == Region("chr1", 100, 160, "-") and "BED" in convention
    region, convention = region_for_sequence("chr1:101-160(-)", 60, "x.fa")
    assert region == Region("chr1", 100, 160, "-") and "1-based" in convention
    with pytest.raises(InputError, match="spans 60 nt by its coordinates but its sequence is 50 nt"):
        region_for_sequence("chr1:100-160(+)", 50, "x.fa", 3)


def test_match_contigs_prefix_alias_and_missing():
    available = {"14": 1, "chrX": 1, "MT": 1, "scaffold_9": 1}
    mapping, renamed, missing = match_contigs(["chr14", "X", "chrM", "odd", "s9"], available, {"s9": "scaffold_9"})
    assert mapping == {"chr14": "14", "X": "chrX", "chrM": "MT", "s9": "scaffold_9"}
    assert sorted(renamed) == ["X -> chrX", "chr14 -> 14", "chrM -> MT"] and missing == ["odd"]


# ------------------------------------------------------------------ simulated data on the fly

def simulated(tmp_path: Path, level=ExpressionLevel("t", 15, 40, 0.1), seed=5, count=6, background=200):
    hairpins = ([(identifier, sequence, True) for identifier, sequence in hairpin_set(count, True, seed, "m")]
                + [(identifier, sequence, False) for identifier, sequence in hairpin_set(count, False, seed + 1, "c")])
    genome = place_hairpins(hairpins, seed=seed, contigs=2)
    reads = simulate_reads(genome, level, seed=seed, background_reads=background)
    with open(tmp_path / "genome.fa", "w") as stream:
        stream.writelines(f">{name}\n{sequence}\n" for name, sequence in genome.contigs.items())
    (tmp_path / "loci.bed").write_text("".join(f"{row}\n" for row in loci_bed_rows(genome.loci)))
    contigs = {name: len(sequence) for name, sequence in genome.contigs.items()}
    write_alignments(tmp_path / "reads.bam", contigs, reads)
    assert encode.main([str(tmp_path / "loci.bed"), "--genome", str(tmp_path / "genome.fa"),
                        "-o", str(tmp_path / "loci.npz"), "-q"]) == 0
    return genome, reads, contigs


def expected_counts(genome, reads, locus, flank, skip=FLAG_SECONDARY | FLAG_DUPLICATE, lengths=(16, 35)):
    """Tracks computed straight from the simulator's read table (independent of pysam)."""
    names = list(genome.contigs)
    ends = np.array([reads.start[row] + len(reads.sequences[row]) for row in range(len(reads))])
    keep = ((np.asarray(reads.contig) == names.index(locus.contig)) & ((reads.flag & skip) == 0)
            & (ends - reads.start >= lengths[0]) & (ends - reads.start <= lengths[1]))
    return candidate_tracks(reads.start[keep], ends[keep], (reads.flag[keep] & FLAG_REVERSE) > 0,
                            locus.start, locus.end, locus.strand, flank)[0]


def test_bam_round_trip_matches_the_simulated_reads(tmp_path):
    genome, reads, _ = simulated(tmp_path)
    assert coverage_cli.main([str(tmp_path / "loci.npz"), str(tmp_path / "reads.bam"), "-o",
                              str(tmp_path / "c.npz"), "--flank", "7", "-q"]) == 0
    coverage = read_coverage(tmp_path / "c.npz")
    assert coverage.ids == [locus.identifier for locus in genome.loci] and coverage.flank == 7
    assert coverage.library_sizes[0] == len(reads)
    for row, locus in enumerate(genome.loci):
        assert np.array_equal(coverage.counts[row], expected_counts(genome, reads, locus, 7)), locus.identifier
    assert sum(track[:, 0].sum() for track in coverage.counts) > 0
    with np.load(tmp_path / "c.npz") as arrays:
        assert np.allclose(arrays["normalised"], np.log1p(arrays["counts"] * 1e6 / len(reads)), atol=1e-5)
        assert list(arrays["annotation_strand"]) == [locus.strand for locus in genome.loci]


def test_reads_line_up_base_for_base_with_the_encoded_sequence(tmp_path):
    """Each read's own sequence (reverse-complemented on -) equals the encoded sequence between its ends."""
    genome, reads, _ = simulated(tmp_path, background=0)
    encoded = read_encoded(tmp_path / "loci.npz")
    assert {locus.strand for locus in genome.loci} == {"+", "-"}
    checked = 0
    for row, locus in enumerate(genome.loci):
        sequence = encoded.sequences[row]
        contig = list(genome.contigs).index(locus.contig)
        for index in range(len(reads)):
            read_start = int(reads.start[index])
            read_end = read_start + len(reads.sequences[index])
            reverse = bool(reads.flag[index] & FLAG_REVERSE)
            if (reads.contig[index] != contig or reverse != (locus.strand == "-") or reads.mismatches[index]
                    or read_start < locus.start or read_end > locus.end):
                continue
            read_rna = reads.sequences[index].replace("T", "U")
            if reverse:
                read_rna = reverse_complement_rna(read_rna)
                five = locus.end - read_end
            else:
                five = read_start - locus.start
            assert sequence[five:five + len(read_rna)] == read_rna
            checked += 1
    assert checked > 50


def test_simulator_shapes_mirtron_and_canonical_ends(tmp_path):
    genome, reads, _ = simulated(tmp_path, level=ExpressionLevel("high", 200, 200, 0.0), background=0)
    assert coverage_cli.main([str(tmp_path / "loci.npz"), str(tmp_path / "reads.bam"), "-o",
                              str(tmp_path / "c.npz"), "-q"]) == 0
    rows = (tmp_path / "c.tsv").read_text().splitlines()[2:]
    fractions = {}
    for line in rows:
        fields = line.split("\t")
        fractions[fields[0]] = (float(fields[8]), float(fields[9]), int(fields[10]))
    for locus in genome.loci:
        at_start, at_end, past = fractions[locus.identifier]
        if locus.mirtron:
            assert at_end > 0.25 and past == 0
            if locus.tail == 0:
                assert at_start > 0.25
        else:
            assert past > 0 and at_start < 0.2       # primary-transcript reads; Drosha cut 2-14 nt inside
            if locus.drosha >= 4:                     # 3' cut 2 nt closer to the end (2-nt overhang)
                assert at_end < 0.2


def test_low_expression_level_gives_mostly_0_to_5_reads():
    level = ExpressionLevel("most loci 0-5 reads", mirtron_mean=2, canonical_mean=3, zero_fraction=0.3)
    genome = place_hairpins([(f"h{number}", "ACGU" * 15, number % 2 == 0) for number in range(300)], seed=1,
                            spacing=(300, 400))
    reads = simulate_reads(genome, level, seed=2)
    names = list(genome.contigs)
    counts = np.array([int(((reads.contig == names.index(locus.contig)) & (reads.start >= locus.start - 70)
                            & (reads.start < locus.end + 70)).sum()) for locus in genome.loci])
    assert 0.3 <= (counts == 0).mean() <= 0.55 and (counts <= 5).mean() > 0.8 and counts.max() > 5


# ------------------------------------------------------------------ mt-encode coordinate inputs

def test_encode_bed_golden(tmp_path, test_data):
    output = tmp_path / "sim_candidates.npz"
    assert encode.main([str(test_data / "sim_candidates.bed"), "--genome", str(test_data / "sim_genome.fa"),
                        "-o", str(output), "-q"]) == 0
    assert_files_equal(test_data / "sim_candidates.tsv", tmp_path / "sim_candidates.tsv")
    encoded = read_encoded(output)
    regions = regions_of(encoded, str(output))
    genome_text = (test_data / "sim_genome.fa").read_text().split()
    contigs = {genome_text[index][1:]: genome_text[index + 1] for index in range(0, len(genome_text), 2)}
    for region, sequence in zip(regions, encoded.sequences):
        forward = contigs[region.contig][region.start:region.end].replace("T", "U")
        assert sequence == (reverse_complement_rna(forward) if region.strand == "-" else forward)


def test_encode_fasta_with_coordinate_headers(tmp_path, caplog):
    fasta = write(tmp_path / "c.fa", ">chr1:100-110(+)\nACGUACGUAC\n>chr2:11-20:-\nGGGGAAACCC\n")
    assert encode.main([str(fasta), "-o", str(tmp_path / "c.npz")]) == 0
    encoded = read_encoded(tmp_path / "c.npz")
    assert regions_of(encoded, "c") == [Region("chr1", 100, 110, "+"), Region("chr2", 10, 20, "-")]
    assert "contig\tstart\tend\tstrand" in (tmp_path / "c.tsv").read_text()
    plain = write(tmp_path / "p.fa", ">a\nACGUACGUAC\n>chr2:11-20:-\nGGGGAAACCC\n")
    assert encode.main([str(plain), "-o", str(tmp_path / "p.npz")]) == 0
    assert "contig" not in read_encoded(tmp_path / "p.npz").annotations


@pytest.mark.parametrize("case", ["no_genome", "bad_strand", "missing_contig", "past_end", "length_mismatch",
                                  "bed3"])
def test_encode_coordinate_errors(tmp_path, test_data, capsys, case):
    genome = ["--genome", str(test_data / "sim_genome.fa")]
    inputs = {
        "no_genome": ("a.bed", "sim1\t10\t70\tx\t0\t+\n", [], "needs --genome"),
        "bad_strand": ("a.bed", "sim1\t10\t70\tx\t0\t.\n", genome, "strand '.' must be + or -"),
        "missing_contig": ("a.bed", "othersim1\t10\t70\tx\t0\t+\n", genome, "contig 'othersim1' is not in genome"),
        "past_end": ("a.bed", "sim1\t10\t99999\tx\t0\t+\n", genome, "runs past the end"),
        "length_mismatch": ("a.fa", ">chr1:0-12(+)\nACGUACGUAC\n", [], "spans 12 nt"),
        "bed3": ("a.bed", "sim1\t10\t70\n", genome, "BED6"),
    }
    name, text, extra, message = inputs[case]
    path = write(tmp_path / name, text)
    assert encode.main([str(path), *extra, "-o", str(tmp_path / "out.npz")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"mt-encode: error: {path}") and message in error[0]
    assert not (tmp_path / "out.npz").exists() and not (tmp_path / "out.tsv").exists()


# ------------------------------------------------------------------ mt-coverage command

def test_coverage_golden(tmp_path, test_data):
    output = tmp_path / "sim_candidates.cov.npz"
    assert coverage_cli.main([str(test_data / "sim_candidates.npz"), str(test_data / "sim_reads.bam"),
                              "-o", str(output), "-q"]) == 0
    assert_files_equal(test_data / "sim_candidates.cov.tsv", tmp_path / "sim_candidates.cov.tsv")
    ours, golden = read_coverage(output), read_coverage(test_data / "sim_candidates.cov.npz")
    assert ours.ids == golden.ids and all(np.array_equal(a, b) for a, b in zip(ours.counts, golden.counts))


def _replicate(bam: str, path) -> str:
    """The same reads in another file (another sample's BAM: a header line differs), indexed."""
    import pysam

    with pysam.AlignmentFile(bam) as source:
        header = source.header.to_dict()
        header["CO"] = ["replicate"]
        with pysam.AlignmentFile(str(path), "wb", header=header) as target:
            for read in source:
                target.write(read)
    pysam.index(str(path))
    return str(path)


def test_threads_and_replicates(tmp_path, test_data, capsys):
    bam = str(test_data / "sim_reads.bam")
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    assert coverage_cli.main([str(test_data / "sim_candidates.npz"), bam, "-o", str(one), "-q"]) == 0
    assert coverage_cli.main([str(test_data / "sim_candidates.npz"), bam, bam, "-o", str(two), "-q"]) == 1
    assert "same alignment file" in capsys.readouterr().err  # one sample counted twice
    replicate = _replicate(bam, tmp_path / "replicate.bam")
    assert coverage_cli.main([str(test_data / "sim_candidates.npz"), bam, replicate, "-o", str(two), "-q",
                              "--threads", "2"]) == 0
    first, doubled = read_coverage(one), read_coverage(two)
    assert all(np.array_equal(2 * a, b) for a, b in zip(first.counts, doubled.counts))
    assert doubled.library_sizes[0] == 2 * first.library_sizes[0]
    assert np.allclose(first.normalised(3), np.log1p(first.counts[3] * 1e6 / first.library_sizes[3]))


def test_read_filters(tmp_path, test_data):
    def total(*options):
        output = tmp_path / "f.npz"
        assert coverage_cli.main([str(test_data / "sim_candidates.npz"), str(test_data / "sim_reads.bam"),
                                  "-o", str(output), "-q", *options]) == 0
        return sum(int(track[:, 1].sum()) for track in read_coverage(output).counts)

    default = total()
    assert total("--min-mapq", "30") < default
    assert total("--keep-secondary") > default
    assert total("--keep-duplicates") > default
    assert total("--max-read-length", "60") > default
    assert total("--min-read-length", "22") < default


def test_chr_prefix_is_matched_and_reported(tmp_path, test_data, capsys):
    encoded = read_encoded(test_data / "sim_candidates.npz")
    encoded.annotations["contig"] = np.array([f"chr{name}" for name in encoded.annotations["contig"]])
    write_encoded(tmp_path / "chr.npz", encoded)
    assert coverage_cli.main([str(tmp_path / "chr.npz"), str(test_data / "sim_reads.bam"),
                              "-o", str(tmp_path / "chr.cov.npz")]) == 0
    assert "chrsim1 -> sim1" in capsys.readouterr().err
    golden = read_coverage(test_data / "sim_candidates.cov.npz")
    assert all(np.array_equal(a, b) for a, b in zip(read_coverage(tmp_path / "chr.cov.npz").counts, golden.counts))
    encoded.annotations["contig"] = np.array([name.replace("chrsim", "contig_") for name in
                                              encoded.annotations["contig"]])
    write_encoded(tmp_path / "alias.npz", encoded)
    aliases = write(tmp_path / "aliases.tsv", "contig_1\tsim1\n")
    assert coverage_cli.main([str(tmp_path / "alias.npz"), str(test_data / "sim_reads.bam"), "-o",
                              str(tmp_path / "a.npz"), "--contig-alias", str(aliases), "--contig-alias",
                              "contig_2=sim2", "-q"]) == 0
    assert all(np.array_equal(a, b) for a, b in zip(read_coverage(tmp_path / "a.npz").counts, golden.counts))


def _unsorted_copy(source: Path, target: Path, order: str) -> None:
    import pysam

    with pysam.AlignmentFile(str(source)) as alignments:
        header = alignments.header.to_dict()
        reads = list(alignments.fetch(until_eof=True))
    header["HD"]["SO"] = order
    with pysam.AlignmentFile(str(target), "wb", header=header) as output:
        for read in reversed(reads):
            output.write(read)


@pytest.mark.parametrize("case", ["unindexed", "unsorted_header", "stale_index", "no_contigs", "truncated",
                                  "no_coordinates", "missing_bam", "not_bam"])
def test_coverage_bad_inputs(tmp_path, test_data, capsys, case):
    candidates = str(test_data / "sim_candidates.npz")
    bam = tmp_path / "x.bam"
    message = {
        "unindexed": "cannot be indexed (samtools index failed): is it coordinate-sorted", "unsorted_header": "not coordinate-sorted (header SO:queryname)",
        "stale_index": "cannot be indexed (samtools index failed): is it coordinate-sorted", "no_contigs": "BAM has no contig for 2 candidate contig(s)",
        "truncated": "truncated", "no_coordinates": "NPZ has no genomic coordinates",
        "missing_bam": "no such file", "not_bam": "is not a BAM or CRAM file",
    }[case]
    if case == "unindexed":  # indexed into the cache when sorted (tests/test_faults.py); here it is not
        _unsorted_copy(test_data / "sim_reads.bam", bam, "coordinate")
    elif case == "unsorted_header":
        _unsorted_copy(test_data / "sim_reads.bam", bam, "queryname")
    elif case == "stale_index":
        _unsorted_copy(test_data / "sim_reads.bam", bam, "coordinate")
        shutil.copy(test_data / "sim_reads.bam.bai", f"{bam}.bai")
    elif case == "no_contigs":
        import pysam

        with pysam.AlignmentFile(str(bam), "wb", header={"HD": {"VN": "1.6", "SO": "coordinate"},
                                                         "SQ": [{"SN": "other", "LN": 1000}]}) as output:
            segment = pysam.AlignedSegment(output.header)
            segment.query_name, segment.reference_id, segment.reference_start = "r", 0, 10
            segment.cigartuples, segment.query_sequence = [(0, 20)], "A" * 20
            output.write(segment)
        pysam.index(str(bam))
    elif case == "truncated":
        data = (test_data / "sim_reads.bam").read_bytes()
        bam.write_bytes(data[: len(data) // 2])
        shutil.copy(test_data / "sim_reads.bam.bai", f"{bam}.bai")
    elif case == "no_coordinates":
        candidates = str(test_data / "synthetic_hairpins.npz")
        shutil.copy(test_data / "sim_reads.bam", bam)
        shutil.copy(test_data / "sim_reads.bam.bai", f"{bam}.bai")
    elif case == "not_bam":
        bam.write_text("not a bam\n")
    output = tmp_path / "out.cov.npz"
    assert coverage_cli.main([candidates, str(bam), "-o", str(output), "-q"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("mt-coverage: error: ") and message in error[0], error
    named = candidates if case == "no_coordinates" else str(bam)
    assert error[0].startswith(f"mt-coverage: error: {named}")
    assert sorted(path.name for path in tmp_path.iterdir() if "out" in path.name) == []


# ------------------------------------------------------------------ joining coverage to models

def test_coverage_channels_join_by_id():
    coverage = CoverageSet(ids=["b", "a"], lengths=[3, 2], flank=1,
                           counts=[np.arange(15).reshape(5, 3), np.ones((4, 3), dtype=int)], library_sizes=[1e6, 2e6])

    class Encoded:
        ids, sequences = ["a", "b"], ["AC", "ACG"]

        def __len__(self):
            return 2

    channels = coverage_channels(Encoded(), coverage)
    assert [array.shape for array in channels] == [(2, len(MODEL_CHANNELS)), (3, len(MODEL_CHANNELS))]
    unit = np.log1p(1e6)
    assert np.allclose(channels[0][:, :3], np.log1p(0.5) / unit)      # 1 read at 2 M mapped reads = 0.5 CPM
    assert np.allclose(channels[1][:, 0], np.log1p([3, 6, 9]) / unit)
    assert np.allclose(channels[1][:, 3], 0) and np.allclose(channels[1][:, 4], np.log1p(12) / unit)
    Encoded.ids = ["a", "z"]
    with pytest.raises(InputError, match="1 of 2 sequence id.s. have no coverage: z"):
        coverage_channels(Encoded(), coverage, "c.npz")
    Encoded.ids, Encoded.sequences = ["a", "b"], ["ACG", "ACG"]
    with pytest.raises(InputError, match="id 'a' has coverage for 2 nt but its sequence is 3 nt"):
        coverage_channels(Encoded(), coverage, "c.npz")
    with pytest.raises(InputError, match="flank"):
        merge_coverage([("x", coverage), ("y", CoverageSet(["q"], [1], 2, [np.zeros((5, 3))], [1.0]))])
    with pytest.raises(InputError, match="also in x"):
        merge_coverage([("x", coverage), ("y", coverage)])


def test_model_inputs_with_coverage(test_data):
    encoded = read_encoded(test_data / "sim_candidates.npz")
    coverage = read_coverage(test_data / "sim_candidates.cov.npz")
    arrays = model_inputs(encoded, coverage_channels(encoded, coverage))
    assert all(array.shape == (len(sequence), 7 + len(MODEL_CHANNELS))
               for array, sequence in zip(arrays, encoded.sequences))
    busiest = int(np.argmax([track[:, 0].sum() for track in coverage.counts]))
    assert arrays[busiest][:, 7].max() > 0


@pytest.fixture(scope="module")
def coverage_model(tmp_path_factory):
    """A tiny coverage model trained on the test-data loci (2 epochs: a format test, not a benchmark)."""
    folder = tmp_path_factory.mktemp("coverage_model")
    data = Path(__file__).resolve().parent.parent / "test-data"
    model = folder / "cov.keras"
    assert train.main(["--encoded", str(data / "sim_candidates.npz"), "--labels", str(data / "sim_labels.tsv"),
                       "--coverage", str(data / "sim_candidates.cov.npz"), "-o", str(model), "--epochs", "2",
                       "--lstm-units", "4", "--attention-units", "4", "--seed", "3", "-q"]) == 0
    return model


def test_train_and_predict_with_coverage(tmp_path, test_data, coverage_model):
    import json

    with zipfile.ZipFile(coverage_model) as archive:
        manifest = json.loads(archive.read("mirtron_manifest.json"))
    assert manifest["coverage"]["flank"] == 20 and manifest["coverage"]["channels"] == list(MODEL_CHANNELS)
    assert manifest["channels"][-len(MODEL_CHANNELS):] == list(MODEL_CHANNELS)
    output = tmp_path / "calls.tsv"
    assert predict.main(["--model", str(coverage_model), str(test_data / "sim_candidates.npz"), "--coverage",
                         str(test_data / "sim_candidates.cov.npz"), "-o", str(output), "-q"]) == 0
    lines = output.read_text().splitlines()
    assert len(lines) == 17 and lines[1].startswith("sim_mirtron_0001\t")


@pytest.mark.parametrize("case", ["no_coverage", "sequence_model", "other_ids", "other_flank", "train_other_ids"])
def test_coverage_model_errors(tmp_path, test_data, coverage_model, capsys, case):
    candidates, cov = str(test_data / "sim_candidates.npz"), str(test_data / "sim_candidates.cov.npz")
    output = tmp_path / "calls.tsv"
    if case == "no_coverage":
        argv, module, message = ["--model", str(coverage_model), candidates], predict, "trained with small-RNA-seq"
    elif case == "sequence_model":
        argv, module = ["--model", str(test_data / "tiny_model.keras"), candidates, "--coverage", cov], predict
        message = "trained on sequence only"
    elif case == "other_ids":
        argv, module = ["--model", str(coverage_model), str(test_data / "synthetic_hairpins.npz"), "--coverage",
                        cov], predict
        message = "20 of 20 sequence id(s) have no coverage"
    elif case == "other_flank":
        other = tmp_path / "flank5.npz"
        assert coverage_cli.main([candidates, str(test_data / "sim_reads.bam"), "-o", str(other), "--flank", "5",
                                  "-q"]) == 0
        argv, module, message = ["--model", str(coverage_model), candidates, "--coverage", str(other)], predict, \
            "trained with --flank 20"
    else:
        argv, module = ["--encoded", str(test_data / "synthetic_hairpins.npz"), "--labels",
                        str(test_data / "synthetic_labels.tsv"), "--coverage", cov, "-q"], train
        message = "have no coverage"
        output = tmp_path / "m.keras"
    assert module.main([*argv, "-o", str(output)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "error: " in error[0] and message in error[0], error
    assert not output.exists()


# ------------------------------------------------------------------ real data (srnadiff, GRCh38 chr14)

REAL_LOCI = {
    # name: (header as bedtools getfasta -s writes it, hairpin sequence)
    "hsa-mirtron-1636": ("chr14:59459004-59459065(-)",
                         "CTCAGTAAGAATAGTGAGTCTGTGGCATTTGATTTATAACCCACTCTCTCCCTATTCCCAG"),
}


def test_real_srnadiff_profiles(tmp_path, shared_data):
    """Read shapes at a real mirtron and two canonical miRNAs (six real BAMs, contig '14').

    hsa-mirtron-1636 is 5'-tailed: its 3' end is the GPR135 intron 3 acceptor. Its 18 reads are
    5p-arm reads starting right after the 5-nt tail, and nothing is read past the hairpin (no
    primary transcript over the splice site). mir-625 shows Drosha-style ends: its arms start and
    end inside the annotated hairpin, and reads from the flanking primary transcript end exactly
    where the 5p arm begins (the Drosha cut). mir-3173 has both arms with ends inside the hairpin.
    """
    source = shared_data / "srnadiff" / "inst" / "extdata"
    bams = []
    for bam in sorted(source.glob("SRR*.bam")):
        copy = tmp_path / bam.name
        shutil.copy(bam, copy)
        import pysam

        pysam.index(str(copy))
        bams.append(str(copy))
    assert len(bams) == 6
    names = dict(line.split("\t") for line in
                 (shared_data / "derived_splits" / "chr14_mirbase22_hairpins.names.tsv").read_text().splitlines())
    records = dict(REAL_LOCI)
    fasta = (shared_data / "derived_splits" / "chr14_mirbase22_hairpins.fa").read_text().split(">")[1:]
    for block in fasta:
        header, *lines = block.strip().splitlines()
        if names[header] in ("hsa-mir-625", "hsa-mir-3173"):
            records[names[header]] = (f"chr{header}", "".join(lines))   # 'chr14' names: exercise prefix matching
    fasta_path = write(tmp_path / "loci.fa", "".join(f">{header}\n{sequence}\n" for header, sequence
                                                      in records.values()))
    assert encode.main([str(fasta_path), "-o", str(tmp_path / "loci.npz"), "-q"]) == 0
    assert coverage_cli.main([str(tmp_path / "loci.npz"), *bams, "-o", str(tmp_path / "loci.cov.npz"), "-q"]) == 0
    coverage = read_coverage(tmp_path / "loci.cov.npz")
    flank = coverage.flank
    summary = {line.split("\t")[0]: line.split("\t") for line in
               (tmp_path / "loci.cov.tsv").read_text().splitlines()[2:]}

    def ends(name, track):
        counts = coverage.counts[coverage.ids.index(records[name][0])][:, track]
        return {int(index) - flank: int(counts[index]) for index in np.flatnonzero(counts)}

    # the mirtron's acceptor: GPR135 (ENST00000481661, minus strand) exon ends at 59459004 (1-based),
    # so the intron's last base, 59459005 (1-based) = 59459004 (0-based), is the hairpin's 3' end.
    with gzip.open(source / "Homo_sapiens.GRCh38.76.gtf.gz", "rt") as stream:
        exon_ends = {int(fields[4]) for fields in (line.split("\t") for line in stream if "ENST00000481661" in line)
                     if fields[2] == "exon"}
    assert 59459004 in exon_ends
    mirtron = summary[records["hsa-mirtron-1636"][0]]
    assert int(mirtron[5]) >= 17 and mirtron[6] == mirtron[5] and mirtron[7] == "0"   # all 5p arm
    assert mirtron[10] == "0" and mirtron[11] == "0"                                  # nothing past the hairpin
    five = ends("hsa-mirtron-1636", 1)
    assert max(five, key=five.get) == 5 and five[5] / sum(five.values()) > 0.9   # after the 5-nt tail CTCAG
    assert min(five) >= 0 and max(ends("hsa-mirtron-1636", 2)) <= 60

    mir625 = ends("hsa-mir-625", 1), ends("hsa-mir-625", 2)
    assert max(mir625[0], key=mir625[0].get) == 14              # 5p arm: Drosha cut 14 nt into the hairpin
    assert mir625[1].get(13, 0) >= 5 and min(mir625[0]) < 0     # flanking reads end at the cut, from upstream
    three_prime_arm = {position: count for position, count in mir625[1].items() if position > 60}
    assert max(three_prime_arm, key=three_prime_arm.get) == 72  # 3p arm ends 12 nt before the hairpin end:
    assert 84 - 72 == 14 - 2                                    # a 2-nt 3' overhang with the 5p cut
    row625 = summary[records["hsa-mir-625"][0]]
    assert int(row625[6]) > 100 and int(row625[7]) > 100 and int(row625[10]) > 0

    mir3173 = summary[records["hsa-mir-3173"][0]]
    assert int(mir3173[6]) > 50 and int(mir3173[7]) > 0
    five = ends("hsa-mir-3173", 1)
    assert all(position >= 3 for position in five)              # no read starts on the hairpin's first bases
