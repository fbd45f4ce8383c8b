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
as U. N and IUPAC ambiguity codes are kept as unknown positions (all-zero one-hot)."""

EPILOG = """\
output:
  OUTPUT.npz  format_version, ids, sequences, structures, mfe, lengths and a padded one-hot
              array onehot[n, length, 7] (A, C, G, U, paired_open, paired_close, unpaired)
  OUTPUT.tsv  id, length, mfe, structure, sequence (one row per hairpin, input order)

example:
  mt-encode hairpins.fa -o hairpins.npz --threads 2"""


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-encode", DESCRIPTION, EPILOG)
    parser.add_argument("input", metavar="FASTA", help="hairpin sequences (FASTA, plain or gzip, '-' = stdin)")
    parser.add_argument("-o", "--output", required=True, metavar="NPZ", help="encoded arrays (.npz)")
    parser.add_argument("--table", default=None, metavar="TSV",
                        help="readable sidecar table (default: OUTPUT with .tsv instead of .npz)")
    common.add_length_limit(parser)
    common.add_threads(parser)
    return parser


def execute(args: argparse.Namespace) -> int:
    from ..encoding import encode_sequences
    from ..io.atomic import check_writable
    from ..io.encoded import sidecar_path, write_encoded
    from ..io.fasta import HairpinStats, iter_hairpins

    check_writable(args.output)
    check_writable(args.table or sidecar_path(args.output))
    stats = HairpinStats()
    records = list(iter_hairpins(args.input, args.max_length, args.skip_long, stats))
    report_stats(args.input, stats)
    if not records:
        from ..errors import InputError

        raise InputError(args.input, "no sequences left to encode")
    progress = common.Progress("folding", len(records), args.quiet)
    encoded = encode_sequences([record.identifier for record in records], [record.sequence for record in records],
                               threads=args.threads, max_length=args.max_length, progress=progress)
    progress.close()
    write_encoded(args.output, encoded, args.table)
    logger.info("wrote %d hairpins to %s", len(encoded), args.output)
    return 0


def report_stats(source: str, stats) -> None:
    """Warnings about what the reader skipped or could not read as A/C/G/U."""
    if stats.skipped_long:
        shown = ", ".join(stats.skipped_long[:5]) + (" ..." if len(stats.skipped_long) > 5 else "")
        logger.warning("%s: skipped %d record(s) longer than --max-length: %s", source, len(stats.skipped_long), shown)
    if stats.ambiguous_positions:
        logger.warning("%s: %d position(s) in %d record(s) are N or IUPAC ambiguity codes; encoded as unknown",
                       source, stats.ambiguous_positions, stats.ambiguous_records)


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
