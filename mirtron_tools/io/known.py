"""Known miRNA or mirtron loci (``mt-predict --known``): a miRBase GFF3 or a BED file.

GFF3: the ``miRNA_primary_transcript`` features (miRBase hairpins) when the file has any, else every
feature; 1-based inclusive coordinates become 0-based end-exclusive. BED: the first three columns,
the name (4th) and strand (6th) when present (no strand: either strand). Overlapping intervals on one
contig and strand merge into one locus, as a biologist counts loci.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..coordinates import contig_key
from ..errors import InputError
from .text import open_text

HAIRPIN_FEATURE = "miRNA_primary_transcript"


@dataclass(frozen=True)
class Locus:
    contig: str
    start: int
    end: int
    strand: str  # '+', '-' or '.' (either)
    names: tuple[str, ...]


def _gff3_intervals(path: str, lines: list[tuple[int, str]]) -> list[tuple[str, int, int, str, str]]:
    rows = []
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) < 9:
            raise InputError(path, f"GFF3 line has {len(fields)} columns, expected 9", number)
        try:
            start, end = int(fields[3]) - 1, int(fields[4])
        except ValueError:
            raise InputError(path, f"GFF3 start/end '{fields[3]}'/'{fields[4]}' are not whole numbers", number) from None
        attributes = dict(part.split("=", 1) for part in fields[8].strip().split(";") if "=" in part)
        name = attributes.get("Name") or attributes.get("ID") or f"{fields[0]}:{start}-{end}"
        rows.append((fields[2], (fields[0], start, end, fields[6] if fields[6] in "+-" else ".", name)))
    hairpins = [row for kind, row in rows if kind == HAIRPIN_FEATURE]
    return hairpins or [row for _, row in rows]


def _bed_intervals(path: str, lines: list[tuple[int, str]]) -> list[tuple[str, int, int, str, str]]:
    rows = []
    for number, line in lines:
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise InputError(path, f"BED line has {len(fields)} columns, expected at least 3", number)
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputError(path, f"BED start/end '{fields[1]}'/'{fields[2]}' are not whole numbers", number) from None
        if start < 0 or end <= start:
            raise InputError(path, f"BED interval {start}-{end} is empty or negative", number)
        strand = fields[5] if len(fields) > 5 and fields[5] in "+-" else "."
        rows.append((fields[0], start, end, strand, fields[3] if len(fields) > 3 else f"{fields[0]}:{start}-{end}"))
    return rows


def read_known(path: str | os.PathLike) -> list[Locus]:
    """Known loci of a GFF3 or BED file (plain or gzip), merged per contig and strand, sorted."""
    name = str(path)
    lines = []
    gff3 = name.lower().removesuffix(".gz").endswith((".gff3", ".gff"))
    with open_text(name) as stream:
        for number, line in enumerate(stream, 1):
            line = line.rstrip("\r\n")
            if number == 1 and line.startswith("##gff-version"):
                gff3 = True
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            lines.append((number, line))
    intervals = _gff3_intervals(name, lines) if gff3 else _bed_intervals(name, lines)
    if not intervals:
        raise InputError(name, "no known loci in the file")
    loci: list[Locus] = []
    for contig, start, end, strand, label in sorted(intervals, key=lambda row: (row[0], row[3], row[1], row[2])):
        last = loci[-1] if loci else None
        if last is not None and (last.contig, last.strand) == (contig, strand) and start < last.end:
            loci[-1] = Locus(contig, last.start, max(last.end, end), strand, last.names + (label,))
        else:
            loci.append(Locus(contig, start, end, strand, (label,)))
    return loci


class KnownIndex:
    """Overlap queries of candidates against known loci, with the shared contig-naming rule."""

    def __init__(self, loci: list[Locus]):
        self.loci = loci
        self._by_key: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for strand in ("+", "-", "."):
            for key in {contig_key(locus.contig) for locus in loci}:
                rows = [index for index, locus in enumerate(loci)
                        if contig_key(locus.contig) == key and locus.strand == strand]
                if rows:
                    self._by_key[(key, strand)] = (np.array([loci[row].start for row in rows]),
                                                   np.array([loci[row].end for row in rows]), np.array(rows))
        self.contigs_seen: set[str] = set()

    def overlaps(self, contig: str, start: int, end: int, strand: str) -> list[int]:
        """Indices of the loci that ``[start, end)`` on ``strand`` overlaps by at least 1 nt."""
        key = contig_key(contig)
        self.contigs_seen.add(key)
        found: list[int] = []
        for locus_strand in (strand, "."):
            entry = self._by_key.get((key, locus_strand))
            if entry is None:
                continue
            starts, ends, rows = entry
            # loci of one key and strand are merged, so both starts and ends increase
            low, high = np.searchsorted(ends, start, "right"), np.searchsorted(starts, end, "left")
            found.extend(int(row) for row in rows[low:high])
        return found

    def total_on_seen_contigs(self) -> int:
        """Known loci on the contigs that the queried candidates lie on."""
        return sum(1 for locus in self.loci if contig_key(locus.contig) in self.contigs_seen)
