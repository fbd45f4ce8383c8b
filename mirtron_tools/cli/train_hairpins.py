"""The hairpin-model mode of mt-train (the default): fitting options, their checks and the run."""
from __future__ import annotations

import argparse
import logging

from . import common

logger = logging.getLogger("mirtron_tools.train")  # the command this mode belongs to


def add_fitting_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The "fitting" option group (returned: mt-train adds --threads to it after the genome-scan group)."""
    fitting = parser.add_argument_group("fitting")
    common.add_seed(fitting)
    fitting.add_argument("--folds", type=_fold_count, default=0, metavar="K",
                         help="also run stratified K-fold cross-validation (K >= 2)")
    fitting.add_argument("--epochs", type=common.positive_int, default=60, help="most epochs (default: %(default)s)")
    fitting.add_argument("--patience", type=common.positive_int, default=12,
                         help="epochs without validation improvement before stopping (default: %(default)s)")
    fitting.add_argument("--monitor", choices=("loss", "auc"), default="loss",
                         help="validation quantity that early stopping and the learning-rate schedule watch: "
                              "the loss, or the AUC (keeps training while the ranking improves even if the "
                              "loss rises) (default: %(default)s)")
    fitting.add_argument("--batch-size", type=common.positive_int, default=32, help="(default: %(default)s)")
    fitting.add_argument("--learning-rate", type=common.positive_float, default=2e-3, help="Adam step size (default: %(default)s)")
    fitting.add_argument("--validation-fraction", type=common.fraction, default=0.15,
                         help="share of each class held out for early stopping (default: %(default)s)")
    fitting.add_argument("--lstm-units", type=common.positive_int, default=48,
                         help="LSTM units per direction (default: %(default)s)")
    fitting.add_argument("--attention-units", type=common.positive_int, default=32, help="(default: %(default)s)")
    fitting.add_argument("--dropout", type=common.rate, default=0.25,
                         help="share of units dropped in training, 0 to below 1 (default: %(default)s)")
    fitting.add_argument("--ensemble", type=common.positive_int, default=1, metavar="N",
                         help="train N members on N stratified folds (each stops early on its own held-out "
                              "fold) and average them; the threshold is chosen on out-of-fold scores of all "
                              "the data (default: 1, a single network with a --validation-fraction split)")
    fitting.add_argument("--kmer-weight", type=common.probability, default=0.0, metavar="W",
                         help="with --ensemble: give this share (0-1) of the probability to an L2-regularised "
                              "logistic regression on 1-3-mer frequencies and end dinucleotides, fitted on the "
                              "same folds; it generalises across data sources where composition matters "
                              "(default: %(default)s)")
    fitting.add_argument("--tree-weight", type=_tree_share, default=0.0, metavar="W|auto",
                         help="with --ensemble: give this share (0-1) of the probability to gradient-boosted "
                              "trees (--trees of depth --tree-depth) on the regression's features plus stem-loop shape "
                              "features (unpaired ends, hairpin loops, stems, bulges, arms) and the pyrimidine "
                              "shares of splice-site windows, fitted on the same folds; --kmer-weight + "
                              "--tree-weight must not exceed 1. 'auto' chooses the share (0.1-0.9, the networks "
                              "keeping at least 0.1) with the best out-of-fold AUC and records every share's AUC "
                              "in the manifest (the bundled models use auto and no k-mer share) "
                              "(default: %(default)s)")
    fitting.add_argument("--trees", type=common.positive_int, metavar="N",
                         help="number of boosted trees of the --tree-weight member (default: 200); with "
                              "--genome-scan, --trees or --tree-depth fixes the trees instead of choosing among "
                              "five settings out of fold")
    fitting.add_argument("--tree-depth", type=common.positive_int, metavar="D",
                         help="depth of each boosted tree (default: 4)")
    fitting.add_argument("--energy", action="store_true",
                         help="also give the model each hairpin's minimum free energy per nucleotide, as an "
                              "extra input channel taken from the NPZ's mfe column; with --kmer-weight or --tree-weight "
                              "the regression or the trees then also get classic pre-miRNA features (MFE, MFE index, pairing, "
                              "GC, Xue's 32 triplet-structure frequencies). The model records the channel and "
                              "mt-predict / mt-attend add it by themselves. Implied by an --init-model that has it")
    fitting.add_argument("--init-model", metavar="NAME|FILE",
                         help="fine-tune: start from this bundled model (see mt-predict --list-models) or .keras "
                              "file instead of random weights; its architecture is kept (the --lstm-units, "
                              "--attention-units and --dropout options are then unused) and its input channels "
                              "must match the training data's. A smaller --learning-rate (e.g. 5e-4) usually "
                              "suits fine-tuning")
    return fitting


def _tree_share(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return common.probability(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"must be a share between 0 and 1 or 'auto', not {text!r}") from None


def _fold_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value == 1 or value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no cross-validation) or at least 2, not {text}")
    return value


#: TrainingConfig field names -> the mt-train options that set them (for the library's messages)
OPTION_NAMES = {"without folds and ensemble": "without --folds and --ensemble",
                "an ensemble of 2 or more members": "--ensemble N (N >= 2)", "regression_weight": "--kmer-weight",
                "tree_weight": "--tree-weight", "init_model": "--init-model", "folds": "--folds", "monitor": "--monitor"}


def config_from_args(args: argparse.Namespace, energy: bool):
    """The TrainingConfig of the command line, checked (a contradiction is one line naming the options)."""
    import re

    from ..boosting import BoostingConfig
    from ..config import Architecture, TrainingConfig
    from ..errors import InputError

    config = TrainingConfig(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, patience=args.patience,
        monitor=args.monitor, validation_fraction=args.validation_fraction, seed=args.seed,
        regression_weight=args.kmer_weight, tree_weight=args.tree_weight, energy=energy,
        architecture=Architecture(lstm_units=args.lstm_units, attention_units=args.attention_units,
                                  dropout=args.dropout),
        trees=BoostingConfig(trees=args.trees or 200, depth=args.tree_depth or 4))
    try:
        config.check(ensemble=args.ensemble, folds=args.folds, fine_tuning=bool(args.init_model))
    except ValueError as error:
        names = sorted(OPTION_NAMES, key=len, reverse=True)  # the longest phrase first
        message = re.sub("|".join(re.escape(name) for name in names), lambda found: OPTION_NAMES[found.group(0)],
                         str(error))
        raise InputError("mt-train", message) from None
    return config


def train_hairpin_model(args: argparse.Namespace):
    """Read and check the data, the options and a model to fine-tune before TensorFlow loads; train."""
    from ..datasets import join_coverage, read_initial_model, read_training_data
    from ..encoding import uses_energy

    config_from_args(args, args.energy)  # contradictions among the options fail before the data are read
    data = read_training_data(args.positive, args.negative, args.encoded, args.labels)
    logger.info("training on %d hairpins: %d positive, %d negative", len(data.labels), int(data.labels.sum()),
                int((data.labels == 0).sum()))
    if args.coverage:  # joined and checked before TensorFlow loads
        join_coverage(data, args.coverage)
    # checked before TensorFlow loads and before any training
    initial = read_initial_model(args.init_model, args.energy, data.extra_channels) if args.init_model else None
    config = config_from_args(args, bool(args.energy or (initial is not None and uses_energy(initial.manifest))))
    if args.seed is None:
        logger.warning("no --seed given: this run cannot be reproduced exactly")
    common.load_tensorflow(args.debug, args.threads)
    from ..metrics import metrics_text
    from ..training import train

    bars: dict[str, common.Progress] = {}

    def on_epoch(stage: str, epoch: int, logs: dict) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = common.Progress(stage, args.epochs if stage == "training" else None, args.quiet,
                                          unit="epochs")
        bars[stage](1)

    trained = train(data, config, task=args.task, ensemble=args.ensemble, folds=args.folds,
                    description=args.description, initial=initial, on_epoch=on_epoch,
                    on_fold=lambda fold, result: logger.info("fold %d/%d: %s", fold + 1, args.folds,
                                                             metrics_text(result, ("auc", "f1"))),
                    on_member=lambda member, logs: logger.info("member %d/%d: %d epochs, held-out %s", member + 1,
                                                               args.ensemble, logs["epochs"],
                                                               metrics_text(logs, ("auc", "f1"))))
    for bar in bars.values():
        bar.close()
    logger.info("trained for %d epochs; %s %s at threshold %.3f", trained.epochs_run, trained.held_out_name,
                metrics_text(trained.manifest["metrics"][trained.held_out_name.split()[0]], ("auc", "f1")),
                trained.manifest["threshold"])
    return trained
