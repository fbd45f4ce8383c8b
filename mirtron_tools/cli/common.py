"""Shared options, logging, progress and the one error boundary of every mt-* command."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from typing import Callable, Iterator, Sequence

from .. import __version__
from ..backend import load_tensorflow  # noqa: F401  (re-exported: the commands' one way to load TensorFlow)
from ..errors import Interrupted, MirtronError
from .progress_bar import PROGRESS_INTERVAL, PROGRESS_REDRAW, Progress  # noqa: F401  (re-exported: every command's)
from .validators import (  # noqa: F401  (re-exported: the option types of every command)
    fraction,
    non_empty,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    rate,
    set_type,
)

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


def configure_logging(prog: str, quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    root = logging.getLogger("mirtron_tools")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


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
