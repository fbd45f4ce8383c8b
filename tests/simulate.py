"""Synthetic hairpins, gene models and small-RNA reads for tests, test-data and benchmarks (seeded, no real data).

Test-only, so outside the shipped package: tests import it as ``simulate`` (tests/ is on their path);
bench/ scripts and test-data/make_test_data.py put tests/ on ``sys.path`` first.

Mirtron-like hairpins mimic a short spliced intron: they start with the donor ``GU`` and end
with the acceptor ``AG``, are 55-75 nt long, and pair almost to their ends. Canonical-like
hairpins are 75-100 nt with an unpaired basal segment and no splice-site motifs. These are not
biology; they give the tests and the examples something learnable and deterministic.
"""
from __future__ import annotations

import numpy as np

_PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}
_WOBBLE = {"G": "U", "U": "G"}


def _random_sequence(rng: np.random.Generator, length: int, gc: float = 0.5) -> str:
    weights = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return "".join(rng.choice(list("ACGU"), size=length, p=weights))


def _partner_arm(rng: np.random.Generator, arm: str, mismatch_rate: float) -> str:
    partner = []
    for base in reversed(arm):
        draw = rng.random()
        if draw < mismatch_rate:
            partner.append(rng.choice([letter for letter in "ACGU" if letter != _PAIR[base]]))
        elif draw < mismatch_rate * 1.5 and base in _WOBBLE:
            partner.append(_WOBBLE[base])
        else:
            partner.append(_PAIR[base])
    return "".join(partner)


def hairpin(rng: np.random.Generator, mirtron_like: bool) -> str:
    """One synthetic hairpin, upper-case RNA."""
    if mirtron_like:
        stem = int(rng.integers(22, 31))
        loop = int(rng.integers(8, 14))
        arm = "GU" + _random_sequence(rng, stem - 2, gc=0.6)
        other = _partner_arm(rng, arm[2:], 0.08)
        return arm + _random_sequence(rng, loop, gc=0.45) + other[:-2] + "AG" if len(other) > 2 else arm + "AG"
    stem = int(rng.integers(26, 34))
    loop = int(rng.integers(8, 16))
    basal = int(rng.integers(4, 9))
    arm = _random_sequence(rng, stem, gc=0.45)
    sequence = (_random_sequence(rng, basal, gc=0.4) + arm + _random_sequence(rng, loop, gc=0.4)
                + _partner_arm(rng, arm, 0.1) + _random_sequence(rng, basal, gc=0.4))
    # Canonical hairpins rarely carry both splice-site ends; avoid them deliberately.
    if sequence.startswith("GU"):
        sequence = "C" + sequence[1:]
    if sequence.endswith("AG"):
        sequence = sequence[:-1] + "C"
    return sequence


