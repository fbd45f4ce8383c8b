"""Prediction outputs of mt-predict: TSV rows (input order), and genome-browser tracks (BED9 with a track
line, or GFF3) written at the end, from :class:`Scored` rows (scored now, or the scores of a genome scan's
pieces).

Tracks (see docs/genome-scan.md):

* **name**: the host gene and the subtype (``MYGENE|5'-tailed``) for genome-scan candidates, the id
  otherwise; a name that repeats gets ``#2``, ``#3``, ... in position order (names stay unique, so the
  BED can be encoded again: ``mt-encode calls.bed --genome ...``); the id and the 1-based locus are in
  the TSV (``locus`` column) and in GFF3's attributes.
* **score** (BED): the candidate's rank among the n rows of the file by probability, as
  ``round(1000 * (1 - (rank - 1) / n))`` (ties share the better rank): the best candidate scores 1000,
  the median about 500, so a browser's score shading uses the whole range. The probability itself is
  in the TSV and is GFF3's score.
* **colour** (``itemRgb``, GFF3 ``color``): :data:`CALLED_RGB` for the model's call, :data:`OTHER_RGB`
  for the rest.
* **order**: by contig (as text, like ``sort -k1,1 -k2,2n``), start, end, strand; or by probability,
  best first (``sort="score"``).
* **contig names**: as in the genome, or with ``chr`` added for UCSC (``chr_prefix``: ``19`` ->
  ``chr19``, ``MT`` -> ``chrM``; names that start with ``chr`` are kept).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Mapping, Sequence
from urllib.parse import quote

import numpy as np

from ..scan.parameters import ANNOTATION_COLUMNS
from ..scores import Scored

#: annotation columns that describe how a row was made, not the candidate: never written
HIDDEN_COLUMNS = ("decoy",)
TSV_COLUMNS = ("id", "length", "probability", "call")
COORDINATES = ("contig", "start", "end", "strand")
#: the 1-based locus column of the TSV, written when the rows have coordinates
LOCUS_COLUMN = "locus"
#: track formats (written at the end, sorted)
TRACK_FORMATS = ("bed", "gff3")
SORT_ORDERS = ("position", "score")
CALLED_RGB = (200, 30, 30)
OTHER_RGB = (150, 150, 150)
#: GFF3 feature type of a candidate (Sequence Ontology SO:0001244; a candidate, called or not)
GFF3_TYPE = "pre_miRNA"
GFF3_SOURCE = "mirtron_tools"
#: GFF3 attribute values: these characters are percent-encoded (GFF3 specification, column 9)
_GFF3_RESERVED = ";=&,\t\n\r%"


def annotation_columns(annotations: Mapping[str, np.ndarray]) -> list[str]:
    """The input's annotation columns in the documented order (BED order first), then any others sorted."""
    return ([key for key in ANNOTATION_COLUMNS if key in annotations and key not in HIDDEN_COLUMNS]
            + sorted(key for key in annotations if key not in ANNOTATION_COLUMNS and key not in HIDDEN_COLUMNS))


def has_coordinates(annotations: Mapping[str, np.ndarray]) -> bool:
    return all(key in annotations for key in COORDINATES)


def locus(contig: str, start: int, end: int, strand: str) -> str:
    """The 1-based, end-inclusive locus a genome browser's search box takes: ``19:66134-66214(-)`` for
    the BED interval ``19 66133 66214 -``."""
    return f"{contig}:{start + 1}-{end}({strand})"


def ucsc_contig(name: str) -> str:
    """``chr`` added to a contig name for UCSC (``19`` -> ``chr19``, ``MT`` -> ``chrM``); ``chr...`` kept."""
    if name.lower().startswith("chr"):
        return name
    return "chrM" if name.upper() in ("M", "MT") else f"chr{name}"


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


def tsv_columns(annotations: Mapping[str, np.ndarray]) -> list[str]:
    """The TSV's columns after :data:`TSV_COLUMNS`: the annotation columns, then ``locus`` when there are
    coordinates (last, so that the columns of earlier versions keep their places)."""
    return annotation_columns(annotations) + ([LOCUS_COLUMN] if has_coordinates(annotations) else [])


