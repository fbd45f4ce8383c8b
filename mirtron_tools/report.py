"""A self-contained HTML report of scored candidates (``mt-predict --report``): one file, no network.

What miRDeep2's ``result.html`` shows for each candidate (score, estimated false discovery rate, the
precursor's structure and its read stack) and what it lacks: a sortable table of the top candidates
with their host gene, transcript, intron number and 1-based locus, the structure drawn by ViennaRNA's
layout with the splice sites that define a mirtron's ends marked, the model's attention along the
hairpin when the model has an attention layer, the read stack per sample when reads were given, and
the genome scan's survey (figure and table).

Pure: the report is built from plain data (:class:`ReportData`) into one HTML string; images are
inline SVG or base64 PNG, CSS and the table's sorting script are inline (no CDN, opens from a file).
Files are read and written in :mod:`mirtron_tools.io.report`.
"""
from __future__ import annotations

import base64
import heapq
import html
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

#: candidates in the report unless told otherwise
DEFAULT_TOP = 100
#: reads drawn per sample in a candidate's read stack (the most abundant; the rest are counted)
MAX_STACK_READS = 40
BASE_COLOURS = {"A": "#4caf50", "C": "#2196f3", "G": "#ff9800", "U": "#e53935"}
SPLICE_COLOUR = "#7b1fa2"


# --------------------------------------------------------------------------------------------
# Data

@dataclass
class ReadStack:
    """The reads of one candidate (the reads NPZ of ``mt-coverage``, one candidate's rows).

    ``sample``: ``(R,)`` index into ``samples``; ``first``/``last``: ``(R,)`` window indices of each
    read's 5' and 3' ends in the candidate's orientation (window index ``flank + i`` is hairpin position
    ``i``); ``count``: ``(R,)`` identical alignments collapsed; ``multi``: ``(R,)`` multi-mapped;
    ``evidence``: ``(S, F)`` read-signature values per sample, named by ``evidence_names``.
    """

    samples: list[str]
    flank: int
    sample: np.ndarray
    first: np.ndarray
    last: np.ndarray
    count: np.ndarray
    multi: np.ndarray
    evidence: np.ndarray | None = None
    evidence_names: list[str] = field(default_factory=list)


@dataclass
class ReportCandidate:
    """One candidate of the report: its rank (1 = best), scores, structure and what annotates it.

    ``annotations``: the scan's columns as text (subtype, gene, transcript, intron_number, contig,
    start, end, strand, splice_distance, ...); ``attention``: ``(length,)`` weights or None;
    ``fdr_model``/``fdr_decoys``: estimated false discovery rate of the calls down to this rank."""

    rank: int
    identifier: str
    probability: float
    call: str
    sequence: str
    structure: str
    mfe: float | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    known: list[str] = field(default_factory=list)
    fdr_model: float | None = None
    fdr_decoys: float | None = None
    attention: np.ndarray | None = None
    reads: ReadStack | None = None


@dataclass
class ReportData:
    """Everything the page shows. ``survey_rows``: records of :func:`mirtron_tools.survey.survey_rows`;
    ``survey_png``: the survey figure as PNG bytes; ``notes``: lines shown under the title (what was
    left out and why); ``summary``: the default call's description (log line of mt-predict)."""

    title: str
    source: str
    model: str
    threshold: float
    positive_call: str
    candidates: list[ReportCandidate]
    total: int
    summary: str = ""
    survey_rows: list[dict] = field(default_factory=list)
    survey_png: bytes | None = None
    notes: list[str] = field(default_factory=list)
    version: str = ""


# --------------------------------------------------------------------------------------------
# The top candidates, gathered chunk by chunk

