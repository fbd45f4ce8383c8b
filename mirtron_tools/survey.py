"""The survey of a genome scan: per score cut-off, candidates called and the false discoveries to expect.

In the spirit of miRDeep2's survey table (Friedländer et al. 2012), which weighs the candidates that
pass each score cut-off against those that pass it when the signal is permuted. Two estimates of the
false calls at a cut-off ``c`` are given side by side (pure numpy, no file access):

* **model**: the sum of ``1 - p`` over the candidates called. The ``genome`` model's probability is
  calibrated on held-out real intron background at the genome-scale prior written in its manifest,
  so this is the number of calls expected not to be known-mirtron-like. Known mirtrons are an
  incomplete truth, so it counts unknown mirtrons as false too: an upper bound in that sense.
* **decoys** (when the scan was run with ``mt-encode --decoys``): the number of decoy candidates
  called, scaled by ``candidates / decoys`` (one decoy window per real window, dinucleotides and
  splice-site ends kept, cut by the same rule and scored by the same model). Shuffled windows fold
  less well than real introns, so decoys estimate only the chance part of the false calls: a lower
  bound, to read beside the model's.

With known loci (``mt-predict --known``), the table also counts the known loci that some called
candidate overlaps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: score cut-offs of the table (the model's call threshold is added to them)
CUTOFFS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
COLUMNS = ("cutoff", "called", "called_share", "expected_false_model", "fdr_model", "decoys_called",
           "expected_false_decoys", "fdr_decoys", "known_called", "known_total")
#: with a read-aware model: the label-free estimate from read signatures permuted across candidates
PERMUTED_COLUMNS = ("expected_false_permuted", "expected_false_permuted_sd", "fdr_permuted")
#: permutations of the read signatures (seeded, so a run and its merged pieces agree)
PERMUTATIONS = 20


@dataclass
class KnownHits:
    """Which candidates overlap which known loci: ``rows`` (candidate index) and ``loci`` (locus index)
    in parallel; ``total`` = known loci on the scanned contigs."""

    rows: np.ndarray
    loci: np.ndarray
    total: int


def survey_cutoffs(cutoffs: tuple[float, ...] = CUTOFFS, threshold: float | None = None) -> list[float]:
    return sorted(set(cutoffs) | ({float(threshold)} if threshold is not None else set()))


def survey_columns(rows: list[dict]) -> tuple[str, ...]:
    """The table's columns: :data:`COLUMNS`, then :data:`PERMUTED_COLUMNS` when the rows have them."""
    return COLUMNS + (PERMUTED_COLUMNS if rows and PERMUTED_COLUMNS[0] in rows[0] else ())


