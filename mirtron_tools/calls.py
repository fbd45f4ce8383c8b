"""What mt-predict writes from scored rows: the predictions, a genome scan's survey and an evaluation.

The same whether the rows were scored now or are the scores of a scan's pieces being merged, so that a
merge writes exactly what one whole run writes. Library code: takes paths and settings, no argv.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Iterable

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


class CallOutputs:
    """Writes every output of a run from :class:`~mirtron_tools.scoring.Scored` chunks (reads ``labels`` and
    ``known`` when made). ``read_model``: the read part of a read-aware model, for the survey's permutation
    controls."""

    def __init__(self, settings: CallSettings, read_model=None):
        from .io.tsv import read_labels
        from .metrics import LabelledScores
        from .survey import SurveyTally

        self.settings, self.read_model = settings, read_model
        self.labelled = LabelledScores(read_labels(settings.labels)) if settings.labels else None
        known = None
        if settings.known:
            from .io.known import KnownIndex, read_known

            known = KnownIndex(read_known(settings.known))
        self.tally = SurveyTally(known)

    def write(self, scored: Iterable[Scored], source: str) -> None:
        """Every output of the run: all written, or none (an error raised on the way leaves no file)."""
        from .io.atomic import atomic_outputs, atomic_text
        from .io.predictions import PredictionWriter

        settings = self.settings
        with atomic_outputs() as group, contextlib.ExitStack() as files:
            writer = PredictionWriter(files.enter_context(atomic_text(settings.output, group)),
                                      settings.output_format, settings.threshold, settings.positive_call)
            for chunk in scored:
                decoy = chunk.decoys()
                real = np.flatnonzero(~decoy)
                self.tally.add(chunk.probabilities, decoy, chunk.annotations, chunk.evidence)
                writer.add(chunk, real[chunk.probabilities[real] >= settings.min_probability])
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
        logger.info("wrote %s", ", ".join(path for path in (settings.output, settings.survey, settings.survey_plot)
                                          if path and path != "-") or "the predictions to standard output")

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
        if settings.survey_plot:
            from .plots import save_figure, survey_figure

            save_figure(survey_figure(probabilities, decoys, self.tally.known_scores(), settings.threshold),
                        group.path(settings.survey_plot, suffix=".png"))

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
