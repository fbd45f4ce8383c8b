"""Simulated small-RNA-seq reads for a genome with its gene models: every choice stated and justified.

Used by the read-aware model's recipe (on real human introns outside chr19) and by the chr19 benchmark
(bench/reads_chr19.py). Seeded; one call simulates every sample of one depth. Read sources:

* **Mirtrons** (the positives: known human mirtron hairpins placed in their real introns). Expression per
  locus from the real counts of 340 mirtron products in 12 human samples (../shared/data/smallrnaseq): 27 %
  of loci silent (91 of 340 undetected there), the others log-normal with median 0.2 and quartiles 0.1 /
  0.45 counts per million (CPM), per-sample biological noise log-normal sigma 0.3. Processing: the intron
  end within 5 nt of a hairpin end is the product's end (splicing, not Drosha, makes it): the 5p product
  begins at the donor, the 3p product ends at the acceptor or 1-2 nt before it (shares 0.6 / 0.25 / 0.15,
  3' trimming); the other end of the product and the partner arm follow Dicer (21 / 22 / 23 nt, shares
  0.25 / 0.45 / 0.30; partner with 2-nt 3' overhangs in the MFE fold). The dominant arm's share is uniform
  0.1-0.9 per locus (arm choice varies widely among mirtrons; miR-877 and miR-1226 favour different arms).
  5' ends: 85 % at the dominant position, else 1 nt off (the real hsa-mirtron-1636 in the srnadiff BAMs:
  17 of 18 reads at one 5' end); 3' ends vary by 1 nt in 30 % of reads (trimming and tailing); 3 % of reads
  are loop-spanning pre-miRNA fragments.
* **Canonical miRNAs** (hard negatives: processed, not splice-anchored): miRBase v22 hairpins with their
  annotated matures; expression from the 1,123 canonical products of the same 12 samples: 12 % silent,
  log-normal with median 2.4 CPM and quartiles 0.3 / 63 CPM (capped at 20,000); same 5'/3' heterogeneity.
* **mRNA degradation** over the exons of expressed genes (half the genes; log-normal weights sigma 1.5):
  8 % of a library's reads in all, scaled by this genome's share of the transcriptome (``share``), random
  16-35 nt fragments within one exon.
* **Intronic fragments** over the introns of expressed genes: 2 % of the library likewise, random 16-35 nt;
  and **debris at intron ends** (lariat and exon-junction debris: splice-anchored but not hairpin-shaped):
  in 15 % of those introns, reads with the 5' end exactly at the donor, in another 15 % with the 3' end
  exactly at the acceptor, 18-30 nt, 0.3 CPM each (a mirtron-sized level, so that anchoring alone does not
  separate them).
* **snoRNA / snRNA fragments** (sdRNAs, many of them intronic): precise 5'-end (50 %) and 3'-end (30 %)
  fragments of 20-26 nt and random internal ones (20 %), log-normal median 5 CPM.

Multi-mapped reads (NH absent; AS/XS as bowtie2 writes them): 5 % of miRNA products, 10 % of degradation,
20 % of intronic fragments, 30 % of snoRNA fragments get an equally good second hit (XS = AS); 30 % of the
others a worse one (XS < AS), as ~85 % of the real srnadiff reads carry an XS tag.

The BAMs hold the reads of the simulated genome only; the nominal library size (``depth``) sets the
expected counts, so "per million" columns from these BAMs are relative to the reads written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COMPLEMENT = str.maketrans("ACGTUN", "TGCAAN")

#: stated above; one place for each number
MIRTRON_SILENT, MIRTRON_MEDIAN, MIRTRON_SIGMA = 0.27, 0.2, float(np.log(0.45 / 0.1) / (2 * 0.6745))
CANONICAL_SILENT, CANONICAL_MEDIAN, CANONICAL_SIGMA, CANONICAL_CAP = 0.12, 2.4, float(np.log(63 / 0.3) / (2 * 0.6745)), 2e4
SAMPLE_SIGMA = 0.3
DEGRADATION_SHARE, INTRONIC_SHARE, DEBRIS_CPM, DEBRIS_INTRONS = 0.08, 0.02, 0.3, 0.15
SNO_MEDIAN, SNO_SIGMA = 5.0, 1.5
DICER_LENGTHS, DICER_WEIGHTS = (21, 22, 23), (0.25, 0.45, 0.30)
ACCEPTOR_OFFSETS, ACCEPTOR_WEIGHTS = (0, 1, 2), (0.6, 0.25, 0.15)
FIVE_PRECISION, THREE_VARIATION, LOOP_SHARE = 0.85, 0.30, 0.03
MULTI = {"mirtron": 0.05, "canonical": 0.05, "degradation": 0.10, "intronic": 0.20, "debris": 0.20, "small": 0.30}


def reverse_complement(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


@dataclass
class Hairpin:
    """A hairpin locus in its own orientation: genomic span, strand, fold, products (hairpin positions)."""

    name: str
    contig: str
    start: int
    end: int
    strand: str
    kind: str  # "mirtron" or "canonical"
    products: list[tuple[int, int]]  # (first, last) of the 5p and 3p products
    structure: str = ""

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class Transcript:
    contig: str
    strand: str
    exons: list[tuple[int, int]]  # genomic, sorted, 0-based end-exclusive

    @property
    def introns(self) -> list[tuple[int, int]]:
        return [(a[1], b[0]) for a, b in zip(self.exons, self.exons[1:]) if b[0] > a[1]]


@dataclass
class Reads:
    """Simulated alignments: contig name, 0-based start, end (exclusive), minus strand, multi, worse XS."""

    contig: list[str] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    minus: list[bool] = field(default_factory=list)
    multi: list[bool] = field(default_factory=list)
    worse: list[bool] = field(default_factory=list)
    source: list[str] = field(default_factory=list)

    def add(self, rng, contig: str, start: int, end: int, minus: bool, kind: str, count: int = 1) -> None:
        for _ in range(count):
            multi = rng.random() < MULTI[kind]
            self.contig.append(contig)
            self.start.append(int(start))
            self.end.append(int(end))
            self.minus.append(bool(minus))
            self.multi.append(bool(multi))
            self.worse.append(bool(not multi and rng.random() < 0.3))
            self.source.append(kind)


def _genomic(hairpin: Hairpin, first: int, last: int) -> tuple[int, int]:
    """Genomic [start, end) of hairpin positions first..last."""
    if hairpin.strand == "+":
        return hairpin.start + first, hairpin.start + last + 1
    return hairpin.end - 1 - last, hairpin.end - first


def fold(sequence: str) -> str:
    import RNA

    return RNA.fold(sequence.replace("T", "U"))[0]


def _partner(partners: np.ndarray, position: int) -> int | None:
    from mirtron_tools.reads import _nearest_partner

    return _nearest_partner(partners, position)


def mirtron_products(structure: str, donor: int | None, acceptor: int | None, rng) -> list[tuple[int, int]]:
    """5p and 3p products of a mirtron hairpin (hairpin positions), ends from splicing where an intron end
    lies within 5 nt of a hairpin end, the rest from Dicer's 2-nt overhang rule."""
    from mirtron_tools.reads import pair_table

    length = len(structure)
    partners = pair_table(structure)
    size5, size3 = (int(rng.choice(DICER_LENGTHS, p=DICER_WEIGHTS)) for _ in range(2))
    five_start = donor if donor is not None and abs(donor) <= 5 else None
    three_end = None
    if acceptor is not None and abs(acceptor - (length - 1)) <= 5:
        three_end = acceptor - int(rng.choice(ACCEPTOR_OFFSETS, p=ACCEPTOR_WEIGHTS))
    if five_start is None and three_end is None:
        five_start = 0
    if five_start is not None:
        partner = _partner(partners, five_start)
        if three_end is None:
            three_end = min(length - 1, (partner if partner is not None else length - 3) + 2)
    assert three_end is not None
    three_start = three_end - size3 + 1
    if five_start is None:
        partner = _partner(partners, three_start)
        five_end = (partner if partner is not None else size5) + 2
        five_start = max(0, five_end - size5 + 1)
    return [(five_start, five_start + size5 - 1), (three_start, three_end)]


