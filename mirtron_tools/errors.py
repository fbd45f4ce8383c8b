"""One exception family. Raised where data is read; caught once in ``cli.common.run``."""
from __future__ import annotations

from typing import Iterable


def shortened(items: Iterable[object], limit: int = 5, separator: str = ", ") -> str:
    """``a, b, c, d, e and 7 more``: the first ``limit`` items of a list for a message, and how many are left."""
    texts = [str(item) for item in items]
    shown = separator.join(texts[:limit])
    return shown + (f" and {len(texts) - limit} more" if len(texts) > limit else "")


class MirtronError(Exception):
    """Base class for every error that a user can fix (bad input, wrong model, ...)."""


class InputError(MirtronError):
    """An input file is malformed, empty, truncated or inconsistent.

    The message names the file (and line or record where known) and what was expected.
    """

    def __init__(self, source: str, problem: str, line: int | None = None):
        self.source = str(source)
        self.problem = problem
        self.line = line
        where = f"{self.source}:{line}" if line is not None else self.source
        super().__init__(f"{where}: {problem}")


class FormatVersionError(InputError):
    """A file (NPZ, model) was written by another, incompatible format version."""


class ModelError(MirtronError):
    """A model file cannot be used: corrupt, wrong task, missing manifest, wrong inputs."""


class OutputError(MirtronError):
    """An output cannot be written: its folder is missing, it is an input or another output of the
    run, or the disk is full. The message names the output (or "standard output")."""

    def __init__(self, target: str, problem: str):
        self.target = str(target)
        self.problem = problem
        super().__init__(f"{self.target}: {problem}")


class Interrupted(BaseException):
    """SIGTERM (or SIGHUP) arrived: unwinds like KeyboardInterrupt, so temporary files are removed.

    A BaseException, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, signal_number: int):
        self.signal_number = signal_number
        super().__init__(f"signal {signal_number}")
