"""mt-predict: score hairpins (FASTA or mt-encode NPZ) with a bundled or trained model."""
from __future__ import annotations

import argparse
import itertools
import logging
from typing import Iterator, Sequence

from . import common

logger = logging.getLogger("mirtron_tools.predict")

DESCRIPTION = """\
Score hairpins with a model: the bundled human mirtron model unless --model names another
bundled model or a .keras file from mt-train. FASTA input is folded on the fly in chunks, so
memory does not grow with the number of sequences."""

EPILOG = """\
output (TSV, input order):
  id, length, probability, call   call = the model's positive class (e.g. 'mirtron') when
                                  probability >= threshold (the manifest's, or --threshold),
                                  'other' otherwise
  then the input NPZ's annotation columns, if any (genome scan: contig, start, end, strand,
  subtype, gene, transcript, intron_number, intron, splice_distance)
output (BED6, -o x.bed or --format bed; sorted by contig, start):
  contig, start, end, id|subtype, probability x 1000, strand

examples:
  mt-predict hairpins.fa -o calls.tsv
  mt-predict --model my.keras hairpins.npz -o - --labels truth.tsv --metrics eval.tsv
  mt-predict introns.npz -o novel.bed --min-probability 0.5"""


class ListModels(argparse.Action):
    """``--list-models``: like ``--version``, print and exit before the other arguments are checked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        from ..io.model import bundled_models

        sys.stdout.write(model_listing(bundled_models()))
        parser.exit(0)


def _metrics_text(values: dict) -> str:
    names = ("auc", "aupr", "f1", "mcc", "sensitivity", "specificity")
    return ", ".join(f"{name.upper() if name in ('auc', 'aupr', 'f1', 'mcc') else name} {values[name]:.3f}"
                     for name in names if isinstance(values.get(name), (int, float)))


def _members_text(training: dict) -> str:
    text = ""
    weight = training.get("kmer_weight")
    if weight:
        features = "k-mer + structure/free-energy" if training.get("energy") else "k-mer"
        text += f" + {features} logistic regression (weight {weight:g})"
    trees = training.get("tree_weight")
    if trees:
        shape = training.get("trees", {})
        text += (f" + {shape.get('trees', '?')} boosted trees of depth {shape.get('depth', '?')} "
                 f"(weight {trees:g}{', chosen on out-of-fold AUC' if training.get('tree_weight_auto') else ''})")
    return text


def model_listing(models: dict) -> str:
    """Readable description of each bundled model, from its manifest only (TensorFlow is not loaded)."""
    from ..errors import MirtronError
    from ..io.model import DEFAULT_MODEL, read_manifest

    if not models:
        return "no bundled models are installed\n"
    lines = []
    for name in sorted(models):
        path = models[name]
        lines.append(name + (" (default)" if name == DEFAULT_MODEL else ""))
        try:
            manifest = read_manifest(path)
        except MirtronError as error:
            lines.extend([f"  unusable: {error}", ""])
            continue
        data = manifest.get("training_data", {})
        training = manifest.get("training", {})
        members = training.get("ensemble_members", 1)
        lines.append(f"  task:          {manifest.get('task', '?')} (positive class: "
                     f"{manifest.get('positive_class', '?')})")
        sources = data.get("sources", {})
        described = manifest.get("description") or "; ".join(
            f"{key}: {', '.join(value) if isinstance(value, list) else value}" for key, value in sources.items())
        lines.append(f"  training data: {described or '?'}")
        lines.append(f"                 {data.get('n_positive', '?')} positive / {data.get('n_negative', '?')} "
                     f"negative, sha256 {str(data.get('sha256', '?'))[:16]}")
        lines.append(f"  created:       {manifest.get('created', '?')}, seed {manifest.get('seed')}, "
                     f"{'ensemble of ' + str(members) + ' networks' if members and members > 1 else 'one network'}"
                     f"{_members_text(training)}, "
                     f"mirtron_tools {manifest.get('versions', {}).get('mirtron_tools', '?')}")
        if training.get("energy"):
            lines.append("  inputs:        sequence, structure and minimum free energy per nt")
        lines.append(f"  threshold:     {float(manifest.get('threshold', float('nan'))):.4f}")
        for split, values in manifest.get("metrics", {}).items():
            lines.append(f"  metrics ({split}): {_metrics_text(values)}")
        for part, values in manifest.get("member_metrics", {}).items():
            lines.append(f"  {part} alone (out_of_fold, threshold {values.get('threshold', float('nan')):.4f}): "
                         f"{_metrics_text(values)}")
        for benchmark, record in manifest.get("benchmark", {}).items():
            values = record.get("all", record)
            count = f", n={record['n']}" if "n" in record else ""
            lines.append(f"  benchmark ({benchmark}{count}): {_metrics_text(values)}")
        lines.append(f"  file:          {path} ({path.stat().st_size / 1e6:.2f} MB)")
        lines.append("")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-predict", DESCRIPTION, EPILOG)
    parser.add_argument("input", metavar="FASTA|NPZ", help="hairpins: FASTA (plain/gzip, '-' = stdin) or mt-encode NPZ")
    parser.add_argument("-o", "--output", required=True, metavar="TSV|BED", help="predictions ('-' = stdout)")
    parser.add_argument("--format", choices=("tsv", "bed"), default=None,
                        help="output format (default: bed when OUTPUT ends in .bed, else tsv); BED6 needs an "
                             "NPZ with genomic coordinates (mt-encode --annotation or BED input)")
    parser.add_argument("--min-probability", type=common.probability, default=0.0, metavar="P",
                        help="write only hairpins scored at least P (default: all)")
    common.add_model(parser)
    parser.add_argument("--list-models", action=ListModels,
                        help="print the bundled models (task, training data, date, threshold, benchmark metrics "
                             "from their manifests) and exit")
    parser.add_argument("--coverage", nargs="+", default=[], metavar="COV.npz",
                        help="small-RNA-seq coverage from mt-coverage for every input hairpin (joined by id); "
                             "needed by, and only by, models trained with --coverage")
    parser.add_argument("--threshold", type=common.probability, default=None,
                        help="call threshold (default: the one chosen on validation data, from the manifest)")
    evaluation = parser.add_argument_group("evaluation")
    evaluation.add_argument("--labels", metavar="TSV", help="id<TAB>label: report AUC, AUPR, F1, MCC, ...")
    evaluation.add_argument("--metrics", metavar="TSV", help="write those metrics to a table as well")
    common.add_throughput(parser, chunk_size=4096)
    common.add_length_limit(parser)
    return parser


def _chunks(args: argparse.Namespace, stats) -> Iterator:
    """Encoded chunks of the input, in order (FASTA folded chunk by chunk)."""
    from ..encoding import encode_sequences
    from ..io.encoded import read_encoded
    from ..io.fasta import iter_hairpins
    from ..io.npz import looks_like_npz

    if looks_like_npz(args.input):
        encoded = read_encoded(args.input)
        for start in range(0, len(encoded), args.chunk_size):
            yield encoded.subset(range(start, min(start + args.chunk_size, len(encoded))))
        return
    records = iter_hairpins(args.input, args.max_length, args.skip_long, stats)
    while chunk := list(itertools.islice(records, args.chunk_size)):
        yield encode_sequences([record.identifier for record in chunk], [record.sequence for record in chunk],
                               threads=args.threads, max_length=args.max_length)


def execute(args: argparse.Namespace) -> int:
    import os

    import numpy as np

    from ..errors import InputError
    from ..io.atomic import atomic_text, check_outputs, check_writable
    from ..io.fasta import HairpinStats
    from ..io.model import read_manifest, resolve_model
    from ..io.tsv import read_labels, write_table
    from .encode import report_stats

    check_outputs({"-o": args.output, "--metrics": args.metrics},  # the output guard: before any work
                  [args.input, args.labels, *args.coverage,
                   args.model if args.model and os.path.isfile(args.model) else None])
    check_writable(args.output)
    output_format = args.format or ("bed" if str(args.output).lower().endswith(".bed") else "tsv")
    if output_format == "bed":
        check_bed_input(args.input)
    if args.metrics:
        check_writable(args.metrics)
    if args.metrics and not args.labels:
        raise InputError(args.metrics, "--metrics needs --labels")
    model_path = resolve_model(args.model)
    manifest = read_manifest(model_path)
    truth = read_labels(args.labels) if args.labels else None
    coverage = None
    if args.coverage:
        from ..io.coverage import read_coverage_files

        coverage = read_coverage_files(args.coverage)
    from ..coverage import check_coverage_for_model

    check_coverage_for_model(manifest, coverage, str(model_path), " ".join(args.coverage))
    if coverage is not None:
        from ..io.npz import looks_like_npz

        if looks_like_npz(args.input):  # FASTA input is checked chunk by chunk
            from ..coverage import check_coverage_ids
            from ..io.encoded import read_encoded

            check_coverage_ids(read_encoded(args.input).ids, coverage, " ".join(args.coverage))
    threshold = args.threshold if args.threshold is not None else float(manifest["threshold"])
    positive_call = manifest.get("positive_class", "positive")

    common.load_tensorflow(args.debug, args.threads)
    from ..encoding import model_inputs, uses_energy
    from ..io.model import load_model
    from ..prediction import check_inputs, predict_arrays

    model, manifest = load_model(model_path)
    logger.info("model %s (task %s, threshold %.3f)", model_path.name, manifest.get("task"), threshold)
    stats = HairpinStats()
    progress = common.Progress("scoring", None, args.quiet)
    seen_ids, scored_ids, scores = set(), [], []
    bed_rows: list = []
    with atomic_text(args.output) as stream:
        for chunk in _chunks(args, stats):
            extra = None
            if coverage is not None:
                from ..coverage import coverage_channels

                extra = coverage_channels(chunk, coverage, " ".join(args.coverage))
            arrays = model_inputs(chunk, extra, energy=uses_energy(manifest))
            check_inputs(manifest, arrays[0].shape[1], args.input)
            probabilities = predict_arrays(model, arrays, args.batch_size)
            if output_format == "bed":
                bed_rows.extend(bed_lines(chunk, probabilities, args.min_probability))
            else:
                write_tsv_rows(stream, chunk, probabilities, threshold, positive_call, args.min_probability,
                               header=progress.done == 0)
            if truth is not None:
                seen_ids.update(chunk.ids)
                keep = [row for row, identifier in enumerate(chunk.ids) if identifier in truth]
                scored_ids.extend(chunk.ids[row] for row in keep)
                scores.extend(float(probabilities[row]) for row in keep)
            progress(len(chunk))
        if progress.done == 0:
            raise InputError(args.input, "no sequences to score")
        if output_format == "bed":
            bed_rows.sort(key=lambda row: row[0])
            stream.writelines(line for _, line in bed_rows)
        if truth is not None:
            unknown = [identifier for identifier in truth if identifier not in seen_ids]
            if unknown:  # raised inside the block, so no prediction file is left behind
                raise InputError(args.labels, f"{len(unknown)} labelled id(s) are not in the input: "
                                 + ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""))
    progress.close()
    report_stats(args.input, stats)

    if truth is not None:
        from ..metrics import METRIC_NAMES, evaluate

        labels = np.array([truth[identifier] for identifier in scored_ids], dtype=int)
        result = evaluate(labels, np.array(scores), threshold)
        logger.info("evaluation on %d labelled hairpins: %s", len(labels),
                    ", ".join(f"{name} {result[name]:.3f}" for name in METRIC_NAMES))
        if args.metrics:
            write_table(args.metrics, ["n", "threshold", *METRIC_NAMES],
                        [[len(labels), f"{threshold:.4f}", *(f"{result[name]:.4f}" for name in METRIC_NAMES)]])
    return 0


def check_bed_input(path: str) -> None:
    """BED output needs an NPZ whose annotations hold genomic coordinates (checked before scoring)."""
    from ..errors import InputError
    from ..io.npz import looks_like_npz

    if looks_like_npz(path):
        import zipfile

        with zipfile.ZipFile(path) as archive:
            names = {name[:-4] for name in archive.namelist()}
        if all(f"annotation_{key}" in names for key in ("contig", "start", "end", "strand")):
            return
    raise InputError(path, "BED output needs genomic coordinates: score the NPZ of mt-encode --annotation "
                     "(genome scan) or of BED/coordinate input, or write TSV")


def _annotation_columns(chunk) -> list[str]:
    from ..introns import ANNOTATION_COLUMNS

    return ([key for key in ANNOTATION_COLUMNS if key in chunk.annotations]
            + sorted(key for key in chunk.annotations if key not in ANNOTATION_COLUMNS))


def write_tsv_rows(stream, chunk, probabilities, threshold: float, positive_call: str, min_probability: float,
                   header: bool) -> None:
    """Prediction rows (id, length, probability, call, then any annotation columns of the input)."""
    columns = _annotation_columns(chunk)
    if header:
        stream.write("\t".join(["id", "length", "probability", "call", *columns]) + "\n")
    for row, (identifier, sequence, probability) in enumerate(zip(chunk.ids, chunk.sequences, probabilities)):
        if probability < min_probability:
            continue
        call = positive_call if probability >= threshold else "other"
        extra = "".join(f"\t{chunk.annotations[key][row]}" for key in columns)
        stream.write(f"{identifier}\t{len(sequence)}\t{probability:.4f}\t{call}{extra}\n")


def bed_lines(chunk, probabilities, min_probability: float) -> list[tuple[tuple, str]]:
    """``(sort key, BED6 line)``: name = id|subtype, score = probability x 1000, sorted later by
    contig (as text, like ``sort -k1,1 -k2,2n``), start, end, strand."""
    annotations = chunk.annotations
    rows = []
    for row, (identifier, probability) in enumerate(zip(chunk.ids, probabilities)):
        if probability < min_probability:
            continue
        contig, start, end = str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row])
        strand = str(annotations["strand"][row])
        name = f"{identifier}|{annotations['subtype'][row]}" if "subtype" in annotations else identifier
        score = min(1000, max(0, int(round(float(probability) * 1000))))
        rows.append(((contig, start, end, strand, name), f"{contig}\t{start}\t{end}\t{name}\t{score}\t{strand}\n"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
