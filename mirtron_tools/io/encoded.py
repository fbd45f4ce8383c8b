"""Encoded hairpin sets on disk: an NPZ (arrays) and a TSV sidecar that a person can read."""
from __future__ import annotations

import os
from typing import Iterator, Mapping

import numpy as np

from ..encoding import ENCODED_KIND, ENCODING_FORMAT_VERSION, EncodedSet
from ..errors import InputError
from .atomic import atomic_outputs
from .npz import iter_rows, open_checked, read_arrays, table_path, write_arrays
from .tsv import write_table

REQUIRED = ("ids", "sequences", "structures", "mfe", "max_length")
#: Letters an encoded sequence may hold: upper-case RNA and the IUPAC ambiguity codes (the FASTA
#: reader's alphabet after T is read as U).
SEQUENCE_LETTERS = frozenset("ACGUNRYKMSWBDHV")
STRUCTURE_LETTERS = frozenset("().")


def write_encoded(path: str | os.PathLike, encoded: EncodedSet, table: str | os.PathLike | None = None,
                  metadata: Mapping[str, np.ndarray] | None = None) -> None:
    """Write the NPZ and (unless ``table`` is ``""``) its TSV sidecar: both appear, or neither.

    ``metadata``: arrays that describe the whole set, stored beside the per-record ones (e.g. a genome
    scan's ``scan`` record, :mod:`mirtron_tools.pieces`)."""
    with atomic_outputs() as group:
        write_arrays(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, {**encoded.to_arrays(), **(metadata or {})}, group)
        if table != "":
            write_table(table or table_path(path), encoded.table_header(), encoded.table_rows(), group=group)


def read_encoded(path: str | os.PathLike) -> EncodedSet:
    """Read an encoded NPZ written by ``mt-encode`` (checks kind and format version)."""
    arrays = read_arrays(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, REQUIRED)
    check_encoded_arrays(arrays, str(path))
    encoded = EncodedSet.from_arrays(arrays)
    if len(set(encoded.ids)) != len(encoded.ids):
        raise InputError(str(path), "NPZ has duplicate ids")
    return encoded


def iter_encoded(path: str | os.PathLike, chunk_size: int) -> Iterator[EncodedSet]:
    """An encoded NPZ as :class:`EncodedSet` chunks of ``chunk_size`` records, in order, each checked as
    :func:`read_encoded` checks the whole (ids must also be unique across chunks). Memory holds one chunk,
    not the file: the one-hot array is never read (it is rebuilt from sequence and structure)."""
    name = str(path)
    archive = open_checked(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, REQUIRED)
    with archive:
        max_length = archive["max_length"]
        keys = ["ids", "sequences", "structures", "mfe"] + sorted(
            key for key in archive.files if key.startswith("annotation_"))
        seen: set[str] = set()
        for arrays in iter_rows(archive, keys, chunk_size, name):
            arrays["max_length"] = max_length
            check_encoded_arrays(arrays, name)
            encoded = EncodedSet.from_arrays(arrays)
            if seen.intersection(encoded.ids) or len(set(encoded.ids)) != len(encoded.ids):
                raise InputError(name, "NPZ has duplicate ids")
            seen.update(encoded.ids)
            yield encoded


def encoded_ids(path: str | os.PathLike) -> list[str]:
    """The ids of an encoded NPZ, read without its other arrays."""
    with open_checked(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, REQUIRED) as archive:
        return [str(value) for value in archive["ids"]]


def encoded_columns(path: str | os.PathLike) -> set[str]:
    """Names of the arrays of an encoded NPZ (without reading them): e.g. ``annotation_decoy``."""
    with open_checked(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, REQUIRED) as archive:
        return set(archive.files)


def _first_bad_record(ids: list[str], texts: list[str], allowed: frozenset) -> tuple[int, str]:
    for row, text in enumerate(texts):
        bad = set(text) - allowed
        if bad:
            return row, min(bad)
    raise AssertionError("no bad record")  # pragma: no cover - only called when one exists


def _strings(arrays: Mapping[str, np.ndarray], key: str, name: str) -> list[str]:
    value = arrays[key]
    if value.ndim != 1 or value.dtype.kind not in "US":
        raise InputError(name, f"encoded NPZ array '{key}' must be a 1-D array of text, found "
                         f"{value.dtype} of shape {value.shape}")
    return [str(item) for item in value]


