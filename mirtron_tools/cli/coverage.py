"""mt-coverage: small-RNA-seq alignments -> per-position coverage of encoded candidates."""
from __future__ import annotations

import argparse
import logging
from typing import Sequence

from . import common

logger = logging.getLogger("mirtron_tools.coverage")

DESCRIPTION = """\
Count small-RNA-seq reads over every candidate of an mt-encode NPZ that carries genomic
coordinates (mt-encode from BED with --genome, or from FASTA headers like chr1:100-160(+)).

Per candidate and position, aligned base for base with the encoded sequence (minus-strand
candidates reversed like their sequence), from reads on the candidate's strand: read depth,
read 5' ends and read 3' ends, over the hairpin plus --flank nt on each side. Replicate BAMs
are summed. Raw counts are kept; log1p(counts per million mapped reads) is stored beside them.

BAM/CRAM files must be coordinate-sorted and indexed. Candidate contigs are matched to the
BAM's names exactly, through --contig-alias, or by adding/removing a 'chr' prefix (reported)."""

EPILOG = """\
outputs:
  OUTPUT.npz  ids (as in the sequence NPZ), lengths, flank, offsets,
              counts[sum(length+2*flank), 3] (depth, five_prime,
              three_prime; one block per candidate), normalised (log1p
              CPM), library_sizes, settings, and the candidates'
              coordinates
  OUTPUT.tsv  per candidate: total reads on the hairpin, reads on each arm,
              fraction of read 5' ends within 1 nt of the hairpin start
              and of 3' ends within 1 nt of its end, reads running past
              the hairpin, reads only in the flanks

example:
  mt-coverage cand.npz sample1.bam sample2.bam -o cand.cov.npz --threads 2"""


def build_parser() -> argparse.ArgumentParser:
    from ..coverage import DEFAULT_FLANK

    parser = common.base_parser("mt-coverage", DESCRIPTION, EPILOG)
    parser.add_argument("encoded", metavar="NPZ", help="candidates encoded by mt-encode, with coordinates")
    parser.add_argument("alignments", nargs="+", metavar="BAM", help="coordinate-sorted, indexed BAM/CRAM file(s)")
    parser.add_argument("-o", "--output", required=True, metavar="NPZ", help="coverage arrays (.npz)")
    parser.add_argument("--table", default=None, metavar="TSV",
                        help="per-candidate summary (default: OUTPUT with .tsv instead of .npz)")
    parser.add_argument("--flank", type=common.non_negative_int, default=DEFAULT_FLANK, metavar="NT",
                        help="nt counted beyond each hairpin end (default: %(default)s)")
    reads = parser.add_argument_group("read filters")
    reads.add_argument("--min-mapq", type=common.non_negative_int, default=0, metavar="Q",
                       help="lowest mapping quality counted (default: %(default)s; small-RNA reads often "
                            "map to several loci and get MAPQ 0-1)")
    reads.add_argument("--min-read-length", type=common.positive_int, default=16, metavar="NT",
                       help="(default: %(default)s)")
    reads.add_argument("--max-read-length", type=common.positive_int, default=35, metavar="NT",
                       help="(default: %(default)s)")
    reads.add_argument("--keep-duplicates", action="store_true", help="count reads flagged as duplicates")
    reads.add_argument("--keep-secondary", action="store_true", help="count secondary alignments")
    reads.add_argument("--keep-supplementary", action="store_true", help="count supplementary alignments")
    names = parser.add_argument_group("contig names")
    names.add_argument("--contig-alias", action="append", default=[], metavar="FROM=TO|TSV",
                       help="candidate contig FROM is called TO in the BAMs; or a file of FROM<TAB>TO lines "
                            "(repeatable)")
    names.add_argument("--allow-missing-contigs", action="store_true",
                       help="give candidates on contigs absent from a BAM zero reads from it (default: error)")
    parser.add_argument("--genome", metavar="FASTA", help="reference FASTA for decoding CRAM input")
    common.add_threads(parser)
    return parser


def execute(args: argparse.Namespace) -> int:
    from ..io.atomic import check_outputs
    from ..io.bam import ReadFilter, read_contig_aliases
    from ..io.npz import refuse_sidecar_outputs, table_path
    from ..read_collection import CollectRequest, collect

    table = args.table or table_path(args.output)
    check_outputs({"-o": args.output, "--table": table},
                  [args.encoded, *args.alignments, args.genome,
                   *(f"{path}{index}" for path in args.alignments for index in (".bai", ".csi", ".crai")),
                   *(value for value in args.contig_alias if "=" not in value)],
                  files_only={"-o": "an NPZ"})
    refuse_sidecar_outputs({"-o": args.output, "--table": table}, [args.encoded])
    read_filter = ReadFilter(args.min_mapq, args.min_read_length, args.max_read_length, args.keep_duplicates,
                             args.keep_secondary, args.keep_supplementary)
    collect(CollectRequest(args.encoded, list(args.alignments), args.output, str(table), args.flank, read_filter,
                           read_contig_aliases(args.contig_alias), args.allow_missing_contigs, args.genome,
                           args.threads),
            lambda label, total: common.Progress(label, total, args.quiet))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
