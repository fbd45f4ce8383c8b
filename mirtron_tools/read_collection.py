"""Collecting small-RNA-seq reads for encoded candidates as a library call: what ``mt-coverage`` runs.

:func:`collect` reads an encoded NPZ with coordinates and one alignment file per sample, and writes the
reads NPZ (coverage tracks summed over samples, each candidate's collapsed reads and read evidence per
sample, the genome-scan record) and its summary table, both or neither. It raises
:class:`~mirtron_tools.errors.MirtronError` on bad input and prints nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .coverage import DEFAULT_FLANK
from .io.bam import ReadFilter
from .progress import no_progress

logger = logging.getLogger("mirtron_tools.coverage")


@dataclass
class CollectRequest:
    """What to count (mt-coverage's options; see ``mt-coverage --help``)."""

    encoded: str
    alignments: list[str]
    output: str
    table: str
    flank: int = DEFAULT_FLANK
    read_filter: ReadFilter = field(default_factory=ReadFilter)
    contig_aliases: dict[str, str] = field(default_factory=dict)
    allow_missing_contigs: bool = False
    genome: str | None = None
    threads: int = 1


def collect(request: CollectRequest, progress_factory: Callable[[str, int], Any] | None = None):
    """Count and write; returns the :class:`~mirtron_tools.io.reads.ReadEvidence`. ``progress_factory(label,
    total)`` gives a callable counting candidates, with ``close()``."""
    from .coordinates import regions_of
    from .coverage import CoverageSet, summary_row
    from .errors import InputError
    from .io.atomic import atomic_outputs
    from .io.bam import check_regions_in_contigs, collect_coverage, prepare_alignments
    from .io.coverage import write_coverage, write_summary
    from .io.encoded import read_encoded
    from .io.reads import check_distinct_alignments, collect_evidence

    read_filter = request.read_filter
    if read_filter.min_length > read_filter.max_length:
        raise InputError("mt-coverage", f"--min-read-length {read_filter.min_length} is above "
                         f"--max-read-length {read_filter.max_length}")
    check_distinct_alignments(request.alignments)
    encoded = read_encoded(request.encoded)
    regions = regions_of(encoded, request.encoded)
    inputs = prepare_alignments(request.alignments, (region.contig for region in regions), request.contig_aliases,
                                request.allow_missing_contigs, request.genome)
    check_regions_in_contigs(regions, encoded.ids, request.encoded, inputs)
    for note in inputs.notes:
        logger.warning(note)
    logger.info("%d candidates, %d alignment file(s), %d mapped reads in all", len(encoded),
                len(request.alignments), inputs.library_size)
    progress = (progress_factory or no_progress)("counting reads", len(encoded))
    results = collect_coverage(regions, encoded.structures, inputs, request.flank, read_filter, request.threads,
                               progress)
    progress.close()
    progress = (progress_factory or no_progress)("read signatures", len(encoded))
    evidence = collect_evidence(encoded, regions, inputs, read_filter, request.flank, request.encoded,
                                request.threads, progress)
    progress.close()
    settings = {**read_filter.to_dict(), "alignments": [str(path) for path in request.alignments],
                "contig_aliases": request.contig_aliases, "flank": request.flank}
    coverage = CoverageSet(ids=list(encoded.ids), lengths=encoded.lengths, flank=request.flank,
                           counts=[tracks for tracks, _ in results],
                           library_sizes=np.full(len(encoded), inputs.library_size), settings=settings)
    coordinates = {f"annotation_{key}": encoded.annotations[key] for key in ("contig", "start", "end", "strand")}
    with atomic_outputs() as group:  # both outputs, or neither
        write_coverage(request.output, coverage, {**coordinates, **evidence.to_arrays()}, group)
        write_summary(request.table, (summary_row(identifier, region, summary)
                                      for identifier, region, (_, summary) in zip(encoded.ids, regions, results)),
                      comments=[f"mt-coverage of {Path(request.encoded).name}: {len(request.alignments)} alignment "
                                f"file(s), {inputs.library_size} mapped reads, flank {request.flank} nt, reads "
                                f"{read_filter.min_length}-{read_filter.max_length} nt, MAPQ >= {read_filter.min_mapq}"],
                      group=group)
    with_reads = sum(1 for _, summary in results if summary.total_reads)
    if not with_reads:
        logger.warning("no reads on any candidate's hairpin in %s: the read columns are all zero (same assembly "
                       "and strand? a small-RNA library?)", ", ".join(request.alignments))
    logger.info("wrote %s and %s: %d of %d candidates have reads on the hairpin (%s)", request.output,
                request.table, with_reads, len(encoded), evidence.describe())
    return evidence