def survey_rows(probabilities: np.ndarray, decoys: np.ndarray | None = None, known: KnownHits | None = None,
                cutoffs: tuple[float, ...] = CUTOFFS, threshold: float | None = None,
                permuted: tuple[np.ndarray, np.ndarray] | None = None) -> list[dict]:
    """One record per cut-off (ascending; ``threshold`` included): :data:`COLUMNS` as keys.

    probabilities: ``(n,)`` of the real candidates; decoys: ``(m,)`` of the decoy candidates or None.
    FDRs are ``expected false / called`` (0 when nothing is called), capped at 1. ``permuted``: the mean
    and standard deviation of the candidates called at each cut-off (in :func:`survey_cutoffs` order) when
    read signatures are permuted (:func:`mirtron_tools.reads.permuted_scores`).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    values = survey_cutoffs(cutoffs, threshold)
    scale = len(probabilities) / len(decoys) if decoys is not None and len(decoys) else 0.0
    rows: list[dict] = []
    for cutoff in values:
        called = probabilities >= cutoff
        count = int(called.sum())
        expected = float(np.sum(1.0 - probabilities[called]))
        record: dict = {"cutoff": cutoff, "called": count,
                        "called_share": count / len(probabilities) if len(probabilities) else 0.0,
                        "expected_false_model": expected, "fdr_model": min(1.0, expected / count) if count else 0.0}
        if decoys is not None:
            passing = int(np.sum(np.asarray(decoys) >= cutoff))
            record.update(decoys_called=passing, expected_false_decoys=passing * scale,
                          fdr_decoys=min(1.0, passing * scale / count) if count else 0.0)
        if known is not None:
            hit = probabilities[known.rows] >= cutoff if len(known.rows) else np.zeros(0, dtype=bool)
            record.update(known_called=int(len(np.unique(known.loci[hit]))), known_total=known.total)
        if permuted is not None:
            mean, spread = float(permuted[0][len(rows)]), float(permuted[1][len(rows)])
            record.update(expected_false_permuted=mean, expected_false_permuted_sd=spread,
                          fdr_permuted=min(1.0, mean / count) if count else 0.0)
        rows.append(record)
    return rows


def format_row(record: dict) -> list[str]:
    """A survey record as TSV fields in :data:`COLUMNS` order (``NA`` where an estimate is not available)."""
    formats = {"cutoff": "{:.4f}", "called_share": "{:.4f}", "expected_false_model": "{:.1f}", "fdr_model": "{:.3f}",
               "expected_false_decoys": "{:.1f}", "fdr_decoys": "{:.3f}", "expected_false_permuted": "{:.1f}",
               "expected_false_permuted_sd": "{:.1f}", "fdr_permuted": "{:.3f}"}
    return [formats.get(column, "{}").format(record[column]) if column in record else "NA"
            for column in survey_columns([record])]


def describe_cutoff(record: dict) -> str:
    """One line for the log and the table header: calls at a cut-off and their estimated FDR."""
    text = (f"{record['called']} candidates called ({100 * record['called_share']:.2f} %) at probability >= "
            f"{record['cutoff']:.4f}; estimated false discovery rate {record['fdr_model']:.2f} (model")
    if "fdr_decoys" in record:
        text += f"), {record['fdr_decoys']:.2f} (decoys"
    if "fdr_permuted" in record:
        text += f"), {record['fdr_permuted']:.2f} (read signatures permuted"
    text += ")"
    if "known_called" in record:
        text += f"; {record['known_called']} of {record['known_total']} known loci called"
    return text


class SurveyTally:
    """The scores a survey needs, gathered chunk by chunk: real candidates', decoys' and which real
    candidates overlap known loci (``known``: a :class:`mirtron_tools.io.known.KnownIndex` or None)."""

    def __init__(self, known=None) -> None:
        self.known = known
        self.real: list[np.ndarray] = []
        self.decoys: list[np.ndarray] = []
        self.hit_rows: list[int] = []
        self.hit_loci: list[int] = []
        self.evidence: list = []  # ScoredEvidence of the real candidates, chunk by chunk
        self.count = 0  # real candidates so far

    def add(self, probabilities: np.ndarray, decoy: np.ndarray, annotations, evidence=None) -> None:
        real = np.flatnonzero(~decoy)
        if evidence is not None:
            self.evidence.append(evidence.subset(real))
        if decoy.any():
            self.decoys.append(probabilities[decoy])
        if self.known is not None:
            for position, row in enumerate(real):  # rows count from 0 over the real candidates of the run
                for locus in self.known.overlaps(str(annotations["contig"][row]), int(annotations["start"][row]),
                                                 int(annotations["end"][row]), str(annotations["strand"][row])):
                    self.hit_rows.append(self.count + position)
                    self.hit_loci.append(locus)
        self.real.append(probabilities[real])
        self.count += len(real)

    def scores(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Real candidates' and decoys' probabilities (None when the scan had no decoys)."""
        return (np.concatenate(self.real) if self.real else np.zeros(0),
                np.concatenate(self.decoys) if self.decoys else None)

    def permuted(self, model, cutoffs: list[float], permutations: int = PERMUTATIONS,
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean and spread of the real candidates called at each cut-off when the read signatures are
        permuted across candidates (``model``: the :class:`~mirtron_tools.reads.ReadModel`; None without
        read evidence)."""
        if not self.evidence or model is None:
            return None
        from .reads import permutation_false_calls, permuted_scores

        prior = np.concatenate([part.prior for part in self.evidence])
        reads = [item for part in self.evidence for item in part.reads]
        geometry = [item for part in self.evidence for item in part.geometry]
        scores = permuted_scores(model, prior, reads, geometry, len(self.evidence[0].samples), permutations, seed)
        return permutation_false_calls(scores, cutoffs)

    def hits(self) -> KnownHits | None:
        if self.known is None:
            return None
        return KnownHits(np.array(self.hit_rows, dtype=np.int64), np.array(self.hit_loci, dtype=np.int64),
                         self.known.total_on_seen_contigs())

    def known_scores(self) -> np.ndarray | None:
        """Each known locus's score: its best-scored overlapping candidate."""
        hits = self.hits()
        if hits is None:
            return None
        probabilities, _ = self.scores()
        best: dict[int, float] = {}
        for row, locus in zip(hits.rows, hits.loci):
            best[int(locus)] = max(best.get(int(locus), 0.0), float(probabilities[row]))
        return np.array(list(best.values()))