def hairpin_set(count: int, mirtron_like: bool, seed: int, prefix: str) -> list[tuple[str, str]]:
    """``count`` (id, sequence) pairs, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return [(f"{prefix}{index + 1:04d}", hairpin(rng, mirtron_like)) for index in range(count)]


# ---------------------------------------------------------------------------------------------
# Small-RNA-seq read simulator (for mt-coverage tests, test-data and the coverage benchmark).
#
# Hairpins are placed on synthetic contigs (random flanking sequence, either strand), then reads
# are drawn per locus, in hairpin coordinates (0 = the hairpin's 5' end), and written as a
# sorted, indexed BAM by write_alignments (below):
#
# * mirtron-like loci: the hairpin ends are made by splicing, so 5p-arm reads start on the
#   hairpin's first base and 3p-arm reads end on its last base. A share of them is 5'-tailed
#   (the 5' end is trimmed from a longer intron: 5p reads start `tail` nt in, the 3' end stays
#   the splice site). Nothing is read beyond the hairpin. Low expression, narrow range.
# * canonical-like loci: Drosha cuts `drosha` nt inside the annotated hairpin (5' side) and
#   `drosha - 2` nt inside its 3' end (2-nt 3' overhang), so arm ends sit inside the hairpin;
#   the longer primary transcript leaves fragments anywhere within 60 nt of the hairpin,
#   and flanking fragments end exactly at the Drosha cuts. Wider expression range.
# * everywhere: isomiR end jitter (5' ends mostly exact, 3' ends looser), substitutions at
#   `error_rate`, 10% of reads with MAPQ 0-1 (multi-mappers), loci with zero reads
#   (`zero_fraction`), uniform background reads on both strands, and artefacts the filters
#   of mt-coverage must drop (secondary, duplicate-flagged and over-long reads).
# These rules are a model of the published read shapes, not data: coverage gains measured on
# simulated reads show what the model can use, not what real libraries give.
# ---------------------------------------------------------------------------------------------

import os  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Sequence  # noqa: E402

from mirtron_tools.io.atomic import atomic_path  # noqa: E402
from mirtron_tools.io.bam import FLAG_DUPLICATE, FLAG_REVERSE, FLAG_SECONDARY  # noqa: E402
from mirtron_tools.scan.parameters import SUBTYPES  # noqa: E402

_DNA_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass(frozen=True)
class SimulatedLocus:
    """A hairpin placed in the simulated genome (0-based, end-exclusive, strand)."""

    identifier: str
    contig: str
    start: int
    end: int
    strand: str
    mirtron: bool
    tail: int = 0      # mirtron-like: 5' tail before the 5p arm (0 = untailed)
    drosha: int = 0    # canonical-like: Drosha cut offset from the hairpin's 5' end

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class SimulatedGenome:
    contigs: dict[str, str]           # name -> DNA sequence (upper case)
    loci: list[SimulatedLocus]


@dataclass(frozen=True)
class ExpressionLevel:
    """Reads per locus: Poisson around ``mean * lognormal(0, spread)``; ``zero_fraction`` of loci get none."""

    name: str
    mirtron_mean: float
    canonical_mean: float
    zero_fraction: float = 0.1
    mirtron_spread: float = 0.5
    canonical_spread: float = 1.2


@dataclass
class SimulatedReads:
    """Aligned reads as columns; ``sequences`` as on the forward genome strand (BAM convention)."""

    contig: np.ndarray
    start: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    mismatches: np.ndarray
    sequences: list[str] = field(default_factory=list)
    prefix: str = "sim_read_"

    def __len__(self) -> int:
        return len(self.sequences)


def place_hairpins(hairpins: Sequence[tuple[str, str, bool]], seed: int, contigs: int = 2,
                   spacing: tuple[int, int] = (150, 400), contig_prefix: str = "sim",
                   minus_fraction: float = 0.5) -> SimulatedGenome:
    """Place ``(id, sequence, mirtron_like)`` hairpins on ``contigs`` random contigs, either strand."""
    rng = np.random.default_rng(seed)
    names = [f"{contig_prefix}{index + 1}" for index in range(contigs)]
    pieces: dict[str, list[str]] = {name: [] for name in names}
    lengths = {name: 0 for name in names}
    loci = []
    for number, (identifier, sequence, mirtron) in enumerate(hairpins):
        contig = names[number % contigs]
        gap = _random_sequence(rng, int(rng.integers(*spacing)), gc=0.42).replace("U", "T")
        pieces[contig].append(gap)
        lengths[contig] += len(gap)
        dna = sequence.upper().replace("U", "T")
        strand = "-" if rng.random() < minus_fraction else "+"
        pieces[contig].append(dna.translate(_DNA_COMPLEMENT)[::-1] if strand == "-" else dna)
        start = lengths[contig]
        lengths[contig] += len(dna)
        tail = int(rng.integers(3, 11)) if mirtron and rng.random() < 0.3 else 0
        drosha = 0 if mirtron else int(rng.integers(2, 15))
        loci.append(SimulatedLocus(identifier, contig, start, start + len(dna), strand, bool(mirtron), tail, drosha))
    for name in names:
        pieces[name].append(_random_sequence(rng, int(rng.integers(*spacing)), gc=0.42).replace("U", "T"))
    return SimulatedGenome({name: "".join(pieces[name]) for name in names}, loci)


def _jitter(rng: np.random.Generator, count: int, exact: float) -> np.ndarray:
    """isomiR end offsets: 0 with probability ``exact``, else -1/+1 (and rarely -2/+2)."""
    draw = rng.random(count)
    offsets = np.where(rng.random(count) < 0.5, -1, 1)
    offsets = np.where(rng.random(count) < 0.15, offsets * 2, offsets)
    return np.where(draw < exact, 0, offsets)


def _locus_reads(rng: np.random.Generator, locus: SimulatedLocus, count: int) -> tuple[np.ndarray, np.ndarray]:
    """5' and 3' ends (inclusive, hairpin coordinates) of ``count`` reads of one locus."""
    length = locus.length
    sizes = rng.integers(20, 25, count)
    kind = rng.random(count)
    five = np.empty(count, dtype=np.int64)
    three = np.empty(count, dtype=np.int64)
    if locus.mirtron:
        arm5 = kind < 0.5
        fragment = kind >= 0.95
        # splicing made the hairpin's first base: no read starts upstream of it
        five[arm5] = np.maximum(locus.tail + _jitter(rng, int(arm5.sum()), 0.85), 0)
        three[arm5] = five[arm5] + sizes[arm5] - 1
        arm3 = ~arm5 & ~fragment
        three[arm3] = length - 1 + np.minimum(_jitter(rng, int(arm3.sum()), 0.75), 0)
        five[arm3] = three[arm3] - sizes[arm3] + 1
        five[fragment] = rng.integers(0, max(length - 20, 1), int(fragment.sum()))
        three[fragment] = np.minimum(five[fragment] + sizes[fragment] - 1, length - 1)
        return five, three
    cut5, cut3 = locus.drosha, length - 1 - max(locus.drosha - 2, 0)
    arm5 = kind < 0.4
    arm3 = (kind >= 0.4) & (kind < 0.8)
    primary = (kind >= 0.8) & (kind < 0.95)
    flanking = kind >= 0.95
    five[arm5] = cut5 + _jitter(rng, int(arm5.sum()), 0.8)
    three[arm5] = five[arm5] + sizes[arm5] - 1
    three[arm3] = cut3 + _jitter(rng, int(arm3.sum()), 0.6)
    five[arm3] = three[arm3] - sizes[arm3] + 1
    primary_sizes = rng.integers(16, 31, int(primary.sum()))
    five[primary] = rng.integers(-60, length + 60, int(primary.sum()))
    three[primary] = five[primary] + primary_sizes - 1
    upstream = flanking & (rng.random(count) < 0.5)
    downstream = flanking & ~upstream
    flank_sizes = rng.integers(16, 23, count)
    three[upstream] = cut5 - 1
    five[upstream] = three[upstream] - flank_sizes[upstream] + 1
    five[downstream] = cut3 + 1
    three[downstream] = five[downstream] + flank_sizes[downstream] - 1
    return five, three


def _read_count(rng: np.random.Generator, locus: SimulatedLocus, level: ExpressionLevel) -> int:
    if rng.random() < level.zero_fraction:
        return 0
    mean, spread = ((level.mirtron_mean, level.mirtron_spread) if locus.mirtron
                    else (level.canonical_mean, level.canonical_spread))
    return int(rng.poisson(mean * rng.lognormal(0.0, spread)))


def simulate_reads(genome: SimulatedGenome, level: ExpressionLevel, seed: int, background_reads: int = 0,
                   error_rate: float = 0.005, artefact_fraction: float = 0.05) -> SimulatedReads:
    """Draw reads for every locus of ``genome`` at ``level``, plus background and filter artefacts."""
    rng = np.random.default_rng(seed)
    names = list(genome.contigs)
    contig_index = {name: index for index, name in enumerate(names)}
    contig_column, starts, ends, reverse = [], [], [], []
    for locus in genome.loci:
        count = _read_count(rng, locus, level)
        if count == 0:
            continue
        five, three = _locus_reads(rng, locus, count)
        if locus.strand == "+":
            read_starts, read_ends = locus.start + five, locus.start + three + 1
        else:
            read_starts, read_ends = locus.end - 1 - three, locus.end - five
        contig_column.append(np.full(count, contig_index[locus.contig]))
        starts.append(read_starts)
        ends.append(read_ends)
        reverse.append(np.full(count, locus.strand == "-"))
    if background_reads:
        sizes = np.array([len(genome.contigs[name]) for name in names], dtype=np.float64)
        chosen = rng.choice(len(names), size=background_reads, p=sizes / sizes.sum())
        lengths = rng.integers(16, 36, background_reads)
        read_starts = (rng.random(background_reads) * (sizes[chosen] - lengths)).astype(np.int64)
        contig_column.append(chosen)
        starts.append(read_starts)
        ends.append(read_starts + lengths)
        reverse.append(rng.random(background_reads) < 0.5)
    if not starts:
        return SimulatedReads(*(np.zeros(0, dtype=np.int64) for _ in range(5)))
    contig = np.concatenate(contig_column).astype(np.int32)
    start = np.concatenate(starts).astype(np.int64)
    end = np.concatenate(ends).astype(np.int64)
    is_reverse = np.concatenate(reverse)
    limits = np.array([len(genome.contigs[name]) for name in names], dtype=np.int64)[contig]
    start = np.clip(start, 0, limits - 1)
    end = np.clip(end, start + 1, limits)
    flag = np.where(is_reverse, FLAG_REVERSE, 0).astype(np.int32)
    mapq = np.where(rng.random(len(start)) < 0.1, rng.integers(0, 2, len(start)),
                    rng.integers(30, 43, len(start))).astype(np.int32)
    artefacts = rng.random(len(start)) < artefact_fraction
    kind = rng.random(len(start))
    flag[artefacts & (kind < 0.4)] |= FLAG_SECONDARY
    flag[artefacts & (kind >= 0.4) & (kind < 0.7)] |= FLAG_DUPLICATE
    too_long = artefacts & (kind >= 0.7)
    end[too_long] = np.minimum(start[too_long] + rng.integers(40, 51, int(too_long.sum())), limits[too_long])
    sequences, mismatches = [], np.zeros(len(start), dtype=np.int32)
    errors = rng.random(len(start)) < 1 - (1 - error_rate) ** 22
    genome_sequences = [genome.contigs[name] for name in names]
    for row in range(len(start)):
        sequence = genome_sequences[contig[row]][start[row]:end[row]]
        if errors[row]:
            position = int(rng.integers(0, len(sequence)))
            substitute = "ACGT"[(("ACGT".find(sequence[position]) + 1 + int(rng.integers(0, 3))) % 4)]
            sequence = sequence[:position] + substitute + sequence[position + 1:]
            mismatches[row] = 1
        sequences.append(sequence)
    return SimulatedReads(contig, start, flag, mapq, mismatches, sequences)


def loci_bed_rows(loci: Sequence[SimulatedLocus]) -> list[str]:
    """BED6 lines (no newline) for the loci, score 0."""
    return [f"{locus.contig}\t{locus.start}\t{locus.end}\t{locus.identifier}\t0\t{locus.strand}" for locus in loci]


# ---------------------------------------------------------------------------------------------
# Gene models for the genome scan (issue 5): a random genome with multi-exon genes on both
# strands, alternative transcripts that skip an exon (so introns share splice sites), and
# mirtron-like hairpins planted as whole introns (conventional), at an intron's acceptor
# (5'-tailed) or at its donor (3'-tailed). Intron lengths follow a human-like mix: a share of
# short introns (60-150 nt) and a long log-normal body. Not biology: a deterministic
# playground for tests and benchmarks of mt-encode --annotation.
# ---------------------------------------------------------------------------------------------

_DNA_CODES = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass(frozen=True)
class PlantedMirtron:
    """A planted hairpin: genomic ``[start, end)`` on ``strand``, and its intron's subtype."""

    identifier: str
    contig: str
    start: int
    end: int
    strand: str
    subtype: str  # "conventional", "5'-tailed" or "3'-tailed"


