"""The genome-scan mode of mt-encode: --genome with --annotation (options and execution)."""
from __future__ import annotations

import argparse
import logging
import os

from . import common

logger = logging.getLogger("mirtron_tools.encode")  # the command this mode belongs to


def add_scan_options(parser: argparse.ArgumentParser) -> None:
    """Options of the genome scan for novel mirtrons (rule: mirtron_tools.scan)."""
    from ..scan.parameters import ScanParameters

    defaults = ScanParameters()
    scan = parser.add_argument_group(
        "genome scan (--genome with --annotation: candidate hairpins of every intron, no FASTA/BED input)")
    scan.add_argument("--annotation", metavar="GTF", help="gene models, GTF or GFF3 (plain or gzip)")
    scan.add_argument("--region", metavar="CONTIG[:START-END]",
                      help="scan only introns starting in this region (1-based, inclusive, as samtools)")
    scan.add_argument("--chunk", metavar="I/N", type=_chunk,
                      help="scan only piece I of N (in genome order; the pieces' outputs concatenate to the "
                           "whole run's)")
    scan.add_argument("--split", metavar="N", type=common.positive_int,
                      help="plan the scan as N pieces and stop: OUTPUT is a folder that receives N small plans "
                           "piece_1.plan.npz ... (windows and introns of each piece, the annotation parsed once); "
                           "scan each with --plan, on as many machines as you like")
    scan.add_argument("--plan", metavar="PLAN.npz",
                      help="scan one piece planned by --split, with --genome (the scan options are the plan's)")
    scan.add_argument("--conventional-length", metavar="MIN-MAX", type=_length_range,
                      default=(defaults.conventional_min_length, defaults.conventional_max_length),
                      help="whole introns of this length are conventional-mirtron candidates (default: "
                           f"{defaults.conventional_min_length}-{defaults.conventional_max_length})")
    scan.add_argument("--window", type=common.positive_int, default=defaults.window, metavar="NT",
                      help="nt folded at each intron end for tailed candidates, also their longest hairpin "
                           "(default: %(default)s)")
    scan.add_argument("--max-splice-distance", type=common.non_negative_int, default=defaults.max_splice_distance,
                      metavar="NT", help="a tailed hairpin must end this close to its splice site "
                                         "(default: %(default)s)")
    scan.add_argument("--decoys", action="store_true",
                      help="also scan a dinucleotide-shuffled copy of every window (splice-site dinucleotides "
                           "kept): decoy rows that mt-predict uses to estimate false discoveries (doubles the "
                           "folding time)")
    scan.add_argument("--prefilter", action="store_true",
                      help="skip windows with no helix reaching the splice site, before folding (faster; "
                           "measured recall in the README)")


def check_mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """FASTA/BED input or the genome scan, not both; usage errors exit 2."""
    if args.plan:
        given = [name for name, value in (("an input", args.input), ("--annotation", args.annotation),
                                          ("--region", args.region), ("--chunk", args.chunk), ("--split", args.split),
                                          ("--decoys", args.decoys),
                                          ("--prefilter", args.prefilter)) if value]
        if given:
            parser.error(f"--plan scans a planned piece: {', '.join(given)} belong(s) to mt-encode --split")
        if not args.genome:
            parser.error("--plan needs --genome (the genome the plan was made for)")
    elif args.annotation:
        if args.input is not None:
            parser.error(f"give either an input ({args.input}) or --annotation, not both")
        if not args.genome:
            parser.error("--annotation needs --genome")
        if args.split and args.chunk:
            parser.error("--split plans every piece; --chunk scans one: give one of them")
        if args.split and args.table:
            parser.error("--split writes plans only, no --table")
    else:
        if args.input is None:
            parser.error("give a FASTA/BED input, or --genome with --annotation for a genome scan")
        scan_only = [name for name, value in (("--region", args.region), ("--chunk", args.chunk),
                                               ("--split", args.split),
                                               ("--prefilter", args.prefilter), ("--decoys", args.decoys)) if value]
        if scan_only:
            parser.error(f"{', '.join(scan_only)}: only with --annotation")
    return args


