"""FASTA reading: plain or gzip, ``-`` for standard input; strict, with line numbers in errors."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterator

from ..errors import InputError
from .text import read_lines

#: Nucleotides plus the IUPAC ambiguity codes; T is read as U.
RNA_LETTERS = frozenset("ACGU")
AMBIGUITY_LETTERS = frozenset("NRYKMSWBDHV")
ALLOWED_LETTERS = RNA_LETTERS | AMBIGUITY_LETTERS | {"T"}


@dataclass(frozen=True)
class FastaRecord:
    """One record: ``identifier`` is the first word of the header, ``sequence`` upper-case RNA."""

    identifier: str
    description: str
    sequence: str
    line: int


def normalise_sequence(sequence: str) -> str:
    """Upper-case and write T as U (hairpin sets mix the DNA and RNA alphabets)."""
    return sequence.upper().replace("T", "U")


def read_fasta(path: str | os.PathLike, unique_ids: bool = True) -> Iterator[FastaRecord]:
    """Yield records of a FASTA file, normalised to upper-case RNA.

    Raises InputError for an empty file, text that is not FASTA, a record without sequence,
    an empty or duplicate identifier, or a character outside ACGTU and the IUPAC codes.
    """
    name = str(path)
    seen: set[str] = set()
    header: str | None = None
    header_line = 0
    parts: list[str] = []
    any_line = False

    def finish() -> FastaRecord:
        sequence = "".join(parts)
        identifier = header.split(maxsplit=1)[0] if header and header.split() else ""
        if not identifier:
            raise InputError(name, "record header has no identifier", header_line)
        if not sequence:
            raise InputError(name, f"record '{identifier}' has no sequence", header_line)
        if unique_ids:
            if identifier in seen:
                raise InputError(name, f"duplicate record id '{identifier}'", header_line)
            seen.add(identifier)
        return FastaRecord(identifier, header or "", normalise_sequence(sequence), header_line)

    for line_number, line in read_lines(path):
        text = line.strip()
        if not text:
            continue
        any_line = True
        if text.startswith(">"):
            if header is not None:
                yield finish()
            header, header_line, parts = text[1:].strip(), line_number, []
        elif header is None:
            raise InputError(name, "not FASTA: the first record does not start with '>'", line_number)
        else:
            upper = text.upper()
            bad = set(upper) - ALLOWED_LETTERS
            if bad:
                letter = sorted(bad)[0]
                record = header.split(maxsplit=1)[0] if header.split() else "?"
                raise InputError(
                    name,
                    f"record '{record}' has character '{letter}' (allowed: ACGTU and IUPAC codes NRYKMSWBDHV)",
                    line_number,
                )
            parts.append(upper)
    if header is not None:
        yield finish()
    elif not any_line:
        raise InputError(name, "file is empty")


@dataclass
class HairpinStats:
    """What :func:`iter_hairpins` skipped or flagged, for the command's warnings."""

    records: int = 0
    skipped_long: list[str] = field(default_factory=list)
    ambiguous_positions: int = 0
    ambiguous_records: int = 0

    def add(self, sequence: str) -> None:
        """Count a hairpin that is read, and its positions that are not A, C, G or U."""
        from ..encoding import count_ambiguous

        ambiguous = count_ambiguous(sequence)
        if ambiguous:
            self.ambiguous_positions += ambiguous
            self.ambiguous_records += 1
        self.records += 1

    def report(self, source: str) -> None:
        """Warnings about what was skipped or could not be read as A/C/G/U."""
        import logging

        from .text import shortened

        logger = logging.getLogger("mirtron_tools")
        if self.skipped_long:
            logger.warning("%s: skipped %d record(s) longer than --max-length: %s", source, len(self.skipped_long),
                           shortened(self.skipped_long))
        if self.ambiguous_positions:
            logger.warning("%s: %d position(s) in %d record(s) are N or IUPAC ambiguity codes; encoded as unknown",
                           source, self.ambiguous_positions, self.ambiguous_records)


def iter_hairpins(path: str | os.PathLike, max_length: int, skip_long: bool,
                  stats: HairpinStats) -> Iterator[FastaRecord]:
    """Records no longer than ``max_length`` (longer ones are an error, or skipped if asked)."""
    for record in read_fasta(path):
        if len(record.sequence) > max_length:
            if not skip_long:
                raise InputError(str(path), f"record '{record.identifier}' is {len(record.sequence)} nt, "
                                 f"longer than --max-length {max_length} (use --skip-long to skip such records)",
                                 record.line)
            stats.skipped_long.append(record.identifier)
            continue
        stats.add(record.sequence)
        yield record
