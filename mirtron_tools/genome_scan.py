"""The genome scan as library calls: gene models + genome -> folded, encoded candidate hairpins.

The entry points of ``mt-encode --genome --annotation`` (and ``--split`` / ``--plan``):

* :func:`scan_genome`: the whole scan, one region of it, or one chunk, as an :class:`~mirtron_tools.encoding.EncodedSet`
  with the scan's identity record (:mod:`mirtron_tools.pieces`);
* :func:`plan_scan`: the scan planned as N pieces, written to a folder (the annotation is parsed once);
* :func:`scan_plan`: one planned piece;
* :func:`write_scan`: a scan's candidates as NPZ + TSV.

The rules (windows, anchoring, decoys) are in :mod:`mirtron_tools.scan`; reading and writing goes
through :mod:`mirtron_tools.io`; ``progress``: :mod:`mirtron_tools.progress`.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .encoding import DEFAULT_MAX_LENGTH, EncodedSet
from .errors import InputError, OutputError
from .progress import ProgressFactory
from .scan.parameters import ScanParameters

logger = logging.getLogger(__name__)


@dataclass
class ScannedCandidates:
    """Candidates of one scan (or piece): the encoded hairpins and the scan's identity record."""

    encoded: EncodedSet
    record: dict


def check_annotation_contigs(transcripts: list, genome, source: str) -> None:
    """Every annotated contig must be in the genome (a contig named with or without a `chr` prefix is renamed
    to the genome's name, in place, and logged), and every exon inside its contig."""
    from .io.annotation import annotation_contigs

    ends = annotation_contigs(transcripts)
    missing = [contig for contig in ends if contig not in genome.lengths]
    renames = {}
    for contig in missing:
        try:
            renames[contig] = genome.resolve_contig(contig, source)
        except InputError:
            pass
    if renames:  # the same rule as --region, BED and --known: chr19 and 19 name one contig
        transcripts[:] = [dataclasses.replace(transcript, contig=renames[transcript.contig])
                          if transcript.contig in renames else transcript for transcript in transcripts]
        ends = annotation_contigs(transcripts)
        missing = [contig for contig in ends if contig not in genome.lengths]
    if missing:
        from .coordinates import same_contig
        from .errors import shortened

        alike = [name for contig in missing for name in same_contig(contig, genome.lengths)]
        hint = f" (chr naming differs: the genome has e.g. '{alike[0]}')" if alike else ""
        raise InputError(source, f"{len(missing)} contig(s) of the annotation are not in genome {genome.path}: "
                         f"{shortened(missing)}{hint}; the genome has {shortened(genome.lengths)}")
    for contig, end in ends.items():
        if end > genome.lengths[contig]:
            raise InputError(source, f"exons on {contig} reach {end}, past the end of the genome's {contig} "
                             f"({genome.lengths[contig]} nt): is it the same assembly?")


def genome_region(text: str, genome, source: str = "--region") -> tuple[str, int, int]:
    """``contig[:start-end]`` (1-based inclusive, as samtools) -> ``(contig, start0, end)`` checked against
    the genome (the contig named as the genome names it)."""
    from .coordinates import parse_span

    contig, span = parse_span(text, source)
    contig = genome.resolve_contig(contig, source)
    length = genome.lengths[contig]
    if span is None:
        return contig, 0, length
    start, end = span
    if start < 1 or end < start or end > length:
        raise InputError(source, f"region {text} is outside contig {contig} (1-{length}) or empty")
    return contig, start - 1, end


@dataclass
class _Setup:
    introns: list
    clusters: list
    region: tuple[str, int, int] | None
    transcripts: int


