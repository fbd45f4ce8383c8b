"""The progress protocol of long library calls (folding, scanning): the caller decides how to show it.

A library entry point takes ``progress(label, total)`` (a :data:`ProgressFactory`) and calls the
counter it returns with the number of items just finished, then ``close()``.
``mirtron_tools.cli.common.Progress`` is such a counter (a bar on a terminal, log lines otherwise)."""
from __future__ import annotations

from typing import Callable, Protocol


class ProgressCounter(Protocol):
    def __call__(self, count: int = 1) -> None: ...

    def close(self) -> None: ...


#: ``progress(label, total)`` -> a counter of finished items
ProgressFactory = Callable[[str, int], ProgressCounter]


class NoProgress:
    """A counter that shows nothing (the default of the library's entry points)."""

    def __call__(self, count: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(label: str = "", total: int | None = None) -> NoProgress:
    """A :data:`ProgressFactory` that shows nothing."""
    return NoProgress()
