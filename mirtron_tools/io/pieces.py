"""Files of a genome scan cut into pieces: plans (mt-encode --split) and scores (mt-predict -o x.npz).

Both are NPZ containers (:mod:`mirtron_tools.io.npz`) carrying the scan's metadata as JSON under
``scan`` (:mod:`mirtron_tools.pieces`); an encoded NPZ of a genome scan carries it too.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..pieces import dumps, introns_from_json, introns_to_json, windows_from_json, windows_to_json
from ..scan.genes import Intron
from ..scan.windows import Window
from ..scores import Scored, ScoredEvidence
from .atomic import AtomicOutputs
from .npz import open_checked, read_arrays, write_arrays

PLAN_KIND = "mirtron_tools.scan_plan"
PLAN_VERSION = 1
SCORES_KIND = "mirtron_tools.scores"
SCORES_VERSION = 1
#: arrays of a scores NPZ besides ``annotation_*``
SCORES_REQUIRED = ("scan", "model", "ids", "lengths", "probability")


def _json(archive, key: str, name: str) -> dict:
    try:
        value = json.loads(str(archive[key]))
    except (ValueError, KeyError) as error:
        raise InputError(name, f"NPZ entry '{key}' is not the JSON mirtron_tools writes ({error})") from None
    if not isinstance(value, dict):
        raise InputError(name, f"NPZ entry '{key}' is not a JSON object")
    return value


def plan_name(index: int, count: int) -> str:
    """``piece_03.plan.npz``: zero-padded so that the names sort in piece order."""
    return f"piece_{index:0{len(str(count))}d}.plan.npz"


def write_plan(path: str | os.PathLike, record: Mapping, windows: Sequence[Window], introns: Sequence[Intron],
               group: AtomicOutputs) -> None:
    write_arrays(path, PLAN_KIND, PLAN_VERSION, {
        "scan": np.array(dumps(record)),
        "windows": np.array(json.dumps(windows_to_json(windows), separators=(",", ":"))),
        "introns": np.array(json.dumps(introns_to_json(introns), separators=(",", ":"))),
    }, group)


def read_plan(path: str | os.PathLike) -> tuple[dict, list[Window], list[Intron]]:
    """A plan's scan metadata, windows and introns (checked: every window's hosts are introns of it)."""
    name = str(path)
    arrays = read_arrays(path, PLAN_KIND, PLAN_VERSION, ("scan", "windows", "introns"))
    record = _json(arrays, "scan", name)
    try:
        windows = windows_from_json(json.loads(str(arrays["windows"])))
        introns = introns_from_json(json.loads(str(arrays["introns"])))
    except (ValueError, TypeError) as error:
        raise InputError(name, f"plan is corrupt ({error}); make it again with mt-encode --split") from None
    if any(not 0 <= host < len(introns) for window in windows for host in window.hosts):
        raise InputError(name, "plan is corrupt (a window names an intron it does not hold)")
    return record, windows, introns


def existing_plans(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("piece_*.plan.npz")) if folder.is_dir() else []


def write_scores(path: str | os.PathLike, record: Mapping, model: Mapping, chunks: Sequence[Scored],
                 group: AtomicOutputs) -> int:
    """One piece's scores: every candidate and decoy of ``chunks`` with its probability and annotation
    columns; returns the number of rows."""
    keys = sorted({key for chunk in chunks for key in chunk.annotations})
    rows = sum(len(chunk.ids) for chunk in chunks)

    def joined(values: list, dtype=None) -> np.ndarray:
        return np.concatenate(values) if rows else np.zeros(0, dtype=dtype)

    ids = [identifier for chunk in chunks for identifier in chunk.ids]
    arrays = {"scan": np.array(dumps(record)), "model": np.array(dumps(model)),
              "ids": np.array(ids, dtype=str) if ids else np.array([], dtype="<U1"),
              "lengths": joined([np.asarray(chunk.lengths, dtype=np.int32) for chunk in chunks], np.int32),
              "probability": joined([np.asarray(chunk.probabilities, dtype=np.float32) for chunk in chunks],
                                    np.float32)}
    arrays.update({f"annotation_{key}": joined([np.asarray(chunk.annotations[key]) for chunk in chunks])
                   for key in keys})
    evidence = [chunk.evidence for chunk in chunks if chunk.evidence is not None]
    if chunks and len(evidence) == len(chunks):
        arrays.update(_evidence_arrays(evidence))
    write_arrays(path, SCORES_KIND, SCORES_VERSION, arrays, group)
    return rows


#: hairpin position stored for an intron end that is not known
_NO_SITE = np.iinfo(np.int32).min


def _evidence_arrays(parts: Sequence[ScoredEvidence]) -> dict[str, np.ndarray]:
    """A read-aware model's evidence of every row, for the merge's TSV columns and permutation controls."""
    from ..reads import reads_arrays

    geometry = [item for part in parts for item in part.geometry]
    return {"evidence_samples": np.array(parts[0].samples, dtype=str),
            "evidence_prior": np.concatenate([part.prior for part in parts]),
            "evidence_values": np.concatenate([part.values for part in parts]),
            **{f"evidence_{key}": value for key, value in
               reads_arrays([item for part in parts for item in part.reads], 0).items()},
            "geometry_structure": np.array([item.structure for item in geometry], dtype=str),
            "geometry_donor": np.array([_NO_SITE if item.donor is None else item.donor for item in geometry],
                                       dtype=np.int32),
            "geometry_acceptor": np.array([_NO_SITE if item.acceptor is None else item.acceptor
                                           for item in geometry], dtype=np.int32)}


def _evidence_from_arrays(arrays: Mapping[str, np.ndarray], name: str) -> ScoredEvidence | None:
    if "evidence_values" not in arrays:
        return None
    from ..reads import Geometry, reads_from_arrays

    reads = reads_from_arrays({key[len("evidence_"):]: value for key, value in arrays.items()
                               if key.startswith("evidence_read_")}, 0)
    structures = [str(value) for value in arrays["geometry_structure"]]
    values = np.asarray(arrays["evidence_values"], dtype=np.float32)
    if not len(reads) == len(structures) == len(values) == len(arrays["ids"]):
        raise InputError(name, "scores NPZ is inconsistent: its read evidence does not have one row per id")
    geometry = [Geometry(len(structure), structure, None if donor == _NO_SITE else int(donor),
                         None if acceptor == _NO_SITE else int(acceptor))
                for structure, donor, acceptor in zip(structures, arrays["geometry_donor"], arrays["geometry_acceptor"])]
    return ScoredEvidence([str(value) for value in arrays["evidence_samples"]],
                          np.asarray(arrays["evidence_prior"], dtype=np.float64), values, reads, geometry)


def read_scores(path: str | os.PathLike) -> tuple[dict, dict, Scored]:
    """``(scan record, model record, scored rows)`` of a scores NPZ; every per-row array as long as ``ids``."""
    name = str(path)
    arrays = read_arrays(path, SCORES_KIND, SCORES_VERSION, SCORES_REQUIRED)
    rows = len(arrays["ids"])
    for key, value in arrays.items():
        if (key in ("lengths", "probability") or key.startswith("annotation_")) and (value.ndim != 1
                                                                                     or len(value) != rows):
            raise InputError(name, f"scores NPZ is inconsistent: '{key}' does not have one value per id")
    scored = Scored([str(value) for value in arrays["ids"]], arrays["lengths"],
                    {key[len("annotation_"):]: value for key, value in arrays.items() if key.startswith("annotation_")},
                    arrays["probability"], _evidence_from_arrays(arrays, name))
    return _json(arrays, "scan", name), _json(arrays, "model", name), scored


def is_scores(path: str | os.PathLike) -> bool:
    """True when ``path`` is a scores NPZ of mt-predict (read without loading its arrays)."""
    from .npz import looks_like_npz

    if not looks_like_npz(path):
        return False
    try:
        with np.load(str(path), allow_pickle=False) as archive:
            return "format" in archive.files and str(archive["format"]) == SCORES_KIND
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # truncated or corrupt: not readable as one
        return False


def encoded_scan_record(path: str | os.PathLike) -> dict | None:
    """The scan metadata of an encoded NPZ of a genome scan (None when it has none)."""
    from ..encoding import ENCODED_KIND, ENCODING_FORMAT_VERSION

    with open_checked(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, ()) as archive:
        if "scan" not in archive.files:
            return None
        return _json(archive, "scan", str(path))
