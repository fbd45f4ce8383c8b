"""mt-train: fit the attention LSTM on labelled encoded hairpins; write a model with manifest."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Sequence

from . import common

logger = logging.getLogger("mirtron_tools.train")

DESCRIPTION = """\
Train the bidirectional LSTM with attention on encoded hairpins (mt-encode output).

Labels come from --positive/--negative NPZ files, or from one --encoded NPZ plus a --labels
TSV (id<TAB>label; 1/0, true/false, mirtron/canonical, positive/negative). A stratified
validation split drives early stopping and the decision threshold (the one with the best F1),
and class weights balance the classes."""

EPILOG = """\
outputs:
  MODEL.keras        the model, with a manifest (threshold, metrics, seed,
                     data sha256, versions)
  MODEL.metrics.tsv  validation metrics (and per-fold metrics with --folds)
  MODEL.curves.png   ROC and precision-recall curves

example:
  mt-train --positive mirtrons.npz --negative canonical.npz -o my.keras \\
      --seed 1 --folds 5"""


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
    fitting.add_argument("--trees", type=common.positive_int, default=200, metavar="N",
                         help="number of boosted trees of the --tree-weight member (default: %(default)s)")
    fitting.add_argument("--tree-depth", type=common.positive_int, default=4, metavar="D",
                         help="depth of each boosted tree (default: %(default)s)")
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
    common.add_threads(fitting)
    return parser


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


def _outputs(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    model_path = Path(args.output)
    stem = model_path.with_suffix("") if model_path.suffix == ".keras" else model_path
    return (model_path, Path(args.metrics or f"{stem}.metrics.tsv"), Path(args.plots or f"{stem}.curves.png"))


def load_training_data(args: argparse.Namespace):
    """(encoded set, labels, description of the sources) from the command's data options."""
    from ..datasets import labelled_union, labels_for
    from ..errors import InputError, shortened
    from ..io.encoded import read_encoded
    from ..io.tsv import read_labels

    if args.encoded or args.labels:
        if not (args.encoded and args.labels) or args.positive or args.negative:
            raise InputError("mt-train", "give --encoded with --labels, or --positive with --negative")
        encoded = read_encoded(args.encoded)
        rows, labels = labels_for(encoded, read_labels(args.labels), args.labels)
        if len(rows) < len(encoded):
            logger.warning("%s: %d hairpin(s) have no label and are not used", args.encoded, len(encoded) - len(rows))
        encoded = encoded.subset(rows)
        sources: dict[str, str | list[str]] = {"encoded": Path(args.encoded).name, "labels": Path(args.labels).name}
    else:
        if not args.positive or not args.negative:
            raise InputError("mt-train", "give both --positive and --negative (or --encoded with --labels)")
        encoded, labels, dropped = labelled_union([(path, read_encoded(path)) for path in args.positive],
                                                  [(path, read_encoded(path)) for path in args.negative])
        if dropped:
            logger.warning("dropped %d hairpin(s) whose identical sequence is labelled both ways: %s",
                           len(dropped), shortened(dropped))
        sources = {"positive": [Path(path).name for path in args.positive],
                   "negative": [Path(path).name for path in args.negative]}
    for value, name, files in ((1, "positive", args.positive), (0, "negative", args.negative)):
        found = int((labels == value).sum())
        if found < 2:
            source = f"{args.encoded} with {args.labels}" if args.encoded else " ".join(files)
            raise InputError(source, f"need at least 2 {name} hairpins to train, found {found}")
    return encoded, labels, sources


#: TrainingConfig field names -> the mt-train options that set them (for the library's messages)
OPTION_NAMES = {"without folds and ensemble": "without --folds and --ensemble",
                "an ensemble of 2 or more members": "--ensemble N (N >= 2)", "regression_weight": "--kmer-weight",
                "tree_weight": "--tree-weight", "init_model": "--init-model", "folds": "--folds", "monitor": "--monitor"}


def _config(args: argparse.Namespace, energy: bool):
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
        trees=BoostingConfig(trees=args.trees, depth=args.tree_depth))
    try:
        config.check(ensemble=args.ensemble, folds=args.folds, fine_tuning=bool(args.init_model))
    except ValueError as error:
        names = sorted(OPTION_NAMES, key=len, reverse=True)  # the longest phrase first
        message = re.sub("|".join(re.escape(name) for name in names), lambda found: OPTION_NAMES[found.group(0)],
                         str(error))
        raise InputError("mt-train", message) from None
    return config


