"""Hairpin candidates from FASTA or BED, folded and encoded: the library entry point of ``mt-encode``.

:func:`encode_candidates` reads the records (FASTA, or BED6 regions whose sequences come from a
genome), keeps their genomic coordinates when they have some, folds them with ViennaRNA and returns
the :class:`~mirtron_tools.encoding.EncodedSet` that ``mt-train``, ``mt-predict`` and ``mt-attend`` read.
Genome scans (gene models instead of candidates) are :mod:`mirtron_tools.genome_scan`.
"""
from __future__ import annotations

import dataclasses
import logging
import os

from .encoding import DEFAULT_MAX_LENGTH, EncodedSet, encode_sequences
from .errors import InputError
from .progress import ProgressFactory

logger = logging.getLogger(__name__)


def read_candidates(path: str | os.PathLike, genome: str | os.PathLike | None = None,
                    max_length: int = DEFAULT_MAX_LENGTH, skip_long: bool = False, stats=None) -> tuple[list, list | None]:
    """Records to encode and their genomic regions (None when the input has no coordinates).

    BED6 input takes its sequences from ``genome`` (minus strand reverse-complemented); FASTA headers
    like chr1:100-160(+) or chr1:100-160:- carry coordinates, BED-style or 1-based (decided by the
    sequence length); with ``genome``, their contigs take the genome's names. ``stats``
    (:class:`~mirtron_tools.io.fasta.HairpinStats`) collects what was skipped or ambiguous."""
    from .coordinates import region_for_sequence
    from .io.bed import iter_bed_hairpins, looks_like_bed
    from .io.fasta import HairpinStats, iter_hairpins

    source = str(path)
    stats = HairpinStats() if stats is None else stats
    if looks_like_bed(source):
        if not genome:
            raise InputError(source, "BED input needs --genome FASTA to read the candidates' sequences")
        from .io.genome import Genome

        with Genome(genome) as opened:
            pairs = list(iter_bed_hairpins(source, opened, max_length, skip_long, stats))
        return [record for record, _ in pairs], [region for _, region in pairs]
    records = list(iter_hairpins(source, max_length, skip_long, stats))
    found = [region_for_sequence(record.identifier, len(record.sequence), source, record.line) for record in records]
    with_coordinates = sum(1 for item in found if item is not None)
    if with_coordinates == 0:
        return records, None
    if with_coordinates < len(records):
        missing = [record.identifier for record, item in zip(records, found) if item is None]
        logger.warning("%s: %d of %d headers carry no coordinates (e.g. '%s'); coordinates are not kept",
                       source, len(missing), len(records), missing[0])
        return records, None
    conventions = sorted({item[1] for item in found if item is not None})
    logger.info("%s: coordinates read from the headers (%s)", source, "; ".join(conventions))
    regions = [item[0] for item in found if item is not None]
    if genome:  # the headers' contigs take the genome's names (one rule: chr prefix, chrM/MT)
        from .io.genome import Genome

        with Genome(genome) as opened:
            regions = [dataclasses.replace(region, contig=opened.resolve_contig(region.contig, source, record.line))
                       for region, record in zip(regions, records)]
    return records, regions


def encode_candidates(path: str | os.PathLike, genome: str | os.PathLike | None = None, *,
                      max_length: int = DEFAULT_MAX_LENGTH, skip_long: bool = False, threads: int = 1, stats=None,
                      progress: ProgressFactory | None = None) -> EncodedSet:
    """Fold and encode the hairpins of a FASTA file (or BED6 regions of ``genome``), with their coordinates
    as annotations when every record has some. ``progress``: :mod:`mirtron_tools.progress`."""
    records, regions = read_candidates(path, genome, max_length, skip_long, stats)
    if not records:
        raise InputError(str(path), "no sequences left to encode")
    counter = progress("folding", len(records)) if progress is not None else None
    encoded = encode_sequences([record.identifier for record in records], [record.sequence for record in records],
                               threads=threads, max_length=max_length, progress=counter)
    if counter is not None:
        counter.close()
    if regions is not None:
        from .coordinates import region_annotations

        encoded.annotations.update(region_annotations(regions))
    return encoded
