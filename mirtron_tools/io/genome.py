"""Indexed genome FASTA access (plain, bgzip or plain gzip) through pysam, strand-aware."""
from __future__ import annotations

import atexit
import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import zlib
from pathlib import Path

from ..errors import InputError

logger = logging.getLogger(__name__)


def compression(path: str | os.PathLike) -> str:
    """``"bgzip"``, ``"gzip"`` (plain gzip, as Ensembl and UCSC ship genomes) or ``"none"``, by magic bytes."""
    with open(path, "rb") as stream:
        head = stream.read(18)
    if head[:2] != b"\x1f\x8b":
        return "none"
    # BGZF: gzip with the FEXTRA flag and a 'BC' extra subfield (SAM/BAM specification, section 4.1)
    return "bgzip" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def _remove_folder(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def cache_folder() -> Path:
    """Where decompressed genomes are kept between runs: ``$MIRTRON_CACHE``, else
    ``$XDG_CACHE_HOME/mirtron_tools/genomes`` (``~/.cache/...``)."""
    if os.environ.get("MIRTRON_CACHE"):
        return Path(os.environ["MIRTRON_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mirtron_tools" / "genomes"


def plain_copy(path: str) -> str:
    """A decompressed copy of a plain-gzip genome that pysam can index, made once and reused by later runs
    and shards: in :func:`cache_folder`, named by the genome's path, size and modification time (so a changed
    genome gets a new copy); in a temporary folder removed at exit when the cache cannot be written. The
    genome's own folder is never written to."""
    status = os.stat(path)
    key = hashlib.sha256(f"{os.path.realpath(path)}:{status.st_size}:{status.st_mtime_ns}".encode()).hexdigest()[:16]
    name = f"{Path(path).name.removesuffix('.gz')}.{key}.fa"
    folder = cache_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        folder = Path(tempfile.mkdtemp(prefix="mirtron_genome_"))
        atexit.register(_remove_folder, str(folder))
    target = folder / name
    if target.exists():
        logger.info("%s is plain gzip: using its decompressed copy %s", path, target)
        return str(target)
    logger.info("%s is plain gzip, which htslib cannot index: decompressing it once to %s", path, target)
    partial = folder / f"{name}.part{os.getpid()}"
    try:
        with gzip.open(path, "rb") as source, open(partial, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        os.replace(partial, target)
    except (OSError, EOFError, zlib.error) as error:
        if partial.exists():
            partial.unlink()
        raise InputError(path, f"cannot decompress the gzip genome ({error})") from None
    return str(target)


_COMPLEMENT = str.maketrans("ACGUTNacgutnRYKMSWBDHVrykmswbdhv", "UGCAANugcaanYRMKSWVHDByrmkswvhdb")


def reverse_complement_rna(sequence: str) -> str:
    """Reverse complement in the RNA alphabet (T and U both pair with A)."""
    return sequence.translate(_COMPLEMENT)[::-1]


class Genome:
    """A FASTA genome opened through pysam; the .fai (and .gzi) index is built when missing.

    Coordinates are 0-based, end-exclusive (BED). Sequences come back upper-case RNA.
    """

    def __init__(self, path: str | os.PathLike):
        import pysam

        self.path = str(path)
        if not os.path.isfile(self.path):
            raise InputError(self.path, "no such genome FASTA")
        readable = plain_copy(self.path) if compression(self.path) == "gzip" else self.path
        index = Path(f"{readable}.fai")
        if not index.exists() and not os.access(Path(readable).resolve().parent, os.W_OK):
            raise InputError(self.path, "genome FASTA has no .fai index and its folder is read-only; "
                             "index it with 'samtools faidx' or copy it to a writable folder")
        verbosity = pysam.set_verbosity(0)  # htslib's own [E::...] lines: our one line says it instead
        try:
            self._fasta = pysam.FastaFile(readable)
        except (OSError, ValueError) as error:
            raise InputError(self.path, f"cannot open or index the genome FASTA ({error}): is it a FASTA "
                             "file (plain, gzip or bgzip)?") from None
        finally:
            pysam.set_verbosity(verbosity)
        self.lengths = dict(zip(self._fasta.references, self._fasta.lengths))
        if not self.lengths:
            raise InputError(self.path, "genome FASTA has no sequences")

    def resolve_contig(self, contig: str, source: str, line: int | None = None) -> str:
        """The genome's name for ``contig``: the same name, else the one contig that differs only by a
        ``chr`` prefix (or ``chrM``/``MT``), which is logged once per name; else InputError."""
        if contig in self.lengths:
            return contig
        from ..coordinates import same_contig

        matches = same_contig(contig, self.lengths)
        if len(matches) == 1:
            renamed: set[tuple[str, str]] = getattr(self, "_renamed", set())
            if (source, contig) not in renamed:
                logger.info("%s: contig '%s' is '%s' in genome %s (chr naming differs)", source, contig, matches[0],
                            self.path)
                renamed.add((source, contig))
                self._renamed = renamed
            return matches[0]
        self.check_contig(contig, source, line)
        return contig

    def check_contig(self, contig: str, source: str, line: int | None = None) -> None:
        if contig not in self.lengths:
            from ..coordinates import same_contig
            from .text import shortened

            alike = same_contig(contig, self.lengths)  # more than one: which one is meant is not guessed
            hint = f"; the genome has '{alike[0]}' (chr naming differs)" if alike else ""
            raise InputError(source, f"contig '{contig}' is not in genome {self.path} (it has: "
                             f"{shortened(self.lengths)}){hint}", line)

    def fetch(self, contig: str, start: int, end: int, strand: str = "+") -> str:
        """Sequence of ``[start, end)`` on ``strand``, upper-case RNA (minus: reverse complement)."""
        if start < 0 or end > self.lengths[contig] or start >= end:
            raise InputError(self.path, f"region {contig}:{start}-{end} is outside contig {contig} "
                             f"(length {self.lengths[contig]})")
        sequence = self._fasta.fetch(contig, start, end).upper().replace("T", "U")
        return reverse_complement_rna(sequence) if strand == "-" else sequence

    def close(self) -> None:
        self._fasta.close()

    def __enter__(self) -> "Genome":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