def check_encoded_arrays(arrays: Mapping[str, np.ndarray], name: str) -> None:
    """Check an encoded NPZ's arrays before anything uses them; raise InputError naming file and record.

    Every per-record array (ids, sequences, structures, mfe, lengths, onehot, annotation_*) is as long
    as ``ids``; ``max_length`` is a positive whole number; sequences are non-empty and hold only
    A, C, G, U and IUPAC ambiguity codes; dot-brackets hold only '(', ')' and '.', are as long as
    their sequences and balanced; ``mfe`` values are finite numbers.
    """
    ids = _strings(arrays, "ids", name)
    sequences = _strings(arrays, "sequences", name)
    structures = _strings(arrays, "structures", name)
    count = len(ids)
    for key, value in arrays.items():
        if key in ("ids", "format", "format_version", "max_length", "channels"):
            continue
        if key in ("sequences", "structures", "mfe", "lengths", "onehot") or key.startswith("annotation_"):
            rows = value.shape[0] if value.ndim else None
            if rows != count:
                raise InputError(name, f"encoded NPZ is inconsistent: '{key}' has {rows if rows is not None else 'no'}"
                                 f" record(s), 'ids' has {count} (re-create it with mt-encode)")
    max_length = arrays["max_length"]
    if max_length.shape != () or max_length.dtype.kind not in "iu" or int(max_length) < 1:
        raise InputError(name, f"encoded NPZ has max_length {max_length.tolist()!r}, expected a positive whole number")
    mfe = arrays["mfe"]
    if mfe.ndim != 1 or mfe.dtype.kind not in "fiu":
        raise InputError(name, f"encoded NPZ array 'mfe' must hold numbers, found {mfe.dtype}")
    not_finite = np.flatnonzero(~np.isfinite(mfe.astype(np.float64)))
    if not_finite.size:
        row = int(not_finite[0])
        raise InputError(name, f"record '{ids[row]}' has mfe {float(mfe[row])} (expected a finite free energy in "
                         f"kcal/mol; {not_finite.size} record(s) affected)")
    for row, (sequence, structure) in enumerate(zip(sequences, structures)):
        if not sequence:
            raise InputError(name, f"record '{ids[row]}' has an empty sequence")
        if len(structure) != len(sequence):
            raise InputError(name, f"record '{ids[row]}' has a structure of {len(structure)} characters for a "
                             f"sequence of {len(sequence)} nt")
    if set("".join(sequences)) - SEQUENCE_LETTERS:
        row, letter = _first_bad_record(ids, sequences, SEQUENCE_LETTERS)
        raise InputError(name, f"record '{ids[row]}' has character {letter!r} in its sequence (allowed: ACGU and "
                         "IUPAC codes NRYKMSWBDHV)")
    if set("".join(structures)) - STRUCTURE_LETTERS:
        row, letter = _first_bad_record(ids, structures, STRUCTURE_LETTERS)
        raise InputError(name, f"record '{ids[row]}' has character {letter!r} in its structure (allowed: "
                         "dot-bracket '(', ')', '.')")
    if count:
        unbalanced = _unbalanced_structures(structures)
        if unbalanced.size:
            row = int(unbalanced[0])
            raise InputError(name, f"record '{ids[row]}' has an unbalanced dot-bracket structure "
                             f"({structures[row][:60]}{'...' if len(structures[row]) > 60 else ''})")


def _unbalanced_structures(structures: list[str]) -> np.ndarray:
    """Rows whose brackets do not pair up (a ')' before its '(' or a count that differs); vectorised."""
    lengths = np.array([len(structure) for structure in structures], dtype=np.int64)
    letters = np.frombuffer("".join(structures).encode("ascii"), dtype=np.uint8)
    depth = np.cumsum((letters == ord("(")).astype(np.int64) - (letters == ord(")")))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    before = np.where(starts > 0, depth[np.maximum(starts - 1, 0)], 0)
    final = depth[ends - 1] - before
    lowest = np.minimum.reduceat(depth, starts) - before
    return np.flatnonzero((final != 0) | (lowest < 0))
