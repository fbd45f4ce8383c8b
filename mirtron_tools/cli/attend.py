"""mt-attend: which positions of each hairpin the model attends to (or depends on), as tables and figures."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from . import common

if TYPE_CHECKING:
    from ..coverage import CoverageSet

logger = logging.getLogger("mirtron_tools.attend")

FORMATS = ("png", "svg", "pdf")
METHODS = ("attention", "mutagenesis")

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


def sidecar(output: str, name: str) -> str | None:
    """``attention.tsv`` -> ``attention.<name>.tsv``; None for standard output."""
    if output == "-":
        return None
    path = Path(output)
    return str(path.with_suffix(f".{name}.tsv") if path.suffix == ".tsv" else Path(f"{output}.{name}.tsv"))


def safe_name(identifier: str) -> str:
    """The one rule for file names made from ids: a strand ``(+)``/``(-)`` (or a final ``:+``/``:-``)
    becomes ``_plus``/``_minus``, every other run of characters outside letters, digits, ``.``,
    ``_`` and ``-`` becomes one ``_``: ``chr1:100-160(-)`` -> ``chr1_100-160_minus``."""
    stranded = re.sub(r"\(([+-])\)|:([+-])$",
                      lambda match: "_plus" if "+" in match.group(0) else "_minus", identifier)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stranded).strip("._") or "hairpin"


def figure_name(identifier: str, method: str, taken: set[str], extension: str) -> str:
    """A file name for one hairpin's figure (:func:`safe_name`); collisions get a number."""
    stem = safe_name(identifier)
    name, number = f"{stem}_{method}.{extension}", 1
    while name in taken:
        number += 1
        name = f"{stem}_{number}_{method}.{extension}"
    taken.add(name)
    return name


