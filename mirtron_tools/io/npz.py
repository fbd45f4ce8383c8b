"""NPZ containers with a named kind and a format version, written atomically."""
from __future__ import annotations

import os
import zipfile
from typing import Mapping

import numpy as np

from ..errors import FormatVersionError, InputError
from .atomic import atomic_path


def write_arrays(path: str | os.PathLike, kind: str, version: int, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` plus ``format`` and ``format_version`` keys to a compressed NPZ."""
    payload = dict(arrays)
    payload["format"] = np.array(kind)
    payload["format_version"] = np.array(version, dtype=np.int32)
    with atomic_path(path, suffix=".npz") as temporary:
        np.savez_compressed(temporary, **payload)


def read_arrays(
    path: str | os.PathLike, kind: str, version: int, required: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Open an NPZ of ``kind`` and check its version and keys; arrays load lazily on access."""
    name = str(path)
    if not os.path.exists(name):
        raise InputError(name, "no such file")
    if not zipfile.is_zipfile(name):
        raise InputError(name, f"is not an NPZ file (expected a {kind} NPZ)")
    try:
        archive = np.load(name, allow_pickle=False)
        keys = set(archive.files)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputError(name, f"cannot read NPZ ({error})") from None
    if "format" not in keys or "format_version" not in keys:
        raise InputError(name, f"NPZ has no format header; expected a {kind} NPZ written by mirtron_tools")
    found_kind = str(archive["format"])
    if found_kind != kind:
        raise InputError(name, f"NPZ holds '{found_kind}', expected '{kind}'")
    found_version = int(archive["format_version"])
    if found_version != version:
        raise FormatVersionError(
            name,
            f"{kind} NPZ has format version {found_version}, this mirtron_tools reads version {version}"
            + (" (re-create it with this version)" if found_version < version else " (upgrade mirtron_tools)"),
        )
    missing = [key for key in required if key not in keys]
    if missing:
        raise InputError(name, f"{kind} NPZ lacks array(s): {', '.join(missing)}")
    try:
        return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise InputError(name, f"NPZ is corrupt or truncated ({error})") from None


def looks_like_npz(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zip archive (an NPZ); FASTA, plain or gzip, is not."""
    return str(path) != "-" and os.path.isfile(path) and zipfile.is_zipfile(path)
