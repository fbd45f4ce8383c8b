"""Genomic coordinates of candidates: the contig-naming rule, parsing regions, and carrying them in an EncodedSet.

Coordinates are 0-based, end-exclusive (BED), with a strand; a minus-strand candidate's sequence
is the reverse complement of the genome, so position 0 of the sequence is the genomic base
``end - 1``. In an :class:`~mirtron_tools.encoding.EncodedSet` they travel as the annotation
columns ``contig``, ``start``, ``end`` and ``strand`` (pure functions, no file access).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .errors import InputError

COORDINATE_COLUMNS = ("contig", "start", "end", "strand")

_CONTIG = r"(?P<contig>[^\s:()]+)"
_SPAN = r"(?P<start>[\d,]+)-(?P<end>[\d,]+)"  # thousands separators allowed
# 'chr1:100-200(+)' (bedtools getfasta -s), 'chr1:100-200:+', 'chr1:100-200' and the
# 'name::chr1:100-200(+)' form of bedtools getfasta -name.
_REGION = re.compile(rf"(?:^|::){_CONTIG}:{_SPAN}(?:\((?P<strand>[+-])\)|:(?P<strand_colon>[+-]))?$")
# 'chr1' or 'chr1:100-200', a region as samtools takes it on the command line
_INTERVAL = re.compile(rf"^{_CONTIG}(?::{_SPAN})?$")


def contig_key(name: str) -> str:
    """The one contig-naming rule (genome, annotation, BAM, BED, --known, --region): ``chr19`` and ``19``
    name one contig, ``chrM`` and ``MT`` too."""
    bare = name[3:] if name.lower().startswith("chr") else name
    return "MT" if bare.upper() in ("M", "MT") else bare


def same_contig(contig: str, names: Iterable[str]) -> list[str]:
    """The names among ``names`` that name ``contig`` by :func:`contig_key` (``contig`` itself if it is there)."""
    key = contig_key(contig)
    return [name for name in names if contig_key(name) == key]


@dataclass(frozen=True)
class Region:
    """``[start, end)`` on ``contig``, 0-based, on ``strand`` ('+' or '-')."""

    contig: str
    start: int
    end: int
    strand: str

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.contig}:{self.start}-{self.end}({self.strand})"


def parse_region(text: str) -> tuple[str, int, int, str] | None:
    """``(contig, first, last, strand)`` as written in a header, or None when it is not a region.

    The numbers are returned as written; whether they are BED-style (0-based start, end
    exclusive) or 1-based inclusive is decided against the sequence length by
    :func:`region_for_sequence`. A missing strand means '+'.
    """
    match = _REGION.search(text)
    if match is None:
        return None
    strand = match["strand"] or match["strand_colon"] or "+"
    return match["contig"], _number(match["start"]), _number(match["end"]), strand


def parse_interval(text: str) -> tuple[str, int | None, int | None] | None:
    """``CONTIG`` or ``CONTIG:START-END`` (a samtools region) -> ``(contig, start, end)`` as written (``None``
    twice for a whole contig), or None when ``text`` is neither. Whether the numbers are 1-based is the
    caller's convention (``mt-encode --region`` takes them 1-based and inclusive, as samtools does)."""
    match = _INTERVAL.match(text.strip())
    if match is None:
        return None
    if match["start"] is None:
        return match["contig"], None, None
    return match["contig"], _number(match["start"]), _number(match["end"])


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def parse_span(text: str, source: str = "--region") -> tuple[str, tuple[int, int] | None]:
    """:func:`parse_interval`, or InputError naming ``source``: ``(contig, (start, end) or None)``."""
    from .errors import InputError

    parsed = parse_interval(text)
    if parsed is None:
        raise InputError(source, f"'{text}' is not CONTIG or CONTIG:START-END")
    contig, start, end = parsed
    return contig, None if start is None or end is None else (start, end)


def region_for_sequence(header: str, sequence_length: int, source: str, line: int | None = None
                        ) -> tuple[Region, str] | None:
    """The region of a FASTA header that carries coordinates, and the convention found.

    ``chr:100-160`` for a 60 nt sequence is BED-style (0-based start, as bedtools getfasta
    writes); for a 61 nt sequence it is 1-based inclusive (samtools faidx, UCSC). Any other
    length is an error, because coverage would not line up with the sequence.
    """
    parsed = parse_region(header)
    if parsed is None:
        return None
    contig, first, last, strand = parsed
    if last - first == sequence_length:
        return Region(contig, first, last, strand), "0-based start, end exclusive (BED)"
    if last - first + 1 == sequence_length and first >= 1:
        return Region(contig, first - 1, last, strand), "1-based, end inclusive"
    raise InputError(source, f"record '{header}' spans {last - first} nt by its coordinates "
                     f"but its sequence is {sequence_length} nt", line)


def region_annotations(regions: Sequence[Region]) -> dict[str, np.ndarray]:
    """Annotation columns (``contig``, ``start``, ``end``, ``strand``) for an EncodedSet."""
    return {
        "contig": np.array([region.contig for region in regions], dtype=str),
        "start": np.array([region.start for region in regions], dtype=np.int64),
        "end": np.array([region.end for region in regions], dtype=np.int64),
        "strand": np.array([region.strand for region in regions], dtype=str),
    }


def has_coordinates(annotations: dict[str, np.ndarray]) -> bool:
    return all(column in annotations for column in COORDINATE_COLUMNS)


def regions_of(encoded, source: str) -> list[Region]:
    """Regions of every record of an EncodedSet; a clear error when it has no coordinates."""
    if not has_coordinates(encoded.annotations):
        raise InputError(source, "NPZ has no genomic coordinates (contig/start/end/strand); encode the "
                         "candidates from BED with --genome, or from FASTA headers like "
                         "'chr1:100-160(+)', with mt-encode")
    columns = encoded.annotations
    for key in ("start", "end"):
        if np.asarray(columns[key]).dtype.kind not in "iu":
            raise InputError(source, f"NPZ array 'annotation_{key}' holds {np.asarray(columns[key]).dtype}, "
                             "expected whole-number coordinates (re-create it with mt-encode)")
    starts, ends = np.asarray(columns["start"]), np.asarray(columns["end"])
    bad = np.flatnonzero((starts < 0) | (ends <= starts))
    if bad.size:
        row = int(bad[0])
        raise InputError(source, f"record '{encoded.ids[row]}' has coordinates {starts[row]}-{ends[row]} (expected "
                         "0 <= start < end, 0-based and end exclusive)")
    regions = []
    for row, identifier in enumerate(encoded.ids):
        region = Region(str(columns["contig"][row]), int(columns["start"][row]), int(columns["end"][row]),
                        str(columns["strand"][row]))
        if region.strand not in ("+", "-"):
            raise InputError(source, f"record '{identifier}' has strand '{region.strand}' (expected + or -)")
        if region.length != len(encoded.sequences[row]):
            raise InputError(source, f"record '{identifier}': coordinates span {region.length} nt but the "
                             f"sequence is {len(encoded.sequences[row])} nt")
        regions.append(region)
    return regions
