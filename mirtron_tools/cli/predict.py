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

        sys.stdout.write(model_listing(bundled_models()))
        parser.exit(0)


def _metrics_text(values: dict) -> str:
    from ..metrics import metrics_text

    return metrics_text(values, ("auc", "aupr", "f1", "mcc", "sensitivity", "specificity"))


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
        if isinstance(manifest.get("prior"), (int, float)):
            chosen_at = manifest.get("threshold_prior", manifest["prior"])
            lines.append(f"  prior:         {manifest['prior']:.4g} (threshold chosen at a share of {chosen_at:.4g} "
                         "positives; mt-predict --prior re-weights)")
        if isinstance(manifest.get("training_lengths"), dict):
            lines.append(f"  lengths:       {manifest['training_lengths'].get('min')}-"
                         f"{manifest['training_lengths'].get('max')} nt in training")
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
                        help="small-RNA-seq coverage from mt-coverage for every input hairpin (joined by id); "
                             "needed by, and only by, models trained with --coverage")
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


#: the bundled model that scores genome-scan NPZs by default
GENOME_MODEL = "genome"
#: arrays that mark an NPZ as a genome scan's (mt-encode --annotation)
SCAN_COLUMNS = ("annotation_splice_distance", "annotation_subtype")
COORDINATE_COLUMNS = tuple(f"annotation_{key}" for key in ("contig", "start", "end", "strand"))


def _choose_model(args: argparse.Namespace, scan: bool):
    """The model file and manifest: --model, else 'genome' for a genome scan, else the default model."""
    from ..io.model import bundled_models, read_manifest, resolve_model

    name = args.model
    if name is None and scan and GENOME_MODEL in bundled_models():
        name = GENOME_MODEL
        logger.info("genome-scan input: scoring with the bundled '%s' model, calibrated on real intron background "
                    "(--model human_mirtron scores the candidates as hairpins instead)", GENOME_MODEL)
    path = resolve_model(name)
    manifest = read_manifest(path)
    if manifest.get("input") == "genome_scan" and not scan:
        logger.warning("model %s was trained on genome-scan candidates (mt-encode --annotation); %s is not one, "
                       "so its probabilities are outside what the model was calibrated for", path.name, args.input)
    return path, manifest


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
    for path in inputs:  # before any model is read
        check_input_file(path)
    pieces = [is_scores(path) for path in inputs]
    if any(pieces):
        if not all(pieces):
            raise InputError(inputs[pieces.index(False)], "is not a scores NPZ of mt-predict: merging takes only "
                             "the scores of a scan's pieces (mt-predict PIECE.npz -o PIECE.scores.npz)")
        return _execute_merge(args, inputs, output_format)
    from ..io.hairpins import sniff_hairpins

    for path in inputs:
        sniff_hairpins(path)
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
    from ..errors import InputError
    from ..io.encoded import encoded_columns, encoded_ids
    from ..io.fasta import HairpinStats
    from ..io.hairpins import input_chunks
    from ..io.npz import looks_like_npz
    from ..io.pieces import encoded_scan_record
    from ..scoring import ModelInputs, score_chunks

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
    model_path, manifest = _choose_model(args, scan)
    outputs = _Outputs(args, output_format, scan)  # reads --labels and --known
    coverage = None
    if args.coverage:
        from ..io.coverage import read_coverage_files

        coverage = read_coverage_files(args.coverage)
    from ..coverage import check_coverage_for_model

    check_coverage_for_model(manifest, coverage, str(model_path), " ".join(args.coverage))
    if coverage is not None and is_npz:  # FASTA input is checked chunk by chunk
        from ..coverage import check_coverage_ids

        check_coverage_ids(encoded_ids(args.input), coverage, " ".join(args.coverage))
    from ..encoding import uses_context

    if uses_context(manifest) and not scan:
        raise InputError(args.input, f"model {model_path.name} reads where a candidate sits in its intron (intron "
                         "length, subtype, splice distance): score an NPZ of mt-encode --genome --annotation, or "
                         "give a hairpin model (--model human_mirtron)")
    threshold = args.threshold if args.threshold is not None else float(manifest["threshold"])
    shift = None
    if args.prior is not None:  # checked before TensorFlow is imported
        from ..prior import prior_shift

        shift = prior_shift(manifest, args.prior, str(model_path))
        if args.threshold is None:
            threshold = shift.threshold(threshold)
        logger.info("--prior %g: probabilities re-weighted from the model's prior %g; call threshold %.4f (a model "
                    "score of %.4f)", args.prior, shift.model_prior, threshold, shift.model_score(threshold))
    outputs.threshold, outputs.positive_call = threshold, manifest.get("positive_class", "positive")

    from ..inference import load_scorer
    from ..prediction import LengthCheck

    model = load_scorer(model_path, manifest, lambda: common.load_tensorflow(args.debug, args.threads), args.threads)
    logger.info("model %s (task %s, threshold %.3f)", model_path.name, manifest.get("task"), threshold)
    stats = HairpinStats()
    lengths = LengthCheck.from_manifest(manifest)
    progress = common.Progress("scoring", None, args.quiet)
    chunks = input_chunks(args.pieces, is_npz, args.chunk_size, args.max_length, args.skip_long, args.threads, stats)
    scored = score_chunks(model, ModelInputs(manifest, args.input, coverage, " ".join(args.coverage)), chunks,
                          args.batch_size, progress, shift.probabilities if shift is not None else None,
                          lambda chunk: lengths.add(chunk.lengths))
    if output_format == "npz":
        from ..io.model import file_sha256

        assert scan_record is not None
        _write_piece(args, scan_record, {"name": model_path.name, "sha256": file_sha256(model_path),
                                         "task": manifest.get("task"), "positive_class": outputs.positive_call,
                                         "threshold": threshold, "prior": args.prior}, scored)
    else:
        outputs.write(scored, args.input)
    progress.close()
    common.report_stats(args.input, stats)
    if warning := lengths.message(model_path.name):
        logger.warning("%s", warning)
    outputs.evaluate()
    return 0


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
    from ..errors import InputError
    from ..io.pieces import read_scores
    from ..pieces import order_pieces

    if output_format == "npz":
        raise InputError(args.output, "merged predictions are TSV or BED (the pieces' scores are already NPZ)")
    given = [option for option, value in (("--model", args.model), ("--coverage", args.coverage),
                                          ("--prior", args.prior)) if value]
    if given:
        raise InputError(inputs[0], f"is already scored; {', '.join(given)} belong(s) to scoring the pieces")
    if args.metrics and not args.labels:
        raise InputError(args.metrics, "--metrics needs --labels")
    pieces = [read_scores(path) for path in inputs]
    order = order_pieces([{**scan, "model": {key: model.get(key) for key in ("sha256", "threshold", "prior")}}
                          for scan, model, _ in pieces], inputs)
    model = pieces[0][1]
    outputs = _Outputs(args, output_format, True)
    outputs.threshold = args.threshold if args.threshold is not None else float(model["threshold"])
    outputs.positive_call = str(model.get("positive_class", "positive"))
    logger.info("merging %d pieces scored by model %s (threshold %.3f)", len(inputs), model.get("name"),
                outputs.threshold)
    outputs.write((pieces[position][2] for position in order), inputs[0])
    outputs.evaluate()
    return 0