def _expression(rng, silent: float, median: float, sigma: float, cap: float = np.inf) -> float:
    if rng.random() < silent:
        return 0.0
    return float(min(cap, median * np.exp(sigma * rng.standard_normal())))


def _product_reads(rng, reads: Reads, hairpin: Hairpin, expected: float, kind: str) -> None:
    """Reads of a processed hairpin: its products with 5'/3' heterogeneity, a few loop fragments."""
    count = rng.poisson(expected)
    if not count:
        return
    share5 = hairpin.__dict__.setdefault("share5", float(rng.uniform(0.1, 0.9)))
    length = hairpin.length
    for _ in range(count):
        if rng.random() < LOOP_SHARE:
            size = int(rng.integers(18, 26))
            first = max(0, length // 2 - size // 2 + int(rng.integers(-3, 4)))
            last = min(length - 1, first + size - 1)
        else:
            arm = 0 if len(hairpin.products) == 1 or rng.random() < share5 else 1
            first, last = hairpin.products[arm]
            if rng.random() > FIVE_PRECISION:
                first += int(rng.choice((-1, 1)))
            if rng.random() < THREE_VARIATION:
                last += int(rng.choice((-1, 1)))
        start, end = _genomic(hairpin, first, last)
        reads.add(rng, hairpin.contig, start, end, hairpin.strand == "-", kind)


def simulate(genome_lengths: dict[str, int], transcripts: list[Transcript], hairpins: list[Hairpin],
             small_rnas: list[tuple[str, int, int, str]], depth: float, samples: int, share: float,
             seed: int) -> tuple[list[Reads], dict[str, list[float]]]:
    """Reads of every sample at nominal library size ``depth``; and each hairpin's expected reads per sample.

    ``share``: the simulated genome's share of the transcriptome's degradation and intronic reads (chr19:
    about 4 % of human genes' exons)."""
    rng = np.random.default_rng(seed)
    scale = depth / 1e6
    levels = {}
    for hairpin in hairpins:
        if hairpin.kind == "mirtron":
            levels[hairpin.name] = _expression(rng, MIRTRON_SILENT, MIRTRON_MEDIAN, MIRTRON_SIGMA)
        else:
            levels[hairpin.name] = _expression(rng, CANONICAL_SILENT, CANONICAL_MEDIAN, CANONICAL_SIGMA, CANONICAL_CAP)
    expressed = [transcript for transcript in transcripts if rng.random() < 0.5]
    weights = np.exp(1.5 * rng.standard_normal(len(expressed)))
    weights /= max(weights.sum(), 1e-12)
    debris = [(transcript, intron, side) for transcript in expressed for intron in transcript.introns
              for side, draw in (("donor", rng.random()), ("acceptor", rng.random())) if draw < DEBRIS_INTRONS]
    small_levels = [SNO_MEDIAN * np.exp(SNO_SIGMA * rng.standard_normal()) for _ in small_rnas]
    result: list[Reads] = []
    expected: dict[str, list[float]] = {name: [] for name in levels}
    for sample in range(samples):
        reads = Reads()
        size = float(np.exp(0.2 * rng.standard_normal()))
        for hairpin in hairpins:
            mean = levels[hairpin.name] * scale * size * float(np.exp(SAMPLE_SIGMA * rng.standard_normal()))
            expected[hairpin.name].append(mean)
            _product_reads(rng, reads, hairpin, mean, hairpin.kind)
        total_degradation = rng.poisson(DEGRADATION_SHARE * depth * share * size)
        for index in rng.choice(len(expressed), size=total_degradation, p=weights) if len(expressed) else []:
            transcript = expressed[int(index)]
            exon = transcript.exons[int(rng.integers(len(transcript.exons)))]
            _fragment(rng, reads, transcript.contig, exon, transcript.strand, "degradation")
        total_intronic = rng.poisson(INTRONIC_SHARE * depth * share * size)
        with_introns = [transcript for transcript in expressed if transcript.introns]
        for _ in range(total_intronic if with_introns else 0):
            transcript = with_introns[int(rng.integers(len(with_introns)))]
            intron = transcript.introns[int(rng.integers(len(transcript.introns)))]
            _fragment(rng, reads, transcript.contig, intron, transcript.strand, "intronic")
        for transcript, (low, high), side in debris:
            for _ in range(rng.poisson(DEBRIS_CPM * scale * size)):
                span = int(rng.integers(18, 31))
                donor_side = (side == "donor") == (transcript.strand == "+")
                start, end = (low, low + span) if donor_side else (high - span, high)
                if end - start == span and end <= high and start >= low:
                    reads.add(rng, transcript.contig, start, end, transcript.strand == "-", "debris")
        for (contig, low, high, strand), level in zip(small_rnas, small_levels):
            for _ in range(rng.poisson(level * scale * size)):
                span = int(rng.integers(20, 27))
                draw = rng.random()
                five_end = (strand == "+") == (draw < 0.5)
                if draw < 0.8:
                    start, end = (low, low + span) if five_end else (high - span, high)
                else:
                    start = int(rng.integers(low, max(low + 1, high - span)))
                    end = start + span
                if start >= 0 and end <= genome_lengths.get(contig, end):
                    reads.add(rng, contig, start, end, strand == "-", "small")
        result.append(reads)
    return result, expected


def _fragment(rng, reads: Reads, contig: str, span: tuple[int, int], strand: str, kind: str) -> None:
    low, high = span
    size = int(rng.integers(16, 36))
    if high - low < size:
        return
    start = int(rng.integers(low, high - size + 1))
    reads.add(rng, contig, start, start + size, strand == "-", kind)


def write_bam(path: Path, lengths: dict[str, int], reads: Reads) -> None:
    """A coordinate-sorted, indexed BAM of ``reads`` (bowtie2-like AS/XS tags, no NH)."""
    import pysam

    order = sorted(range(len(reads.start)), key=lambda row: (list(lengths).index(reads.contig[row]),
                                                            reads.start[row]))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": name, "LN": int(length)} for name, length in lengths.items()]}
    temporary = Path(f"{path}.tmp.bam")
    with pysam.AlignmentFile(str(temporary), "wb", header=header) as output:
        ids = {name: index for index, name in enumerate(lengths)}
        for number, row in enumerate(order):
            size = reads.end[row] - reads.start[row]
            segment = pysam.AlignedSegment(output.header)
            segment.query_name = f"r{number + 1}"
            segment.flag = 0x10 if reads.minus[row] else 0
            segment.reference_id = ids[reads.contig[row]]
            segment.reference_start = reads.start[row]
            segment.mapping_quality = 1 if reads.multi[row] else 42
            segment.cigartuples = [(0, size)]
            segment.query_sequence = "A" * size
            segment.query_qualities = pysam.qualitystring_to_array("I" * size)
            segment.set_tag("AS", 0)
            if reads.multi[row] or reads.worse[row]:
                segment.set_tag("XS", 0 if reads.multi[row] else -6)
            output.write(segment)
    os.replace(temporary, path)
    pysam.index(str(path))


def transcripts_of(path: str) -> list[Transcript]:
    """Transcripts (one per gene: its first) of a GTF/GFF3, through the package's own reader."""
    from mirtron_tools.io.annotation import read_transcripts

    seen, result = set(), []
    for transcript in read_transcripts(path):
        if transcript.gene in seen:
            continue
        seen.add(transcript.gene)
        result.append(Transcript(transcript.contig, transcript.strand, sorted(transcript.exons)))
    return result


def intron_anchors_of(hairpin: Hairpin, transcripts: list[Transcript]) -> tuple[int | None, int | None]:
    """Hairpin positions of the donor and acceptor of the same-strand intron whose end lies nearest a
    hairpin end (within 5 nt), else None."""
    from mirtron_tools.reads import intron_anchors

    best: tuple[int | None, int | None] = (None, None)
    nearest = 6
    for transcript in transcripts:
        if transcript.contig != hairpin.contig or transcript.strand != hairpin.strand:
            continue
        for low, high in transcript.introns:
            if high < hairpin.start - 5 or low > hairpin.end + 5:
                continue
            donor, acceptor = intron_anchors(hairpin.start, hairpin.end, hairpin.strand, f"{low}-{high}")
            assert donor is not None and acceptor is not None
            distance = min(abs(donor), abs(acceptor - (hairpin.length - 1)))
            if distance < nearest:
                best, nearest = (donor, acceptor), distance
    return best
