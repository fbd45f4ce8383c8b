"""Small-RNA-seq read pileups -> per-position tracks aligned with the encoded sequence (numpy only).

For each candidate the window is the hairpin plus ``flank`` nt on each side, read in the
candidate's own 5'->3' orientation (reversed for minus-strand candidates, like its sequence):
window index ``flank + i`` is hairpin position ``i``. Three tracks are counted from reads on the
candidate's strand:

* ``depth``: reads covering the position (the aligned span, deletions included),
* ``five_prime``: reads whose 5' end is at the position,
* ``three_prime``: reads whose 3' end is at the position.

Raw counts are kept; :meth:`CoverageSet.normalised` gives ``log1p(counts per million mapped
reads)``. :func:`coverage_channels` joins a coverage set to an encoded set by id and turns it
into the extra per-position model channels (see :data:`MODEL_CHANNELS`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import InputError

COVERAGE_KIND = "mirtron_tools.coverage"
#: Bump when the layout or meaning of the coverage NPZ changes; models record it.
COVERAGE_FORMAT_VERSION = 1
TRACKS: tuple[str, ...] = ("depth", "five_prime", "three_prime")
DEFAULT_FLANK = 20
#: Extra per-position channels a coverage model sees after the sequence channels: the three
#: hairpin tracks and the mean depth of the upstream / downstream flank (the same value at every
#: position), which shows reads that run past the hairpin ends. Each is log1p(CPM) divided by
#: :data:`MODEL_SCALE` = log1p(10^6), so one whole library on one base would be 1.0 and the
#: channels stay in the 0-1 range of the one-hot sequence channels (larger inputs made training
#: unstable).
MODEL_CHANNELS: tuple[str, ...] = ("coverage_depth", "coverage_five_prime", "coverage_three_prime",
                                   "coverage_upstream_flank", "coverage_downstream_flank")
NORMALISATION = "log1p(counts per million mapped reads)"
MODEL_SCALE = float(np.log1p(1e6))
MODEL_NORMALISATION = "log1p(counts per million mapped reads) / log1p(1e6)"
#: A read end counts as "at" a hairpin end within this many nt.
END_TOLERANCE = 1

SUMMARY_HEADER = ("id", "contig", "start", "end", "strand", "total_reads", "reads_5p_arm", "reads_3p_arm",
                  "fraction_5p_end_at_hairpin_start", "fraction_3p_end_at_hairpin_end", "reads_past_hairpin",
                  "reads_in_flanks_only")


@dataclass(frozen=True)
class CandidateSummary:
    """Read counts of one candidate (reads on its strand that pass the filters).

    ``total_reads`` overlap the hairpin; each is on the 5p or the 3p arm by its midpoint relative
    to the terminal loop. The fractions are of ``total_reads`` whose 5' end lies within
    ±:data:`END_TOLERANCE` nt of the hairpin's first base, and whose 3' end lies within it of the
    hairpin's last base (NaN without reads). ``reads_past_hairpin`` overlap the hairpin and run
    past one of its ends; ``reads_in_flanks_only`` touch a flank but not the hairpin.
    """

    total_reads: int
    reads_5p_arm: int
    reads_3p_arm: int
    fraction_5p_end_at_hairpin_start: float
    fraction_3p_end_at_hairpin_end: float
    reads_past_hairpin: int
    reads_in_flanks_only: int


def loop_centre(structure: str) -> float:
    """Hairpin position between the 5p and 3p arms: the middle of the first hairpin loop.

    That is halfway between the last ``(`` before the first ``)`` and that ``)``; the middle
    of the sequence when the structure has no pairs.
    """
    first_close = structure.find(")")
    last_open = structure.rfind("(", 0, first_close) if first_close > 0 else -1
    if first_close < 0 or last_open < 0:
        return (len(structure) - 1) / 2
    return (last_open + first_close) / 2


def read_ends_in_window(starts: np.ndarray, ends: np.ndarray, reverse: np.ndarray, start: int, end: int,
                        strand: str, flank: int) -> tuple[np.ndarray, np.ndarray]:
    """Window indices of the 5' and 3' ends of the reads on ``strand`` that touch the window.

    ``starts``/``ends`` are 0-based, end-exclusive genomic spans of aligned reads and
    ``reverse`` their strand (True = minus). Indices may fall outside ``[0, width)`` for reads
    that run past the window; the 5' end index is always <= the 3' end index.
    """
    window_start, window_end = start - flank, end + flank
    keep = (reverse if strand == "-" else ~reverse) & (ends > window_start) & (starts < window_end)
    read_starts, read_ends = starts[keep], ends[keep]
    if strand == "+":
        return read_starts - window_start, read_ends - 1 - window_start
    return window_end - read_ends, window_end - 1 - read_starts


def candidate_tracks(starts: np.ndarray, ends: np.ndarray, reverse: np.ndarray, start: int, end: int,
                     strand: str, flank: int, structure: str | None = None
                     ) -> tuple[np.ndarray, CandidateSummary]:
    """Raw ``(end - start + 2 * flank, 3)`` int32 tracks (depth, 5' ends, 3' ends) and a summary.

    Row ``flank + i`` is hairpin position ``i`` counted from the candidate's 5' end. ``structure``
    (dot-bracket) places the arm boundary; without it the middle of the hairpin is used.
    """
    length = end - start
    width = length + 2 * flank
    first, last = read_ends_in_window(np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                                      np.asarray(reverse, dtype=bool), start, end, strand, flank)
    tracks = np.zeros((width, len(TRACKS)), dtype=np.int32)
    if len(first):
        low = np.clip(first, 0, width)
        high = np.clip(last + 1, 0, width)
        steps = np.bincount(low, minlength=width + 1) - np.bincount(high, minlength=width + 1)
        tracks[:, 0] = np.cumsum(steps)[:width]
        inside = (first >= 0) & (first < width)
        tracks[:, 1] = np.bincount(first[inside], minlength=width)
        inside = (last >= 0) & (last < width)
        tracks[:, 2] = np.bincount(last[inside], minlength=width)
    hairpin_first, hairpin_last = flank, flank + length - 1
    overlapping = (last >= hairpin_first) & (first <= hairpin_last)
    total = int(overlapping.sum())
    centre = flank + (loop_centre(structure) if structure else (length - 1) / 2)
    midpoints = (first[overlapping] + last[overlapping]) / 2
    five_arm = int((midpoints < centre).sum())
    if total:
        at_start = float((np.abs(first[overlapping] - hairpin_first) <= END_TOLERANCE).mean())
        at_end = float((np.abs(last[overlapping] - hairpin_last) <= END_TOLERANCE).mean())
    else:
        at_start = at_end = math.nan
    past = int(((first[overlapping] < hairpin_first) | (last[overlapping] > hairpin_last)).sum())
    summary = CandidateSummary(total, five_arm, total - five_arm, at_start, at_end, past,
                               int(len(first) - total))
    return tracks, summary


@dataclass
class CoverageSet:
    """Per-candidate raw tracks, in the order of the encoded set they were made from.

    ``counts[row]`` is ``(lengths[row] + 2 * flank, 3)`` int32 (depth, 5' ends, 3' ends);
    ``library_sizes[row]`` the mapped reads (summed over the BAMs) that normalise that row.
    """

    ids: list[str]
    lengths: np.ndarray
    flank: int
    counts: list[np.ndarray]
    library_sizes: np.ndarray
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lengths = np.asarray(self.lengths, dtype=np.int32)
        self.library_sizes = np.asarray(self.library_sizes, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.ids)

    def normalised(self, row: int) -> np.ndarray:
        """``log1p(CPM)`` float32 tracks of one record."""
        scale = 1e6 / max(float(self.library_sizes[row]), 1.0)
        return np.log1p(self.counts[row].astype(np.float64) * scale).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        offsets = np.zeros(len(self.counts) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(track) for track in self.counts])
        empty = np.zeros((0, len(TRACKS)))
        return {
            "ids": np.array(self.ids, dtype=str),
            "lengths": np.asarray(self.lengths, dtype=np.int32),
            "flank": np.array(self.flank, dtype=np.int32),
            "tracks": np.array(TRACKS, dtype=str),
            "offsets": offsets,
            "counts": np.concatenate(self.counts).astype(np.int32) if self.counts else empty.astype(np.int32),
            "normalised": (np.concatenate([self.normalised(row) for row in range(len(self))])
                           if self.counts else empty.astype(np.float32)),
            "library_sizes": np.asarray(self.library_sizes, dtype=np.float64),
            "normalisation": np.array(NORMALISATION),
            "settings": np.array(_settings_text(self.settings)),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], source: str) -> "CoverageSet":
        offsets = np.asarray(arrays["offsets"], dtype=np.int64)
        counts = np.asarray(arrays["counts"])
        lengths = np.asarray(arrays["lengths"], dtype=np.int32)
        flank = int(arrays["flank"])
        ids = [str(value) for value in arrays["ids"]]
        if (len(offsets) != len(ids) + 1 or len(lengths) != len(ids) or offsets[-1] != len(counts)
                or np.any(np.diff(offsets) != lengths + 2 * flank)):
            raise InputError(source, "coverage NPZ is inconsistent (track lengths do not match hairpin lengths "
                             "and flank); re-create it with mt-coverage")
        if len(set(ids)) != len(ids):
            raise InputError(source, "coverage NPZ has duplicate ids")
        return cls(ids=ids, lengths=lengths, flank=flank,
                   counts=[counts[offsets[row]:offsets[row + 1]] for row in range(len(ids))],
                   library_sizes=np.asarray(arrays["library_sizes"], dtype=np.float64),
                   settings=_settings_dict(str(arrays.get("settings", "{}"))))


def _settings_text(settings: dict) -> str:
    import json

    return json.dumps(settings, sort_keys=True)


def _settings_dict(text: str) -> dict:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return {}


def merge_coverage(sets: Sequence[tuple[str, CoverageSet]]) -> CoverageSet:
    """Join coverage sets (e.g. positives and negatives) into one; ids unique, one flank."""
    if not sets:
        raise ValueError("no coverage sets to merge")
    first_source, first = sets[0]
    origin: dict[str, str] = {}
    for source, coverage in sets:
        if coverage.flank != first.flank:
            raise InputError(source, f"coverage flank is {coverage.flank} nt but {first_source} has "
                             f"{first.flank} nt; make all coverage files with the same --flank")
        for identifier in coverage.ids:
            if identifier in origin:
                raise InputError(source, f"id '{identifier}' is also in {origin[identifier]}; ids must be unique")
            origin[identifier] = source
    return CoverageSet(
        ids=[identifier for _, coverage in sets for identifier in coverage.ids],
        lengths=np.concatenate([coverage.lengths for _, coverage in sets]),
        flank=first.flank,
        counts=[track for _, coverage in sets for track in coverage.counts],
        library_sizes=np.concatenate([coverage.library_sizes for _, coverage in sets]),
        settings=first.settings,
    )


def check_coverage_ids(ids: Sequence[str], coverage: CoverageSet, source: str) -> None:
    """InputError naming ``source`` unless every id has coverage."""
    known = set(coverage.ids)
    missing = [identifier for identifier in ids if identifier not in known]
    if missing:
        from .errors import shortened

        raise InputError(source, f"{len(missing)} of {len(ids)} sequence id(s) have no coverage: {shortened(missing)} "
                         "(coverage must be made by mt-coverage from the same encoded candidates)")


def coverage_channels(encoded, coverage: CoverageSet, source: str = "coverage") -> list[np.ndarray]:
    """Per-record ``(length, 5)`` float32 model channels (:data:`MODEL_CHANNELS`), joined by id.

    Values are ``log1p(CPM) / log1p(1e6)`` (see :data:`MODEL_CHANNELS`).

    Pass the result as ``extra`` to :func:`mirtron_tools.encoding.model_inputs`. Every id of
    ``encoded`` must be in ``coverage`` with the same hairpin length; otherwise an InputError
    naming ``source`` says which ids are missing or differ.
    """
    check_coverage_ids(encoded.ids, coverage, source)
    index = {identifier: row for row, identifier in enumerate(coverage.ids)}
    channels = []
    flank = coverage.flank
    for identifier, sequence in zip(encoded.ids, encoded.sequences):
        row = index[identifier]
        length = int(coverage.lengths[row])
        if length != len(sequence):
            raise InputError(source, f"id '{identifier}' has coverage for {length} nt but its sequence is "
                             f"{len(sequence)} nt (coverage made from another encoded set?)")
        scale = 1e6 / max(float(coverage.library_sizes[row]), 1.0)
        raw = coverage.counts[row]
        hairpin = np.log1p(raw[flank:flank + length].astype(np.float64) * scale)
        upstream = np.log1p(raw[:flank, 0].mean() * scale) if flank else 0.0
        downstream = np.log1p(raw[flank + length:, 0].mean() * scale) if flank else 0.0
        array = np.empty((length, len(MODEL_CHANNELS)), dtype=np.float32)
        array[:, :3] = hairpin / MODEL_SCALE
        array[:, 3] = upstream / MODEL_SCALE
        array[:, 4] = downstream / MODEL_SCALE
        channels.append(array)
    return channels


def coverage_manifest(coverage: CoverageSet) -> dict:
    """What a coverage model records about its coverage inputs (checked again at prediction)."""
    return {"channels": list(MODEL_CHANNELS), "flank": int(coverage.flank), "normalisation": MODEL_NORMALISATION,
            "format_version": COVERAGE_FORMAT_VERSION, "settings": coverage.settings}


def check_coverage_for_model(manifest: dict, coverage: CoverageSet | None, model_name: str,
                             coverage_source: str) -> None:
    """Fail clearly when a coverage model gets no coverage, a sequence model gets some, or flanks differ."""
    from .errors import ModelError

    expected = manifest.get("coverage")
    if expected and coverage is None:
        raise ModelError(f"{model_name}: this model was trained with small-RNA-seq coverage "
                         f"({', '.join(expected.get('channels', []))}); give --coverage COV.npz made by mt-coverage "
                         f"with --flank {expected.get('flank')}")
    if not expected and coverage is not None:
        raise ModelError(f"{model_name}: this model was trained on sequence only; it cannot use --coverage")
    if expected and coverage is not None and int(expected.get("flank", -1)) != coverage.flank:
        raise InputError(coverage_source, f"coverage flank is {coverage.flank} nt but the model was trained "
                         f"with --flank {expected.get('flank')}; re-run mt-coverage with that flank")


def summary_row(identifier: str, region, summary: CandidateSummary) -> list[str]:
    def fraction(value: float) -> str:
        return "NA" if math.isnan(value) else f"{value:.3f}"

    return [identifier, region.contig, str(region.start), str(region.end), region.strand,
            str(summary.total_reads), str(summary.reads_5p_arm), str(summary.reads_3p_arm),
            fraction(summary.fraction_5p_end_at_hairpin_start), fraction(summary.fraction_3p_end_at_hairpin_end),
            str(summary.reads_past_hairpin), str(summary.reads_in_flanks_only)]


def read_count_tracks(coverage: CoverageSet, identifier: str) -> dict[str, np.ndarray]:
    """Raw read counts of one candidate over its hairpin (flanks left out), as figures draw them:
    ``{"read depth": (length,), "read 5' ends": ..., "read 3' ends": ...}``."""
    row = coverage.ids.index(identifier)
    flank, length = coverage.flank, int(coverage.lengths[row])
    raw = np.asarray(coverage.counts[row])[flank:flank + length]
    return {"read depth": raw[:, 0], "read 5' ends": raw[:, 1], "read 3' ends": raw[:, 2]}