class _Outputs:
    """What mt-predict writes from scored rows, the same whether they were scored now or are the scores
    of a scan's pieces: the predictions, the survey (genome scans) and the evaluation (--labels)."""

    def __init__(self, args: argparse.Namespace, output_format: str, scan: bool):
        from ..io.tsv import read_labels
        from ..metrics import LabelledScores
        from ..survey import SurveyTally

        self.args, self.format, self.scan = args, output_format, scan
        self.threshold, self.positive_call = 0.5, "positive"
        self.labelled = LabelledScores(read_labels(args.labels)) if args.labels else None
        known = None
        if args.known:
            from ..io.known import KnownIndex, read_known

            known = KnownIndex(read_known(args.known))
        self.tally = SurveyTally(known)

    def write(self, scored, source: str) -> None:
        """Every output of the run, from an iterable of :class:`~mirtron_tools.scoring.Scored` chunks: all
        written, or none (an error raised on the way leaves no file)."""
        import contextlib

        import numpy as np

        from ..errors import InputError
        from ..io.atomic import atomic_outputs, atomic_text
        from ..io.predictions import PredictionWriter

        with atomic_outputs() as group, contextlib.ExitStack() as files:
            writer = PredictionWriter(files.enter_context(atomic_text(self.args.output, group)), self.format,
                                      self.threshold, self.positive_call)
            for chunk in scored:
                decoy = chunk.decoys()
                real = np.flatnonzero(~decoy)
                self.tally.add(chunk.probabilities, decoy, chunk.annotations)
                writer.add(chunk, real[chunk.probabilities[real] >= self.args.min_probability])
                if self.labelled is not None:
                    self.labelled.add(chunk.ids, chunk.probabilities, real)
            if self.tally.count == 0:
                raise InputError(source, "no sequences to score")
            writer.finish()
            if self.labelled is not None and (unknown := self.labelled.unknown()):
                from ..io.text import shortened

                raise InputError(self.args.labels, f"{len(unknown)} labelled id(s) are not in the input: "
                                 + shortened(unknown))
            if self.scan:
                self._survey(group)

    def _survey(self, group) -> None:
        """The genome scan's survey: log line at the call threshold, then the table and figure if asked for."""
        from ..errors import InputError
        from ..io.tsv import write_table
        from ..survey import COLUMNS, describe_cutoff, format_row, survey_rows

        probabilities, decoys = self.tally.scores()
        hits = self.tally.hits()
        if hits is not None and not len(hits.rows):
            raise InputError(self.args.known, "no known locus overlaps any candidate: is it of the same assembly "
                             "and contig naming as the genome that was scanned?")
        rows = survey_rows(probabilities, decoys, hits, threshold=self.threshold)
        description = describe_cutoff(next(row for row in rows if row["cutoff"] == self.threshold))
        logger.info("%s", description)
        if self.args.survey:
            write_table(self.args.survey, COLUMNS, [format_row(row) for row in rows],
                        comments=[f"default call: {description}",
                                  f"{len(probabilities)} candidates" + (f", {len(decoys)} decoys" if decoys is not None
                                                                         else ", no decoys (mt-encode --decoys)")],
                        group=group)
        if self.args.survey_plot:
            from ..plots import save_figure, survey_figure

            save_figure(survey_figure(probabilities, decoys, self.tally.known_scores(), self.threshold),
                        group.path(self.args.survey_plot, suffix=".png"))

    def evaluate(self) -> None:
        if self.labelled is None:
            return
        from ..io.tsv import write_table
        from ..metrics import METRIC_NAMES, metrics_text

        count, result = self.labelled.evaluate(self.threshold)
        logger.info("evaluation on %d labelled hairpins: %s", count, metrics_text(result))
        if self.args.metrics:
            write_table(self.args.metrics, ["n", "threshold", *METRIC_NAMES],
                        [[count, f"{self.threshold:.4f}", *(f"{result[name]:.4f}" for name in METRIC_NAMES)]])


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
