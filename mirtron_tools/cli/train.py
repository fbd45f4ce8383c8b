"""mt-train: fit a model on labelled encoded hairpins (or genome-scan candidates); write it with its manifest."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Sequence

from . import common
from .train_genome import add_genome_options, check_mode, train_genome_model
from .train_hairpins import add_fitting_options, train_hairpin_model

logger = logging.getLogger("mirtron_tools.train")

DESCRIPTION = """\
Train the bidirectional LSTM with attention on encoded hairpins (mt-encode output).

Labels come from --positive/--negative NPZ files, or from one --encoded NPZ plus a --labels
TSV (id<TAB>label; 1/0, true/false, mirtron/canonical, positive/negative). A stratified
validation split drives early stopping and the decision threshold (the one with the best F1),
and class weights balance the classes.

With --genome-scan: a genome-scan model (the recipe of the bundled genome model) from a scan NPZ
of mt-encode --annotation, labelled by --labels: boosted trees on each candidate and its intron
context, folds that keep a host gene whole, calibrated probabilities, a recall-based threshold."""

EPILOG = """\
outputs:
  MODEL.keras        the model, with a manifest (threshold, metrics, seed,
                     data sha256, versions)
  MODEL.metrics.tsv  validation metrics (and per-fold metrics with --folds)
  MODEL.curves.png   ROC and precision-recall curves

examples:
  mt-train --positive mirtrons.npz --negative canonical.npz -o my.keras \\
      --seed 1 --folds 5
  mt-train --genome-scan --encoded scan.npz --labels labels.tsv \\
      -o my_genome.keras"""


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-train", DESCRIPTION, EPILOG)
    data = parser.add_argument_group("training data")
    data.add_argument("--positive", nargs="+", default=[], metavar="NPZ", help="encoded positive hairpins")
    data.add_argument("--negative", nargs="+", default=[], metavar="NPZ", help="encoded negative hairpins")
    data.add_argument("--encoded", metavar="NPZ", help="encoded hairpins labelled by --labels")
    data.add_argument("--labels", metavar="TSV", help="id<TAB>label for --encoded")
    data.add_argument("--coverage", nargs="+", default=[], metavar="COV.npz",
                      help="small-RNA-seq coverage from mt-coverage for every training hairpin (joined by id); "
                           "the model then needs coverage at prediction too")
    data.add_argument("--task", default="mirtron", choices=("mirtron", "premirna"),
                      help="what the positive class is, recorded in the manifest (default: %(default)s)")
    out = parser.add_argument_group("outputs")
    out.add_argument("-o", "--output", required=True, metavar="MODEL.keras", help="model file to write")
    out.add_argument("--metrics", metavar="TSV", help="metrics table (default: MODEL.metrics.tsv)")
    out.add_argument("--plots", metavar="PNG", help="ROC + PR figure (default: MODEL.curves.png)")
    out.add_argument("--description", default="", metavar="TEXT",
                     help="free text recorded in the manifest (what the training data are)")
    fitting = add_fitting_options(parser)
    add_genome_options(parser)
    common.add_threads(fitting)
    return parser


def _outputs(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    model_path = Path(args.output)
    stem = model_path.with_suffix("") if model_path.suffix == ".keras" else model_path
    return (model_path, Path(args.metrics or f"{stem}.metrics.tsv"), Path(args.plots or f"{stem}.curves.png"))


def execute(args: argparse.Namespace) -> int:
    from ..io.atomic import check_outputs

    model_path, metrics_path, plot_path = _outputs(args)
    check_outputs({"-o": model_path, "--metrics": metrics_path, "--plots": plot_path},
                  [*args.positive, *args.negative, args.encoded, args.labels, *args.coverage, args.groups,
                   args.extra_positives, args.init_model if args.init_model and os.path.isfile(args.init_model) else None],
                  files_only={"-o": "a model (.keras)", "--plots": "a PNG figure"})
    trained = train_genome_model(args) if args.genome_scan else train_hairpin_model(args)
    from ..training import write_trained_model

    write_trained_model(trained, model_path, metrics_path, plot_path, title=f"mt-train: {model_path.name}")
    logger.info("wrote %s, %s and %s", model_path, metrics_path, plot_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return common.run(parser, argv, lambda args: execute(check_mode(parser, args)))


if __name__ == "__main__":
    raise SystemExit(main())
