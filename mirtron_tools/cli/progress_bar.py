"""The progress of long work on standard error, for every command: a bar on a terminal, log lines otherwise
(a :class:`mirtron_tools.progress.ProgressCounter` that the library's entry points take)."""
from __future__ import annotations

import logging
import sys
import time
from typing import Callable

logger = logging.getLogger("mirtron_tools")


#: Seconds between progress lines when standard error is not a terminal (a log file, a pipe, a scheduler).
PROGRESS_INTERVAL = 10.0
#: Seconds between redraws of the live bar on a terminal.
PROGRESS_REDRAW = 0.2


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class Progress:
    """The one progress helper of every command: progress of long work on standard error.

    On a terminal, a live bar (a counter when the total is unknown) with the elapsed time and an
    estimate of the time left, redrawn at most every ``PROGRESS_REDRAW`` s. Otherwise (a log file,
    a pipe, a batch job) a start line, a plain log line ``label: done/total (share), elapsed, left``
    every ``PROGRESS_INTERVAL`` s while work goes on, and an end line. ``--quiet`` silences all of
    it. ``clock`` is injectable for tests. Call the object with the number of items just finished.
    """

    def __init__(self, label: str, total: int | None, quiet: bool = False, unit: str = "",
                 interval: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.label, self.total, self.done, self.unit = label, total, 0, unit
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self.interval = PROGRESS_INTERVAL if interval is None else interval
        self.clock = clock
        self.started = clock()
        self.last_draw = self.last_line = self.started
        self.closed = False
        if not quiet and not self.live:
            logger.info("%s: %s", label, f"{total}{self._unit()} to do" if total is not None else "started")

    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def status(self, now: float) -> str:
        """``12/40 hairpins (30 %), 9 s, about 21 s left`` (no share or estimate without a total)."""
        elapsed = now - self.started
        if self.total:
            share = min(self.done / self.total, 1.0)
            left = f", about {_duration(elapsed * (1 - share) / share)} left" if 0 < share < 1 else ""
            return f"{self.done}/{self.total}{self._unit()} ({share:.0%}), {_duration(elapsed)}{left}"
        return f"{self.done}{self._unit()} done, {_duration(elapsed)}"

    def __call__(self, count: int = 1) -> None:
        self.done += count
        if self.quiet or self.closed:
            return
        now = self.clock()
        if self.live:
            if now - self.last_draw >= PROGRESS_REDRAW:
                self.last_draw = now
                sys.stderr.write(f"\r\033[K{self.label}: {self._bar()}{self.status(now)}")
                sys.stderr.flush()
        elif now - self.last_line >= self.interval:
            self.last_line = now
            logger.info("%s: %s", self.label, self.status(now))

    def _bar(self, width: int = 24) -> str:
        if not self.total:
            return ""
        filled = int(width * min(self.done / self.total, 1.0))
        return f"[{'#' * filled}{'.' * (width - filled)}] "

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        elapsed = self.clock() - self.started
        if self.live:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        if not self.quiet:
            logger.info("%s: %d%s done in %.1f s", self.label, self.done, self._unit(), elapsed)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is None:
            self.close()
        elif self.live:  # an error: clear the bar so the error line starts at the margin
            self.closed = True
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
