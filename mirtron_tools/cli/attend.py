"""mt-attend: which positions of each hairpin the model attends to (or depends on), as tables and figures."""
from __future__ import annotations

import argparse
import logging
import os
from typing import Sequence

from . import common

logger = logging.getLogger("mirtron_tools.attend")

FORMATS = ("png", "svg", "pdf")
METHODS = ("attention", "mutagenesis")  # mirtron_tools.explanation.METHODS

DESCRIPTION = """\
Show which segments of each hairpin decide the model's call: the weights of the model's
attention layer (--method attention, the default), or in-silico saturation mutagenesis
(--method mutagenesis): every single-base substitution, refolded with ViennaRNA and rescored,
as a second opinion (attention says where the model pools information, not how much the
call depends on it). Input is FASTA (folded on the fly) or an mt-encode NPZ, read in chunks:
memory does not grow with the number of hairpins."""

EPILOG = """\
outputs:
  OUTPUT (TSV)            one row per (hairpin, position), input order:
    attention:   id, position (1-based), nucleotide, structure, attention
    mutagenesis: id, position, nucleotide, structure, delta_A, delta_C,
                 delta_G, delta_U (p(mutant) - p(hairpin); 0 at the
                 hairpin's own base), importance (mean |delta|)
    then, for coverage models, the coverage channels at that position,
    scaled as the model sees them (the manifest's coverage normalisation)
  OUTPUT.predictions.tsv  id, length, probability, call (as mt-predict)
  OUTPUT.aggregate.tsv    group, end (5p/3p), distance (0 = terminal base),
                          hairpins, mean_score, mean_relative (score *
                          length / hairpin total: 1 = uniform); groups:
                          'predicted <class>', 'predicted other', and
                          with --labels 'true <class>', 'true other'
  PLOTS/ (with --plots)   aggregate_<method>.FORMAT and one
                          <id>_<method>.FORMAT per hairpin drawn: the
                          --ids, else the --top N (default 10) highest
                          scoring

examples:
  mt-attend hairpins.npz -o attention.tsv --plots figures/
  mt-attend --model cov.keras cand.npz --coverage cand.cov.npz \\
      --ids hsa-mir-877,hsa-mir-1226 -o a.tsv --plots figs/ --format svg
  mt-attend hairpins.fa -o mutagenesis.tsv --method mutagenesis --top 5 \\
      --plots figs/ --labels truth.tsv"""


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-attend", DESCRIPTION, EPILOG)
    parser.add_argument("input", metavar="FASTA|NPZ", help="hairpins: FASTA (plain/gzip, '-' = stdin) or mt-encode NPZ")
    parser.add_argument("-o", "--output", required=True, metavar="TSV", help="per-position table ('-' = stdout)")
    common.add_model(parser)
    parser.add_argument("--method", choices=METHODS, default="attention",
                        help="per-position score (default: %(default)s)")
    parser.add_argument("--coverage", nargs="+", default=[], metavar="COV.npz",
                        help="small-RNA-seq coverage from mt-coverage for every input hairpin (joined by id); "
                             "needed by, and only by, models trained with --coverage")
    parser.add_argument("--threshold", type=common.probability, default=None,
                        help="call threshold (default: the one in the model's manifest)")
    parser.add_argument("--labels", metavar="TSV", help="id<TAB>label: also split the aggregate by true class")
    outputs = parser.add_argument_group("tables and figures")
    outputs.add_argument("--predictions", metavar="TSV",
                         help="per-hairpin probability and call (default: OUTPUT.predictions.tsv; none for -o -)")
    outputs.add_argument("--aggregate", metavar="TSV",
                         help="mean score by distance from the ends (default: OUTPUT.aggregate.tsv; none for -o -)")
    outputs.add_argument("--plots", metavar="FOLDER", help="draw figures into this folder (created if missing)")
    outputs.add_argument("--format", choices=FORMATS, default="png", help="figure format (default: %(default)s)")
    which = outputs.add_mutually_exclusive_group()
    which.add_argument("--ids", metavar="ID,ID,...", type=_id_list,
                       help="analyse and draw only these hairpins (every id must be in the input)")
    which.add_argument("--top", type=common.non_negative_int, default=None, metavar="N",
                       help="draw the N highest-probability hairpins (default: 10; 0 = aggregate figure only)")
    common.add_throughput(parser, chunk_size=1024)
    common.add_length_limit(parser)
    return parser


def _id_list(text: str) -> list[str]:
    identifiers = [part.strip() for part in text.split(",") if part.strip()]
    if not identifiers:
        raise argparse.ArgumentTypeError("give at least one id")
    return list(dict.fromkeys(identifiers))


def execute(args: argparse.Namespace) -> int:
    from ..explanation import ExplainRequest, check_plot_folder, explain, sidecar
    from ..io.atomic import check_outputs, refuse_standard_output
    from ..io.npz import refuse_sidecar_outputs
    from ..io.text import check_input_file

    for path in (args.input, args.labels, *args.coverage):
        if path is not None:
            check_input_file(path)
    predictions_path = args.predictions or sidecar(args.output, "predictions")
    aggregate_path = args.aggregate or sidecar(args.output, "aggregate")
    check_outputs({"-o": args.output, "--predictions": predictions_path, "--aggregate": aggregate_path},
                  [args.input, args.labels, *args.coverage,
                   args.model if args.model and os.path.isfile(args.model) else None])
    refuse_sidecar_outputs({"-o": args.output, "--predictions": predictions_path, "--aggregate": aggregate_path},
                           [args.input, *args.coverage])
    refuse_standard_output("--plots", args.plots, "a folder of figures")
    create_plots = check_plot_folder(args.plots) if args.plots else False
    explain(ExplainRequest(args.input, args.output, args.method, model=args.model, labels=args.labels,
                           coverage=list(args.coverage), ids=args.ids, threshold=args.threshold, top=args.top,
                           plots=args.plots, format=args.format, predictions=predictions_path,
                           aggregate=aggregate_path, batch_size=args.batch_size, chunk_size=args.chunk_size,
                           max_length=args.max_length, skip_long=args.skip_long, threads=args.threads),
            create_plots, engine=lambda: common.load_tensorflow(args.debug, args.threads),
            progress_factory=lambda label, total: common.Progress(label, total, args.quiet, unit="hairpins"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
