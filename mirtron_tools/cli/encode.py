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
    from ..io.atomic import check_outputs, refuse_standard_output
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
    from ..candidates import encode_candidates
    from ..io.encoded import write_encoded
    from ..io.fasta import HairpinStats

    stats = HairpinStats()
    try:
        encoded = encode_candidates(args.input, args.genome, max_length=args.max_length, skip_long=args.skip_long,
                                    threads=args.threads, stats=stats,
                                    progress=lambda label, total: common.Progress(label, total, args.quiet))
    finally:
        common.report_stats(args.input, stats)
    write_encoded(args.output, encoded, args.table)
    logger.info("wrote %d hairpins to %s", len(encoded), args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .encode_scan import check_mode

    parser = build_parser()
    return common.run(parser, argv, lambda args: execute(check_mode(parser, args)))


if __name__ == "__main__":
    raise SystemExit(main())