@dataclass
class GeneModelGenome:
    contigs: dict[str, np.ndarray]  # name -> DNA as uint8 ASCII codes (upper case)
    transcripts: list[tuple[str, str, str, str, list[tuple[int, int]]]]  # gene, transcript, contig, strand, exons
    planted: list[PlantedMirtron]

    def sequence(self, contig: str) -> str:
        return self.contigs[contig].tobytes().decode("ascii")


def _intron_length(rng: np.random.Generator, short_fraction: float, median: float, longest: int) -> int:
    if rng.random() < short_fraction:
        return int(rng.integers(60, 151))
    return int(min(max(rng.lognormal(np.log(median), 0.9), 151), longest))


def _write_dna(array: np.ndarray, position: int, rna: str, strand: str) -> None:
    """Write an RNA string given in transcript orientation at ``position`` (genomic start)."""
    dna = rna.replace("U", "T")
    if strand == "-":
        dna = dna.translate(_DNA_COMPLEMENT)[::-1]
    array[position:position + len(dna)] = np.frombuffer(dna.encode("ascii"), dtype=np.uint8)


def simulate_gene_models(seed: int, genes: int = 12, contigs: int = 2, introns_per_gene: tuple[int, int] = (1, 6),
                         planted: int = 2, short_intron_fraction: float = 0.1, intron_median: float = 400,
                         longest_intron: int = 2000, contig_prefix: str = "gm") -> GeneModelGenome:
    """A genome with ``genes`` genes spread over ``contigs`` contigs.

    Each gene has one transcript with 1..``introns_per_gene`` introns (the first gene of every
    contig has a single exon, which the scan must skip) and, when it has three or more exons, a
    second transcript skipping its second exon. ``planted`` mirtron-like hairpins of each subtype
    are put into introns of distinct genes (their introns are resized to fit). Introns start with
    GT and end with AG on their strand.
    """
    rng = np.random.default_rng(seed)
    plan = [subtype for subtype in SUBTYPES for _ in range(planted)]
    gene_records = []  # (contig index, strand, exons, planted subtype or None, hairpin)
    contig_lengths = [1000] * contigs
    for number in range(genes):
        contig = number % contigs
        strand = "+" if rng.random() < 0.5 else "-"
        first_of_contig = number < contigs
        count = 0 if first_of_contig else int(rng.integers(introns_per_gene[0], introns_per_gene[1] + 1))
        subtype = plan.pop(0) if plan and count and not first_of_contig else None
        hairpin_rna = hairpin(rng, True) if subtype else None
        lengths = [_intron_length(rng, short_intron_fraction, intron_median, longest_intron) for _ in range(count)]
        first_intron = 0 if strand == "+" else count - 1  # genomic index of the 5'-most intron
        if subtype == "conventional":
            lengths[first_intron] = len(hairpin_rna)
        elif subtype:
            lengths[first_intron] = max(lengths[first_intron], len(hairpin_rna) + 160)
        position = contig_lengths[contig] + int(rng.integers(300, 1500))
        exons = []
        for index in range(count + 1):
            exon = int(rng.integers(80, 250))
            exons.append((position, position + exon))
            position += exon + (lengths[index] if index < count else 0)
        contig_lengths[contig] = position
        # the planted intron is the first intron in transcript orientation
        gene_records.append((contig, strand, exons, subtype, hairpin_rna, number))
    arrays = {}
    for contig, length in enumerate(contig_lengths):
        arrays[f"{contig_prefix}{contig + 1}"] = _DNA_CODES[rng.integers(0, 4, size=length + 1000)]
    transcripts, planted_loci = [], []
    for contig, strand, exons, subtype, hairpin_rna, number in gene_records:
        name = f"{contig_prefix}{contig + 1}"
        array = arrays[name]
        gene = f"GENE{number + 1:05d}"
        ordered = exons if strand == "+" else exons[::-1]  # transcript orientation
        for left, right in zip(exons, exons[1:]):
            donor, acceptor = (left[1], right[0] - 2) if strand == "+" else (right[0] - 2, left[1])
            _write_dna(array, donor, "GU", strand)
            _write_dna(array, acceptor, "AG", strand)
        if subtype:
            first, second = ordered[0], ordered[1]
            intron_start, intron_end = (first[1], second[0]) if strand == "+" else (second[1], first[0])
            length = len(hairpin_rna)
            if subtype == "conventional":
                start = intron_start
            elif subtype == "5'-tailed":  # ends at the acceptor
                start = intron_end - length if strand == "+" else intron_start
            else:  # 3'-tailed: starts at the donor
                start = intron_start if strand == "+" else intron_end - length
            _write_dna(array, start, hairpin_rna, strand)  # planted hairpins start GU and end AG
            planted_loci.append(PlantedMirtron(f"planted_{subtype[0]}_{gene}", name, start, start + length, strand,
                                               subtype))
        transcripts.append((gene, f"{gene}.1", name, strand, list(exons)))
        if len(exons) >= 3:
            skipped = [exon for index, exon in enumerate(ordered) if index != 1]
            transcripts.append((gene, f"{gene}.2", name, strand, sorted(skipped)))
    return GeneModelGenome(arrays, transcripts, planted_loci)


