"""The genome-scan mode of mt-encode: --genome with --annotation (options and execution)."""
from __future__ import annotations

import argparse
import logging

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
    from ..genome_scan import plan_scan, scan_genome, scan_plan, write_scan

    def progress(label: str, total: int) -> common.Progress:
        return common.Progress(label, total, args.quiet)

    if args.plan:
        scanned = scan_plan(args.plan, args.genome, threads=args.threads, progress=progress)
    elif args.split:
        sizes = plan_scan(args.genome, args.annotation, args.output, args.split, _parameters(args),
                          max_length=args.max_length, region=args.region)
        logger.info("wrote %d plans to %s: %d to %d windows per piece (scan each with mt-encode --plan PLAN "
                    "--genome GENOME -o PIECE.npz)", args.split, args.output, min(sizes), max(sizes))
        return 0
    else:
        scanned = scan_genome(args.genome, args.annotation, _parameters(args), max_length=args.max_length,
                              region=args.region, chunk=args.chunk, threads=args.threads, progress=progress)
    write_scan(args.output, scanned, args.table)
    return 0
