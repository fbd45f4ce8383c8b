"""Write outputs to a temporary file beside the target and rename it into place at the end.

A failed or interrupted run therefore never leaves a half-written file that looks finished.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

from ..errors import InputError


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before long work) when the folder of ``path`` cannot be written."""
    if str(path) == "-":
        return
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise InputError(str(path), f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(str(path), f"output folder {folder} is not writable")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it to ``path`` on success."""
    target = Path(path)
    check_writable(target)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.resolve().parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        os.replace(temporary_path, target)
    finally:
        if temporary_path.exists():
            temporary_path.unlink()


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike) -> Iterator[IO[str]]:
    """Open a text output; ``-`` is standard output (written as it comes)."""
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
