"""Scored rows: what :mod:`mirtron_tools.scoring` yields and the writers of :mod:`mirtron_tools.io.predictions`,
:mod:`mirtron_tools.io.pieces` and the survey take (a data type below both, so io/ needs no scorer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np


@dataclass
class Scored:
    """Scored rows: ids, lengths (nt), annotation columns and probabilities, in parallel."""

    ids: Sequence[str]
    lengths: Sequence[int] | np.ndarray
    annotations: Mapping[str, np.ndarray]
    probabilities: np.ndarray

    def decoys(self) -> np.ndarray:
        """Boolean mask of the decoy rows of a genome scan (``decoy`` column; none elsewhere)."""
        if "decoy" not in self.annotations:
            return np.zeros(len(self.ids), dtype=bool)
        return np.asarray(self.annotations["decoy"]) == 1
