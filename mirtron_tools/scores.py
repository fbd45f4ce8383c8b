"""Scored rows: what :mod:`mirtron_tools.scoring` yields and the writers of :mod:`mirtron_tools.io.predictions`,
:mod:`mirtron_tools.io.pieces` and the survey take (a data type below both, so io/ needs no scorer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:
    from .reads import Geometry, Reads


@dataclass
class Scored:
    """Scored rows: ids, lengths (nt), annotation columns and probabilities, in parallel."""

    ids: Sequence[str]
    lengths: Sequence[int] | np.ndarray
    annotations: Mapping[str, np.ndarray]
    probabilities: np.ndarray
    #: read evidence of the rows when a read-aware model scored them (None otherwise)
    evidence: ScoredEvidence | None = None

    def decoys(self) -> np.ndarray:
        """Boolean mask of the decoy rows of a genome scan (``decoy`` column; none elsewhere)."""
        if "decoy" not in self.annotations:
            return np.zeros(len(self.ids), dtype=bool)
        return np.asarray(self.annotations["decoy"]) == 1


@dataclass
class ScoredEvidence:
    """What a read-aware model saw of each row: the sequence model's probability (``prior``), the per-sample
    evidence ``(n, samples, len(EVIDENCE))``, the collapsed reads and the geometry they were judged on (kept
    for the permutation controls of the survey)."""

    samples: list[str]
    prior: np.ndarray
    values: np.ndarray
    reads: list[Reads]
    geometry: list[Geometry]

    def subset(self, rows: np.ndarray) -> "ScoredEvidence":
        return ScoredEvidence(self.samples, self.prior[rows], self.values[rows], [self.reads[row] for row in rows],
                              [self.geometry[row] for row in rows])
