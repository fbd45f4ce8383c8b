"""Files of the HTML report (mt-predict --report): the top candidates' encoded rows, the reads NPZ of
mt-coverage (read stacks), the page itself (written atomically)."""
from __future__ import annotations

import os
import zipfile
import zlib
from typing import Collection, Sequence

import numpy as np

from ..coverage import COVERAGE_FORMAT_VERSION, COVERAGE_KIND
from ..encoding import EncodedSet
from ..errors import InputError
from ..report import ReadStack
from .atomic import AtomicOutputs, atomic_text
from .encoded import iter_encoded

#: the arrays of a reads NPZ that the read stacks need
READ_ARRAYS = ("ids", "flank", "samples", "read_offsets", "read_sample", "read_first", "read_last", "read_count",
               "read_multi")


def read_encoded_rows(paths: Sequence[str | os.PathLike], ids: Collection[str], chunk_size: int = 4096
                      ) -> EncodedSet:
    """The rows of ``ids`` from one or more encoded NPZs (read chunk by chunk: memory holds one chunk and
    the rows kept), in the order found. An id in none of them is an InputError."""
    wanted = set(ids)
    parts = []
    for path in paths:
        for chunk in iter_encoded(path, chunk_size):
            rows = [row for row, identifier in enumerate(chunk.ids) if identifier in wanted]
            if rows:
                parts.append(chunk.subset(rows))
    if parts:
        keys = set.intersection(*(set(part.annotations) for part in parts))
        found = EncodedSet([identifier for part in parts for identifier in part.ids],
                           [sequence for part in parts for sequence in part.sequences],
                           [structure for part in parts for structure in part.structures],
                           np.concatenate([part.mfe for part in parts]), parts[0].max_length,
                           {key: np.concatenate([part.annotations[key] for part in parts]) for key in keys})
    else:
        found = EncodedSet([], [], [], np.zeros(0, dtype=np.float32))
    missing = wanted - set(found.ids)
    if missing:
        raise InputError(str(paths[0]), f"{len(missing)} candidate(s) of the report are not in it (e.g. "
                         f"{sorted(missing)[0]})")
    return found