def check_plot_folder(folder: str) -> bool:
    """Fail early when the figures cannot be written; True when the folder must be created."""
    from ..errors import InputError

    path = Path(folder)
    if path.exists():
        if not path.is_dir():
            raise InputError(folder, "plot folder is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(folder, "plot folder is not writable")
        return False
    parent = path.resolve().parent
    if not parent.is_dir():
        raise InputError(folder, f"cannot create the plot folder: {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(folder, f"cannot create the plot folder: {parent} is not writable")
    return True


def _unknown_ids_error(source: str, unknown: Sequence[str]):
    from ..errors import InputError
    from ..io.text import shortened

    shown = shortened(unknown)
    return InputError(source, f"{len(unknown)} id(s) given with --ids are not in the input: {shown}")


@dataclass
class _Plan:
    """What mt-attend will do, checked before TensorFlow is imported."""

    model_path: Path
    manifest: dict
    coverage: CoverageSet | None
    extra_names: list[str]
    truth: dict | None
    wanted: set[str] | None
    expected: int | None  # hairpins to analyse, when known up front
    threshold: float
    positive_call: str
    predictions_path: str | None
    aggregate_path: str | None
    create_plots: bool


def _check(args: argparse.Namespace) -> _Plan:
    """Every check that can fail on the inputs, before the model is loaded and work starts."""
    from ..coverage import check_coverage_for_model, check_coverage_ids
    from ..io.atomic import check_outputs, refuse_standard_output
    from ..io.coverage import read_coverage_files
    from ..io.hairpins import input_ids
    from ..io.model import read_manifest, resolve_model
    from ..io.npz import refuse_sidecar_outputs
    from ..io.text import check_input_file
    from ..io.tsv import read_labels

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
    model_path = resolve_model(args.model)
    manifest = read_manifest(model_path)
    coverage_source = " ".join(args.coverage)
    coverage = read_coverage_files(args.coverage) if args.coverage else None
    check_coverage_for_model(manifest, coverage, str(model_path), coverage_source)
    wanted = set(args.ids) if args.ids else None
    known = input_ids(args.input) if wanted is not None or coverage is not None else None
    if known is not None:  # standard input is read once, so its ids are checked as they come
        if wanted is not None:
            present = set(known)
            unknown = [identifier for identifier in args.ids if identifier not in present]
            if unknown:
                raise _unknown_ids_error(args.input, unknown)
            known = [identifier for identifier in known if identifier in wanted]
        if coverage is not None:
            check_coverage_ids(known, coverage, coverage_source)
    return _Plan(model_path, manifest, coverage, list(manifest["coverage"]["channels"]) if coverage is not None else [],
                 read_labels(args.labels) if args.labels else None, wanted, len(known) if known is not None else None,
                 args.threshold if args.threshold is not None else float(manifest["threshold"]),
                 manifest.get("positive_class", "positive"), predictions_path, aggregate_path, create_plots)


def _load(args: argparse.Namespace, plan: _Plan):
    """The model, after checking that this method can explain it."""
    from ..encoding import uses_context
    from ..errors import ModelError
    from ..io.model import load_model

    model, manifest = load_model(plan.model_path)
    if uses_context(manifest):
        raise ModelError(f"{plan.model_path}: this model scores genome-scan candidates from their intron context "
                         "(mt-predict); mt-attend explains hairpin models such as human_mirtron or premirna")
    if args.method == "attention":
        from ..ensemble import attention_model

        try:
            attention_model(model)
        except ValueError:
            raise ModelError(f"{plan.model_path}: the model has no attention layer "
                             "('--method mutagenesis' works with any model)") from None
    return model, manifest


def _explained(args: argparse.Namespace, model, inputs, chunk):
    """Per hairpin of a chunk: (probability, per-position scores, mutagenesis deltas or None, coverage track)."""
    from ..attribution import mutagenesis_importance, saturation_mutagenesis
    from ..prediction import attention_arrays, predict_arrays

    extra = inputs.extra(chunk)
    arrays = inputs.arrays(chunk, extra)
    if args.method == "attention":
        probabilities, weights = attention_arrays(model, arrays, args.batch_size)
        for row in range(len(chunk)):
            yield float(probabilities[row]), weights[row], None, None if extra is None else extra[row]
        return

    def predict(batch):
        return predict_arrays(model, batch, args.batch_size)

    probabilities = predict(arrays)
    for row, deltas in enumerate(saturation_mutagenesis(chunk.sequences, predict, probabilities, extra,
                                                        threads=args.threads, energy=inputs.energy)):
        yield (float(probabilities[row]), mutagenesis_importance(chunk.sequences[row], deltas), deltas,
               None if extra is None else extra[row])


def execute(args: argparse.Namespace) -> int:
    import numpy as np

    from ..attribution import (
        EndProfile,
        TopScoring,
        attention_header,
        attention_rows,
        mutagenesis_header,
        mutagenesis_rows,
        prediction_groups,
    )
    from ..errors import InputError
    from ..io.atomic import atomic_outputs, atomic_text
    from ..io.fasta import HairpinStats
    from ..io.hairpins import input_chunks
    from ..io.npz import looks_like_npz
    from ..io.predictions import write_tsv_header, write_tsv_rows
    from ..scoring import ModelInputs, Scored

    plan = _check(args)
    top = TopScoring(0 if not args.plots or plan.wanted is not None else (10 if args.top is None else args.top))
    common.load_tensorflow(args.debug, args.threads)
    from ..prediction import LengthCheck

    model, manifest = _load(args, plan)
    lengths = LengthCheck.from_manifest(manifest)
    inputs = ModelInputs(manifest, args.input, plan.coverage, " ".join(args.coverage))
    logger.info("model %s (task %s, threshold %.3f), method %s", plan.model_path.name, manifest.get("task"),
                plan.threshold, args.method)
    header = (attention_header if args.method == "attention" else mutagenesis_header)(plan.extra_names)
    profile = EndProfile(max(int(manifest.get("max_length", args.max_length)), args.max_length))
    stats = HairpinStats()
    progress = common.Progress("attention" if args.method == "attention" else "mutagenesis", plan.expected,
                               args.quiet, unit="hairpins")
    drawn: list = []
    found: set[str] = set()  # ids seen, kept only with --ids (bounded by the ids given)
    analysed = labelled = 0
    plot_folder = Path(args.plots) if args.plots else None
    try:
        with contextlib.ExitStack() as outputs:
            written = outputs.enter_context(atomic_outputs())  # every output renamed at the end, or none
            table = outputs.enter_context(atomic_text(args.output, written))
            table.write("\t".join(header) + "\n")
            predictions = outputs.enter_context(atomic_text(plan.predictions_path, written)) \
                if plan.predictions_path else None
            if predictions:
                write_tsv_header(predictions, [])
            for chunk in input_chunks([args.input], looks_like_npz(args.input), args.chunk_size, args.max_length,
                                      args.skip_long, args.threads, stats, plan.wanted):
                lengths.add(chunk.lengths)
                probabilities = []
                for row, (probability, scores, deltas, track) in enumerate(_explained(args, model, inputs, chunk)):
                    identifier, sequence, structure = chunk.ids[row], chunk.sequences[row], chunk.structures[row]
                    call = plan.positive_call if probability >= plan.threshold else "other"
                    rows = (attention_rows(identifier, sequence, structure, scores, track) if deltas is None
                            else mutagenesis_rows(identifier, sequence, structure, deltas, track))
                    table.writelines("\t".join(fields) + "\n" for fields in rows)
                    label = plan.truth.get(identifier) if plan.truth is not None else None
                    labelled += label is not None
                    for group in prediction_groups(probability, plan.threshold, plan.positive_call, label):
                        profile.add(group, scores)
                    payload = (identifier, sequence, structure, scores, probability, call, deltas, track)
                    if plan.wanted is not None:
                        drawn.append(payload)
                        found.add(identifier)
                    else:
                        top.offer(probability, payload)
                    probabilities.append(probability)
                    analysed += 1
                    progress(1)
                if predictions:
                    write_tsv_rows(predictions, Scored(chunk.ids, chunk.lengths, {}, np.array(probabilities)),
                                   np.arange(len(chunk)), plan.threshold, plan.positive_call, [])
            if not analysed:
                raise InputError(args.input, "no sequences to analyse")
            if plan.wanted is not None and len(found) < len(plan.wanted):  # standard input: known only now
                raise _unknown_ids_error(args.input, [identifier for identifier in args.ids
                                                      if identifier not in found])
            if plan.truth is not None and not labelled:
                raise InputError(args.labels, "none of the labelled ids is in the input")
            progress.close()
            if plan.aggregate_path:
                aggregate = outputs.enter_context(atomic_text(plan.aggregate_path, written))
                aggregate.write("\t".join(EndProfile.HEADER) + "\n")
                aggregate.writelines("\t".join(fields) + "\n" for fields in profile.rows())
            if plot_folder is not None:
                if plan.create_plots:
                    plot_folder.mkdir()
                _draw(written, plot_folder, args, profile, drawn if plan.wanted is not None else top.items(),
                      plan.coverage, plan.model_path.name, analysed, network_share_note(manifest))
    except BaseException:
        if plan.create_plots and plot_folder is not None and plot_folder.is_dir() and not any(plot_folder.iterdir()):
            plot_folder.rmdir()
        raise
    common.report_stats(args.input, stats)
    if warning := lengths.message(plan.model_path.name):
        logger.warning("%s", warning)
    logger.info("wrote %s%s%s", args.output, f", {plan.predictions_path}" if plan.predictions_path else "",
                f", {plan.aggregate_path}" if plan.aggregate_path else "")
    return 0


def network_share_note(manifest: dict) -> str | None:
    """What share of the model's probability the attention networks carry (the rest: the k-mer
    regression and boosted trees of a blended ensemble), from the manifest; None for networks alone."""
    training = manifest.get("training", {})
    shares = {"k-mer regression": training.get("kmer_weight") or 0.0,
              "boosted trees": training.get("tree_weight") if isinstance(training.get("tree_weight"), (int, float))
              else 0.0}
    others = {name: float(share) for name, share in shares.items() if share}
    if not others:
        return None
    networks = max(0.0, 1.0 - sum(others.values()))
    rest = ", ".join(f"{name} {share:.0%}" for name, share in others.items())
    return f"the networks explained here carry {networks:.0%} of the call ({rest})"


def _draw(written, folder: Path, args, profile, items, coverage, model_name: str, count: int,
          note: str | None = None) -> None:
    """Draw the aggregate and per-hairpin figures into temporary files renamed when all succeeded.

    Coverage tracks are drawn as read counts over the hairpin (the model's scaled channels are in
    the table); ``note`` says what share of the call the networks carry."""
    from ..coverage import read_count_tracks
    from ..plots import attribution_figure, end_profile_figure, save_figure

    extension = args.format
    aggregate_name = f"aggregate_{args.method}.{extension}"
    taken = {aggregate_name}
    what = "attention" if args.method == "attention" else "mutagenesis importance"
    title = f"mean {what} by distance from the ends: {count} hairpins, {model_name}"
    figure = end_profile_figure(profile, args.method, title=title + (f"\n{note}" if note else ""))
    save_figure(figure, written.path(folder / aggregate_name, suffix=f".{extension}"))
    for identifier, sequence, structure, scores, probability, call, deltas, track in items:
        tracks = None
        if track is not None and coverage is not None:  # reads over the hairpin, flanks left out
            tracks = read_count_tracks(coverage, identifier)
        figure = attribution_figure(identifier, sequence, structure, scores, probability, call, args.method,
                                    deltas, tracks, note)
        path = folder / figure_name(identifier, args.method, taken, extension)
        save_figure(figure, written.path(path, suffix=f".{extension}"))
    logger.info("drew %d figure(s) in %s", len(taken), folder)


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
