"""The cache of derived files: decompressed genomes, genome indexes (.fai, .gzi) and BAM/CRAM indexes.

Nothing derived is ever written beside an input. A derived file lives in an *entry*, a folder
``<cache>/<kind>/<key>/`` named by the content of its source (:func:`content_key`), so every path to
the same bytes and every job share one entry. An entry is built in a hidden folder beside it and
renamed into place when complete, under a lock, so that concurrent jobs make one copy and none reads
a half-written one. Where the cache cannot be written (read-only, full, over quota), derived files go
to a temporary folder removed at exit, with one log line. The cache is kept under a size bound
(:data:`SIZE_VARIABLE`) by removing the entries used least recently; ``python -m
mirtron_tools.io.cache`` shows it and ``--clear`` empties it.
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..errors import InputError

logger = logging.getLogger(__name__)

#: Environment variable naming the cache folder (else ``$XDG_CACHE_HOME/mirtron_tools``, ``~/.cache/...``).
FOLDER_VARIABLE = "MIRTRON_CACHE"
#: Environment variable bounding the cache's size: bytes, or a number with K, M, G or T; 0 turns the cache off.
SIZE_VARIABLE = "MIRTRON_CACHE_SIZE"
#: The bound when :data:`SIZE_VARIABLE` is not set: room for a few decompressed vertebrate genomes.
DEFAULT_SIZE = 20 * 2**30
#: The kinds of entries; each is a subfolder of the cache, and only these are cleared or pruned.
KINDS = ("genomes", "genome-index", "alignment-index")
#: Sources up to this size are keyed by a digest of all their bytes; larger ones by size and sampled blocks.
FULL_DIGEST_LIMIT = 2**30
SAMPLED_BLOCKS, SAMPLED_BLOCK_SIZE = 256, 2**16
#: Entries used within this many seconds are not pruned (another job may be about to open them).
PRUNE_GRACE = 60.0
#: Half-built entries of dead jobs are removed when this old (a job on another host may share the cache).
LEFTOVER_AGE = 3600.0

_fallback: Path | None = None
_keys: dict[tuple[str, int, int, int, bool], str] = {}


def cache_folder() -> Path:
    """``$MIRTRON_CACHE``, else ``$XDG_CACHE_HOME/mirtron_tools``, else ``~/.cache/mirtron_tools``."""
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mirtron_tools"


def parse_size(text: str) -> int:
    """``20G``, ``500M``, ``1.5T``, ``1048576`` -> bytes (powers of 1024); ValueError otherwise."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*", text)
    if not match:
        raise ValueError(f"{SIZE_VARIABLE}={text!r} is not a size (bytes, or a number with K, M, G or T)")
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * 1024**power)


def size_limit() -> int:
    """The cache's bound in bytes (:data:`SIZE_VARIABLE`, default :data:`DEFAULT_SIZE`); 0: no cache."""
    text = os.environ.get(SIZE_VARIABLE)
    if not text:
        return DEFAULT_SIZE
    try:
        return parse_size(text)
    except ValueError as error:
        raise InputError(SIZE_VARIABLE, str(error)) from None


def content_key(path: str | os.PathLike, every_byte: bool = False) -> str:
    """A digest of the file's content, 32 hex digits: SHA-256 of every byte up to
    :data:`FULL_DIGEST_LIMIT` (or always, with ``every_byte``: for entries that cannot be checked
    against their source, such as a decompressed copy), else of the size and :data:`SAMPLED_BLOCKS`
    blocks spread evenly over the file, the first and last included (for indexes, which are checked).

    Remembered per process by path, size and modification time, so forked workers do not read it again."""
    status = os.stat(path)
    whole = every_byte or status.st_size <= FULL_DIGEST_LIMIT
    memo = (os.path.realpath(path), status.st_size, status.st_mtime_ns, status.st_ino, whole)
    if memo in _keys:
        return _keys[memo]
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        if whole:
            while block := stream.read(1 << 20):
                digest.update(block)
        else:
            digest.update(f"sampled:{status.st_size}:".encode())
            step = (status.st_size - SAMPLED_BLOCK_SIZE) / (SAMPLED_BLOCKS - 1)
            for number in range(SAMPLED_BLOCKS):
                stream.seek(int(number * step))
                digest.update(stream.read(SAMPLED_BLOCK_SIZE))
    _keys[memo] = digest.hexdigest()[:32]
    return _keys[memo]