def _read_scan(genome, annotation: str | os.PathLike, parameters: ScanParameters, region: str | None) -> _Setup:
    """The annotation's introns (contigs checked against the genome), windows and their clusters in ``region``."""
    from .io.annotation import read_transcripts
    from .scan.genes import introns_from_transcripts
    from .scan.windows import plan_windows, select_region, window_clusters

    transcripts = read_transcripts(annotation)
    check_annotation_contigs(transcripts, genome, str(annotation))
    span = genome_region(region, genome) if region else None
    introns = introns_from_transcripts(transcripts, contig_order=list(genome.lengths))
    if not introns:
        raise InputError(str(annotation), f"no introns: all {len(transcripts)} transcript(s) have a single exon")
    clusters = window_clusters(plan_windows(introns, parameters))
    if span is not None:
        clusters = select_region(clusters, *span)
    multi_exon = sum(1 for transcript in transcripts if len(transcript.exons) > 1)
    logger.info("%d introns of %d multi-exon transcripts; %d windows%s", len(introns), multi_exon,
                sum(len(cluster) for cluster in clusters), f" in region {region}" if region else "")
    return _Setup(introns, clusters, span, multi_exon)


def _record(setup: _Setup, parameters: ScanParameters, max_length: int, genome, annotation: str | os.PathLike,
            piece: tuple[int, int], windows: int) -> dict:
    from . import __version__
    from .pieces import scan_metadata

    return scan_metadata(parameters, max_length, setup.region, os.path.basename(genome.path), genome.lengths,
                         os.path.basename(annotation), setup.introns, piece, windows, __version__)


def _fold(windows: Sequence, introns: Sequence, genome, parameters: ScanParameters, max_length: int, threads: int,
          progress: ProgressFactory | None) -> EncodedSet:
    from .scan.conversion import candidates_to_encoded
    from .scan.folding import scan

    counter = progress("folding intron windows", len(windows)) if progress is not None else None
    candidates = scan(windows, genome.fetch, parameters, threads=threads, progress=counter)
    if counter is not None:
        counter.close()
    return candidates_to_encoded(candidates, windows, introns, max_length=max_length)


def scan_genome(genome: str | os.PathLike, annotation: str | os.PathLike,
                parameters: ScanParameters = ScanParameters(), *, max_length: int = DEFAULT_MAX_LENGTH, region: str | None = None,
                chunk: tuple[int, int] | None = None, threads: int = 1,
                progress: ProgressFactory | None = None) -> ScannedCandidates:
    """Candidate hairpins of every intron of ``annotation`` (GTF/GFF3) in ``genome`` (indexed FASTA), or of
    those starting in ``region`` (``contig[:start-end]``, 1-based), or of piece ``chunk`` = ``(I, N)``."""
    from .io.genome import Genome
    from .scan.windows import select_chunk

    with Genome(genome) as opened:
        setup = _read_scan(opened, annotation, parameters, region)
        clusters = select_chunk(setup.clusters, *chunk) if chunk else setup.clusters
        selected = [window for cluster in clusters for window in cluster]
        shard = " ".join(part for part in (f"region {region}" if region else "",
                                           "chunk %d/%d" % chunk if chunk else "") if part)
        if chunk:
            logger.info("%d windows to fold in %s", len(selected), shard)
        if not selected:
            logger.warning("no intron windows%s: writing an empty candidate set", f" in {shard}" if shard else "")
        encoded = _fold(selected, setup.introns, opened, parameters, max_length, threads, progress)
        record = _record(setup, parameters, max_length, opened, annotation, chunk or (1, 1), len(selected))
    return ScannedCandidates(encoded, record)


def check_plan_folder(output: str | os.PathLike, count: int) -> Path:
    """A folder for ``count`` plans: made if missing (its parent must exist), never holding plans of another
    split."""
    from .io.pieces import existing_plans, plan_name

    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise OutputError(str(output), "is a file; with --split, -o names a folder for the plans")
    if not folder.resolve().parent.is_dir():
        raise OutputError(str(output), f"its parent folder {folder.resolve().parent} does not exist")
    ours = {plan_name(index, count) for index in range(1, count + 1)}
    stale = [name for name in existing_plans(folder) if name not in ours]
    if stale:
        from .errors import shortened

        raise OutputError(str(output), f"holds plans of another split ({shortened(stale, 3)}): empty it or choose "
                          "another folder")
    return folder


