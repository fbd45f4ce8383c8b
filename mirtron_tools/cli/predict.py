"""mt-predict: score hairpins (FASTA or mt-encode NPZ) with a bundled or trained model."""
from __future__ import annotations

import argparse
import logging
import os
from typing import Sequence

from . import common

logger = logging.getLogger("mirtron_tools.predict")

DESCRIPTION = """\
Score hairpins with a model: the bundled human mirtron model unless --model names another
bundled model or a .keras file from mt-train. FASTA input is folded on the fly in chunks, so
memory does not grow with the number of sequences."""

EPILOG = """\
output (TSV, input order):
  id, length, probability, call
      call = the model's positive class (e.g. 'mirtron') when
      probability >= threshold (the manifest's, or --threshold),
      'other' otherwise
  then the input NPZ's annotation columns, if any (genome scan: contig,
  start, end, strand, subtype, gene, transcript, intron_number, intron,
  splice_distance)
output (BED6, -o x.bed or --format bed; sorted by contig, start):
  contig, start, end, id|subtype, probability x 1000, strand

examples:
  mt-predict hairpins.fa -o calls.tsv
  mt-predict --model my.keras hairpins.npz -o - --labels truth.tsv \\
      --metrics eval.tsv
  mt-predict introns.npz -o novel.bed --min-probability 0.5"""