def gtf_lines(models: GeneModelGenome) -> list[str]:
    """Ensembl-like GTF: gene, transcript and exon lines (exons in transcript order, numbered)."""
    lines = []
    for gene, transcript, contig, strand, exons in models.transcripts:
        ordered = exons if strand == "+" else exons[::-1]
        attributes = f'gene_id "{gene}"; transcript_id "{transcript}"; gene_name "{gene}-host";'
        lines.append(f"{contig}\tsim\ttranscript\t{exons[0][0] + 1}\t{exons[-1][1]}\t.\t{strand}\t.\t{attributes}")
        for number, (start, end) in enumerate(ordered, start=1):
            lines.append(f"{contig}\tsim\texon\t{start + 1}\t{end}\t.\t{strand}\t.\t{attributes} "
                         f'exon_number "{number}";')
    return lines


def gff3_lines(models: GeneModelGenome) -> list[str]:
    """The same models as GFF3 (gene -> mRNA -> exon through ID/Parent)."""
    lines = ["##gff-version 3"]
    seen = set()
    for gene, transcript, contig, strand, exons in models.transcripts:
        if gene not in seen:
            seen.add(gene)
            spans = [t[4] for t in models.transcripts if t[0] == gene]
            lines.append(f"{contig}\tsim\tgene\t{min(s[0][0] for s in spans) + 1}\t{max(s[-1][1] for s in spans)}\t.\t"
                         f"{strand}\t.\tID={gene};Name={gene}-host")
        lines.append(f"{contig}\tsim\tmRNA\t{exons[0][0] + 1}\t{exons[-1][1]}\t.\t{strand}\t.\t"
                     f"ID={transcript};Parent={gene}")
        for start, end in exons:
            lines.append(f"{contig}\tsim\texon\t{start + 1}\t{end}\t.\t{strand}\t.\tParent={transcript}")
    return lines


