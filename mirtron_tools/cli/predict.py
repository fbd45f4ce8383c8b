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
  with coordinates, last, 'locus' (1-based, as a genome browser's search box
  takes it: contig:start-end(strand))
output (BED9 with a track line, -o x.bed or --format bed; sorted by contig,
start, or by probability with --sort score):
  contig, start, end, name (host gene|subtype, or the id), score (rank:
  1000 = best, 500 = median), strand, start, end, colour (red: called,
  grey: other)
output (GFF3, -o x.gff3 or --format gff3): one pre_miRNA feature per
  candidate, score = probability, attributes ID, Name, call, probability,
  rank_score, color and the annotation columns
report (--report x.html): one self-contained page (opens offline): the
  survey, a sortable table of the top candidates and, per candidate, its
  structure with the splice sites marked, the model's attention (models with
  an attention layer) and its reads per sample (--report-reads)

examples:
  mt-predict hairpins.fa -o calls.tsv
  mt-predict --model my.keras hairpins.npz -o - --labels truth.tsv \\
      --metrics eval.tsv
  mt-predict introns.npz -o novel.bed --min-probability 0.5
  mt-predict chr19.npz -o chr19.bed --report chr19.html --chr-prefix"""


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
    parser.add_argument("-o", "--output", required=True, metavar="TSV|BED|GFF3|NPZ",
                        help="predictions ('-' = stdout)")
    parser.add_argument("--format", choices=("tsv", "bed", "gff3", "npz"), default=None,
                        help="output format (default: bed when OUTPUT ends in .bed, gff3 when it ends in .gff3 or "
                             ".gff, npz when it ends in .npz, else tsv); BED and GFF3 need an NPZ with genomic "
                             "coordinates (mt-encode --annotation or BED input); npz: the scores of one piece of a "
                             "genome scan, for merging")
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
    tracks = parser.add_argument_group("tracks (BED, GFF3)")
    tracks.add_argument("--sort", choices=SORT_ORDERS, default="position",
                        help="order of the track: by contig and start (default), or by probability, best first")
    tracks.add_argument("--chr-prefix", action="store_true",
                        help="contig names with 'chr' for the UCSC browser (19 -> chr19, MT -> chrM)")
    report = parser.add_argument_group("report")
    report.add_argument("--report", metavar="HTML",
                        help="a self-contained HTML page of the top candidates (structure, splice sites, attention, "
                             "reads) and the survey; needs an NPZ of mt-encode (given when scoring, not when merging "
                             "pieces' scores)")
    report.add_argument("--report-top", type=common.positive_int, default=DEFAULT_TOP, metavar="N",
                        help=f"candidates in the report (default: {DEFAULT_TOP})")
    report.add_argument("--report-reads", metavar="READS.npz",
                        help="the reads NPZ of mt-coverage for the scored candidates: each candidate's read stack "
                             "per sample in the report")
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


#: candidates in the report unless --report-top says otherwise (mirtron_tools.report.DEFAULT_TOP)
DEFAULT_TOP = 100
#: track orders (mirtron_tools.io.predictions.SORT_ORDERS; not imported, so that --help stays instant)
SORT_ORDERS = ("position", "score")


def _output_format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    name = str(args.output).lower()
    return ("bed" if name.endswith(".bed") else "gff3" if name.endswith((".gff3", ".gff")) else
            "npz" if name.endswith(".npz") else "tsv")


def execute(args: argparse.Namespace) -> int:
    from ..io.atomic import check_outputs
    from ..io.npz import refuse_sidecar_outputs
    from ..io.text import check_input_file
    from ..predict_run import PredictRequest, predict

    inputs = list(args.input)
    output_format = _output_format(args)
    outputs = {"-o": args.output, "--metrics": args.metrics, "--survey": args.survey,
               "--survey-plot": args.survey_plot, "--report": args.report}
    check_outputs(outputs, [*inputs, args.labels, args.known, *args.coverage, args.report_reads,
                            args.model if args.model and os.path.exists(args.model) else None],
                  files_only={"--survey-plot": "a PNG figure", "--report": "an HTML report",
                              **({"-o": "an NPZ"} if output_format == "npz" else {})})
    refuse_sidecar_outputs(outputs, inputs)
    for path in inputs:  # before any model is read
        check_input_file(path)
    request = PredictRequest(
        inputs, args.output, output_format, model=args.model, coverage=list(args.coverage),
        min_samples=args.min_samples, threshold=args.threshold, prior=args.prior,
        min_probability=args.min_probability, labels=args.labels, metrics=args.metrics, known=args.known,
        survey=args.survey, survey_plot=args.survey_plot, batch_size=args.batch_size, chunk_size=args.chunk_size,
        max_length=args.max_length, skip_long=args.skip_long, threads=args.threads, sort=args.sort,
        chr_prefix=args.chr_prefix, report=args.report, report_top=args.report_top, report_reads=args.report_reads)
    predict(request, engine=lambda: common.load_tensorflow(args.debug, args.threads),
            progress_factory=lambda: common.Progress("scoring", None, args.quiet))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return common.run(build_parser(), argv, execute)


if __name__ == "__main__":
    raise SystemExit(main())