class ListModels(argparse.Action):
    """``--list-models``: like ``--version``, print and exit before the other arguments are checked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        from ..io.model import bundled_models
        from ..listing import model_listing

        sys.stdout.write(model_listing(bundled_models()))
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = common.base_parser("mt-predict", DESCRIPTION, EPILOG)
    parser.add_argument("input", metavar="FASTA|NPZ", nargs="+",
                        help="hairpins: FASTA (plain/gzip, '-' = stdin) or mt-encode NPZ; or the scores NPZs of "
                             "every piece of a genome scan (mt-predict PIECE.npz -o PIECE.scores.npz), merged into "
                             "the outputs of one whole run")
    parser.add_argument("-o", "--output", required=True, metavar="TSV|BED|NPZ", help="predictions ('-' = stdout)")
    parser.add_argument("--format", choices=("tsv", "bed", "npz"), default=None,
                        help="output format (default: bed when OUTPUT ends in .bed, npz when it ends in .npz, else "
                             "tsv); BED6 needs an NPZ with genomic coordinates (mt-encode --annotation or BED "
                             "input); npz: the scores of one piece of a genome scan, for merging")
    parser.add_argument("--min-probability", type=common.probability, default=0.0, metavar="P",
                        help="write only hairpins scored at least P (default: all)")
    parser.add_argument("-m", "--model", default=None, metavar="NAME|FILE",
                        help="bundled model name or .keras file (default: the bundled 'genome' model for a "
                             "genome-scan NPZ of mt-encode --annotation, the bundled 'human_mirtron' model "
                             "otherwise)")
    parser.add_argument("--list-models", action=ListModels,
                        help="print the bundled models (task, training data, date, threshold, benchmark metrics "
                             "from their manifests) and exit")
    parser.add_argument("--coverage", nargs="+", default=[], metavar="COV.npz",
                        help="small-RNA-seq reads from mt-coverage for every input hairpin (joined by id): scored "
                             "with the bundled read-aware model (genome_reads for a genome scan, "
                             "human_mirtron_reads for hairpins) unless --model names another; also the coverage "
                             "tracks of models trained with mt-train --coverage")
    parser.add_argument("--min-samples", type=common.positive_int, default=None, metavar="N",
                        help="read-aware models: reads count as evidence only for candidates with reads in at "
                             "least N samples (a consensus over samples; default: the model's, 1)")
    parser.add_argument("--threshold", type=common.probability, default=None,
                        help="call threshold (default: the one chosen on validation data, from the manifest; "
                             "with --prior it applies to the re-weighted probabilities)")
    parser.add_argument("--prior", type=common.fraction, default=None, metavar="P",
                        help="expected share of positives in the input (e.g. 0.01 for 1 pre-miRNA in 100 "
                             "hairpins): probabilities are re-weighted from the model's training prior by Bayes' "
                             "rule, and the call threshold keeps the posterior it meant at the training share "
                             "(default: the model's probabilities as they are)")
    scan = parser.add_argument_group("genome scan (an NPZ of mt-encode --genome --annotation)")
    scan.add_argument("--survey", metavar="TSV",
                      help="per score cut-off: candidates called, false discoveries expected (from the calibrated "
                           "model, and from decoys when the scan ran with --decoys) and, with --known, known loci "
                           "called")
    scan.add_argument("--survey-plot", metavar="PNG",
                      help="figure: score distributions of the candidates, the decoys and the known loci")
    scan.add_argument("--known", metavar="GFF3|BED",
                      help="known miRNA or mirtron loci of the same assembly (miRBase GFF3 or BED): counted in "
                           "the survey when a called candidate overlaps them")
    evaluation = parser.add_argument_group("evaluation")
    evaluation.add_argument("--labels", metavar="TSV", help="id<TAB>label: report AUC, AUPR, F1, MCC, ...")
    evaluation.add_argument("--metrics", metavar="TSV", help="write those metrics to a table as well")
    common.add_throughput(parser, chunk_size=4096)
    common.add_length_limit(parser)
    return parser


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    name = str(args.output).lower()
    return "bed" if name.endswith(".bed") else "npz" if name.endswith(".npz") else "tsv"


def execute(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..io.atomic import check_outputs
    from ..io.pieces import is_scores
    from ..io.text import check_input_file

    inputs = list(args.input)
    outputs = {"-o": args.output, "--metrics": args.metrics, "--survey": args.survey,
               "--survey-plot": args.survey_plot}
    output_format = _output_format(args)
    check_outputs(outputs, [*inputs, args.labels, args.known, *args.coverage,
                            args.model if args.model and os.path.exists(args.model) else None],
                  files_only={"--survey-plot": "a PNG figure", **({"-o": "an NPZ"} if output_format == "npz" else {})})
    for path in inputs:  # before TensorFlow is loaded
        check_input_file(path)
    pieces = [is_scores(path) for path in inputs]
    if any(pieces):
        if not all(pieces):
            raise InputError(inputs[pieces.index(False)], "is not a scores NPZ of mt-predict: merging takes only "
                             "the scores of a scan's pieces (mt-predict PIECE.npz -o PIECE.scores.npz)")
        return _execute_merge(args, inputs, output_format)
    args.pieces = _scan_pieces(args, inputs, output_format) if len(inputs) > 1 else inputs
    args.input = args.pieces[0]
    return _execute_scoring(args, output_format)


def _scan_pieces(args: argparse.Namespace, inputs: list[str], output_format: str) -> list[str]:
    """Several inputs to score: the NPZs of every piece of one genome scan, put in piece order (scored in
    one job as one whole run)."""
    from ..errors import InputError
    from ..io.npz import looks_like_npz
    from ..io.pieces import encoded_scan_record
    from ..pieces import order_pieces

    records = []
    for path in inputs:
        record = encoded_scan_record(path) if looks_like_npz(path) else None
        if record is None:
            raise InputError(path, "mt-predict scores one input, or the NPZs of every piece of one genome scan "
                             "(mt-encode --chunk/--plan), or merges the scores of such pieces; this is none of them")
        records.append(record)
    if output_format == "npz" or args.coverage:
        raise InputError(inputs[0], "several pieces are scored into one whole run's outputs: write TSV or BED, "
                         "without --coverage (score pieces one by one for a piece's scores or with coverage)")
    return [inputs[position] for position in order_pieces(records, inputs)]


def _check_piece_output(args: argparse.Namespace, output_format: str, scan_record: dict | None) -> None:
    """A scores NPZ (``-o PIECE.scores.npz``) is written for one piece of a genome scan, whole."""
    from ..errors import InputError

    if output_format != "npz":
        return
    if scan_record is None:
        raise InputError(args.input, "has no genome-scan record: scores NPZs (-o x.npz) are written for the pieces "
                         "of a genome scan of this mt-encode (--genome --annotation); write TSV or BED")
    later = [option for option, value in (("--survey", args.survey), ("--survey-plot", args.survey_plot),
                                          ("--known", args.known), ("--labels", args.labels),
                                          ("--min-probability", args.min_probability)) if value]
    if later:
        raise InputError(args.output, f"a piece's scores keep every candidate: give {', '.join(later)} when "
                         "merging the pieces (mt-predict PIECE.scores.npz ... -o calls.bed)")


def _execute_scoring(args: argparse.Namespace, output_format: str) -> int:
    from ..calls import CallOutputs
    from ..coverage import check_coverage_for_model
    from ..encoding import uses_context
    from ..errors import InputError
    from ..io.encoded import encoded_columns, encoded_ids
    from ..io.fasta import HairpinStats
    from ..io.hairpins import input_chunks
    from ..io.npz import looks_like_npz
    from ..io.pieces import encoded_scan_record
    from ..io.reads import has_evidence
    from ..scoring import ModelInputs, score_chunks
    from ..selection import COORDINATE_COLUMNS, SCAN_COLUMNS, choose_model, read_scoring

    is_npz = looks_like_npz(args.input)
    columns = encoded_columns(args.input) if is_npz else set()
    scan = all(key in columns for key in SCAN_COLUMNS)
    scan_record = encoded_scan_record(args.input) if scan else None
    _check_piece_output(args, output_format, scan_record)
    if output_format == "bed" and not all(key in columns for key in COORDINATE_COLUMNS):
        raise InputError(args.input, "BED output needs genomic coordinates: score the NPZ of mt-encode --annotation "
                         "(genome scan) or of BED/coordinate input, or write TSV")
    for option, value in (("--survey", args.survey), ("--survey-plot", args.survey_plot), ("--known", args.known)):
        if value and not scan:
            raise InputError(args.input, f"{option} needs a genome-scan NPZ (mt-encode --genome --annotation)")
    if args.metrics and not args.labels:
        raise InputError(args.metrics, "--metrics needs --labels")
    with_reads = bool(args.coverage) and all(has_evidence(path) for path in args.coverage)
    model_path, manifest = choose_model(args.model, scan, with_reads, args.input)
    reads = read_scoring(manifest, model_path.name, args.coverage, args.input, scan_record, args.min_samples)
    settings = _settings(args, output_format, scan)
    coverage = None
    if args.coverage and reads is None:
        from ..io.coverage import read_coverage_files

        coverage = read_coverage_files(args.coverage)
        check_coverage_for_model(manifest, coverage, str(model_path), " ".join(args.coverage))
        if is_npz:  # FASTA input is checked chunk by chunk
            from ..coverage import check_coverage_ids

            check_coverage_ids(encoded_ids(args.input), coverage, " ".join(args.coverage))
    elif reads is None:
        check_coverage_for_model(manifest, None, str(model_path), "")
    if uses_context(manifest) and not scan:
        raise InputError(args.input, f"model {model_path.name} reads where a candidate sits in its intron (intron "
                         "length, subtype, splice distance): score an NPZ of mt-encode --genome --annotation, or "
                         "give a hairpin model (--model human_mirtron)")
    settings.threshold = args.threshold if args.threshold is not None else float(manifest["threshold"])
    shift = None
    if args.prior is not None:  # checked before TensorFlow is imported
        from ..prior import prior_shift

        shift = prior_shift(manifest, args.prior, str(model_path))
        if args.threshold is None:
            settings.threshold = shift.threshold(settings.threshold)
        logger.info("--prior %g: probabilities re-weighted from the model's prior %g; call threshold %.4f (a model "
                    "score of %.4f)", args.prior, shift.model_prior, settings.threshold,
                    shift.model_score(settings.threshold))
    settings.positive_call = manifest.get("positive_class", "positive")
    outputs = CallOutputs(settings, reads.model if reads is not None else None)  # reads --labels and --known

    common.load_tensorflow(args.debug, args.threads)
    from ..io.model import load_model
    from ..prediction import LengthCheck, compiled

    model, manifest = load_model(model_path)
    logger.info("model %s (task %s, threshold %.3f)", model_path.name, manifest.get("task"), settings.threshold)
    stats = HairpinStats()
    lengths = LengthCheck.from_manifest(manifest)
    progress = common.Progress("scoring", None, args.quiet)
    chunks = input_chunks(args.pieces, is_npz, args.chunk_size, args.max_length, args.skip_long, args.threads, stats)
    scored = score_chunks(model, ModelInputs(manifest, args.input, coverage, " ".join(args.coverage)), chunks,
                          args.batch_size, progress, shift.probabilities if shift is not None else None,
                          lambda chunk: lengths.add(chunk.lengths), reads)
    if output_format == "npz":
        from ..io.model import file_sha256

        assert scan_record is not None
        _write_piece(args, scan_record, {"name": model_path.name, "sha256": file_sha256(model_path),
                                         "task": manifest.get("task"), "positive_class": settings.positive_call,
                                         "threshold": settings.threshold, "prior": args.prior,
                                         "reads": manifest.get("reads"), "min_samples": args.min_samples}, scored)
    else:
        outputs.write(scored, args.input)
    progress.close()
    logger.debug("tracing: %.2f s for the whole run (one trace per model)",
                 compiled(model, len(manifest.get("channels", []))).trace_seconds)
    common.report_stats(args.input, stats)
    if warning := lengths.message(model_path.name):
        logger.warning("%s", warning)
    outputs.evaluate()
    return 0


def _settings(args: argparse.Namespace, output_format: str, scan: bool):
    from ..calls import CallSettings

    return CallSettings(args.output, output_format, min_probability=args.min_probability, scan=scan,
                        labels=args.labels, metrics=args.metrics, known=args.known, survey=args.survey,
                        survey_plot=args.survey_plot)


def _write_piece(args: argparse.Namespace, scan_record: dict, model: dict, scored) -> None:
    """A piece's scores NPZ: every candidate and decoy, with the scan's record and the model's."""
    from ..io.atomic import atomic_outputs
    from ..io.pieces import write_scores

    chunks = list(scored)
    with atomic_outputs() as group:
        rows = write_scores(args.output, scan_record, model, chunks, group)
    logger.info("wrote the scores of %d candidates (piece %d of %d) to %s", rows, *scan_record["piece"], args.output)


