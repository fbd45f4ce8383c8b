"""mt-encode: hairpin FASTA -> NPZ (arrays) + TSV (readable), with ViennaRNA MFE structures."""
from __future__ import annotations

import argparse
import logging
from typing import Sequence

from . import common

logger = logging.getLogger("mirtron_tools.encode")

DESCRIPTION = """\
Fold hairpin sequences with ViennaRNA (minimum free energy) and encode sequence and structure
as arrays for mt-train, mt-predict and mt-attend.

Input FASTA may be plain or gzip, '-' for standard input; letters are upper-cased and T is read
as U. N and IUPAC ambiguity codes are kept as unknown positions (all-zero one-hot).

Candidates with genomic coordinates (needed by mt-coverage): BED6 regions with --genome
(minus-strand regions are reverse-complemented), or FASTA headers 'chr1:100-160(+)' /
'chr1:100-160:+' (BED-style 0-based start, or 1-based inclusive: told apart by the length).
The coordinates (contig, 0-based start, end, strand) are kept in the NPZ and the TSV."""

EPILOG = """\
output:
  OUTPUT.npz  format_version, ids, sequences, structures, mfe, lengths and a
              padded one-hot array onehot[n, length, 7] (A, C, G, U,
              paired_open, paired_close, unpaired)
  OUTPUT.tsv  id, length, mfe, structure, sequence (one row per hairpin,
              input order)
              (+ contig, start, end, strand when the input has coordinates)

genome scan (--annotation): one row per candidate hairpin, with the columns
  contig, start, end (0-based, end exclusive), strand, subtype (conventional,
  5'-tailed, 3'-tailed), gene, transcript, intron_number, intron,
  splice_distance (see README "Genome scan")

example:
  mt-encode hairpins.fa -o hairpins.npz --threads 2
  mt-encode candidates.bed --genome hg38.fa -o candidates.npz
  mt-encode --genome GRCh38.fa --annotation genes.gtf -o introns.npz \\
      --threads 8
  mt-encode --genome GRCh38.fa --annotation genes.gtf \\
      --region chr9:1-1000000 -o part.npz

a genome scan in pieces (each piece a job of its own; mt-predict gathers
the scores):
  mt-encode --genome GRCh38.fa --annotation genes.gtf --decoys --split 16 \\
      -o plans
  mt-encode --plan plans/piece_03.plan.npz --genome GRCh38.fa -o piece_03.npz"""


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-encode", DESCRIPTION, EPILOG)
    parser.add_argument("input", metavar="FASTA|BED", nargs="?",
                        help="hairpin sequences (FASTA, plain or gzip, '-' = stdin), or BED6 candidate regions "
                             "with --genome; none with --annotation (genome scan)")
    parser.add_argument("-o", "--output", required=True, metavar="NPZ", help="encoded arrays (.npz); with --split, a folder for the plans")
    parser.add_argument("--table", default=None, metavar="TSV",
                        help="readable sidecar table (default: OUTPUT with .tsv instead of .npz)")
    parser.add_argument("--genome", metavar="FASTA",
                        help="indexed genome FASTA (plain or bgzip; the .fai is made when missing) for BED input "
                             "or the genome scan (--annotation)")
    from .encode_scan import add_scan_options

    add_scan_options(parser)
    common.set_type(parser, "region", common.non_empty)  # --region '' would scan the whole genome
    common.add_length_limit(parser)
    common.add_threads(parser)
    return parser


def execute(args: argparse.Namespace) -> int:
    from ..encoding import encode_sequences
    from ..io.atomic import check_outputs, refuse_standard_output
    from ..io.encoded import write_encoded
    from ..io.fasta import HairpinStats
    from ..io.npz import table_path

    inputs = [args.input, args.genome, args.annotation, args.plan,
              *((f"{args.genome}.fai", f"{args.genome}.gzi") if args.genome else ())]
    if args.split:  # -o is a folder of plans (checked by the scan)
        refuse_standard_output("-o", args.output, "a folder of plans")
        check_outputs({}, inputs)
    else:
        check_outputs({"-o": args.output, "--table": args.table or table_path(args.output)}, inputs,
                      files_only={"-o": "an NPZ"})
    if args.annotation or args.plan:
        from .encode_scan import execute_scan

        return execute_scan(args)
    stats = HairpinStats()
    records, regions = read_candidates(args, stats)
    common.report_stats(args.input, stats)
    if not records:
        from ..errors import InputError

        raise InputError(args.input, "no sequences left to encode")
    progress = common.Progress("folding", len(records), args.quiet)
    encoded = encode_sequences([record.identifier for record in records], [record.sequence for record in records],
                               threads=args.threads, max_length=args.max_length, progress=progress)
    progress.close()
    if regions is not None:
        from ..coordinates import region_annotations

        encoded.annotations.update(region_annotations(regions))
    write_encoded(args.output, encoded, args.table)
    logger.info("wrote %d hairpins to %s and its table %s", len(encoded), args.output,
                args.table or table_path(args.output))
    return 0


def read_candidates(args: argparse.Namespace, stats) -> tuple[list, list | None]:
    """Records to encode and their genomic regions (None when the input has no coordinates).

    BED6 input takes its sequences from --genome (minus strand reverse-complemented); FASTA
    headers like chr1:100-160(+) or chr1:100-160:- carry coordinates, BED-style or 1-based
    (decided by the sequence length)."""
    from ..coordinates import region_for_sequence
    from ..errors import InputError
    from ..io.bed import iter_bed_hairpins, looks_like_bed
    from ..io.fasta import iter_hairpins

    if looks_like_bed(args.input):
        if not args.genome:
            raise InputError(args.input, "BED input needs --genome FASTA to read the candidates' sequences")
        from ..io.genome import Genome

        with Genome(args.genome) as genome:
            pairs = list(iter_bed_hairpins(args.input, genome, args.max_length, args.skip_long, stats))
        return [record for record, _ in pairs], [region for _, region in pairs]
    records = list(iter_hairpins(args.input, args.max_length, args.skip_long, stats))
    found = [region_for_sequence(record.identifier, len(record.sequence), args.input, record.line)
             for record in records]
    with_coordinates = sum(1 for item in found if item is not None)
    if with_coordinates == 0:
        return records, None
    if with_coordinates < len(records):
        missing = [record.identifier for record, item in zip(records, found) if item is None]
        logger.warning("%s: %d of %d headers carry no coordinates (e.g. '%s'); coordinates are not kept",
                       args.input, len(missing), len(records), missing[0])
        return records, None
    present = [item for item in found if item is not None]  # all of them, by the checks above
    conventions = sorted({convention for _, convention in present})
    logger.info("%s: coordinates read from the headers (%s)", args.input, "; ".join(conventions))
    regions = [region for region, _ in present]
    if args.genome:  # the headers' contigs take the genome's names (one rule: chr prefix, chrM/MT)
        import dataclasses

        from ..io.genome import Genome

        with Genome(args.genome) as genome:
            regions = [dataclasses.replace(region, contig=genome.resolve_contig(region.contig, args.input,
                                                                               record.line))
                       for region, record in zip(regions, records)]
    return records, regions


def main(argv: Sequence[str] | None = None) -> int:
    from .encode_scan import check_mode

    parser = build_parser()
    return common.run(parser, argv, lambda args: execute(check_mode(parser, args)))


if __name__ == "__main__":
    raise SystemExit(main())
