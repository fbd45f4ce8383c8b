"""Prediction outputs of mt-predict: TSV rows (input order) and BED6 rows (sorted at the end), from
:class:`Scored` rows (scored now, or the scores of a genome scan's pieces)."""
from __future__ import annotations

from typing import IO, Mapping, Sequence

import numpy as np

from ..scan.parameters import ANNOTATION_COLUMNS
from ..scores import Scored

#: annotation columns that describe how a row was made, not the candidate: never written
HIDDEN_COLUMNS = ("decoy",)
TSV_COLUMNS = ("id", "length", "probability", "call")


def annotation_columns(annotations: Mapping[str, np.ndarray]) -> list[str]:
    """The input's annotation columns in the documented order (BED order first), then any others sorted."""
    return ([key for key in ANNOTATION_COLUMNS if key in annotations and key not in HIDDEN_COLUMNS]
            + sorted(key for key in annotations if key not in ANNOTATION_COLUMNS and key not in HIDDEN_COLUMNS))


def write_tsv_header(stream: IO[str], columns: Sequence[str]) -> None:
    stream.write("\t".join([*TSV_COLUMNS, *columns]) + "\n")


def evidence_header(samples: Sequence[str]) -> list[str]:
    """The read columns of a read-aware model's TSV (docs/reads.md): the sequence model's probability, the
    samples with evidence, reads per sample, the pooled signature and the criteria failed."""
    from ..reads import EVIDENCE

    return ["sequence_probability", "samples_with_evidence", *(f"reads:{sample}" for sample in samples),
            *EVIDENCE, "failed"]


def evidence_fields(scored: Scored, rows: np.ndarray) -> list[str]:
    """The read columns of ``rows`` (tab-joined, each starting with a tab), :func:`evidence_header` order."""
    from ..reads import EVIDENCE_INDEX, SHARES, failed_criteria, pooled, samples_with_evidence

    evidence = scored.evidence
    assert evidence is not None
    values = evidence.values[rows]
    pool, samples, failed = pooled(values), samples_with_evidence(values), failed_criteria(values)
    shares = {EVIDENCE_INDEX[name] for name in SHARES}
    result = []
    for position, row in enumerate(rows):
        fields = [f"{float(evidence.prior[row]):.4f}", str(int(samples[position])),
                  *(str(int(value)) for value in values[position, :, EVIDENCE_INDEX["reads"]]),
                  *(f"{value:.2f}" if index in shares else str(int(value)) for index, value in enumerate(pool[position])),
                  failed[position] or "none"]
        result.append("".join(f"\t{field}" for field in fields))
    return result


def write_tsv_rows(stream: IO[str], scored: Scored, rows: np.ndarray, threshold: float, positive_call: str,
                   columns: Sequence[str]) -> None:
    """One row per index of ``rows``: id, length, probability (4 decimals), call, annotation columns."""
    annotations = scored.annotations
    reads = evidence_fields(scored, rows) if scored.evidence is not None else [""] * len(rows)
    for position, row in enumerate(rows):
        probability = float(scored.probabilities[row])
        call = positive_call if probability >= threshold else "other"
        extra = "".join(f"\t{annotations[key][row]}" for key in columns)
        stream.write(f"{scored.ids[row]}\t{int(scored.lengths[row])}\t{probability:.4f}\t{call}{extra}"
                     f"{reads[position]}\n")


def bed_rows(scored: Scored, rows: np.ndarray) -> list[tuple[tuple, str]]:
    """``(sort key, BED6 line)`` for each index of ``rows``: name = id|subtype, score = probability x 1000;
    sorted later by contig (as text, like ``sort -k1,1 -k2,2n``), start, end, strand."""
    annotations = scored.annotations
    result = []
    for row in rows:
        contig, start, end = str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row])
        strand = str(annotations["strand"][row])
        identifier = scored.ids[row]
        name = f"{identifier}|{annotations['subtype'][row]}" if "subtype" in annotations else identifier
        score = min(1000, max(0, int(round(float(scored.probabilities[row]) * 1000))))
        result.append(((contig, start, end, strand, name), f"{contig}\t{start}\t{end}\t{name}\t{score}\t{strand}\n"))
    return result


class PredictionWriter:
    """mt-predict's predictions: TSV rows as they come (input order), or BED6 rows sorted at the end.

    ``add`` takes the rows of a :class:`Scored` chunk to write (those of real candidates scored at least
    the minimum probability); ``finish`` writes what waits for the end."""

    def __init__(self, stream: IO[str], output_format: str, threshold: float, positive_call: str):
        self.stream, self.format, self.threshold, self.positive_call = stream, output_format, threshold, positive_call
        self.header_written = False
        self.bed: list[tuple[tuple, str]] = []

    def add(self, scored: Scored, rows: np.ndarray) -> None:
        if self.format == "bed":
            self.bed.extend(bed_rows(scored, rows))
            return
        columns = annotation_columns(scored.annotations)
        if not self.header_written:
            write_tsv_header(self.stream, [*columns, *(evidence_header(scored.evidence.samples)
                                                        if scored.evidence is not None else [])])
            self.header_written = True
        write_tsv_rows(self.stream, scored, rows, self.threshold, self.positive_call, columns)

    def finish(self) -> None:
        if self.format == "bed":
            self.bed.sort(key=lambda row: row[0])
            self.stream.writelines(line for _, line in self.bed)
