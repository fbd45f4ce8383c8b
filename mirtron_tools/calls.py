"""What mt-predict writes from scored rows: the predictions, a genome scan's survey and an evaluation.

The same whether the rows were scored now or are the scores of a scan's pieces being merged, so that a
merge writes exactly what one whole run writes. Library code: takes paths and settings, no argv.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .errors import InputError
from .scoring import Scored

logger = logging.getLogger("mirtron_tools.predict")


@dataclass
class CallSettings:
    """Where and how the calls are written (paths may be None: not written)."""

    output: str
    output_format: str = "tsv"
    threshold: float = 0.5
    positive_call: str = "positive"
    min_probability: float = 0.0
    scan: bool = False
    labels: str | None = None
    metrics: str | None = None
    known: str | None = None
    survey: str | None = None
    survey_plot: str | None = None
    sort: str = "position"
    chr_prefix: bool = False
    report: str | None = None
    report_top: int = 100
    report_reads: str | None = None
    #: the inputs the rows come from (the report reads the top candidates' structures from them)
    sources: list[str] = field(default_factory=list)
    model_name: str = ""


class CallOutputs:
    """Writes every output of a run from :class:`~mirtron_tools.scoring.Scored` chunks (reads ``labels`` and
    ``known`` when made). ``read_model``: the read part of a read-aware model, for the survey's permutation
    controls."""

    def __init__(self, settings: CallSettings, read_model=None):
        from .io.tsv import read_labels
        from .metrics import LabelledScores
        from .report import TopCandidates
        from .survey import SurveyTally

        self.settings, self.read_model = settings, read_model
        self.top = TopCandidates(settings.report_top) if settings.report else None
        self.attention: Callable | None = None  # EncodedSet -> (weights by id, note): the report's strips
        self.survey_records: list[dict] = []
        self.survey_png: bytes | None = None
        self.summary = ""
        self.labelled = LabelledScores(read_labels(settings.labels)) if settings.labels else None
        known = None
        if settings.known:
            from .io.known import KnownIndex, read_known

            known = KnownIndex(read_known(settings.known))
        self.tally = SurveyTally(known)

    def write(self, scored: Iterable[Scored], source: str) -> None:
        """Every output of the run: all written, or none (an error raised on the way leaves no file)."""
        from .io.atomic import atomic_outputs, atomic_text
        from .io.predictions import PredictionWriter, TrackOptions

        settings = self.settings
        track = TrackOptions(sort=settings.sort, chr_prefix=settings.chr_prefix)
        with atomic_outputs() as group, contextlib.ExitStack() as files:
            writer = PredictionWriter(files.enter_context(atomic_text(settings.output, group)),
                                      settings.output_format, settings.threshold, settings.positive_call, track)
            for chunk in scored:
                decoy = chunk.decoys()
                real = np.flatnonzero(~decoy)
                self.tally.add(chunk.probabilities, decoy, chunk.annotations, chunk.evidence)
                writer.add(chunk, real[chunk.probabilities[real] >= settings.min_probability])
                if self.top is not None:
                    self.top.add(chunk, real)
                if self.labelled is not None:
                    self.labelled.add(chunk.ids, chunk.probabilities, real)
            if self.tally.count == 0:
                raise InputError(source, "no sequences to score")
            writer.finish()
            if self.labelled is not None and (unknown := self.labelled.unknown()):
                from .io.text import shortened

                raise InputError(str(settings.labels), f"{len(unknown)} labelled id(s) are not in the input: "
                                 + shortened(unknown))
            if settings.scan:
                self._survey(group)
            if settings.report:
                self._report(group)
        written = [f"{what} {path}" for what, path in (
            ("predictions", settings.output), ("survey", settings.survey), ("survey figure", settings.survey_plot),
            ("report", settings.report)) if path and path != "-"]
        if written:
            logger.info("wrote %s", ", ".join(written))

    def _report(self, group) -> None:
        import time

        from .io.report import write_candidate_report

        settings = self.settings
        started = time.perf_counter()
        probabilities, decoys = self.tally.scores()
        assert self.top is not None and settings.report is not None
        shown = write_candidate_report(
            settings.report, group, sources=settings.sources, top=self.top, probabilities=probabilities,
            decoys=decoys, threshold=settings.threshold, positive_call=settings.positive_call,
            model=settings.model_name, survey_records=self.survey_records, survey_png=self.survey_png,
            known_index=self.tally.known, reads_path=settings.report_reads, attention=self.attention,
            summary=self.summary)
        logger.info("report: the top %d candidates in %.1f s", shown, time.perf_counter() - started)

    def _survey(self, group) -> None:
        """The genome scan's survey: log line at the call threshold, then the table and figure if asked for."""
        from .io.tsv import write_table
        from .survey import describe_cutoff, format_row, survey_columns, survey_cutoffs, survey_rows

        settings = self.settings
        probabilities, decoys = self.tally.scores()
        hits = self.tally.hits()
        if hits is not None and not len(hits.rows):
            raise InputError(str(settings.known), "no known locus overlaps any candidate: is it of the same "
                             "assembly and contig naming as the genome that was scanned?")
        permuted = self.tally.permuted(self.read_model, survey_cutoffs(threshold=settings.threshold))
        rows = survey_rows(probabilities, decoys, hits, threshold=settings.threshold, permuted=permuted)
        description = describe_cutoff(next(row for row in rows if row["cutoff"] == settings.threshold))
        logger.info("%s", description)
        self.survey_records, self.summary = rows, description
        if settings.survey:
            comments = [f"default call: {description}",
                        f"{len(probabilities)} candidates" + (f", {len(decoys)} decoys" if decoys is not None
                                                               else ", no decoys (mt-encode --decoys)")]
            if permuted is not None:
                from .survey import PERMUTATIONS

                comments.append(f"read signatures permuted across candidates {PERMUTATIONS} times (seed 1): "
                                "expected_false_permuted is their mean, _sd their standard deviation")
            write_table(settings.survey, survey_columns(rows), [format_row(row) for row in rows], comments=comments,
                        group=group)
        if settings.survey_plot or settings.report:
            from .plots import close_figure, figure_png, save_figure, survey_figure

            figure = survey_figure(probabilities, decoys, self.tally.known_scores(), settings.threshold,
                                   hits.total if hits is not None else None)
            if settings.report:
                self.survey_png = figure_png(figure)
            if settings.survey_plot:
                save_figure(figure, group.path(settings.survey_plot, suffix=".png"))
            else:
                close_figure(figure)

    def evaluate(self) -> None:
        """With labels: the metrics at the threshold, logged and (``metrics``) written."""
        if self.labelled is None:
            return
        from .io.tsv import write_table
        from .metrics import METRIC_NAMES, metrics_text

        count, result = self.labelled.evaluate(self.settings.threshold)
        logger.info("evaluation on %d labelled hairpins: %s", count, metrics_text(result))
        if self.settings.metrics:
            write_table(self.settings.metrics, ["n", "threshold", *METRIC_NAMES],
                        [[count, f"{self.settings.threshold:.4f}",
                          *(f"{result[name]:.4f}" for name in METRIC_NAMES)]])
            if self.settings.metrics != "-":
                logger.info("wrote metrics %s", self.settings.metrics)
