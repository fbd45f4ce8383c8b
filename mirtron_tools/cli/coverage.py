"""mt-coverage: small-RNA-seq alignments -> per-position coverage of encoded candidates."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
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
    import numpy as np

    from ..coordinates import regions_of
    from ..coverage import CoverageSet, summary_row
    from ..errors import InputError
    from ..io.atomic import atomic_outputs, check_outputs
    from ..io.bam import ReadFilter, check_regions_in_contigs, collect_coverage, prepare_alignments, read_contig_aliases
    from ..io.coverage import write_coverage, write_summary
    from ..io.encoded import read_encoded
    from ..io.npz import refuse_sidecar_outputs, table_path
    from ..io.reads import check_distinct_alignments, collect_evidence

    table = args.table or table_path(args.output)
    check_outputs({"-o": args.output, "--table": table},
                  [args.encoded, *args.alignments, args.genome,
                   *(f"{path}{index}" for path in args.alignments for index in (".bai", ".csi", ".crai")),
                   *(value for value in args.contig_alias if "=" not in value)],
                  files_only={"-o": "an NPZ"})
    refuse_sidecar_outputs({"-o": args.output, "--table": table}, [args.encoded])
    if args.min_read_length > args.max_read_length:
        raise InputError("mt-coverage", f"--min-read-length {args.min_read_length} is above "
                         f"--max-read-length {args.max_read_length}")
    check_distinct_alignments(args.alignments)
    encoded = read_encoded(args.encoded)
    regions = regions_of(encoded, args.encoded)
    aliases = read_contig_aliases(args.contig_alias)
    inputs = prepare_alignments(args.alignments, (region.contig for region in regions), aliases,
                                args.allow_missing_contigs, args.genome)
    check_regions_in_contigs(regions, encoded.ids, args.encoded, inputs)
    for note in inputs.notes:
        logger.warning(note)
    read_filter = ReadFilter(args.min_mapq, args.min_read_length, args.max_read_length, args.keep_duplicates,
                             args.keep_secondary, args.keep_supplementary)
    logger.info("%d candidates, %d alignment file(s), %d mapped reads in all", len(encoded), len(args.alignments),
                inputs.library_size)
    progress = common.Progress("counting reads", len(encoded), args.quiet)
    results = collect_coverage(regions, encoded.structures, inputs, args.flank, read_filter, args.threads, progress)
    progress.close()
    progress = common.Progress("read signatures", len(encoded), args.quiet)
    evidence = collect_evidence(encoded, regions, inputs, read_filter, args.flank, args.encoded, args.threads,
                                progress)
    progress.close()

    settings = {**read_filter.to_dict(), "alignments": [str(path) for path in args.alignments],
                "contig_aliases": aliases, "flank": args.flank}
    coverage = CoverageSet(ids=list(encoded.ids), lengths=encoded.lengths, flank=args.flank,
                           counts=[tracks for tracks, _ in results],
                           library_sizes=np.full(len(encoded), inputs.library_size), settings=settings)
    coordinates = {f"annotation_{key}": encoded.annotations[key] for key in ("contig", "start", "end", "strand")}
    with atomic_outputs() as group:  # both outputs, or neither
        write_coverage(args.output, coverage, {**coordinates, **evidence.to_arrays()}, group)
        write_summary(table, (summary_row(identifier, region, summary)
                              for identifier, region, (_, summary) in zip(encoded.ids, regions, results)),
                      comments=[f"mt-coverage of {Path(args.encoded).name}: {len(args.alignments)} alignment "
                                f"file(s), {inputs.library_size} mapped reads, flank {args.flank} nt, reads "
                                f"{args.min_read_length}-{args.max_read_length} nt, MAPQ >= {args.min_mapq}"],
                      group=group)
    with_reads = sum(1 for _, summary in results if summary.total_reads)
    if not with_reads:
        logger.warning("no reads on any candidate's hairpin in %s: the read columns are all zero (same assembly "
                       "and strand? a small-RNA library?)", ", ".join(args.alignments))
    logger.info("wrote %s and %s: %d of %d candidates have reads on the hairpin (%s)", args.output, table, with_reads,
                len(encoded), evidence.describe())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
