"""Shared options, logging, progress and the one error boundary of every mt-* command."""
from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import time
from typing import Callable, Iterator, Sequence

from .. import __version__
from ..backend import load_tensorflow  # noqa: F401  (re-exported: the commands' one way to load TensorFlow)
from ..errors import Interrupted, MirtronError

logger = logging.getLogger("mirtron_tools")


def base_parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """A parser with the options every command has: --version, --quiet, --verbose, --debug."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    group = parser.add_argument_group("messages")
    noise = group.add_mutually_exclusive_group()
    noise.add_argument("-q", "--quiet", action="store_true", help="print only warnings and errors")
    noise.add_argument("-v", "--verbose", action="store_true", help="print debugging messages")
    group.add_argument("--debug", action="store_true",
                       help="show tracebacks and TensorFlow's own messages")
    return parser


def add_threads(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("-t", "--threads", type=positive_int, default=1, metavar="N",
                        help="worker processes / threads to use (default: %(default)s)")


def add_throughput(parser: argparse.ArgumentParser, chunk_size: int) -> None:
    """--batch-size, --chunk-size and --threads for commands that fold and score in chunks."""
    tuning = parser.add_argument_group("throughput")
    tuning.add_argument("--batch-size", type=positive_int, default=256, help="(default: %(default)s)")
    tuning.add_argument("--chunk-size", type=positive_int, default=chunk_size,
                        help="hairpins folded and scored per chunk (default: %(default)s)")
    add_threads(tuning)


def add_seed(parser: argparse._ActionsContainer) -> None:
    parser.add_argument("--seed", type=int, default=None, metavar="INT",
                        help="seed every random generator and make TensorFlow deterministic")


def add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", default=None, metavar="NAME|FILE",
                        help="bundled model name or .keras file (default: the bundled human_mirtron model)")


def add_length_limit(parser: argparse.ArgumentParser) -> None:
    from ..encoding import DEFAULT_MAX_LENGTH

    parser.add_argument("--max-length", type=positive_int, default=DEFAULT_MAX_LENGTH, metavar="NT",
                        help="longest hairpin accepted (default: %(default)s nt; any length can be given, but "
                             "folding time grows with about the cube of the length: 0.03 s at 200 nt, 1.3 s at "
                             "1,000 nt per hairpin and core)")
    parser.add_argument("--skip-long", action="store_true",
                        help="skip longer sequences with a warning instead of stopping with an error")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def probability(text: str) -> float:
    """A probability or share in [0, 1]."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def rate(text: str) -> float:
    """A rate in [0, 1) (dropout: 1 would drop every unit)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
    return value


def fraction(text: str) -> float:
    """A fraction strictly between 0 and 1 (a held-out share that leaves data on both sides)."""
    value = _number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1, not {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def set_type(parser: argparse.ArgumentParser, dest: str, kind: Callable[[str], object]) -> None:
    """Give an option added elsewhere (a shared option group) a stricter parse-time type."""
    for action in parser._actions:
        if action.dest == dest:
            action.type = kind
            return
    raise KeyError(dest)


def configure_logging(prog: str, quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    root = logging.getLogger("mirtron_tools")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


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


#: Signals that end a command like Ctrl-C does: temporary outputs removed, one line, status 128 + signal.
TERMINATING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` in this process, and SIGINT KeyboardInterrupt,
    so that ``finally`` blocks remove temporary files; worker processes forked from it (which
    inherit the handlers) leave at once and quietly, leaving the report to this process.

    Signals that were ignored when the command started (``nohup``) stay ignored; the previous
    handlers come back afterwards (tests call ``main()`` in-process)."""
    main_process = os.getpid()

    def handler(number, frame):
        if os.getpid() != main_process:  # a forked worker: no traceback, no half-sent result
            os._exit(128 + number)
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(number)

    previous = {}
    try:
        for number in (signal.SIGINT, *TERMINATING_SIGNALS):
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, handler)
    except ValueError:  # not the main thread: signals cannot be handled here
        pass
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
        execute: Callable[[argparse.Namespace], int | None]) -> int:
    """Parse, configure logging and run ``execute``; the one error boundary of a command.

    MirtronError and OSError become one line ``prog: error: ...`` on stderr and exit status 1;
    usage errors exit 2 (argparse); Ctrl-C exits 130, SIGTERM 143 (SIGHUP 129) with one line and
    no temporary file left; a reader that closed the pipe, 141; tracebacks only with --debug.
    """
    args = parser.parse_args(argv)
    configure_logging(parser.prog, args.quiet, args.verbose)
    try:
        with _signals_unwind():
            return int(execute(args) or 0)
    except BrokenPipeError:
        # The reader of standard output stopped early (``mt-predict ... -o - | head``): stop quietly,
        # as Unix tools do, with the shell's status for SIGPIPE; the rest of the output goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (MirtronError, OSError) as error:
        if args.debug:
            raise
        message = str(error)
        if isinstance(error, OSError) and error.filename and str(error.filename) not in message:
            message = f"{error.filename}: {message}"
        sys.stderr.write(f"{parser.prog}: error: {message}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{parser.prog}: interrupted\n")
        return 130
    except Interrupted as stop:
        name = signal.Signals(stop.signal_number).name
        sys.stderr.write(f"{parser.prog}: stopped by {name}\n")
        return 128 + stop.signal_number


def report_stats(source: str, stats) -> None:
    """Warnings about what a hairpin reader skipped or flagged (``io.fasta.HairpinStats.report``)."""
    stats.report(source)
