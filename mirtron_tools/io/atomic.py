"""Outputs: checked up front, written to temporary files beside their targets, renamed at the end.

A failed or interrupted run therefore never leaves a half-written file that looks finished, and a
run with several outputs leaves all of them or none (:func:`atomic_outputs`). :func:`check_outputs`
is the one output guard of every command: it runs before any work starts.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from ..errors import OutputError

StandardOutput = "standard output"
#: errno values that say the output, not an input, is at fault.
WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})

PathLike = str | os.PathLike


def _is_special(path: Path) -> bool:
    """A device, FIFO or socket (``-o /dev/null``): written in place, there is nothing to rename."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_writable(path: PathLike) -> None:
    """Fail early (before long work) when ``path`` is a folder or its folder cannot be written."""
    name = str(path)
    if name == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(name, "is a folder; give a file name for this output")
    if _is_special(target):
        return
    folder = target.resolve().parent
    if not folder.is_dir():
        raise OutputError(name, f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(name, f"output folder {folder} is not writable")


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(first) == os.path.realpath(second)


def same_path(first: str, second: str) -> bool:
    """Whether two paths name one file (existing or not yet)."""
    return _same_file(first, second)


def refuse_standard_output(option: str, path: PathLike | None, what: str) -> None:
    """OutputError when an output that is not a text table (``what``: "an NPZ", "figures", ...) is ``-``."""
    if path is not None and str(path) == "-":
        raise OutputError(f"{option} -", f"{what} cannot be written to standard output; give a file name "
                          "('-' is standard output only for TSV and BED tables)")


def check_outputs(outputs: Mapping[str, PathLike | None], inputs: Iterable[PathLike | None] = (),
                  files_only: Mapping[str, str] | None = None) -> None:
    """The output guard: every output writable, none an input of the run, no two on one path.

    ``outputs`` maps the option that names an output (``-o``, ``--table``, ...) to its path
    (None: not written this run; ``-``: standard output). ``inputs`` are every file the run reads
    (None and ``-`` are skipped). ``files_only`` maps the options whose format cannot be streamed
    (NPZ, a model, a figure, a folder) to what they write: for them ``-`` is refused. The one rule
    of every command: a text output (TSV, BED) may be ``-``, standard output; any other is a file.
    Raises :class:`OutputError` naming the output and the clash.
    """
    given = [(option, str(path)) for option, path in outputs.items() if path is not None and str(path) != ""]
    sources = [str(path) for path in inputs if path is not None and str(path) not in ("", "-")]
    for option, path in given:
        if files_only and option in files_only:
            refuse_standard_output(option, path, files_only[option])
        if path == "-":
            continue
        check_writable(path)
        if _is_special(Path(path)):
            continue
        for source in sources:
            if _same_file(path, source):
                raise OutputError(path, f"output ({option}) is also an input of this run ({source}); it would be "
                                  "overwritten: choose another output name")
    for number, (option, path) in enumerate(given):
        for other_option, other in given[number + 1:]:
            if path == "-" and other == "-" or path != "-" and other != "-" and _same_file(path, other) \
                    and not _is_special(Path(path)):
                where = "standard output" if path == "-" else "one path"
                raise OutputError(path if path != "-" else StandardOutput,
                                  f"{option} and {other_option} name {where}; each output needs its own file")


def _write_error(error: OSError, targets: list[str]) -> OutputError | None:
    """An OSError while writing as an OutputError naming the output, when the output is at fault."""
    if error.errno not in WRITE_ERRORS:
        return None
    return OutputError(" or ".join(targets), f"cannot write: {error.strerror or error}")


#: This host in temporary names, so that a later run on it can tell its own orphans (a shared folder may
#: hold temporary files of running jobs on other hosts).
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"


def _remove_orphans(folder: Path, name: str) -> None:
    """Remove temporary files of ``name`` left by runs on this host that were killed (SIGKILL, out of
    memory): hidden, never mistaken for the output, but they would pile up."""
    prefix = f".{name}.{_HOST}-"
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not entry.name.startswith(prefix):
                continue
            pid = entry.name[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


class AtomicOutputs:
    """Temporary files for several outputs; see :func:`atomic_outputs`."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path | None]] = []  # (target, temporary or None when written in place)

    def path(self, target: PathLike, suffix: str = "") -> Path:
        """A temporary path beside ``target``, renamed to it when the whole group succeeded."""
        target_path = Path(target)
        check_writable(target_path)
        if _is_special(target_path):
            self.pending.append((target_path, None))
            return target_path
        folder = target_path.resolve().parent
        _remove_orphans(folder, target_path.name)
        handle, temporary = tempfile.mkstemp(prefix=f".{target_path.name}.{_HOST}-{os.getpid()}.",
                                             suffix=suffix or ".tmp", dir=folder)
        os.close(handle)
        self.pending.append((target_path, Path(temporary)))
        return Path(temporary)

    @property
    def targets(self) -> list[str]:
        return [str(target) for target, _ in self.pending]

    def commit(self) -> None:
        umask = os.umask(0)
        os.umask(umask)
        for target, temporary in self.pending:
            if temporary is not None:
                os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
        for target, temporary in self.pending:
            if temporary is not None:
                os.replace(temporary, target)

    def discard(self) -> None:
        for _, temporary in self.pending:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    temporary.unlink()


@contextlib.contextmanager
def atomic_outputs() -> Iterator[AtomicOutputs]:
    """Several outputs that appear together or not at all.

    ``group.path(target)`` gives a temporary file for each output; when the block ends without an
    exception every temporary file is renamed to its target, otherwise all of them are removed
    (also on Ctrl-C and SIGTERM, which unwind as exceptions). A write that fails because the disk
    is full or a file is too large becomes an OutputError naming the output.
    """
    group = AtomicOutputs()
    try:
        yield group
        group.commit()
    except OutputError as error:
        # raised by an inner atomic write whose target is one of this group's temporary files
        # (save_model inside mt-train's group): name the output the user asked for
        outer = [str(target) for target, temporary in group.pending if temporary is not None
                 and os.path.realpath(temporary) == os.path.realpath(error.target)]
        if not outer:
            raise
        raise OutputError(outer[0], error.problem) from None
    except OSError as error:
        named = [str(target) for target, temporary in group.pending
                 if error.filename is not None and str(error.filename) in (str(target), str(temporary))]
        raised = _write_error(error, named or group.targets)
        if raised is None:
            raise
        raise raised from None
    finally:
        group.discard()


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it to ``path`` on success."""
    with atomic_outputs() as group:
        yield group.path(path, suffix)


@contextlib.contextmanager
def standard_output() -> Iterator[IO[str]]:
    """Standard output as a data stream; a full disk or closed descriptor names 'standard output'."""
    if sys.stdout is None:
        raise OutputError(StandardOutput, "is closed")
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raised = _write_error(error, [StandardOutput]) or (
            OutputError(StandardOutput, f"cannot write: {error.strerror or error}")
            if error.errno in (errno.EBADF, errno.EPIPE) else None)
        if raised is None:
            raise
        raise raised from None


@contextlib.contextmanager
def atomic_text(path: PathLike, group: AtomicOutputs | None = None) -> Iterator[IO[str]]:
    """Open a text output; ``-`` is standard output (written as it comes).

    With ``group`` the file is one of a group's outputs (renamed with the others)."""
    if str(path) == "-":
        with standard_output() as stream:
            yield stream
        return
    with contextlib.ExitStack() as stack:
        if group is None:
            group = stack.enter_context(atomic_outputs())
        temporary = group.path(path)
        with open(temporary, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