def _remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def fallback_folder(reason: str | None = None) -> Path:
    """This process's temporary folder for derived files, removed at exit; made (and ``reason``
    logged, once) on the first call."""
    global _fallback
    if _fallback is None or not _fallback.is_dir():
        _fallback = Path(tempfile.mkdtemp(prefix="mirtron_cache_"))
        atexit.register(_remove_folder, str(_fallback))
        if reason:
            logger.warning("%s: derived files (indexes, decompressed genomes) go to the temporary folder %s for this "
                           "run and are made again next time (set %s to a writable folder)", reason, _fallback,
                           FOLDER_VARIABLE)
    return _fallback


def _touch(entry: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only cache is still read
        os.utime(entry)


def _retire(entry: Path) -> None:
    """Remove an entry: renamed away first, so no job sees it half-removed."""
    doomed = entry.with_name(f".removed.{entry.name}.{os.getpid()}")
    try:
        os.rename(entry, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


@contextlib.contextmanager
def _locked(place: Path, key: str) -> Iterator[None]:
    """An exclusive lock for building one entry (released by the kernel when a job dies)."""
    lock_path = place / f".{key}.lock"
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(root: Path, kind: str, key: str, build: Callable[[Path], None],
           valid: Callable[[Path], bool] | None) -> Path:
    place = root / kind
    entry = place / key
    if entry.is_dir() and (valid is None or valid(entry)):
        _touch(entry)
        return entry
    place.mkdir(parents=True, exist_ok=True)
    with _locked(place, key):
        if entry.is_dir():
            if valid is None or valid(entry):
                _touch(entry)
                return entry
            logger.info("cache entry %s does not match its source: made again", entry)
            _retire(entry)
        work = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=f".{os.getpid()}.part", dir=place))
        try:
            build(work)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(work, 0o777 & ~umask)  # mkdtemp makes 0700; a shared cache is read by others
            os.rename(work, entry)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return entry


