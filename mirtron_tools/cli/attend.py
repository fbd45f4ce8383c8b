"""mt-attend: which positions of each hairpin the model attends to (or depends on), as tables and figures."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
from pathlib import Path
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
    from ..attribution import EndProfile, TopScoring
    from ..explanation import (
        Explainer,
        check_plot_folder,
        draw_figures,
        load_explainer,
        network_share_note,
        plan_explanation,
        sidecar,
    )
    from ..io.atomic import atomic_outputs, atomic_text, check_outputs, refuse_standard_output
    from ..io.fasta import HairpinStats
    from ..io.hairpins import input_chunks
    from ..io.npz import looks_like_npz
    from ..io.predictions import write_tsv_header
    from ..io.text import check_input_file
    from ..prediction import LengthCheck
    from ..scoring import ModelInputs

    for path in (args.input, args.labels, *args.coverage):
        if path is not None:
            check_input_file(path)
    predictions_path = args.predictions or sidecar(args.output, "predictions")
    aggregate_path = args.aggregate or sidecar(args.output, "aggregate")
    check_outputs({"-o": args.output, "--predictions": predictions_path, "--aggregate": aggregate_path},
                  [args.input, args.labels, *args.coverage,
                   args.model if args.model and os.path.isfile(args.model) else None])
    refuse_standard_output("--plots", args.plots, "a folder of figures")
    create_plots = check_plot_folder(args.plots) if args.plots else False
    plan = plan_explanation(args.input, args.model, args.labels, args.coverage, args.ids, args.threshold)
    scorer = load_explainer(plan, args.method, lambda: common.load_tensorflow(args.debug, args.threads), args.threads)
    manifest = plan.manifest
    logger.info("model %s (task %s, threshold %.3f), method %s", plan.model_path.name, manifest.get("task"),
                plan.threshold, args.method)
    explainer = Explainer(scorer, ModelInputs(manifest, args.input, plan.coverage, " ".join(args.coverage)), plan,
                          args.method, EndProfile(max(int(manifest.get("max_length", args.max_length)),
                                                      args.max_length)),
                          TopScoring(0 if not args.plots or plan.wanted is not None
                                     else (10 if args.top is None else args.top)), args.batch_size, args.threads)
    lengths = LengthCheck.from_manifest(manifest)
    stats = HairpinStats()
    progress = common.Progress(args.method, plan.expected, args.quiet, unit="hairpins")
    plot_folder = Path(args.plots) if args.plots else None
    try:
        with contextlib.ExitStack() as outputs:
            written = outputs.enter_context(atomic_outputs())  # every output renamed at the end, or none
            table = outputs.enter_context(atomic_text(args.output, written))
            table.write("\t".join(explainer.header()) + "\n")
            predictions = outputs.enter_context(atomic_text(predictions_path, written)) if predictions_path else None
            if predictions:
                write_tsv_header(predictions, [])
            for chunk in input_chunks([args.input], looks_like_npz(args.input), args.chunk_size, args.max_length,
                                      args.skip_long, args.threads, stats, plan.wanted):
                lengths.add(chunk.lengths)
                explainer.add(chunk, table, predictions, progress)
            items = explainer.finish(args.input, args.labels, args.ids)
            progress.close()
            if aggregate_path:
                aggregate = outputs.enter_context(atomic_text(aggregate_path, written))
                aggregate.write("\t".join(EndProfile.HEADER) + "\n")
                aggregate.writelines("\t".join(fields) + "\n" for fields in explainer.profile.rows())
            if plot_folder is not None:
                if create_plots:
                    plot_folder.mkdir()
                draw_figures(written.path, plot_folder, args.method, args.format, explainer.profile, items,
                             plan.coverage, plan.model_path.name, explainer.analysed, network_share_note(manifest))
    except BaseException:
        if create_plots and plot_folder is not None and plot_folder.is_dir() and not any(plot_folder.iterdir()):
            plot_folder.rmdir()
        raise
    common.report_stats(args.input, stats)
    if warning := lengths.message(plan.model_path.name):
        logger.warning("%s", warning)
    logger.info("wrote %s%s%s", args.output, f", {predictions_path}" if predictions_path else "",
                f", {aggregate_path}" if aggregate_path else "")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