def write_alignments(path: str | os.PathLike, contigs: dict[str, int], reads) -> None:
    """Write simulated reads as a coordinate-sorted, indexed BAM (``path`` and ``path.bai``), atomically.

    ``reads`` is a :class:`SimulatedReads`: numpy columns ``contig``
    (index into ``contigs``), ``start``, ``flag``, ``mapq``, ``mismatches`` and a list of
    ``sequences`` (as on the forward genome strand, the way BAM stores them).
    """
    import pysam

    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": name, "LN": int(length)} for name, length in contigs.items()],
              # the program record names the simulator's first home, so regenerated test data stay byte-identical
              "PG": [{"ID": "mirtron_tools.simulate", "PN": "mirtron_tools"}]}
    order = np.lexsort((reads.start, reads.contig))
    target = os.fspath(path)
    with atomic_path(target, suffix=".bam") as temporary:
        with pysam.AlignmentFile(str(temporary), "wb", header=header) as output:
            for number, row in enumerate(order):
                sequence = reads.sequences[row]
                segment = pysam.AlignedSegment(output.header)
                segment.query_name = f"{reads.prefix}{number + 1:07d}"
                segment.flag = int(reads.flag[row])
                segment.reference_id = int(reads.contig[row])
                segment.reference_start = int(reads.start[row])
                segment.mapping_quality = int(reads.mapq[row])
                segment.cigartuples = [(0, len(sequence))]
                segment.query_sequence = sequence
                segment.query_qualities = pysam.qualitystring_to_array("I" * len(sequence))
                segment.set_tag("NM", int(reads.mismatches[row]))
                output.write(segment)
        with atomic_path(f"{target}.bai", suffix=".bai") as index:
            pysam.index(str(temporary), "-o", str(index))


