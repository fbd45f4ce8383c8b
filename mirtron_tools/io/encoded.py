"""Encoded hairpin sets on disk: an NPZ (arrays) and a TSV sidecar that a person can read."""
from __future__ import annotations

import os
from pathlib import Path

from ..encoding import ENCODED_KIND, ENCODING_FORMAT_VERSION, EncodedSet
from ..errors import InputError
from .npz import read_arrays, write_arrays
from .tsv import write_table

REQUIRED = ("ids", "sequences", "structures", "mfe", "max_length")


def sidecar_path(npz_path: str | os.PathLike) -> Path:
    """``x.npz`` -> ``x.tsv``."""
    path = Path(npz_path)
    return path.with_suffix(".tsv") if path.suffix == ".npz" else Path(f"{path}.tsv")


def write_encoded(path: str | os.PathLike, encoded: EncodedSet, table: str | os.PathLike | None = None) -> None:
    """Write the NPZ and (unless ``table`` is ``""``) its TSV sidecar."""
    write_arrays(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, encoded.to_arrays())
    if table != "":
        write_table(table or sidecar_path(path), encoded.table_header(), encoded.table_rows())


def read_encoded(path: str | os.PathLike) -> EncodedSet:
    """Read an encoded NPZ written by ``mt-encode`` (checks kind and format version)."""
    arrays = read_arrays(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, REQUIRED)
    encoded = EncodedSet.from_arrays(arrays)
    if len(set(encoded.ids)) != len(encoded.ids):
        raise InputError(str(path), "NPZ has duplicate ids")
    return encoded