class TopCandidates:
    """The ``count`` best-scored real candidates of a run (ties: the earlier row first), from the
    :class:`mirtron_tools.scoring.Scored` chunks as they come; memory holds ``count`` rows."""

    def __init__(self, count: int):
        self.count = count
        self._heap: list[tuple[float, int, str, dict[str, str]]] = []
        self._seen = 0

    def add(self, scored, rows: np.ndarray) -> None:
        """Offer the rows ``rows`` (indices of real candidates) of a scored chunk."""
        probabilities = np.asarray(scored.probabilities, dtype=np.float64)
        for row in rows:
            order = self._seen + int(row)
            item = (float(probabilities[row]), -order)
            if len(self._heap) >= self.count and item <= self._heap[0][:2]:
                continue
            annotations = {key: str(values[row]) for key, values in scored.annotations.items() if key != "decoy"}
            entry = (item[0], item[1], str(scored.ids[row]), annotations)
            if len(self._heap) < self.count:
                heapq.heappush(self._heap, entry)
            else:
                heapq.heapreplace(self._heap, entry)
        self._seen += len(scored.ids)

    def ranked(self) -> list[tuple[str, float, dict[str, str]]]:
        """``(id, probability, annotations)``, best first."""
        return [(identifier, probability, annotations)
                for probability, _, identifier, annotations in sorted(self._heap, key=lambda item: (-item[0], -item[1]))]