def _chunk(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 3/10, not {text}") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"need 1 <= I <= N, not {text}")
    return index, count


def _length_range(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX such as 50-150, not {text}") from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"need 1 <= MIN <= MAX, not {text}")
    return low, high


def parse_scan_region(text: str, genome) -> tuple[str, int, int]:
    """``contig[:start-end]`` (1-based inclusive) -> ``(contig, start0, end)`` checked against the genome."""
    from ..coordinates import parse_interval
    from ..errors import InputError

    parsed = parse_interval(text)
    if parsed is None:
        raise InputError("--region", f"'{text}' is not CONTIG or CONTIG:START-END")
    contig = genome.resolve_contig(parsed[0], "--region")
    length = genome.lengths[contig]
    if parsed[1] is None or parsed[2] is None:
        return contig, 0, length
    start, end = parsed[1], parsed[2]
    if start < 1 or end < start or end > length:
        raise InputError("--region", f"region {text} is outside contig {contig} (1-{length}) or empty")
    return contig, start - 1, end


def check_annotation_contigs(transcripts, genome, source: str) -> None:
    """Every annotated contig must be in the genome (a contig named with or without a `chr` prefix is renamed
    to the genome's name, in place, and logged), and every exon inside its contig."""
    from ..errors import InputError
    from ..io.annotation import annotation_contigs

    ends = annotation_contigs(transcripts)
    missing = [contig for contig in ends if contig not in genome.lengths]
    renames = {}
    for contig in missing:
        try:
            renames[contig] = genome.resolve_contig(contig, source)
        except InputError:
            pass
    if renames:  # the same rule as --region, BED and --known: chr19 and 19 name one contig
        import dataclasses

        transcripts[:] = [dataclasses.replace(transcript, contig=renames[transcript.contig])
                          if transcript.contig in renames else transcript for transcript in transcripts]
        ends = annotation_contigs(transcripts)
        missing = [contig for contig in ends if contig not in genome.lengths]
    if missing:
        from ..coordinates import same_contig
        from ..errors import shortened

        alike = [name for contig in missing for name in same_contig(contig, genome.lengths)]
        hint = f" (chr naming differs: the genome has e.g. '{alike[0]}')" if alike else ""
        raise InputError(source, f"{len(missing)} contig(s) of the annotation are not in genome {genome.path}: "
                         f"{shortened(missing)}{hint}; the genome has {shortened(genome.lengths)}")
    for contig, end in ends.items():
        if end > genome.lengths[contig]:
            raise InputError(source, f"exons on {contig} reach {end}, past the end of the genome's {contig} "
                             f"({genome.lengths[contig]} nt): is it the same assembly?")


def _parameters(args: argparse.Namespace):
    """The scan parameters of the command line, checked."""
    from ..errors import InputError
    from ..scan.parameters import ScanParameters

    parameters = ScanParameters(conventional_min_length=args.conventional_length[0],
                                conventional_max_length=args.conventional_length[1], window=args.window,
                                max_splice_distance=args.max_splice_distance, prefilter=args.prefilter,
                                decoys=args.decoys)
    try:
        parameters.check()
    except ValueError as error:
        raise InputError("mt-encode", str(error)) from None
    if args.window > args.max_length:
        raise InputError("--window", f"{args.window} nt is longer than --max-length {args.max_length}")
    if args.conventional_length[1] > args.max_length:
        raise InputError("--conventional-length", f"longest conventional intron {args.conventional_length[1]} nt "
                         f"is longer than --max-length {args.max_length}")
    return parameters


def execute_scan(args: argparse.Namespace) -> int:
    """Annotation -> introns -> windows (region/chunk) -> folded candidates -> NPZ + TSV; or, with
    --split, the plans of N pieces; or, with --plan, one planned piece."""
    from .. import __version__
    from ..errors import InputError
    from ..io.annotation import read_transcripts
    from ..io.genome import Genome
    from ..pieces import scan_metadata
    from ..scan.genes import introns_from_transcripts
    from ..scan.windows import plan_windows, select_chunk, select_region, window_clusters

    if args.plan:
        return _execute_planned(args)
    parameters = _parameters(args)
    if args.split:
        folder = _check_plan_folder(args.output, args.split)
    transcripts = read_transcripts(args.annotation)
    with Genome(args.genome) as genome:
        check_annotation_contigs(transcripts, genome, args.annotation)
        region = parse_scan_region(args.region, genome) if args.region else None
        introns = introns_from_transcripts(transcripts, contig_order=list(genome.lengths))
        if not introns:
            raise InputError(args.annotation, f"no introns: all {len(transcripts)} transcript(s) have a single exon")
        windows = plan_windows(introns, parameters)
        clusters = window_clusters(windows)
        if region is not None:
            clusters = select_region(clusters, *region)

        def record(piece: tuple[int, int], selected: int) -> dict:
            return scan_metadata(parameters, args.max_length, region, os.path.basename(args.genome), genome.lengths,
                                 os.path.basename(args.annotation), introns, piece, selected, __version__)

        logger.info("%d introns of %d multi-exon transcripts; %d windows%s", len(introns),
                    sum(1 for transcript in transcripts if len(transcript.exons) > 1),
                    sum(len(cluster) for cluster in clusters), f" in region {args.region}" if args.region else "")
        if args.split:
            _write_plans(folder, args.split, clusters, introns, record)
            return 0
        if args.chunk:
            clusters = select_chunk(clusters, *args.chunk)
        selected = [window for cluster in clusters for window in cluster]
        shard = " ".join(part for part in (f"region {args.region}" if args.region else "",
                                           "chunk %d/%d" % args.chunk if args.chunk else "") if part)
        if args.chunk:
            logger.info("%d windows to fold in %s", len(selected), shard)
        if not selected:
            logger.warning("no intron windows%s: writing an empty candidate set", f" in {shard}" if shard else "")
        candidates = _fold(selected, genome, parameters, args)
    _write_candidates(args, candidates, selected, introns, record(args.chunk or (1, 1), len(selected)))
    return 0


def _fold(windows, genome, parameters, args: argparse.Namespace):
    from ..scan.folding import scan

    progress = common.Progress("folding intron windows", len(windows), args.quiet)
    candidates = scan(windows, genome.fetch, parameters, threads=args.threads, progress=progress)
    progress.close()
    return candidates


def _write_candidates(args: argparse.Namespace, candidates, windows, introns, record: dict) -> None:
    import numpy as np

    from ..io.encoded import write_encoded
    from ..io.npz import table_path
    from ..pieces import dumps
    from ..scan.conversion import candidates_to_encoded
    from ..scan.parameters import SUBTYPES

    encoded = candidates_to_encoded(candidates, windows, introns, max_length=record["max_length"])
    write_encoded(args.output, encoded, args.table, metadata={"scan": np.array(dumps(record))})
    decoy = encoded.annotations.get("decoy", np.zeros(len(encoded), dtype=np.int8)) == 1
    counts = {subtype: int(((encoded.annotations["subtype"] == subtype) & ~decoy).sum()) for subtype in SUBTYPES}
    piece = record["piece"]
    logger.info("wrote %d candidate hairpins to %s (%s)%s%s; its table: %s", int((~decoy).sum()), args.output,
                ", ".join(f"{count} {subtype}" for subtype, count in counts.items()),
                f", and {int(decoy.sum())} decoys" if record["parameters"]["decoys"] else "",
                f"; piece {piece[0]} of {piece[1]}" if piece[1] > 1 else "", args.table or table_path(args.output))


def _check_plan_folder(output: str, count: int):
    """--split's output folder: made if missing (its parent must exist), never holding plans of another split."""
    from pathlib import Path

    from ..errors import OutputError
    from ..io.pieces import existing_plans, plan_name

    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise OutputError(output, "is a file; with --split, -o names a folder for the plans")
    if not folder.resolve().parent.is_dir():
        raise OutputError(output, f"its parent folder {folder.resolve().parent} does not exist")
    ours = {plan_name(index, count) for index in range(1, count + 1)}
    stale = [name for name in existing_plans(folder) if name not in ours]
    if stale:
        from ..errors import shortened

        raise OutputError(output, f"holds plans of another split ({shortened(stale, 3)}): empty it or choose "
                          "another folder")
    return folder


def _write_plans(folder, count: int, clusters, introns, record) -> None:
    """N plans, written together (all or none)."""
    from ..io.atomic import atomic_outputs
    from ..io.pieces import plan_name, write_plan
    from ..pieces import plan_piece
    from ..scan.windows import select_chunk

    made = not folder.exists()
    folder.mkdir(exist_ok=True)
    try:
        with atomic_outputs() as group:
            sizes = []
            for index in range(1, count + 1):
                windows = [window for cluster in select_chunk(clusters, index, count) for window in cluster]
                piece_windows, piece_introns = plan_piece(windows, introns)
                write_plan(folder / plan_name(index, count), record((index, count), len(windows)), piece_windows,
                           piece_introns, group)
                sizes.append(len(windows))
    except BaseException:
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise
    logger.info("wrote %d plans to %s: %d to %d windows per piece (scan each with mt-encode --plan PLAN --genome "
                "GENOME -o PIECE.npz)", count, folder, min(sizes), max(sizes))


def _execute_planned(args: argparse.Namespace) -> int:
    """One piece of a --split plan: fold its windows, write its candidates."""
    from ..errors import InputError
    from ..io.genome import Genome
    from ..io.pieces import read_plan
    from ..pieces import contigs_digest, parameters_from_record

    record, windows, introns = read_plan(args.plan)
    parameters = parameters_from_record(record)
    with Genome(args.genome) as genome:
        if contigs_digest(genome.lengths) != record["genome"]["sha256"]:
            raise InputError(args.genome, f"is not the genome that plan {args.plan} was made for "
                             f"({record['genome']['name']}, {record['genome']['contigs']} contigs; names or lengths "
                             "differ)")
        piece = record["piece"]
        logger.info("piece %d of %d: %d windows to fold", piece[0], piece[1], len(windows))
        candidates = _fold(windows, genome, parameters, args)
    _write_candidates(args, candidates, windows, introns, record)
    return 0