def execute(args: argparse.Namespace) -> int:
    import numpy as np

    from ..encoding import model_channels, uses_energy
    from ..io.atomic import atomic_outputs, check_outputs
    from ..io.tsv import write_table

    model_path, metrics_path, plot_path = _outputs(args)
    check_outputs({"-o": model_path, "--metrics": metrics_path, "--plots": plot_path},
                  [*args.positive, *args.negative, args.encoded, args.labels, *args.coverage,
                   args.init_model if args.init_model and os.path.isfile(args.init_model) else None],
                  files_only={"-o": "a model (.keras)", "--plots": "a PNG figure"})
    _config(args, args.energy)  # contradictions among the options fail before the data are read
    encoded, labels, sources = load_training_data(args)
    logger.info("training on %d hairpins: %d positive, %d negative", len(labels), int(labels.sum()),
                int((labels == 0).sum()))
    extra, coverage_record, coverage_channel_names = None, None, []
    if args.coverage:  # joined and checked before TensorFlow loads
        from ..coverage import MODEL_CHANNELS, coverage_channels, coverage_manifest
        from ..io.coverage import read_coverage_files

        coverage = read_coverage_files(args.coverage)
        extra = coverage_channels(encoded, coverage, " ".join(args.coverage))
        coverage_record, coverage_channel_names = coverage_manifest(coverage), list(MODEL_CHANNELS)
        sources["coverage"] = [Path(path).name for path in args.coverage]
        logger.info("coverage joined for all %d hairpins (flank %d nt)", len(encoded), coverage.flank)
    init_path, init_manifest = None, None
    if args.init_model:  # checked before TensorFlow loads and before any training
        from ..io.model import read_manifest, resolve_model
        from ..manifest import check_initial_model

        init_path = resolve_model(args.init_model)
        init_manifest = read_manifest(init_path)
        check_initial_model(args.init_model, init_manifest,
                            model_channels(args.energy or uses_energy(init_manifest), coverage_channel_names))
    energy = bool(args.energy or (init_manifest is not None and uses_energy(init_manifest)))
    config = _config(args, energy)
    if args.seed is None:
        logger.warning("no --seed given: this run cannot be reproduced exactly")

    common.load_tensorflow(args.debug, args.threads)
    from .. import metrics as metric_functions
    from ..encoding import model_inputs
    from ..io.model import save_model
    from ..manifest import build_manifest
    from ..plots import curves_figure, save_figure
    from ..training import cross_validate, fit, fit_ensemble, set_seed

    arrays = model_inputs(encoded, extra, energy=energy)
    rows: list[list[object]] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    pooled = None
    if args.folds:
        with common.Progress(f"cross-validation ({args.folds} folds)", None, args.quiet, unit="epochs") as folds:
            fold_results, out_of_fold = cross_validate(
                arrays, labels, config, args.folds, on_epoch=lambda epoch, logs: folds(1),
                on_fold=lambda fold, result: logger.info("fold %d/%d: %s", fold + 1, args.folds,
                                                         metric_functions.metrics_text(result, ("auc", "f1"))))
        rows.extend(["fold", result["fold"], result["n"], f"{result['threshold']:.4f}",
                     *(f"{result[name]:.4f}" for name in metric_functions.METRIC_NAMES)] for result in fold_results)
        pooled = metric_functions.evaluate(labels, out_of_fold, float(np.median([r["threshold"] for r in fold_results])))
        rows.append(["cross_validation_pooled", "all", len(labels), "median",
                     *(f"{pooled[name]:.4f}" for name in metric_functions.METRIC_NAMES)])
        curves[f"{args.folds}-fold CV"] = (labels, out_of_fold)

    set_seed(args.seed)
    if args.ensemble > 1:
        progress = common.Progress(f"training {args.ensemble} ensemble members", None, args.quiet, unit="epochs")
        result = fit_ensemble(arrays, labels, config, args.ensemble, on_epoch=lambda epoch, logs: progress(1),
                              on_member=lambda member, logs: logger.info(
                                  "member %d/%d: %d epochs, held-out %s", member + 1, args.ensemble, logs["epochs"],
                                  metric_functions.metrics_text(logs, ("auc", "f1"))))
        held_out_name = f"out_of_fold ({args.ensemble} members)"
    else:
        initial_model = None
        if init_path is not None:
            from ..io.model import load_model

            initial_model, _ = load_model(init_path)
            logger.info("fine-tuning %s (%s)", args.init_model, (init_manifest or {}).get("task"))
        progress = common.Progress("training", args.epochs, args.quiet, unit="epochs")
        result = fit(arrays, labels, config, on_epoch=lambda epoch, logs: progress(1), initial_model=initial_model)
        held_out_name = "validation"
    progress.close()
    validation = result.validation_metrics
    logger.info("trained for %d epochs; %s %s at threshold %.3f", result.epochs_run, held_out_name,
                metric_functions.metrics_text(validation, ("auc", "f1")), result.threshold)
    rows.append([held_out_name.split()[0], "-", len(result.held_out_labels), f"{result.threshold:.4f}",
                 *(f"{validation[name]:.4f}" for name in metric_functions.METRIC_NAMES)])
    curves[held_out_name] = (result.held_out_labels, result.held_out_scores)

    manifest = build_manifest(
        task=args.task, config=config, result=result, encoded=encoded, labels=labels, arrays=arrays, sources=sources,
        channels=model_channels(energy, coverage_channel_names), coverage=coverage_record, ensemble=args.ensemble,
        seed=args.seed, description=args.description, held_out_name=held_out_name,
        pooled=pooled,
        initial=(args.init_model, init_path, init_manifest) if init_path is not None and init_manifest is not None
        else None)
    # All three outputs appear together or not at all: each is written to a temporary file and
    # the renames happen only after the last one was written.
    with atomic_outputs() as group:
        save_model(result.model, group.path(model_path, suffix=".keras"), manifest)
        write_table(metrics_path, ["split", "fold", "n", "threshold", *metric_functions.METRIC_NAMES], rows,
                    group=group)
        save_figure(curves_figure(curves, title=f"mt-train: {model_path.name}"), group.path(plot_path, suffix=".png"))
    logger.info("wrote %s, %s and %s", model_path, metrics_path, plot_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
