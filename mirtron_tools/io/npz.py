"""NPZ containers with a named kind and a format version, written atomically."""
from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from ..errors import FormatVersionError, InputError
from .atomic import AtomicOutputs, atomic_outputs

ZIP_MAGIC = b"PK\x03\x04"


def table_path(npz_path: str | os.PathLike) -> Path:
    """The default path of the TSV table written beside an NPZ: ``x.npz`` -> ``x.tsv``, ``x.cov.npz`` ->
    ``x.cov.tsv``, any other name gets ``.tsv`` added."""
    path = Path(npz_path)
    return path.with_suffix(".tsv") if path.suffix == ".npz" else Path(f"{path}.tsv")


def refuse_sidecar_outputs(outputs: Mapping[str, str | os.PathLike | None],
                           inputs: Iterable[str | os.PathLike | None]) -> None:
    """OutputError when an output of this run is the TSV table written beside one of its NPZ inputs
    (``mt-encode -o x.npz`` also writes ``x.tsv``): writing it would silently replace another command's
    output. ``outputs`` maps options to paths as :func:`mirtron_tools.io.atomic.check_outputs` takes them."""
    from ..errors import OutputError
    from .atomic import same_path

    for source in inputs:
        if source is None or str(source) in ("", "-") or not str(source).lower().endswith(".npz"):
            continue
        table = table_path(source)
        for option, path in outputs.items():
            if path is None or str(path) in ("", "-"):
                continue
            if same_path(str(path), str(table)):
                raise OutputError(str(path), f"is the table written beside {source} (an input of this run, e.g. by "
                                  f"mt-encode); {option} would overwrite it: choose another output name")


def write_arrays(path: str | os.PathLike, kind: str, version: int, arrays: Mapping[str, np.ndarray],
                 group: AtomicOutputs | None = None) -> None:
    """Write ``arrays`` plus ``format`` and ``format_version`` keys to a compressed NPZ.

    With ``group`` the NPZ is one of several outputs renamed together (see ``atomic_outputs``)."""
    payload: dict[str, Any] = dict(arrays)  # (Any: numpy's stub reads ** as its allow_pickle too)
    payload["format"] = np.array(kind)
    payload["format_version"] = np.array(version, dtype=np.int32)
    if group is not None:
        with open(group.path(path, suffix=".npz"), "wb") as stream:
            np.savez_compressed(stream, **payload)
        return
    with atomic_outputs() as own:
        write_arrays(path, kind, version, arrays, own)


def _format_version(archive, name: str, kind: str) -> int:
    """The ``format_version`` entry as an integer, or an InputError saying what it holds instead."""
    value = archive["format_version"]
    if value.shape != () or value.dtype.kind not in "iu":
        shown = repr(value.tolist())[:40]
        raise FormatVersionError(name, f"{kind} NPZ has format_version {shown}, expected a whole number; "
                                 "it was not written by mirtron_tools (re-create it with mt-encode)")
    return int(value)


def read_arrays(
    path: str | os.PathLike, kind: str, version: int, required: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Open an NPZ of ``kind``, check its version and keys, and load every array."""
    archive = open_checked(path, kind, version, required)
    try:
        return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise InputError(str(path), f"NPZ is corrupt or truncated ({error})") from None


def open_checked(path: str | os.PathLike, kind: str, version: int, required: tuple[str, ...]):
    """Open an NPZ of ``kind`` and check its version and keys; arrays load lazily on access
    (a ``numpy.lib.npyio.NpzFile``)."""
    name = str(path)
    if not os.path.exists(name):
        raise InputError(name, "no such file")
    if os.path.isdir(name):
        raise InputError(name, "is a folder, not an NPZ file")
    if not zipfile.is_zipfile(name):
        if _starts_like_zip(name):
            raise InputError(name, "NPZ is truncated or corrupt (a zip archive without its directory); "
                             "re-create or re-copy it")
        raise InputError(name, f"is not an NPZ file (expected a {kind} NPZ)")
    try:
        archive = np.load(name, allow_pickle=False)
        keys = set(archive.files)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(name, f"cannot read NPZ ({error})") from None
    if "format" not in keys or "format_version" not in keys:
        raise InputError(name, f"NPZ has no format header; expected a {kind} NPZ written by mirtron_tools")
    try:
        found_kind = str(archive["format"])
        if found_kind != kind:
            raise InputError(name, f"NPZ holds '{found_kind}', expected '{kind}'")
        found_version = _format_version(archive, name, kind)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise InputError(name, f"NPZ is corrupt or truncated ({error})") from None
    if found_version != version:
        raise FormatVersionError(
            name,
            f"{kind} NPZ has format version {found_version}, this mirtron_tools reads version {version}"
            + (" (re-create it with this version)" if found_version < version else " (upgrade mirtron_tools)"),
        )
    missing = [key for key in required if key not in keys]
    if missing:
        raise InputError(name, f"{kind} NPZ lacks array(s): {', '.join(missing)}")
    return archive


def iter_rows(archive, keys: list[str], chunk_size: int, name: str) -> Iterator[dict[str, np.ndarray]]:
    """The 1-D arrays ``keys`` of an open NPZ, ``chunk_size`` rows at a time, decompressed as they are
    read: memory holds one chunk of each, whatever the file's size."""
    streams, shapes, dtypes = [], [], []
    try:
        for key in keys:
            stream = archive.zip.open(f"{key}.npy")
            major, _ = np.lib.format.read_magic(stream)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(stream) if major == 1
                                     else np.lib.format.read_array_header_2_0(stream))
            if len(shape) != 1 or dtype.hasobject:
                raise InputError(name, f"NPZ array '{key}' is not a plain 1-D array (shape {shape})")
            streams.append(stream)
            shapes.append(shape[0])
            dtypes.append(dtype)
        if len(set(shapes)) > 1:
            raise InputError(name, "encoded NPZ is inconsistent: " + ", ".join(
                f"'{key}' has {rows}" for key, rows in zip(keys, shapes)) + " record(s) (re-create it with mt-encode)")
        total = shapes[0] if shapes else 0
        for start in range(0, total, chunk_size):
            rows = min(chunk_size, total - start)
            chunk = {}
            for key, stream, dtype in zip(keys, streams, dtypes):
                data = stream.read(rows * dtype.itemsize)
                if len(data) != rows * dtype.itemsize:
                    raise InputError(name, f"NPZ is corrupt or truncated (array '{key}' ends early)")
                chunk[key] = np.frombuffer(data, dtype=dtype)
            yield chunk
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise InputError(name, f"NPZ is corrupt or truncated ({error})") from None
    finally:
        for stream in streams:
            stream.close()


def _starts_like_zip(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(4) == ZIP_MAGIC
    except OSError:
        return False


def looks_like_npz(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zip archive (an NPZ), complete or truncated; FASTA, plain or gzip, is not."""
    name = str(path)
    return name != "-" and os.path.isfile(name) and (zipfile.is_zipfile(name) or _starts_like_zip(name))
