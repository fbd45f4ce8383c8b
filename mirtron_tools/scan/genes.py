"""Gene models -> unique introns (0-based, end-exclusive; rule step 1 of :mod:`mirtron_tools.scan`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Transcript:
    """One transcript's exons, sorted by coordinate, 0-based end-exclusive."""

    transcript_id: str
    gene: str
    contig: str
    strand: str
    exons: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Intron:
    """A unique intron; ``transcripts`` and ``numbers`` run in parallel."""

    contig: str
    start: int
    end: int
    strand: str
    genes: tuple[str, ...]
    transcripts: tuple[str, ...]
    numbers: tuple[int, ...]

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.contig}:{self.start}-{self.end}({self.strand})"


def introns_from_transcripts(transcripts: Iterable[Transcript],
                             contig_order: Sequence[str] | None = None) -> list[Intron]:
    """Unique introns of all multi-exon transcripts, sorted by contig, start, end, strand.

    Contigs follow ``contig_order`` (e.g. the genome's), else their first appearance. Adjacent
    exons (no gap) make no intron. Single-exon transcripts contribute nothing.
    """
    merged: dict[tuple[str, int, int, str], tuple[list[str], list[str], list[int]]] = {}
    seen_contigs: dict[str, int] = {}
    for transcript in transcripts:
        exons = transcript.exons
        seen_contigs.setdefault(transcript.contig, len(seen_contigs))
        count = len(exons) - 1
        for index in range(count):
            start, end = exons[index][1], exons[index + 1][0]
            if end <= start:
                continue
            number = index + 1 if transcript.strand == "+" else count - index
            key = (transcript.contig, start, end, transcript.strand)
            genes, names, numbers = merged.setdefault(key, ([], [], []))
            if transcript.gene not in genes:
                genes.append(transcript.gene)
            names.append(transcript.transcript_id)
            numbers.append(number)
    rank = {contig: index for index, contig in enumerate(contig_order)} if contig_order is not None else {}
    offset = len(rank)
    order = sorted(merged, key=lambda key: (rank.get(key[0], offset + seen_contigs[key[0]]), key[1], key[2], key[3]))
    introns = []
    for key in order:
        genes, names, numbers = merged[key]
        pairs = sorted(zip(names, numbers))
        introns.append(Intron(*key, genes=tuple(genes), transcripts=tuple(name for name, _ in pairs),
                              numbers=tuple(number for _, number in pairs)))
    return introns
