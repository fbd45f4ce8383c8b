"""Scoring hairpins with a loaded model, chunk by chunk: the one scorer of mt-predict and mt-attend.

A chunk is an :class:`~mirtron_tools.encoding.EncodedSet` (:func:`mirtron_tools.io.hairpins.input_chunks`
reads them); :class:`ModelInputs` turns it into the arrays the model reads (one-hot, free energy,
genome-scan context and coverage channels, as its manifest says) and :func:`score_chunks` yields
:class:`Scored` rows, which the writers of :mod:`mirtron_tools.io.predictions` and the survey take.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np

from .encoding import EncodedSet, model_inputs, uses_context, uses_energy
from .scores import Scored, ScoredEvidence

if TYPE_CHECKING:
    from .coverage import CoverageSet
    from .io.reads import ReadEvidence
    from .reads import ReadModel


@dataclass
class ReadScoring:
    """A read-aware model's read part applied chunk by chunk: the evidence of each row (joined by id;
    decoys get none) moves the sequence model's probability by its log-likelihood ratio."""

    model: ReadModel
    evidence: ReadEvidence
    source: str

    def apply(self, chunk: EncodedSet, probabilities: np.ndarray) -> tuple[np.ndarray, ScoredEvidence]:
        from .reads import geometries

        rows = self.evidence.subset(chunk.ids, self.source)
        values = rows.values
        if "decoy" in chunk.annotations:
            decoy = np.asarray(chunk.annotations["decoy"]) == 1
            values = np.where(decoy[:, None, None], 0.0, values).astype(np.float32)
        prior = np.asarray(probabilities, dtype=np.float64)
        scored = ScoredEvidence(rows.samples, prior, values, rows.reads, geometries(chunk))
        return self.model.combine(prior, values), scored


@dataclass
class ModelInputs:
    """How a model reads a chunk, from its manifest: the free-energy and context channels, and coverage
    tracks joined by id when the model was trained with coverage."""

    manifest: dict
    source: str
    coverage: CoverageSet | None = None
    coverage_source: str = ""
    energy: bool = field(init=False)
    context: bool = field(init=False)

    def __post_init__(self) -> None:
        self.energy, self.context = uses_energy(self.manifest), uses_context(self.manifest)

    def extra(self, chunk: EncodedSet) -> list[np.ndarray] | None:
        """The chunk's coverage channels (None without coverage)."""
        if self.coverage is None:
            return None
        from .coverage import coverage_channels

        return coverage_channels(chunk, self.coverage, self.coverage_source)

    def arrays(self, chunk: EncodedSet, extra: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
        """The chunk's model inputs, checked against the channels the model was trained on."""
        from .prediction import check_inputs

        arrays = model_inputs(chunk, extra, energy=self.energy, context=self.context)
        if arrays:
            check_inputs(self.manifest, arrays[0].shape[1], self.source)
        return arrays


def score_chunks(model, inputs: ModelInputs, chunks: Iterable[EncodedSet], batch_size: int = 256,
                 progress: Callable[[int], None] | None = None,
                 adjust: Callable[[np.ndarray], np.ndarray] | None = None,
                 on_chunk: Callable[[EncodedSet], None] | None = None,
                 reads: ReadScoring | None = None) -> Iterator[Scored]:
    """Probabilities of every chunk, in order; ``adjust`` re-weights them (``--prior``), ``on_chunk`` sees
    every chunk (e.g. a length check) and ``progress`` counts scored hairpins batch by batch; ``reads``
    (a read-aware model) moves the probabilities by each row's read evidence. ``model``: a
    :class:`~mirtron_tools.inference.Scorer` (:func:`~mirtron_tools.inference.load_scorer`) or a Keras model."""
    from .inference import Scorer
    from .prediction import predict_arrays

    for chunk in chunks:
        arrays = inputs.arrays(chunk, inputs.extra(chunk))
        probabilities = (model.predict(arrays, batch_size, progress) if isinstance(model, Scorer)
                         else predict_arrays(model, arrays, batch_size, progress))
        if adjust is not None:
            probabilities = adjust(probabilities)
        if on_chunk is not None:
            on_chunk(chunk)
        evidence = None
        if reads is not None:
            probabilities, evidence = reads.apply(chunk, probabilities)
        yield Scored(chunk.ids, chunk.lengths, chunk.annotations, probabilities, evidence)