def write_tsv_rows(stream: IO[str], scored: Scored, rows: np.ndarray, threshold: float, positive_call: str,
                   columns: Sequence[str]) -> None:
    """One row per index of ``rows``: id, length, probability (4 decimals), call, then ``columns``
    (``locus`` or annotation columns), then a read-aware model's read columns (:func:`evidence_header`)."""
    annotations = scored.annotations
    reads = evidence_fields(scored, rows) if scored.evidence is not None else [""] * len(rows)
    for position, row in enumerate(rows):
        probability = float(scored.probabilities[row])
        call = positive_call if probability >= threshold else "other"
        extra = "".join(f"\t{_locus_of(annotations, row) if key == LOCUS_COLUMN else annotations[key][row]}"
                        for key in columns)
        stream.write(f"{scored.ids[row]}\t{int(scored.lengths[row])}\t{probability:.4f}\t{call}{extra}"
                     f"{reads[position]}\n")


def _locus_of(annotations: Mapping[str, np.ndarray], row: int) -> str:
    return locus(str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row]),
                 str(annotations["strand"][row]))


@dataclass(frozen=True)
class TrackRow:
    """One candidate of a track: BED coordinates (0-based, end-exclusive), id, probability and the
    annotations that name and describe it."""

    contig: str
    start: int
    end: int
    strand: str
    identifier: str
    probability: float
    fields: tuple[tuple[str, str], ...]  # (annotation column, value) of the candidate

    def field(self, key: str) -> str:
        return dict(self.fields).get(key, "")

    @property
    def name(self) -> str:
        """Host gene and subtype (``GENE|5'-tailed``) when known, else the id; no white space."""
        gene, subtype = self.field("gene"), self.field("subtype")
        name = f"{gene or self.identifier}|{subtype}" if subtype else self.identifier
        return "_".join(name.split())


def track_rows(scored: Scored, rows: np.ndarray) -> list[TrackRow]:
    """A :class:`TrackRow` for each index of ``rows`` (the rows need coordinates)."""
    annotations = scored.annotations
    keys = [key for key in annotation_columns(annotations) if key not in COORDINATES]
    return [TrackRow(str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row]),
                     str(annotations["strand"][row]), str(scored.ids[row]), float(scored.probabilities[row]),
                     tuple((key, str(annotations[key][row])) for key in keys)) for row in rows]


def rank_scores(probabilities: np.ndarray) -> np.ndarray:
    """BED scores by rank: ``round(1000 * (1 - (rank - 1) / n))``, rank 1 = highest probability, ties
    share the better rank. ``(n,)`` float -> ``(n,)`` int in 1..1000."""
    values = np.asarray(probabilities, dtype=np.float64)
    count = len(values)
    if not count:
        return np.zeros(0, dtype=np.int64)
    ascending = np.sort(values)
    higher = count - np.searchsorted(ascending, values, side="right")  # rows scored above each row: rank - 1
    return np.rint(1000.0 * (1.0 - higher / count)).astype(np.int64)


def _order(rows: list[TrackRow], sort: str) -> list[int]:
    if sort == "score":
        return sorted(range(len(rows)), key=lambda index: (-rows[index].probability, rows[index].contig,
                                                           rows[index].start, rows[index].end, rows[index].strand))
    return sorted(range(len(rows)), key=lambda index: (rows[index].contig, rows[index].start, rows[index].end,
                                                       rows[index].strand, rows[index].name))


def unique_names(rows: list[TrackRow]) -> list[str]:
    """Each row's :attr:`TrackRow.name`, with ``#2``, ``#3``, ... added to a repeated name in position
    order (the same whatever order the track is written in)."""
    names = [""] * len(rows)
    seen: dict[str, int] = {}
    for index in _order(rows, "position"):
        name = rows[index].name
        seen[name] = seen.get(name, 0) + 1
        names[index] = name if seen[name] == 1 else f"{name}#{seen[name]}"
    return names


def _rgb(colour: tuple[int, int, int]) -> str:
    return ",".join(str(value) for value in colour)


def _gff3_value(text: str) -> str:
    return quote(text, safe="".join(chr(code) for code in range(32, 127) if chr(code) not in _GFF3_RESERVED))


@dataclass(frozen=True)
class TrackOptions:
    """How a track is written: ``sort`` ("position" or "score"), ``chr_prefix`` (UCSC contig names),
    ``name`` and ``description`` of the BED track line."""

    sort: str = "position"
    chr_prefix: bool = False
    name: str = "mirtron_tools"
    description: str = "mt-predict candidates"