def _execute_merge(args: argparse.Namespace, inputs: list[str], output_format: str) -> int:
    """Gather the scores of a scan's pieces into the outputs of one whole run (TensorFlow is not loaded)."""
    from ..calls import CallOutputs
    from ..errors import InputError
    from ..io.pieces import read_scores
    from ..pieces import order_pieces
    from ..reads import ReadModel

    if output_format == "npz":
        raise InputError(args.output, "merged predictions are TSV or BED (the pieces' scores are already NPZ)")
    given = [option for option, value in (("--model", args.model), ("--coverage", args.coverage),
                                          ("--prior", args.prior), ("--min-samples", args.min_samples)) if value]
    if given:
        raise InputError(inputs[0], f"is already scored; {', '.join(given)} belong(s) to scoring the pieces")
    if args.metrics and not args.labels:
        raise InputError(args.metrics, "--metrics needs --labels")
    pieces = [read_scores(path) for path in inputs]
    order = order_pieces([{**scan, "model": {key: model.get(key) for key in ("sha256", "threshold", "prior",
                                                                                 "min_samples")}}
                          for scan, model, _ in pieces], inputs)
    model = pieces[0][1]
    settings = _settings(args, output_format, True)
    settings.threshold = args.threshold if args.threshold is not None else float(model["threshold"])
    settings.positive_call = str(model.get("positive_class", "positive"))
    read_model = (ReadModel.from_manifest(model["reads"], model.get("min_samples"))
                  if isinstance(model.get("reads"), dict) else None)
    outputs = CallOutputs(settings, read_model)
    logger.info("merging %d pieces scored by model %s (threshold %.3f)", len(inputs), model.get("name"),
                settings.threshold)
    outputs.write((pieces[position][2] for position in order), inputs[0])
    outputs.evaluate()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