def fdr_at_ranks(probabilities: np.ndarray, decoys: np.ndarray | None, ranks: int
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Estimated false discovery rate of calling the top ``1..ranks`` candidates, as the survey
    estimates it (:mod:`mirtron_tools.survey`): by the model, ``sum(1 - p) / k`` over the top ``k``; by
    the decoys, the decoys scored at least the ``k``-th probability, scaled by candidates / decoys,
    over ``k`` (capped at 1). ``(ranks,)`` each; the decoys' is None without decoys."""
    ordered = np.sort(np.asarray(probabilities, dtype=np.float64))[::-1][:ranks]
    positions = np.arange(1, len(ordered) + 1)
    model = np.minimum(1.0, np.cumsum(1.0 - ordered) / positions)
    if decoys is None or not len(decoys):
        return model, None
    scale = len(probabilities) / len(decoys)
    ascending = np.sort(np.asarray(decoys, dtype=np.float64))
    passing = len(ascending) - np.searchsorted(ascending, ordered, side="left")
    return model, np.minimum(1.0, passing * scale / positions)


def splice_marks(sequence_length: int, subtype: str) -> dict[int, str]:
    """Hairpin positions (0-based) that sit at a splice site, by subtype: a conventional mirtron spans
    the intron (both ends), a 5'-tailed one ends at the 3' splice site, a 3'-tailed one starts at the
    5' splice site."""
    marks: dict[int, str] = {}
    if subtype in ("conventional", "3'-tailed"):
        marks[0] = "5\u2032ss"
    if subtype in ("conventional", "5'-tailed"):
        marks[sequence_length - 1] = "3\u2032ss"
    return marks


# --------------------------------------------------------------------------------------------
# Drawings

def _layout(structure: str) -> np.ndarray:
    """``(length, 2)`` plot coordinates of ViennaRNA's default layout (naview), y downwards."""
    import RNA

    coordinates = RNA.get_xy_coordinates(structure)
    points = np.array([(coordinates.get(index).X, coordinates.get(index).Y) for index in range(len(structure))],
                      dtype=np.float64)
    if not np.all(np.isfinite(points)):
        angles = np.linspace(0, 2 * math.pi, len(structure), endpoint=False)  # a circle, never a crash
        points = np.column_stack([np.cos(angles), np.sin(angles)]) * len(structure) * 2.5
    return points


def _pairs(structure: str) -> list[tuple[int, int]]:
    stack, pairs = [], []
    for position, letter in enumerate(structure):
        if letter == "(":
            stack.append(position)
        elif letter == ")" and stack:
            pairs.append((stack.pop(), position))
    return pairs


def _outward(xy: np.ndarray, position: int, partner: int | None) -> np.ndarray:
    """A unit vector pointing away from the structure at ``position``: across the backbone, on the
    side away from the base-pair partner (or from the structure's centre when unpaired)."""
    before, after = xy[max(position - 1, 0)], xy[min(position + 1, len(xy) - 1)]
    tangent = after - before
    normal = np.array([-tangent[1], tangent[0]])
    if not np.any(normal):
        normal = xy[position] - xy.mean(axis=0)
    normal = normal / max(float(np.hypot(*normal)), 1e-9)
    away = xy[position] - (xy[partner] if partner is not None else xy.mean(axis=0))
    return normal if float(normal @ away) >= 0 else -normal


def structure_svg(sequence: str, structure: str, marks: Mapping[int, str] | None = None, spacing: float = 15.0
                  ) -> str:
    """The secondary structure as an inline SVG: ViennaRNA's layout turned so that the hairpin lies
    along the x axis (5' end on the left, as miRDeep2 draws it), ``spacing`` px between neighbours;
    backbone, base pairs, nucleotides coloured by base, numbers every 10 nt, and the positions in
    ``marks`` (splice sites) ringed and labelled."""
    marks = marks or {}
    points = _layout(structure)
    points = points - points.mean(axis=0)
    if len(points) > 2:
        _, vectors = np.linalg.eigh(np.cov(points.T))
        axis = vectors[:, -1]
        rotation = np.array([[axis[0], axis[1]], [-axis[1], axis[0]]])
        points = points @ rotation.T
        if points[0, 0] > 0:
            points[:, 0] = -points[:, 0]
    steps = np.hypot(*np.diff(points, axis=0).T) if len(points) > 1 else np.ones(1)
    scale = spacing / max(float(np.median(steps)), 1e-9)
    margin = 48.0
    low, high = points.min(axis=0), points.max(axis=0)
    xy = (points - low) * scale + margin
    width = int(math.ceil((high[0] - low[0]) * scale + 2 * margin))
    height = int(math.ceil((high[1] - low[1]) * scale + 2 * margin))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="structure" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="secondary structure">']
    backbone = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    parts.append(f'<polyline points="{backbone}" fill="none" stroke="#999" stroke-width="1"/>')
    for first, second in _pairs(structure):
        (x1, y1), (x2, y2) = xy[first], xy[second]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" '
                     'stroke-width="1.2"/>')
    radius = spacing * 0.42
    font = radius * 1.35
    for position, ((x, y), base) in enumerate(zip(xy, sequence)):
        colour = BASE_COLOURS.get(base, "#bbbbbb")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{colour}" fill-opacity="0.35" '
                     f'stroke="{colour}" stroke-width="0.8"><title>{position + 1} {base}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y + font * 0.35:.1f}" font-size="{font:.1f}" text-anchor="middle" '
                     f'font-family="monospace">{html.escape(base)}</text>')
    partners = {first: second for first, second in _pairs(structure)}
    partners.update({second: first for first, second in list(partners.items())})
    for position in [0, *range(9, len(sequence), 10)]:
        x, y = xy[position]
        direction = _outward(xy, position, partners.get(position))
        tx, ty = np.array([x, y]) + direction * (radius + font * 1.1)
        label = "5\u2032" if position == 0 else str(position + 1)
        parts.append(f'<text x="{tx:.1f}" y="{ty + font * 0.35:.1f}" font-size="{font * 0.9:.1f}" '
                     f'text-anchor="middle" fill="#666">{label}</text>')
    shown = [position for position in sorted(marks) if 0 <= position < len(sequence)]
    for position in shown:
        x, y = xy[position]
        direction = _outward(xy, position, partners.get(position))
        others = [xy[other] for other in shown if other != position]
        if others:  # both ends of a conventional mirtron sit side by side: push their labels apart
            apart = xy[position] - others[0]
            apart = apart / max(float(np.hypot(*apart)), 1e-9)
            direction = apart * 1.5 + direction
            direction = direction / max(float(np.hypot(*direction)), 1e-9)
        tx, ty = np.array([x, y]) + direction * (radius + font * 1.8)
        anchor = "end" if direction[0] < -0.3 else "start" if direction[0] > 0.3 else "middle"
        parts.append(f'<circle class="splice" cx="{x:.1f}" cy="{y:.1f}" r="{radius + 2.5:.1f}" fill="none" '
                     f'stroke="{SPLICE_COLOUR}" stroke-width="2.2"/>')
        parts.append(f'<text x="{tx:.1f}" y="{ty + font * 0.35:.1f}" font-size="{font:.1f}" text-anchor="{anchor}" '
                     f'fill="{SPLICE_COLOUR}" font-weight="bold">{html.escape(marks[position])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _viridis(value: float) -> str:
    """A few stops of matplotlib's viridis, interpolated (no matplotlib needed)."""
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    value = min(1.0, max(0.0, value)) * (len(stops) - 1)
    low = int(math.floor(value))
    high = min(low + 1, len(stops) - 1)
    fraction = value - low
    colour = [round(stops[low][channel] + (stops[high][channel] - stops[low][channel]) * fraction)
              for channel in range(3)]
    return "#%02x%02x%02x" % tuple(colour)


CELL = 7  # px per nucleotide in the strips


def attention_svg(sequence: str, weights: np.ndarray) -> str:
    """A heat strip of per-position weights (viridis, scaled to the hairpin's maximum), aligned with
    the sequence and the read stack (:data:`CELL` px per nt)."""
    weights = np.asarray(weights, dtype=np.float64)[: len(sequence)]
    top = float(weights.max()) if len(weights) and float(weights.max()) > 0 else 1.0
    width = CELL * len(sequence)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{width}" height="30" '
             f'viewBox="0 0 {width} 30" role="img" aria-label="attention">']
    for position, value in enumerate(weights):
        parts.append(f'<rect x="{position * CELL}" y="0" width="{CELL}" height="16" fill="{_viridis(value / top)}">'
                     f'<title>{position + 1} {sequence[position]}: {value:.4f}</title></rect>')
    for position in range(9, len(sequence), 10):
        parts.append(f'<text x="{position * CELL + CELL / 2}" y="27" font-size="8" text-anchor="middle" '
                     f'fill="#666">{position + 1}</text>')
    parts.append("</svg>")
    return "".join(parts)