def bed_track_line(options: TrackOptions, threshold: float, positive_call: str) -> str:
    description = (f"{options.description}: {positive_call} (p >= {threshold:.4g}) in red, other in grey; "
                   "score = rank (1000 = best)")
    return f'track name="{options.name}" description="{description}" itemRgb="On"\n'


def bed_lines(rows: list[TrackRow], threshold: float, options: TrackOptions) -> list[str]:
    """BED9 lines (track line not included): name, rank score, ``itemRgb`` by call, in ``options.sort``
    order."""
    scores = rank_scores(np.array([row.probability for row in rows]))
    names = unique_names(rows)
    lines = []
    for index in _order(rows, options.sort):
        row = rows[index]
        contig = ucsc_contig(row.contig) if options.chr_prefix else row.contig
        colour = CALLED_RGB if row.probability >= threshold else OTHER_RGB
        lines.append(f"{contig}\t{row.start}\t{row.end}\t{names[index]}\t{int(scores[index])}\t{row.strand}\t"
                     f"{row.start}\t{row.end}\t{_rgb(colour)}\n")
    return lines


def gff3_lines(rows: list[TrackRow], threshold: float, positive_call: str, options: TrackOptions) -> list[str]:
    """GFF3 lines (header included): one :data:`GFF3_TYPE` feature per candidate, 1-based, score =
    probability; attributes ID, Name, call, rank, color (IGV) and the candidate's annotations."""
    scores = rank_scores(np.array([row.probability for row in rows]))
    names = unique_names(rows)
    lines = ["##gff-version 3\n"]
    for index in _order(rows, options.sort):
        row = rows[index]
        contig = ucsc_contig(row.contig) if options.chr_prefix else row.contig
        called = row.probability >= threshold
        colour = CALLED_RGB if called else OTHER_RGB
        attributes = [("ID", row.identifier), ("Name", names[index]), ("call", positive_call if called else "other"),
                      ("probability", f"{row.probability:.4f}"), ("rank_score", str(int(scores[index]))),
                      ("color", "#%02x%02x%02x" % colour)]
        attributes += [(key, value) for key, value in row.fields if value != ""]
        text = ";".join(f"{key}={_gff3_list(key, value)}" for key, value in attributes)
        lines.append(f"{_gff3_value(contig)}\t{GFF3_SOURCE}\t{GFF3_TYPE}\t{row.start + 1}\t{row.end}\t"
                     f"{row.probability:.4f}\t{row.strand}\t.\t{text}\n")
    return lines


#: annotation columns that hold comma-separated lists (one value per hosting intron): GFF3 multi-values
_LIST_COLUMNS = ("gene", "transcript", "intron_number", "intron")


def _gff3_list(key: str, value: str) -> str:
    if key in _LIST_COLUMNS:
        return ",".join(_gff3_value(item) for item in value.split(","))
    return _gff3_value(value)


class PredictionWriter:
    """mt-predict's predictions: TSV rows as they come (input order), or a track (BED9 or GFF3) written
    at the end.

    ``add`` takes the rows of a :class:`Scored` chunk to write (those of real candidates scored at least
    the minimum probability); ``finish`` writes what waits for the end."""

    def __init__(self, stream: IO[str], output_format: str, threshold: float, positive_call: str,
                 track: TrackOptions | None = None):
        self.stream, self.format, self.threshold, self.positive_call = stream, output_format, threshold, positive_call
        self.track = track or TrackOptions()
        self.header_written = False
        self.rows: list[TrackRow] = []

    def add(self, scored: Scored, rows: np.ndarray) -> None:
        if self.format in TRACK_FORMATS:
            self.rows.extend(track_rows(scored, rows))
            return
        columns = tsv_columns(scored.annotations)
        if not self.header_written:
            write_tsv_header(self.stream, [*columns, *(evidence_header(scored.evidence.samples)
                                                        if scored.evidence is not None else [])])
            self.header_written = True
        write_tsv_rows(self.stream, scored, rows, self.threshold, self.positive_call, columns)

    def finish(self) -> None:
        if self.format == "bed":
            self.stream.write(bed_track_line(self.track, self.threshold, self.positive_call))
            self.stream.writelines(bed_lines(self.rows, self.threshold, self.track))
        elif self.format == "gff3":
            self.stream.writelines(gff3_lines(self.rows, self.threshold, self.positive_call, self.track))