def plan_scan(genome: str | os.PathLike, annotation: str | os.PathLike, folder: str | os.PathLike, count: int,
              parameters: ScanParameters = ScanParameters(), *, max_length: int = DEFAULT_MAX_LENGTH,
              region: str | None = None) -> list[int]:
    """Plan the scan as ``count`` pieces: ``count`` plans written together (all or none) to ``folder``
    (made if missing); returns the number of windows of each piece. Scan each with :func:`scan_plan`."""
    from .io.atomic import atomic_outputs
    from .io.genome import Genome
    from .io.pieces import plan_name, write_plan
    from .pieces import plan_piece
    from .scan.windows import select_chunk

    target = check_plan_folder(folder, count)
    with Genome(genome) as opened:
        setup = _read_scan(opened, annotation, parameters, region)
        made = not target.exists()
        target.mkdir(exist_ok=True)
        sizes = []
        try:
            with atomic_outputs() as group:
                for index in range(1, count + 1):
                    windows = [window for cluster in select_chunk(setup.clusters, index, count) for window in cluster]
                    piece_windows, piece_introns = plan_piece(windows, setup.introns)
                    record = _record(setup, parameters, max_length, opened, annotation, (index, count), len(windows))
                    write_plan(target / plan_name(index, count), record, piece_windows, piece_introns, group)
                    sizes.append(len(windows))
        except BaseException:
            if made and not any(target.iterdir()):
                target.rmdir()
            raise
    return sizes


def scan_plan(plan: str | os.PathLike, genome: str | os.PathLike, *, threads: int = 1,
              progress: ProgressFactory | None = None) -> ScannedCandidates:
    """The candidates of one piece planned by :func:`plan_scan` (the genome must be the plan's)."""
    from .io.genome import Genome
    from .io.pieces import read_plan
    from .pieces import contigs_digest, parameters_from_record

    record, windows, introns = read_plan(plan)
    parameters = parameters_from_record(record)
    with Genome(genome) as opened:
        if contigs_digest(opened.lengths) != record["genome"]["sha256"]:
            raise InputError(str(genome), f"is not the genome that plan {plan} was made for "
                             f"({record['genome']['name']}, {record['genome']['contigs']} contigs; names or lengths "
                             "differ)")
        piece = record["piece"]
        logger.info("piece %d of %d: %d windows to fold", piece[0], piece[1], len(windows))
        encoded = _fold(windows, introns, opened, parameters, record["max_length"], threads, progress)
    return ScannedCandidates(encoded, record)


def write_scan(path: str | os.PathLike, scanned: ScannedCandidates, table: str | os.PathLike | None = None) -> None:
    """The candidates as NPZ (with the scan's identity) and TSV sidecar; logs the counts by subtype."""
    from .io.encoded import write_encoded
    from .pieces import dumps
    from .scan.parameters import SUBTYPES

    encoded, record = scanned.encoded, scanned.record
    write_encoded(path, encoded, table, metadata={"scan": np.array(dumps(record))})
    decoy = encoded.annotations.get("decoy", np.zeros(len(encoded), dtype=np.int8)) == 1
    counts = {subtype: int(((encoded.annotations["subtype"] == subtype) & ~decoy).sum()) for subtype in SUBTYPES}
    piece = record["piece"]
    logger.info("wrote %d candidate hairpins to %s (%s)%s%s", int((~decoy).sum()), path,
                ", ".join(f"{count} {subtype}" for subtype, count in counts.items()),
                f", and {int(decoy.sum())} decoys" if record["parameters"]["decoys"] else "",
                f"; piece {piece[0]} of {piece[1]}" if piece[1] > 1 else "")
