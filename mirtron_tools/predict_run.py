"""mt-predict's run as a library call: score hairpins or a genome scan's candidates (with read evidence for
a read-aware model) and write the calls, the survey and an evaluation; or merge the scores of a scan's
pieces into the outputs of one whole run. :func:`predict` takes a :class:`PredictRequest` (what the
command's options say), raises :class:`~mirtron_tools.errors.MirtronError` on bad input, and prints nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .encoding import DEFAULT_MAX_LENGTH
from .progress import no_progress

logger = logging.getLogger("mirtron_tools.predict")


@dataclass
class PredictRequest:
    """What to score and write (mt-predict's options; see ``mt-predict --help``)."""

    inputs: list[str]
    output: str
    output_format: str = "tsv"
    model: str | None = None
    coverage: list[str] = field(default_factory=list)
    min_samples: int | None = None
    threshold: float | None = None
    prior: float | None = None
    min_probability: float = 0.0
    labels: str | None = None
    metrics: str | None = None
    known: str | None = None
    survey: str | None = None
    survey_plot: str | None = None
    batch_size: int = 256
    chunk_size: int = 4096
    max_length: int = DEFAULT_MAX_LENGTH
    skip_long: bool = False
    threads: int = 1
    sort: str = "position"
    chr_prefix: bool = False
    report: str | None = None
    report_top: int = 100
    report_reads: str | None = None
    #: the inputs in piece order (one input: itself)
    pieces: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The input that names the run in messages: the first piece, or the one input."""
        return self.pieces[0] if self.pieces else self.inputs[0]


def predict(request: PredictRequest, engine: Callable[[], None] = lambda: None, progress_factory=None) -> None:
    """Score ``request.inputs`` (one FASTA or NPZ, or the NPZs of every piece of one scan) or merge scores NPZs.

    Models are scored in numpy (:mod:`mirtron_tools.inference`); ``engine`` is called only when a model needs
    Keras after all (a layer the numpy scorer lacks, or ``MIRTRON_TOOLS_ENGINE=keras``: the command loads
    TensorFlow there);
    ``progress_factory()`` gives a callable counting scored hairpins, with ``close()``."""
    from .errors import InputError
    from .io.pieces import is_scores

    inputs = list(request.inputs)
    output_format = request.output_format
    pieces = [is_scores(path) for path in inputs]
    if any(pieces):
        if not all(pieces):
            raise InputError(inputs[pieces.index(False)], "is not a scores NPZ of mt-predict: merging takes only "
                             "the scores of a scan's pieces (mt-predict PIECE.npz -o PIECE.scores.npz)")
        _merge(request, inputs, output_format)
        return
    from .io.hairpins import sniff_hairpins

    for path in inputs:  # the first records of each input, before any model is read
        sniff_hairpins(path)
    request.pieces = _scan_pieces(request, inputs, output_format) if len(inputs) > 1 else inputs
    _score(request, output_format, engine, progress_factory or no_progress)



def _scan_pieces(request: PredictRequest, inputs: list[str], output_format: str) -> list[str]:
    """Several inputs to score: the NPZs of every piece of one genome scan, put in piece order (scored in
    one job as one whole run)."""
    from .errors import InputError
    from .io.npz import looks_like_npz
    from .io.pieces import encoded_scan_record
    from .pieces import order_pieces

    records = []
    for path in inputs:
        record = encoded_scan_record(path) if looks_like_npz(path) else None
        if record is None:
            raise InputError(path, "mt-predict scores one input, or the NPZs of every piece of one genome scan "
                             "(mt-encode --chunk/--plan), or merges the scores of such pieces; this is none of them")
        records.append(record)
    if output_format == "npz" or request.coverage:
        raise InputError(inputs[0], "several pieces are scored into one whole run's outputs: write TSV or BED, "
                         "without --coverage (score pieces one by one for a piece's scores or with coverage)")
    return [inputs[position] for position in order_pieces(records, inputs)]


def _check_piece_output(request: PredictRequest, output_format: str, scan_record: dict | None) -> None:
    """A scores NPZ (``-o PIECE.scores.npz``) is written for one piece of a genome scan, whole."""
    from .errors import InputError

    if output_format != "npz":
        return
    if scan_record is None:
        raise InputError(request.source, "has no genome-scan record: scores NPZs (-o x.npz) are written for the pieces "
                         "of a genome scan of this mt-encode (--genome --annotation); write TSV or BED")
    later = [option for option, value in (("--survey", request.survey), ("--survey-plot", request.survey_plot),
                                          ("--known", request.known), ("--labels", request.labels),
                                          ("--report", request.report),
                                          ("--min-probability", request.min_probability)) if value]
    if later:
        raise InputError(request.output, f"a piece's scores keep every candidate: give {', '.join(later)} when "
                         "merging the pieces (mt-predict PIECE.scores.npz ... -o calls.bed)")


def _score(request: PredictRequest, output_format: str, engine: Callable[[], None], progress_factory) -> None:
    from .calls import CallOutputs
    from .coverage import check_coverage_for_model
    from .errors import InputError
    from .inputs import check_supplied
    from .io.encoded import encoded_columns, encoded_ids
    from .io.fasta import HairpinStats
    from .io.hairpins import input_chunks
    from .io.npz import looks_like_npz
    from .io.pieces import encoded_scan_record
    from .io.reads import has_evidence
    from .scoring import ModelInputs, score_chunks
    from .selection import COORDINATE_COLUMNS, SCAN_COLUMNS, choose_model, read_scoring

    is_npz = looks_like_npz(request.source)
    columns = encoded_columns(request.source) if is_npz else set()
    scan = all(key in columns for key in SCAN_COLUMNS)
    scan_record = encoded_scan_record(request.source) if scan else None
    _check_piece_output(request, output_format, scan_record)
    if output_format in ("bed", "gff3") and not all(key in columns for key in COORDINATE_COLUMNS):
        raise InputError(request.source, f"{output_format.upper()} output needs genomic coordinates: score the NPZ "
                         "of mt-encode --annotation (genome scan) or of BED/coordinate input, or write TSV")
    if request.report and not is_npz:
        raise InputError(request.source, "--report draws the candidates' structures from an NPZ of mt-encode: "
                         "encode the FASTA first (mt-encode x.fa -o x.npz), then score the NPZ")
    for option, value in (("--survey", request.survey), ("--survey-plot", request.survey_plot), ("--known", request.known)):
        if value and not scan:
            raise InputError(request.source, f"{option} needs a genome-scan NPZ (mt-encode --genome --annotation)")
    if request.metrics and not request.labels:
        raise InputError(request.metrics, "--metrics needs --labels")
    with_reads = bool(request.coverage) and all(has_evidence(path) for path in request.coverage)
    model_path, manifest = choose_model(request.model, scan, with_reads, request.source)
    check_supplied(manifest, model_path.name, request.source, scan=scan, coverage=bool(request.coverage), reads=with_reads)
    reads = read_scoring(manifest, model_path.name, request.coverage, request.source, scan_record, request.min_samples)
    settings = _settings(request, output_format, scan)
    coverage = None
    if request.coverage and reads is None:
        from .io.coverage import read_coverage_files

        coverage = read_coverage_files(request.coverage)
        check_coverage_for_model(manifest, coverage, str(model_path), " ".join(request.coverage))
        if is_npz:  # FASTA input is checked chunk by chunk
            from .coverage import check_coverage_ids

            check_coverage_ids(encoded_ids(request.source), coverage, " ".join(request.coverage))
    settings.threshold = request.threshold if request.threshold is not None else float(manifest["threshold"])
    shift = None
    if request.prior is not None:  # checked before TensorFlow is imported
        from .prior import prior_shift

        shift = prior_shift(manifest, request.prior, str(model_path))
        if request.threshold is None:
            settings.threshold = shift.threshold(settings.threshold)
        logger.info("--prior %g: probabilities re-weighted from the model's prior %g; call threshold %.4f (a model "
                    "score of %.4f)", request.prior, shift.model_prior, settings.threshold,
                    shift.model_score(settings.threshold))
    settings.positive_call = manifest.get("positive_class", "positive")
    settings.model_name = model_path.name
    outputs = CallOutputs(settings, reads.model if reads is not None else None)  # reads --labels and --known

    from .inference import load_scorer
    from .prediction import LengthCheck

    model = load_scorer(model_path, manifest, engine, request.threads)  # numpy; Keras only for a layer it lacks
    logger.info("model %s (task %s, threshold %.3f)", model_path.name, manifest.get("task"), settings.threshold)
    if request.report:
        from functools import partial

        outputs.attention = partial(model_attention, model, ModelInputs(manifest, request.source, coverage,
                                                                         " ".join(request.coverage)),
                                    batch_size=request.batch_size)
    stats = HairpinStats()
    lengths = LengthCheck.from_manifest(manifest)
    progress = progress_factory()
    chunks = input_chunks(request.pieces, is_npz, request.chunk_size, request.max_length, request.skip_long, request.threads, stats)
    scored = score_chunks(model, ModelInputs(manifest, request.source, coverage, " ".join(request.coverage)), chunks,
                          request.batch_size, progress, shift.probabilities if shift is not None else None,
                          lambda chunk: lengths.add(chunk.lengths), reads)
    if output_format == "npz":
        from .io.model import file_sha256

        assert scan_record is not None
        _write_piece(request, scan_record, {"name": model_path.name, "sha256": file_sha256(model_path),
                                         "task": manifest.get("task"), "positive_class": settings.positive_call,
                                         "threshold": settings.threshold, "prior": request.prior,
                                         "reads": manifest.get("reads"), "min_samples": request.min_samples}, scored)
    else:
        outputs.write(scored, request.source)
    progress.close()
    stats.report(request.source)
    if warning := lengths.message(model_path.name):
        logger.warning("%s", warning)
    outputs.evaluate()


def _settings(request: PredictRequest, output_format: str, scan: bool):
    from .calls import CallSettings

    reads = request.report_reads
    if request.report and reads is None and len(request.coverage) == 1:
        from .io.reads import has_evidence

        reads = request.coverage[0] if has_evidence(request.coverage[0]) else None  # the reads that were scored
    return CallSettings(request.output, output_format, min_probability=request.min_probability, scan=scan,
                        labels=request.labels, metrics=request.metrics, known=request.known, survey=request.survey,
                        survey_plot=request.survey_plot, sort=request.sort, chr_prefix=request.chr_prefix,
                        report=request.report, report_top=request.report_top, report_reads=reads,
                        sources=list(request.pieces or request.inputs))


def _write_piece(request: PredictRequest, scan_record: dict, model: dict, scored) -> None:
    """A piece's scores NPZ: every candidate and decoy, with the scan's record and the model's."""
    from .io.atomic import atomic_outputs
    from .io.pieces import write_scores

    chunks = list(scored)
    with atomic_outputs() as group:
        rows = write_scores(request.output, scan_record, model, chunks, group)
    logger.info("wrote the scores of %d candidates (piece %d of %d) to %s", rows, *scan_record["piece"], request.output)


def _merge(request: PredictRequest, inputs: list[str], output_format: str) -> None:
    """Gather the scores of a scan's pieces into the outputs of one whole run (TensorFlow is not loaded)."""
    from .calls import CallOutputs
    from .errors import InputError
    from .io.pieces import read_scores
    from .pieces import order_pieces
    from .reads import ReadModel

    if output_format == "npz":
        raise InputError(request.output, "merged predictions are TSV or BED (the pieces' scores are already NPZ)")
    if request.report:
        raise InputError(request.report, "the pieces' scores hold no structures: give --report when scoring (mt-predict "
                         "PIECE.npz ... in one job, or mt-predict scan.npz -o calls.bed --report calls.html)")
    given = [option for option, value in (("--model", request.model), ("--coverage", request.coverage),
                                          ("--prior", request.prior), ("--min-samples", request.min_samples)) if value]
    if given:
        raise InputError(inputs[0], f"is already scored; {', '.join(given)} belong(s) to scoring the pieces")
    if request.metrics and not request.labels:
        raise InputError(request.metrics, "--metrics needs --labels")
    pieces = [read_scores(path) for path in inputs]
    order = order_pieces([{**scan, "model": {key: model.get(key) for key in ("sha256", "threshold", "prior",
                                                                                 "min_samples")}}
                          for scan, model, _ in pieces], inputs)
    model = pieces[0][1]
    settings = _settings(request, output_format, True)
    settings.threshold = request.threshold if request.threshold is not None else float(model["threshold"])
    settings.positive_call = str(model.get("positive_class", "positive"))
    read_model = (ReadModel.from_manifest(model["reads"], model.get("min_samples"))
                  if isinstance(model.get("reads"), dict) else None)
    outputs = CallOutputs(settings, read_model)
    logger.info("merging %d pieces scored by model %s (threshold %.3f)", len(inputs), model.get("name"),
                settings.threshold)
    outputs.write((pieces[position][2] for position in order), inputs[0])
    outputs.evaluate()


def model_attention(model, inputs, encoded, batch_size: int = 256
                    ) -> tuple[dict[str, np.ndarray] | None, str | None]:
    """Attention weights of the top candidates, ``(id -> (length,) weights, None)``, or ``(None, why
    not)`` for a model without an attention layer. ``inputs``: the run's
    :class:`mirtron_tools.scoring.ModelInputs`; ``encoded``: the candidates (an ``EncodedSet``)."""
    from .errors import ModelError
    try:
        _, weights = model.attention(inputs.arrays(encoded, inputs.extra(encoded)), batch_size)
    except ModelError as error:
        return None, (f"no attention strips: {error} (mt-attend --method mutagenesis explains hairpin models "
                      "position by position)")
    return dict(zip(encoded.ids, weights)), None
