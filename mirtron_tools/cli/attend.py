"""mt-attend: which positions of each hairpin the model attends to (or depends on), as tables and figures."""
from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

from . import common

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
  OUTPUT (TSV)               one row per (hairpin, position), input order:
                               attention:   id, position (1-based), nucleotide, structure, attention
                               mutagenesis: id, position, nucleotide, structure, delta_A, delta_C,
                                            delta_G, delta_U (p(mutant) - p(hairpin); 0 at the
                                            hairpin's own base), importance (mean |delta|)
                             then, for coverage models, the coverage channels at that position,
                             scaled as the model sees them (the manifest's coverage normalisation)
  OUTPUT.predictions.tsv     id, length, probability, call (as mt-predict)
  OUTPUT.aggregate.tsv       group, end (5p/3p), distance (0 = terminal base), hairpins,
                             mean_score, mean_relative (score * length / hairpin total: 1 = uniform);
                             groups: 'predicted <class>', 'predicted other', and with --labels
                             'true <class>', 'true other'
  PLOTS/ (with --plots)      aggregate_<method>.FORMAT and one <id>_<method>.FORMAT per hairpin
                             drawn: the --ids, else the --top N (default 10) highest scoring

examples:
  mt-attend hairpins.npz -o attention.tsv --plots figures/
  mt-attend --model cov.keras cand.npz --coverage cand.cov.npz --ids hsa-mir-877,hsa-mir-1226 \\
            -o a.tsv --plots figs/ --format svg
  mt-attend hairpins.fa -o mutagenesis.tsv --method mutagenesis --top 5 --plots figs/ --labels truth.tsv"""


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
    which.add_argument("--top", type=_non_negative_int, default=None, metavar="N",
                       help="draw the N highest-probability hairpins (default: 10; 0 = aggregate figure only)")
    common.add_throughput(parser, chunk_size=1024)
    common.add_length_limit(parser)
    return parser


def _id_list(text: str) -> list[str]:
    identifiers = [part.strip() for part in text.split(",") if part.strip()]
    if not identifiers:
        raise argparse.ArgumentTypeError("give at least one id")
    return list(dict.fromkeys(identifiers))


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


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


def _input_ids(path: str) -> list[str] | None:
    """Ids of a FASTA or NPZ input without folding (None for standard input, read once only)."""
    from ..io.encoded import read_encoded
    from ..io.fasta import read_fasta
    from ..io.npz import looks_like_npz

    if path == "-":
        return None
    if looks_like_npz(path):
        return read_encoded(path).ids
    return [record.identifier for record in read_fasta(path)]


def _chunks(args: argparse.Namespace, stats, wanted: set[str] | None) -> Iterator:
    """Encoded chunks of the input in order, restricted to ``wanted`` ids (FASTA folded per chunk)."""
    from ..encoding import encode_sequences
    from ..io.encoded import read_encoded
    from ..io.fasta import iter_hairpins
    from ..io.npz import looks_like_npz

    if looks_like_npz(args.input):
        encoded = read_encoded(args.input)
        if wanted is not None:
            encoded = encoded.subset([row for row, identifier in enumerate(encoded.ids) if identifier in wanted])
        for start in range(0, len(encoded), args.chunk_size):
            yield encoded.subset(range(start, min(start + args.chunk_size, len(encoded))))
        return
    records = iter_hairpins(args.input, args.max_length, args.skip_long, stats)
    if wanted is not None:
        records = (record for record in records if record.identifier in wanted)
    while chunk := list(itertools.islice(records, args.chunk_size)):
        yield encode_sequences([record.identifier for record in chunk], [record.sequence for record in chunk],
                               threads=args.threads, max_length=args.max_length)


def _unknown_ids_error(source: str, unknown: Sequence[str]):
    from ..errors import InputError

    shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    return InputError(source, f"{len(unknown)} id(s) given with --ids are not in the input: {shown}")


def execute(args: argparse.Namespace) -> int:
    from ..attribution import (
        EndProfile,
        TopScoring,
        attention_header,
        attention_rows,
        mutagenesis_header,
        mutagenesis_importance,
        mutagenesis_rows,
        prediction_groups,
        saturation_mutagenesis,
    )
    from ..coverage import check_coverage_for_model, check_coverage_ids, coverage_channels
    from ..errors import InputError, ModelError
    from ..io.atomic import atomic_outputs, atomic_text, check_outputs, refuse_standard_output
    from ..io.coverage import read_coverage_files
    from ..io.fasta import HairpinStats
    from ..io.model import read_manifest, resolve_model
    from ..io.text import check_input_file
    from ..io.tsv import read_labels
    from .encode import report_stats

    # Every check that can fail on the inputs runs before the model is loaded and work starts.
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
    model_path = resolve_model(args.model)
    manifest = read_manifest(model_path)
    coverage_source = " ".join(args.coverage)
    coverage = read_coverage_files(args.coverage) if args.coverage else None
    check_coverage_for_model(manifest, coverage, str(model_path), coverage_source)
    extra_names = list(manifest["coverage"]["channels"]) if coverage is not None else []
    truth = read_labels(args.labels) if args.labels else None
    wanted = set(args.ids) if args.ids else None
    known = _input_ids(args.input) if wanted is not None or coverage is not None else None
    if known is not None:  # standard input is read once, so its ids are checked as they come
        if wanted is not None:
            present = set(known)
            unknown = [identifier for identifier in args.ids if identifier not in present]
            if unknown:
                raise _unknown_ids_error(args.input, unknown)
            known = [identifier for identifier in known if identifier in wanted]
        if coverage is not None:
            check_coverage_ids(known, coverage, coverage_source)
    threshold = args.threshold if args.threshold is not None else float(manifest["threshold"])
    positive_call = manifest.get("positive_class", "positive")
    top = TopScoring(0 if not args.plots or wanted is not None else (10 if args.top is None else args.top))

    common.load_tensorflow(args.debug, args.threads)
    from ..encoding import model_inputs, uses_energy
    from ..io.model import load_model
    from ..prediction import LengthCheck, attention_arrays, check_inputs, predict_arrays

    model, manifest = load_model(model_path)
    lengths = LengthCheck.from_manifest(manifest)
    from ..encoding import uses_context

    if uses_context(manifest):
        raise ModelError(f"{model_path}: this model scores genome-scan candidates from their intron context "
                         "(mt-predict); mt-attend explains hairpin models such as human_mirtron or premirna")
    energy = uses_energy(manifest)
    if args.method == "attention":
        from ..model import attention_model

        try:
            attention_model(model)
        except ValueError:
            raise ModelError(f"{model_path}: the model has no attention layer "
                             "('--method mutagenesis' works with any model)") from None
    logger.info("model %s (task %s, threshold %.3f), method %s", model_path.name, manifest.get("task"),
                threshold, args.method)

    def predict(arrays):
        return predict_arrays(model, arrays, args.batch_size)

    header = (attention_header if args.method == "attention" else mutagenesis_header)(extra_names)
    profile = EndProfile(max(int(manifest.get("max_length", args.max_length)), args.max_length))
    stats = HairpinStats()
    progress = common.Progress("attention" if args.method == "attention" else "mutagenesis",
                               len(known) if known is not None else None, args.quiet, unit="hairpins")
    drawn: list = []
    found: set[str] = set()  # ids seen, kept only with --ids (bounded by the ids given)
    analysed = labelled = 0
    plot_folder = Path(args.plots) if args.plots else None
    try:
        with contextlib.ExitStack() as outputs:
            written = outputs.enter_context(atomic_outputs())  # every output renamed at the end, or none
            table = outputs.enter_context(atomic_text(args.output, written))
            table.write("\t".join(header) + "\n")
            predictions = outputs.enter_context(atomic_text(predictions_path, written)) if predictions_path else None
            if predictions:
                predictions.write("id\tlength\tprobability\tcall\n")
            for chunk in _chunks(args, stats, wanted):
                extra = coverage_channels(chunk, coverage, coverage_source) if coverage is not None else None
                arrays = model_inputs(chunk, extra, energy=energy)
                check_inputs(manifest, arrays[0].shape[1], args.input)
                lengths.add(chunk.lengths)
                if args.method == "attention":
                    probabilities, weights = attention_arrays(model, arrays, args.batch_size)
                    per_record = ((weights[row], None) for row in range(len(chunk)))
                else:
                    probabilities = predict(arrays)
                    per_record = ((mutagenesis_importance(chunk.sequences[row], deltas), deltas)
                                  for row, deltas in enumerate(saturation_mutagenesis(
                                      chunk.sequences, predict, probabilities, extra, threads=args.threads,
                                      energy=energy)))
                for row, (scores, deltas) in enumerate(per_record):
                    identifier, sequence = chunk.ids[row], chunk.sequences[row]
                    structure, probability = chunk.structures[row], float(probabilities[row])
                    call = positive_call if probability >= threshold else "other"
                    track = None if extra is None else extra[row]
                    rows = (attention_rows(identifier, sequence, structure, scores, track) if deltas is None
                            else mutagenesis_rows(identifier, sequence, structure, deltas, track))
                    table.writelines("\t".join(fields) + "\n" for fields in rows)
                    if predictions:
                        predictions.write(f"{identifier}\t{len(sequence)}\t{probability:.4f}\t{call}\n")
                    label = truth.get(identifier) if truth is not None else None
                    labelled += label is not None
                    for group in prediction_groups(probability, threshold, positive_call, label):
                        profile.add(group, scores)
                    payload = (identifier, sequence, structure, scores, probability, call, deltas, track)
                    if wanted is not None:
                        drawn.append(payload)
                    else:
                        top.offer(probability, payload)
                    if wanted is not None:
                        found.add(identifier)
                    analysed += 1
                    progress(1)
            if not analysed:
                raise InputError(args.input, "no sequences to analyse")
            if wanted is not None and len(found) < len(wanted):  # standard input: known only now
                raise _unknown_ids_error(args.input, [identifier for identifier in args.ids
                                                      if identifier not in found])
            if truth is not None and not labelled:
                raise InputError(args.labels, "none of the labelled ids is in the input")
            progress.close()
            if aggregate_path:
                aggregate = outputs.enter_context(atomic_text(aggregate_path, written))
                aggregate.write("\t".join(EndProfile.HEADER) + "\n")
                aggregate.writelines("\t".join(fields) + "\n" for fields in profile.rows())
            if plot_folder is not None:
                if create_plots:
                    plot_folder.mkdir()
                _draw(written, plot_folder, args, profile, drawn if wanted is not None else top.items(),
                      coverage, model_path.name, analysed, network_share_note(manifest))
    except BaseException:
        if create_plots and plot_folder.is_dir() and not any(plot_folder.iterdir()):
            plot_folder.rmdir()
        raise
    report_stats(args.input, stats)
    if warning := lengths.message(model_path.name):
        logger.warning("%s", warning)
    logger.info("wrote %s%s%s", args.output, f", {predictions_path}" if predictions_path else "",
                f", {aggregate_path}" if aggregate_path else "")
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