def derived(kind: str, key: str, build: Callable[[Path], None], source: str, what: str,
            valid: Callable[[Path], bool] | None = None) -> Path:
    """The entry folder of ``kind``/``key``, made by ``build(folder)`` when missing (or not ``valid``).

    ``build`` writes the derived files into the empty folder it is given; it raises InputError when
    the source is at fault, OSError when writing fails. A cache that cannot be written degrades to
    :func:`fallback_folder` with one log line; when that fails too, InputError naming ``source``
    and ``what`` could not be made, and why."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}")
    limit = size_limit()
    root = cache_folder()
    cache_error: OSError | None = None
    if limit > 0:
        try:
            entry = _build(root, kind, key, build, valid)
        except OSError as error:
            cache_error = error
        else:
            prune(limit, keep=entry)
            return entry
    reason = (f"cache folder {root} cannot be written ({cache_error.strerror or cache_error})" if cache_error
              else f"the cache is off ({SIZE_VARIABLE}=0)")
    try:
        return _build(fallback_folder(reason), kind, key, build, valid)
    except OSError as error:
        where = f"the cache {root} ({cache_error.strerror or cache_error}) nor in " if cache_error else ""
        raise InputError(source, f"cannot write its {what} in {where}the temporary folder "
                         f"{_fallback or tempfile.gettempdir()} ({error.strerror or error})") from None


@dataclass(frozen=True)
class Entry:
    kind: str
    path: Path
    size: int
    used: float


def _folder_size(folder: Path) -> int:
    total = 0
    for base, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_size
    return total


def entries(root: Path | None = None) -> list[Entry]:
    """Every complete entry of the cache, least recently used first."""
    root = cache_folder() if root is None else root
    found = []
    for kind in KINDS:
        with contextlib.suppress(OSError):
            for path in (root / kind).iterdir():
                if path.name.startswith(".") or not path.is_dir():
                    continue
                with contextlib.suppress(OSError):
                    found.append(Entry(kind, path, _folder_size(path), path.stat().st_mtime))
    return sorted(found, key=lambda entry: entry.used)


def _leftovers(root: Path, age: float = LEFTOVER_AGE) -> Iterator[Path]:
    """Half-built entries of jobs that died (SIGKILL, power loss) and entries half-removed."""
    for kind in KINDS:
        with contextlib.suppress(OSError):
            for path in (root / kind).iterdir():
                match = re.fullmatch(r"\.[0-9a-f]+\..*\.([0-9]+)\.part|\.removed\..*\.([0-9]+)", path.name)
                if match and not _alive(int(match.group(1) or match.group(2))) \
                        and time.time() - path.stat().st_mtime >= age:
                    yield path


#: Decompressed genomes of mirtron_tools up to 0.x, named by path, size and time (``genome.fa.<16 hex>.fa``)
#: in ``genomes/`` or in ``$MIRTRON_CACHE`` itself: superseded by the content-keyed entries, removed.
_OLD_COPY = re.compile(r".+\.[0-9a-f]{16}\.fa(\.fai|\.part[0-9]+)?")


def _old_copies(root: Path) -> Iterator[Path]:
    for folder in (root, root / "genomes"):
        with contextlib.suppress(OSError):
            for path in folder.iterdir():
                if path.is_file() and _OLD_COPY.fullmatch(path.name):
                    yield path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def prune(limit: int, keep: Path | None = None, root: Path | None = None) -> list[Path]:
    """Remove the least recently used entries until the cache holds at most ``limit`` bytes; entries
    used in the last :data:`PRUNE_GRACE` seconds and ``keep`` stay. Returns the entries removed."""
    root = cache_folder() if root is None else root
    for leftover in _leftovers(root):
        shutil.rmtree(leftover, ignore_errors=True)
    for old in _old_copies(root):
        with contextlib.suppress(OSError):
            old.unlink()
    found = entries(root)
    total = sum(entry.size for entry in found)
    removed = []
    now = time.time()
    for entry in found:
        if total <= limit:
            break
        if entry.path == keep or now - entry.used < PRUNE_GRACE:
            continue
        _retire(entry.path)
        total -= entry.size
        removed.append(entry.path)
    if removed:
        logger.info("cache %s: removed %d entries used least recently to stay under %s", root, len(removed),
                    _human(limit))
    return removed


def clear(root: Path | None = None) -> int:
    """Remove every entry (and leftover) of the cache; other files in the folder stay. Returns bytes freed."""
    root = cache_folder() if root is None else root
    freed = 0
    for entry in entries(root):
        freed += entry.size
        _retire(entry.path)
    for leftover in _leftovers(root, age=0.0):
        shutil.rmtree(leftover, ignore_errors=True)
    for old in _old_copies(root):
        with contextlib.suppress(OSError):
            freed += old.stat().st_size
            old.unlink()
    return freed


def _human(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mirtron_tools.io.cache [--clear]``: where the cache is, what it holds, its bound."""
    parser = argparse.ArgumentParser(prog="python -m mirtron_tools.io.cache",
                                     description="Show or clear the cache of derived files (decompressed genomes, "
                                                 "genome and BAM indexes).")
    parser.add_argument("--clear", action="store_true", help="remove every entry")
    args = parser.parse_args(argv)
    root = cache_folder()
    if args.clear:
        print(f"{root}: removed {_human(clear(root))}")
        return 0
    found = entries(root)
    try:
        limit = _human(size_limit())
    except InputError as error:
        sys.stderr.write(f"{parser.prog}: error: {error}\n")
        return 1
    print(f"{root}: {len(found)} entries, {_human(sum(entry.size for entry in found))} (bound {limit}, "
          f"{SIZE_VARIABLE})")
    for entry in reversed(found):
        print(f"  {entry.kind}/{entry.path.name}\t{_human(entry.size)}\t"
              f"{', '.join(sorted(path.name for path in entry.path.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