def read_stack_text(sequence: str, structure: str, reads: ReadStack) -> str:
    """miRDeep2-style read stack as preformatted text: the hairpin, its structure, then per sample its
    reads aligned under it (dots outside a read; ``<``/``>`` where a read runs past the hairpin), with
    the read count and ``*`` for multi-mapped reads; the :data:`MAX_STACK_READS` most abundant per
    sample (the rest counted)."""
    length = len(sequence)
    label_width = max([len("structure"), *(len(name) for name in reads.samples)]) + 2
    lines = [f"{'hairpin':<{label_width}}{sequence}  reads", f"{'structure':<{label_width}}{structure}"]
    for index, name in enumerate(reads.samples):
        rows = np.flatnonzero(np.asarray(reads.sample) == index)
        total = int(np.asarray(reads.count)[rows].sum()) if len(rows) else 0
        lines.append(f"{name:<{label_width}}{'':<{length}}  {total} in total")
        if not len(rows):
            continue
        order = sorted(rows, key=lambda row: (-int(reads.count[row]), int(reads.first[row]), int(reads.last[row])))
        shown = sorted(order[:MAX_STACK_READS], key=lambda row: (int(reads.first[row]), int(reads.last[row])))
        for row in shown:
            first, last = int(reads.first[row]) - reads.flank, int(reads.last[row]) - reads.flank
            cells = ["."] * length
            for position in range(max(first, 0), min(last, length - 1) + 1):
                cells[position] = sequence[position]
            if first < 0 and last >= 0:
                cells[0] = "<"
            if last >= length and first < length:
                cells[-1] = ">"
            if last < 0:
                cells[0] = "<"
            if first >= length:
                cells[-1] = ">"
            lines.append(f"{'':<{label_width}}{''.join(cells)}  {int(reads.count[row])}"
                         + ("*" if bool(reads.multi[row]) else ""))
        if len(order) > MAX_STACK_READS:
            rest = sum(int(reads.count[row]) for row in order[MAX_STACK_READS:])
            lines.append(f"{'':<{label_width}}... {len(order) - MAX_STACK_READS} more distinct reads ({rest} reads)")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The page

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.4em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9em}.notes li{color:#8a4b00}
table{border-collapse:collapse;font-size:.85em}th,td{padding:3px 7px;border-bottom:1px solid #eee;text-align:left}
th{background:#f3f3f3;position:sticky;top:0}td{white-space:nowrap}.scroll{max-height:36em;overflow:auto;display:inline-block;border:1px solid #ddd}table.sortable th{cursor:pointer;user-select:none}
table.sortable th:after{content:" \\2195";color:#aaa}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.called td:first-child{border-left:4px solid #c81e1e}tr.other td:first-child{border-left:4px solid #969696}
.candidate{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}
.candidate h3{margin:.2em 0 .4em;font-size:1.05em}.panels{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 10px;font-size:.85em;margin:0}dt{color:#666}
pre{font-size:11px;line-height:1.25;overflow-x:auto;background:#fafafa;padding:.5em;border:1px solid #eee}
.legend{font-size:.8em;color:#555}.survey img{max-width:100%;height:auto}
"""

_SCRIPT = """
(function(){
  function value(cell, numeric){
    var text = cell.getAttribute('data-value'); if (text === null) text = cell.textContent;
    if (!numeric) return text.toLowerCase();
    var number = parseFloat(text); return isNaN(number) ? -Infinity : number;
  }
  function sortTable(table, column, ascending){
    var header = table.tHead.rows[0].cells[column];
    var numeric = header.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = value(a.cells[column], numeric), y = value(b.cells[column], numeric);
      if (x < y) return ascending ? -1 : 1; if (x > y) return ascending ? 1 : -1;
      return parseInt(a.getAttribute('data-rank'), 10) - parseInt(b.getAttribute('data-rank'), 10);
    });
    rows.forEach(function(row){ body.appendChild(row); });
    table.setAttribute('data-sorted', header.getAttribute('data-key') + '-' + (ascending ? 'asc' : 'desc'));
  }
  function setup(){
    var tables = document.querySelectorAll('table.sortable');
    Array.prototype.forEach.call(tables, function(table){
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function(header, column){
        header.addEventListener('click', function(){
          var state = table.getAttribute('data-sorted') || '';
          var ascending = state !== header.getAttribute('data-key') + '-asc';
          sortTable(table, column, ascending);
        });
      });
    });
    var match = /sort=([a-z_]+)-(asc|desc)/.exec(window.location.hash);
    var table = document.getElementById('candidates');
    if (match && table){
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function(header, column){
        if (header.getAttribute('data-key') === match[1]) sortTable(table, column, match[2] === 'asc');
      });
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup); else setup();
})();
"""

#: the candidate table: (key, header, numeric)
TABLE_COLUMNS = (("rank", "rank", True), ("probability", "probability", True), ("call", "call", False),
                 ("subtype", "subtype", False), ("gene", "host gene", False), ("transcript", "transcript", False),
                 ("intron_number", "intron", False), ("locus", "locus (1-based)", False),
                 ("fdr_model", "FDR (model)", True), ("fdr_decoys", "FDR (decoys)", True),
                 ("known", "known locus", False), ("length", "length", True), ("mfe", "MFE", True),
                 ("splice_distance", "splice distance", True), ("reads", "reads", True))


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _locus(annotations: Mapping[str, str]) -> str:
    if not all(key in annotations for key in ("contig", "start", "end", "strand")):
        return ""
    return f"{annotations['contig']}:{int(annotations['start']) + 1}-{annotations['end']}({annotations['strand']})"


def _number(value: float | None, digits: int = 3) -> tuple[str, str]:
    """(shown text, sort value) of an optional number."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "NA", ""
    return f"{value:.{digits}f}", f"{value:.6g}"


def _total_reads(candidate: ReportCandidate) -> int | None:
    if candidate.reads is None:
        return None
    return int(np.asarray(candidate.reads.count).sum())


def _short_list(value: str) -> str:
    """A comma-separated list as its first item (without a GFF3 ``transcript:`` prefix) and ``+n``, the
    whole list in the tooltip."""
    items = [item.split(":", 1)[1] if item.startswith(("transcript:", "gene:")) else item
             for item in value.split(",") if item]
    if len(items) <= 1:
        return _escape(items[0] if items else "")
    return f'<span title="{_escape(", ".join(items))}">{_escape(items[0])} +{len(items) - 1}</span>'


def _cells(candidate: ReportCandidate, columns: Sequence[tuple[str, str, bool]]) -> list[str]:
    annotations = candidate.annotations
    cells = []
    for key, _, numeric in columns:
        shown: str
        sort = None
        if key == "rank":
            shown = f'<a href="#c{candidate.rank}">{candidate.rank}</a>'
            sort = str(candidate.rank)
        elif key == "probability":
            text, sort = _number(candidate.probability, 4)
            shown = text
        elif key == "call":
            shown = _escape(candidate.call)
        elif key == "locus":
            shown = _escape(_locus(annotations))
        elif key in ("fdr_model", "fdr_decoys"):
            text, sort = _number(getattr(candidate, key), 3)
            shown = text
        elif key == "known":
            shown = _escape(", ".join(candidate.known))
        elif key == "length":
            shown = sort = str(len(candidate.sequence))
        elif key == "mfe":
            text, sort = _number(candidate.mfe, 1)
            shown = text
        elif key == "reads":
            total = _total_reads(candidate)
            shown = sort = "" if total is None else str(total)
        elif key in ("transcript", "gene"):
            shown = _short_list(annotations.get(key, ""))
        elif key == "intron_number":  # one per host transcript: the distinct numbers
            shown = _escape(",".join(dict.fromkeys(annotations.get(key, "").split(","))))
        else:
            shown = _escape(annotations.get(key, ""))
            sort = annotations.get(key, "") if numeric else None
        attribute = f' data-value="{_escape(sort)}"' if sort is not None else ""
        cells.append(f'<td{" class=" + chr(34) + "num" + chr(34) if numeric else ""}{attribute}>{shown}</td>')
    return cells


def _table_columns(data: ReportData) -> list[tuple[str, str, bool]]:
    """The columns that hold something for these candidates."""
    present = set().union(*(candidate.annotations for candidate in data.candidates)) if data.candidates else set()
    columns = []
    for key, header, numeric in TABLE_COLUMNS:
        if key in ("subtype", "gene", "transcript", "intron_number", "splice_distance") and key not in present:
            continue
        if key == "locus" and "contig" not in present:
            continue
        if key == "fdr_model" and all(candidate.fdr_model is None for candidate in data.candidates):
            continue
        if key == "fdr_decoys" and all(candidate.fdr_decoys is None for candidate in data.candidates):
            continue
        if key == "known" and not any(candidate.known for candidate in data.candidates) and not data.survey_rows:
            continue
        if key == "known" and data.survey_rows and "known_called" not in data.survey_rows[0]:
            continue
        if key == "reads" and all(candidate.reads is None for candidate in data.candidates):
            continue
        columns.append((key, header, numeric))
    return columns


def _candidate_table(data: ReportData) -> str:
    columns = _table_columns(data)
    header = "".join(f'<th data-key="{key}" data-type="{"number" if numeric else "text"}">{_escape(title)}</th>'
                     for key, title, numeric in columns)
    rows = []
    for candidate in data.candidates:
        status = "called" if candidate.call == data.positive_call else "other"
        rows.append(f'<tr class="{status}" data-rank="{candidate.rank}" data-id="{_escape(candidate.identifier)}">'
                    + "".join(_cells(candidate, columns)) + "</tr>")
    return (f'<div class="scroll"><table id="candidates" class="sortable"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _survey_section(data: ReportData) -> str:
    if not data.survey_rows and data.survey_png is None:
        return ""
    from .survey import COLUMNS, format_row

    parts = ['<h2 id="survey">Survey of the scan</h2><div class="survey">']
    if data.survey_png is not None:
        encoded = base64.b64encode(data.survey_png).decode("ascii")
        parts.append(f'<img alt="score distributions of candidates, decoys and known loci" '
                     f'src="data:image/png;base64,{encoded}">')
    if data.survey_rows:
        columns = [column for column in COLUMNS if column in data.survey_rows[0] or column in ("cutoff", "called")]
        parts.append('<p class="legend">Per probability cut-off: candidates called, the false calls to expect '
                     '(model: the sum of 1 &minus; p over the calls; decoys: the decoys called, scaled to the '
                     'candidates) and the known loci with a called candidate, of the known loci on the scanned '
                     'contigs. The row in bold is the model\'s call threshold.</p>')
        parts.append("<table><thead><tr>" + "".join(f"<th>{_escape(column)}</th>" for column in columns)
                     + "</tr></thead><tbody>")
        for record in data.survey_rows:
            values = dict(zip(COLUMNS, format_row(record)))
            style = ' style="font-weight:bold"' if abs(record["cutoff"] - data.threshold) < 1e-12 else ""
            parts.append(f"<tr{style}>" + "".join(f'<td class="num">{_escape(values[column])}</td>'
                                                  for column in columns) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "".join(parts)


def _details(candidate: ReportCandidate, data: ReportData) -> str:
    annotations = candidate.annotations
    subtype = annotations.get("subtype", "")
    marks = splice_marks(len(candidate.sequence), subtype) if subtype else {}
    items = [("probability", f"{candidate.probability:.4f} (call: {candidate.call}, threshold {data.threshold:.4f})")]
    if candidate.fdr_model is not None:
        estimate = f"{candidate.fdr_model:.3f} (model)"
        if candidate.fdr_decoys is not None:
            estimate += f", {candidate.fdr_decoys:.3f} (decoys)"
        items.append((f"FDR of the top {candidate.rank}", estimate))
    locus = _locus(annotations)
    if locus:
        items.append(("locus (1-based)", locus))
    for key, label in (("subtype", "subtype"), ("gene", "host gene"), ("transcript", "transcript"),
                       ("intron_number", "intron number"), ("intron", "intron (BED)"),
                       ("splice_distance", "unpaired nt to the splice site")):
        if annotations.get(key, "") != "":
            items.append((label, annotations[key]))
    if candidate.known:
        items.append(("known locus", ", ".join(candidate.known)))
    items.append(("length", f"{len(candidate.sequence)} nt"))
    if candidate.mfe is not None:
        items.append(("MFE", f"{candidate.mfe:.1f} kcal/mol"))
    items.append(("id", candidate.identifier))
    listing = "".join(f"<dt>{_escape(key)}</dt><dd>{_escape(value)}</dd>" for key, value in items)
    panels = [f'<div>{structure_svg(candidate.sequence, candidate.structure, marks)}'
              + ('<div class="legend">ringed: the nucleotide at the 5\u2032 or 3\u2032 splice site (5\u2032ss, '
                 '3\u2032ss: the end the intron defines)</div>' if marks else "") + "</div>", f"<dl>{listing}</dl>"]
    blocks = [f'<pre>{_escape(candidate.sequence)}\n{_escape(candidate.structure)}</pre>']
    if candidate.attention is not None:
        blocks.append('<div class="legend">attention along the hairpin (5\u2032 to 3\u2032; bright = more)</div>'
                      + attention_svg(candidate.sequence, candidate.attention))
    if candidate.reads is not None:
        blocks.append("<div class=\"legend\">reads per sample (* multi-mapped; &lt; &gt;: the read runs past the "
                      "hairpin)</div><pre class=\"reads\">"
                      + _escape(read_stack_text(candidate.sequence, candidate.structure, candidate.reads)) + "</pre>")
        if candidate.reads.evidence is not None and len(candidate.reads.evidence_names):
            header = "".join(f"<th>{_escape(name)}</th>" for name in candidate.reads.evidence_names)
            rows = "".join(f"<tr><td>{_escape(sample)}</td>"
                           + "".join(f'<td class="num">{float(value):.3g}</td>' for value in values) + "</tr>"
                           for sample, values in zip(candidate.reads.samples, candidate.reads.evidence))
            blocks.append(f"<table><thead><tr><th>sample</th>{header}</tr></thead><tbody>{rows}</tbody></table>")
    status = "called" if candidate.call == data.positive_call else "other"
    title = f"#{candidate.rank} {annotations.get('gene') or candidate.identifier}"
    if subtype:
        title += f" ({subtype})"
    return (f'<section class="candidate {status}" id="c{candidate.rank}"><h3>{_escape(title)} '
            f'<small>p = {candidate.probability:.4f}</small></h3><div class="panels">{"".join(panels)}</div>'
            f'{"".join(blocks)}</section>')


def render_report(data: ReportData) -> str:
    """The whole page as one HTML string (UTF-8, no external resources)."""
    notes = "".join(f"<li>{_escape(note)}</li>" for note in data.notes)
    shown = len(data.candidates)
    meta = (f"input {_escape(data.source)}; model {_escape(data.model)}, call threshold {data.threshold:.4f}; "
            f"{data.total} candidates scored, the top {shown} shown"
            + (f"; mirtron_tools {_escape(data.version)}" if data.version else ""))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{_escape(data.title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{_escape(data.title)}</h1>", f'<p class="meta">{meta}</p>']
    if data.summary:
        parts.append(f'<p class="meta">Default call: {_escape(data.summary)}</p>')
    if notes:
        parts.append(f'<ul class="notes">{notes}</ul>')
    parts.append(f'<h2 id="top">Top {shown} candidates</h2><p class="legend">Click a column header to sort; '
                 "click a rank for the candidate's structure"
                 + (", attention" if any(c.attention is not None for c in data.candidates) else "")
                 + (" and reads" if any(c.reads is not None for c in data.candidates) else "")
                 + ". FDR: the estimated false discovery rate of calling every candidate down to that rank "
                 "(as in the survey). Locus: 1-based, as a genome browser's search box takes it.</p>")
    parts.append(_candidate_table(data))
    parts.append(_survey_section(data))
    parts.append('<h2 id="details">Candidates</h2>')
    parts.extend(_details(candidate, data) for candidate in data.candidates)
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def build_candidates(ranked: Iterable[tuple[str, float, dict[str, str]]], encoded, threshold: float,
                     positive_call: str, fdr_model: np.ndarray | None = None, fdr_decoys: np.ndarray | None = None,
                     known: Mapping[str, list[str]] | None = None,
                     attention: Mapping[str, np.ndarray] | None = None,
                     reads: Mapping[str, ReadStack] | None = None) -> list[ReportCandidate]:
    """:class:`ReportCandidate` rows from the ranked ``(id, probability, annotations)`` of
    :meth:`TopCandidates.ranked` and ``encoded`` (an :class:`mirtron_tools.encoding.EncodedSet` that
    holds at least those ids: sequences, structures, MFE)."""
    position = {identifier: row for row, identifier in enumerate(encoded.ids)}
    candidates = []
    for rank, (identifier, probability, columns) in enumerate(ranked, start=1):
        row = position[identifier]
        candidates.append(ReportCandidate(
            rank=rank, identifier=identifier, probability=probability,
            call=positive_call if probability >= threshold else "other",
            sequence=encoded.sequences[row], structure=encoded.structures[row], mfe=float(encoded.mfe[row]),
            annotations=dict(columns), known=list((known or {}).get(identifier, [])),
            fdr_model=float(fdr_model[rank - 1]) if fdr_model is not None and rank <= len(fdr_model) else None,
            fdr_decoys=float(fdr_decoys[rank - 1]) if fdr_decoys is not None and rank <= len(fdr_decoys) else None,
            attention=(attention or {}).get(identifier), reads=(reads or {}).get(identifier)))
    return candidates