#: the project's test-data folder (planted_bam reads the test genome and its planted mirtrons there)
TEST_DATA = Path(__file__).resolve().parent.parent / "test-data"


def planted_bam(path, test_data: Path = TEST_DATA, extra_contig: str | None = None):
    """A BAM on the test genome: mirtron products at the planted hairpins' splice-site ends, and debris."""
    import pysam

    lengths = {line.split("\t")[0]: int(line.split("\t")[1])
               for line in (test_data / "scan_genome.fa.fai").read_text().splitlines()}
    if extra_contig:
        lengths = {extra_contig: 1000}
    rows = []
    for line in (test_data / "scan_planted.bed").read_text().splitlines():
        contig, start, end, name, _, strand = line.split("\t")
        start, end = int(start), int(end)
        five = (start, start + 22) if strand == "+" else (end - 22, end)
        three = (end - 22, end) if strand == "+" else (start, start + 22)
        rows += [(contig, *five, strand)] * 6 + [(contig, *three, strand)] * 3
    rows += [("gm1", 2000, 2030, "+")] * 4
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": n_} for n, n_ in lengths.items()]}
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as output:
        for number, (contig, start, end, strand) in enumerate(rows):
            segment = pysam.AlignedSegment(output.header)
            segment.query_name, segment.flag = f"r{number}", 16 if strand == "-" else 0
            segment.reference_id = list(lengths).index(extra_contig or contig)
            segment.reference_start, segment.mapping_quality = start % 900 if extra_contig else start, 30
            segment.cigartuples = [(0, end - start)]
            segment.query_sequence = "A" * (end - start)
            segment.query_qualities = pysam.qualitystring_to_array("I" * (end - start))
            output.write(segment)
    pysam.sort("-o", str(path), str(unsorted))
    pysam.index(str(path))
    unsorted.unlink()
    return path
