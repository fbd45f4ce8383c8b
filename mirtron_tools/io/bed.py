"""BED6 candidate regions (plain or gzip) and their sequences from an indexed genome."""
from __future__ import annotations

import dataclasses
import os
from typing import Iterator

from ..coordinates import Region
from ..errors import InputError
from .fasta import FastaRecord, HairpinStats
from .genome import Genome
from .text import read_lines


def read_bed(path: str | os.PathLike) -> Iterator[tuple[str, Region, int]]:
    """Yield ``(name, region, line)`` from a BED file with at least 6 columns.

    ``track``/``browser``/``#`` lines are skipped. The name (column 4) becomes the record id;
    ``.`` or an empty name gives ``contig:start-end(strand)``. Names must be unique.
    """
    name = str(path)
    seen: dict[str, int] = {}
    count = 0
    for line_number, line in read_lines(path):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t")
        if len(fields) < 6:
            raise InputError(name, f"BED line has {len(fields)} tab-separated column(s); candidates need "
                             "BED6 (contig, start, end, name, score, strand)", line_number)
        contig, start_text, end_text, record_name, _score, strand = (field.strip() for field in fields[:6])
        try:
            start, end = int(start_text), int(end_text)
        except ValueError:
            raise InputError(name, f"start '{start_text}' and end '{end_text}' must be whole numbers",
                             line_number) from None
        if start < 0 or end <= start:
            raise InputError(name, f"region {contig}:{start}-{end} is empty or negative (BED is 0-based, "
                             "end exclusive)", line_number)
        if strand not in ("+", "-"):
            raise InputError(name, f"strand '{strand}' must be + or - (a candidate's strand decides its "
                             "sequence and its reads)", line_number)
        region = Region(contig, start, end, strand)
        identifier = record_name if record_name not in ("", ".") else str(region)
        if identifier in seen:
            raise InputError(name, f"duplicate name '{identifier}' (first on line {seen[identifier]}); "
                             "names become ids and must be unique", line_number)
        seen[identifier] = line_number
        count += 1
        yield identifier, region, line_number
    if count == 0:
        raise InputError(name, "no BED regions found")


def iter_bed_hairpins(path: str | os.PathLike, genome: Genome, max_length: int, skip_long: bool,
                      stats: HairpinStats) -> Iterator[tuple[FastaRecord, Region]]:
    """Sequences of BED regions (minus strand reverse-complemented), with the length rules of FASTA input."""
    source = str(path)
    for identifier, region, line in read_bed(path):
        contig = genome.resolve_contig(region.contig, source, line)
        if contig != region.contig:
            renamed = dataclasses.replace(region, contig=contig)
            identifier = str(renamed) if identifier == str(region) else identifier
            region = renamed
        if region.end > genome.lengths[region.contig]:
            raise InputError(source, f"region {region} runs past the end of contig {region.contig} "
                             f"({genome.lengths[region.contig]} nt) in {genome.path}", line)
        if region.length > max_length:
            if not skip_long:
                raise InputError(source, f"region '{identifier}' is {region.length} nt, longer than "
                                 f"--max-length {max_length} (use --skip-long to skip such records)", line)
            stats.skipped_long.append(identifier)
            continue
        sequence = genome.fetch(region.contig, region.start, region.end, region.strand)
        stats.add(sequence)
        yield FastaRecord(identifier, str(region), sequence, line), region


def looks_like_bed(path: str | os.PathLike) -> bool:
    """True when the first data line is not a FASTA header (sniffed, so stdin and .gz work).

    Only for regular files; standard input is FASTA unless told otherwise.
    """
    name = str(path)
    if name == "-" or not os.path.isfile(name):
        return False
    lower = name.lower()
    if lower.endswith((".bed", ".bed.gz")):
        return True
    if lower.endswith((".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")):
        return False
    try:
        for _, line in read_lines(name):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            return not line.startswith(">") and len(line.split("\t")) >= 3
    except InputError:
        return False
    return False
