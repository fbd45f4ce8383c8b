"""Open plain or gzip-compressed text inputs, or standard input for ``-``."""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import sys
import zlib
from typing import IO, Iterator

from ..errors import InputError, shortened  # noqa: F401  (shortened: re-exported, a message helper of errors)

GZIP_MAGIC = b"\x1f\x8b"
#: Text is read as UTF-8; "utf-8-sig" also drops a byte-order mark that some editors write first.
ENCODING = "utf-8-sig"


def check_input_file(path: str | os.PathLike) -> None:
    """Fail early (before TensorFlow loads or long work starts) when an input is missing or a folder;
    ``-`` (standard input) is checked as it is read."""
    name = str(path)
    if name == "-":
        return
    if not os.path.exists(name):
        raise InputError(name, "no such file")
    if os.path.isdir(name):
        raise InputError(name, "is a folder, not a file")
    if not os.access(name, os.R_OK):
        raise InputError(name, "is not readable (permission denied)")


def stdin_is_terminal() -> bool:
    """Standard input is a terminal (someone typing, or nothing piped in): '-' would wait forever."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError):  # replaced by an object without a descriptor (tests)
        return False


@contextlib.contextmanager
def open_text(path: str | os.PathLike) -> Iterator[IO[str]]:
    """Open ``path`` for reading text; gzip is recognised by its magic bytes, not its name."""
    name = str(path)
    if name == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise InputError("standard input", "is closed: give a file, or pipe the input in")
        if stdin_is_terminal():
            raise InputError("standard input", "is a terminal: '-' reads the input (FASTA or BED text, plain or "
                             "gzip) from a pipe or a redirection, e.g. 'zcat hairpins.fa.gz | mt-encode - -o out.npz' "
                             "or '- < hairpins.fa'; or give the file name instead of '-'")
        buffer = sys.stdin.buffer
        head = buffer.peek(2)[:2] if hasattr(buffer, "peek") else b""
        if head == GZIP_MAGIC:
            yield io.TextIOWrapper(gzip.GzipFile(fileobj=buffer), encoding=ENCODING)
        else:
            yield io.TextIOWrapper(buffer, encoding=ENCODING)
        return
    if not os.path.exists(name):
        raise InputError(name, "no such file")
    if os.path.isdir(name):
        raise InputError(name, "is a folder, not a file")
    with open(name, "rb") as probe:
        head = probe.read(2)
    if head == GZIP_MAGIC:
        stream: IO[str] = io.TextIOWrapper(gzip.open(name, "rb"), encoding=ENCODING)
    else:
        stream = open(name, encoding=ENCODING)
    with stream:
        yield stream


def read_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line_without_newline)``; turn decoding faults into InputError."""
    name = str(path)
    line_number = 0
    try:
        with open_text(path) as stream:
            for line_number, line in enumerate(stream, start=1):
                yield line_number, line.rstrip("\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise InputError(name, f"truncated or corrupt gzip data after line {line_number} ({error})") from None
    except UnicodeDecodeError:
        raise InputError(name, "is not a text file (cannot decode as UTF-8)", line_number + 1) from None
