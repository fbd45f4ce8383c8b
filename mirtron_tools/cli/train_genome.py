"""The genome-scan mode of mt-train (--genome-scan): options, their checks and the run."""
from __future__ import annotations

import argparse
import dataclasses
import logging

from . import common

logger = logging.getLogger("mirtron_tools.train")  # the command this mode belongs to


def add_genome_options(parser: argparse.ArgumentParser) -> None:
    """Options of a genome-scan model (recipe: mirtron_tools.genome_training)."""
    genome = parser.add_argument_group("genome-scan model (--genome-scan: see docs/models.md, \"Train a genome model "
                                       "for your species\")")
    genome.add_argument("--genome-scan", action="store_true",
                        help="train a genome-scan model (boosted trees on the candidates and their scan context, "
                             "grouped folds, calibrated; the recipe of the bundled genome model) from --encoded "
                             "(an mt-encode --annotation scan) and --labels (1: overlaps a known mirtron, 0: "
                             "background; candidates without a row are left out); --folds (default 5) are grouped")
    genome.add_argument("--groups", metavar="TSV", help="id<TAB>group of every labelled candidate: the candidates "
                        "of a group stay in one fold (default: the scan's host gene column)")
    genome.add_argument("--extra-positives", metavar="NPZ", help="known mirtron hairpins that no scanned intron "
                        "hosts (mt-encode output); their weight (0, 0.25 or 1) is chosen out of fold")
    genome.add_argument("--target-recall", type=common.fraction, default=0.5, metavar="R", help="the call "
                        "threshold recovers this share of the positives out of fold (default: %(default)s)")


def check_mode(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Options of the other mode are usage errors (exit 2)."""
    if args.genome_scan:
        hairpin_only = [name for name, value in (
            ("--positive", args.positive), ("--negative", args.negative), ("--coverage", args.coverage),
            ("--init-model", args.init_model), ("--energy", args.energy), ("--ensemble", args.ensemble > 1),
            ("--kmer-weight", args.kmer_weight), ("--tree-weight", args.tree_weight),
            ("--task premirna", args.task != "mirtron")) if value]
        if hairpin_only:
            parser.error(f"{', '.join(hairpin_only)}: not with --genome-scan")
        if not (args.encoded and args.labels):
            parser.error("--genome-scan needs --encoded (a scan NPZ) and --labels")
    else:
        scan_only = [name for name, value in (("--groups", args.groups), ("--extra-positives", args.extra_positives),
                                               ("--target-recall", args.target_recall != 0.5)) if value]
        if scan_only:
            parser.error(f"{', '.join(scan_only)}: only with --genome-scan")
    return args


def train_genome_model(args: argparse.Namespace):
    """Read and check the labelled scan before TensorFlow loads; train; log the out-of-fold metrics."""
    from ..genome_training import GenomeTrainingConfig, check_training_data, read_genome_training_data

    source = f"{args.encoded} with {args.labels}"
    fixed = {key: value for key, value in (("trees", args.trees), ("depth", args.tree_depth)) if value}
    config = GenomeTrainingConfig(folds=args.folds or 5, target_recall=args.target_recall,
                                  seed=1 if args.seed is None else args.seed)
    if fixed:
        config = dataclasses.replace(config, tree_settings=(fixed,))
    data = read_genome_training_data(args.encoded, args.labels, args.groups, args.extra_positives)
    labels = data.labels
    logger.info("training on %d candidates: %d positive, %d background, %d left out", int((labels >= 0).sum()),
                int((labels == 1).sum()), int((labels == 0).sum()), int((labels < 0).sum()))
    check_training_data(data, config, source)
    common.load_tensorflow(args.debug, args.threads)
    from ..genome_training import train_genome_model as train
    from ..metrics import metrics_text

    trained = train(data, config, description=args.description, source=source)
    logger.info("out of fold, calibrated: %s at threshold %.4f",
                metrics_text(trained.manifest["metrics"]["out_of_fold"], ("auc", "aupr", "sensitivity")),
                trained.manifest["threshold"])
    return trained