def has_reads(path: str | os.PathLike) -> bool:
    """Whether a coverage NPZ of mt-coverage carries the reads themselves (the read stacks)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return all(f"{key}.npy" in names for key in READ_ARRAYS)


def read_read_stacks(path: str | os.PathLike, ids: Collection[str]) -> dict[str, ReadStack]:
    """The read stack of each of ``ids`` found in a reads NPZ of ``mt-coverage`` (``samples``,
    ``read_offsets``, ``read_sample``, ``read_first``, ``read_last``, ``read_count``, ``read_multi``,
    optional ``evidence`` and ``evidence_names``); ids it lacks are left out."""
    from .npz import open_checked

    name = str(path)
    archive = open_checked(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, READ_ARRAYS)
    try:
        with archive:
            arrays = {key: archive[key] for key in archive.files if key in READ_ARRAYS
                      or key in ("evidence", "evidence_names")}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise InputError(name, f"NPZ is corrupt or truncated ({error})") from None
    record_ids = [str(value) for value in arrays["ids"]]
    offsets = np.asarray(arrays["read_offsets"], dtype=np.int64)
    count = len(arrays["read_sample"])
    if offsets.shape != (len(record_ids) + 1,) or offsets[0] != 0 or offsets[-1] != count \
            or np.any(np.diff(offsets) < 0):
        raise InputError(name, f"reads NPZ is inconsistent: read_offsets must rise from 0 to {count} with one "
                         f"entry per candidate and one more ({len(record_ids) + 1}), found shape {offsets.shape}")
    for key in ("read_first", "read_last", "read_count", "read_multi"):
        if len(arrays[key]) != count:
            raise InputError(name, f"reads NPZ is inconsistent: '{key}' has {len(arrays[key])} rows, "
                             f"'read_sample' {count}")
    samples = [str(value) for value in arrays["samples"]]
    if count and (int(np.min(arrays["read_sample"])) < 0 or int(np.max(arrays["read_sample"])) >= len(samples)):
        raise InputError(name, f"reads NPZ is inconsistent: a read's sample is outside the {len(samples)} samples")
    evidence = arrays.get("evidence")
    names = [str(value) for value in arrays.get("evidence_names", np.zeros(0, dtype=str))]
    if evidence is not None and evidence.shape != (len(record_ids), len(samples), len(names)):
        raise InputError(name, f"reads NPZ is inconsistent: 'evidence' has shape {evidence.shape}, expected "
                         f"{(len(record_ids), len(samples), len(names))}")
    wanted = set(ids)
    stacks = {}
    flank = int(arrays["flank"])
    for row, identifier in enumerate(record_ids):
        if identifier not in wanted:
            continue
        rows = slice(int(offsets[row]), int(offsets[row + 1]))
        stacks[identifier] = ReadStack(
            samples=samples, flank=flank, sample=np.asarray(arrays["read_sample"][rows], dtype=np.int64),
            first=np.asarray(arrays["read_first"][rows], dtype=np.int64),
            last=np.asarray(arrays["read_last"][rows], dtype=np.int64),
            count=np.asarray(arrays["read_count"][rows], dtype=np.int64),
            multi=np.asarray(arrays["read_multi"][rows], dtype=bool),
            evidence=None if evidence is None else np.asarray(evidence[row], dtype=np.float64),
            evidence_names=names)
    return stacks


def write_report(path: str | os.PathLike, page: str, group: AtomicOutputs | None = None) -> None:
    """The HTML page (with ``group``: renamed together with the run's other outputs)."""
    with atomic_text(path, group) as stream:
        stream.write(page)


def write_candidate_report(path: str | os.PathLike, group: AtomicOutputs | None, *, sources: Sequence[str],
                           top, probabilities: np.ndarray, decoys: np.ndarray | None, threshold: float,
                           positive_call: str, model: str, survey_records: Sequence[dict] = (),
                           survey_png: bytes | None = None, known_index=None, reads_path: str | None = None,
                           attention=None, summary: str = "", notes: Sequence[str] = ()) -> int:
    """Read what the report shows of the top candidates and write the page; returns the candidates shown.

    ``sources``: the encoded NPZ(s) that were scored (sequences, structures); ``top``: a
    :class:`mirtron_tools.report.TopCandidates`; ``probabilities``/``decoys``: every real candidate's
    and decoy's probability (the FDR by rank); ``known_index``: a :class:`mirtron_tools.io.known.KnownIndex`
    (the known loci a candidate overlaps) or None; ``reads_path``: a reads NPZ of mt-coverage or None;
    ``attention``: a callable ``EncodedSet -> (dict id -> (length,) weights or None, note or None)``."""
    from .. import __version__
    from ..report import ReportData, build_candidates, fdr_at_ranks, render_report

    ranked = top.ranked()
    ids = [identifier for identifier, _, _ in ranked]
    encoded = read_encoded_rows(sources, ids)
    order = {identifier: row for row, identifier in enumerate(encoded.ids)}
    encoded = encoded.subset([order[identifier] for identifier in ids])
    # FDR by rank: the survey's estimates, for a genome scan's calibrated probabilities only
    fdr_model, fdr_decoys = fdr_at_ranks(probabilities, decoys, len(ranked)) if survey_records else (None, None)
    known = {}
    if known_index is not None:
        for identifier, _, annotations in ranked:
            if all(key in annotations for key in ("contig", "start", "end", "strand")):
                loci = known_index.overlaps(annotations["contig"], int(annotations["start"]), int(annotations["end"]),
                                            annotations["strand"])
                known[identifier] = sorted({name for locus in loci for name in known_index.loci[locus].names})
    notes = list(notes)
    weights = None
    if attention is not None and len(encoded):
        weights, note = attention(encoded)
        if note:
            notes.append(note)
    stacks = read_read_stacks(reads_path, ids) if reads_path else None
    if reads_path and stacks is not None and len(stacks) < len(ids):
        notes.append(f"reads: {len(ids) - len(stacks)} of the {len(ids)} candidates are not in {reads_path}")
    candidates = build_candidates(ranked, encoded, threshold, positive_call, fdr_model, fdr_decoys, known, weights,
                                  stacks)
    data = ReportData(title=f"mirtron_tools: candidates of {os.path.basename(str(sources[0]))}"
                      + (f" and {len(sources) - 1} more piece(s)" if len(sources) > 1 else ""),
                      source=", ".join(str(source) for source in sources), model=model, threshold=threshold,
                      positive_call=positive_call, candidates=candidates, total=len(probabilities), summary=summary,
                      survey_rows=list(survey_records), survey_png=survey_png, notes=notes, version=__version__)
    write_report(path, render_report(data), group)
    return len(candidates)
