"""Indexed genome FASTA access (plain, bgzip or plain gzip) through pysam, strand-aware."""
from __future__ import annotations

import bisect
import gzip
import io
import logging
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import IO

from ..errors import InputError
from . import cache

logger = logging.getLogger(__name__)


def compression(path: str | os.PathLike) -> str:
    """``"bgzip"``, ``"gzip"`` (plain gzip, as Ensembl and UCSC ship genomes) or ``"none"``, by magic bytes."""
    with open(path, "rb") as stream:
        head = stream.read(18)
    if head[:2] != b"\x1f\x8b":
        return "none"
    # BGZF: gzip with the FEXTRA flag and a 'BC' extra subfield (SAM/BAM specification, section 4.1)
    return "bgzip" if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


#: Bytes of a FASTA header line read when an index is checked (longer description lines are unusual).
HEADER_LIMIT = 1 << 16
BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def _bgzf_blocks(path: str) -> list[tuple[int, int, int]]:
    """``(compressed offset, uncompressed offset, uncompressed size)`` of every BGZF block, from the block
    headers alone (SAM/BAM specification, section 4.1); InputError when the file is not well-formed BGZF."""
    blocks = []
    compressed = uncompressed = 0
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        while compressed < size:
            stream.seek(compressed)
            head = stream.read(18)
            if len(head) < 18 or head[:4] != BGZF_MAGIC or head[12:14] != b"BC":
                raise InputError(path, f"bgzip data is truncated or corrupt at byte {compressed}")
            block_size = int.from_bytes(head[16:18], "little") + 1
            stream.seek(compressed + block_size - 4)
            tail = stream.read(4)
            if len(tail) < 4:
                raise InputError(path, f"bgzip data is truncated at byte {compressed}")
            length = int.from_bytes(tail, "little")
            blocks.append((compressed, uncompressed, length))
            compressed += block_size
            uncompressed += length
    return blocks


def _gzi_bytes(blocks: list[tuple[int, int, int]]) -> bytes:
    """The .gzi of a bgzip file as htslib writes it: every block start with data but the first."""
    starts = [(compressed, uncompressed) for compressed, uncompressed, length in blocks[1:] if length]
    return struct.pack(f"<Q{2 * len(starts)}Q", len(starts), *(number for pair in starts for number in pair))


class _Bytes:
    """Random access to the uncompressed bytes of a plain or bgzip file (for index checks)."""

    def __init__(self, path: str, blocks: list[tuple[int, int, int]] | None):
        self.stream = open(path, "rb")
        self.blocks = blocks
        if blocks is None:
            self.size = os.fstat(self.stream.fileno()).st_size
        else:
            self.size = blocks[-1][1] + blocks[-1][2] if blocks else 0
            self.starts = [uncompressed for _, uncompressed, _ in blocks]
            self.cached: tuple[int, bytes] = (-1, b"")

    def _block(self, number: int) -> bytes:
        if self.cached[0] != number:
            assert self.blocks is not None
            compressed = self.blocks[number][0]
            self.stream.seek(compressed)
            head = self.stream.read(18)
            data = self.stream.read(int.from_bytes(head[16:18], "little") + 1 - 18)
            self.cached = (number, zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[:-8]))
        return self.cached[1]

    def read(self, offset: int, count: int) -> bytes:
        offset, count = max(offset, 0), max(min(count, self.size - offset), 0)
        if self.blocks is None:
            self.stream.seek(offset)
            return self.stream.read(count)
        pieces = []
        number = bisect.bisect_right(self.starts, offset) - 1
        while count > 0 and number < len(self.blocks):
            block = self._block(number)
            piece = block[offset - self.starts[number]:offset - self.starts[number] + count]
            pieces.append(piece)
            offset, count, number = offset + len(piece), count - len(piece), number + 1
        return b"".join(pieces)

    def close(self) -> None:
        self.stream.close()


def read_fai(path: str | os.PathLike) -> list[tuple[str, int, int, int, int]]:
    """``(name, length, offset, line bases, line width)`` rows of a .fai; ValueError when malformed."""
    rows: list[tuple[str, int, int, int, int]] = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                raise ValueError(f"line {len(rows) + 1} has {len(fields)} columns, not 5")
            rows.append((fields[0], int(fields[1]), int(fields[2]), int(fields[3]), int(fields[4])))
    return rows


def fai_problem(path: str, fai: str | os.PathLike, gzi: str | os.PathLike | None = None) -> str | None:
    """Why the index ``fai`` (with ``gzi`` for bgzip) does not describe the FASTA ``path``, or None.

    Each sequence must start right after its own ``>name`` header line, its lines must break where the
    index says, it must end where its length says, and the next header (or the end of the file) must
    follow at once: a sequence added, removed, renamed, lengthened or rewrapped is found. Costs two
    small reads per sequence."""
    try:
        rows = sorted(read_fai(fai), key=lambda row: row[2])
    except (OSError, ValueError, UnicodeDecodeError) as error:
        return f"cannot be read ({error})"
    blocks = None
    if gzi is not None:
        try:
            blocks = _bgzf_blocks(path)
            if Path(gzi).read_bytes() != _gzi_bytes(blocks):
                return f"its {Path(gzi).name} does not match the bgzip blocks of the file"
        except (OSError, InputError) as error:
            return f"its .gzi cannot be checked ({error})"
    data = _Bytes(path, blocks)
    try:
        return _layout_problem(data, rows)
    finally:
        data.close()


def _layout_problem(data: _Bytes, rows: list[tuple[str, int, int, int, int]]) -> str | None:
    position = 0
    for name, length, offset, line_bases, line_width in rows:
        if offset < position or offset - position > HEADER_LIMIT:
            return f"sequence '{name}' does not start where the index says (byte {offset})"
        header = data.read(position, offset - position)
        first = header.split(b"\n", 1)[0].rstrip(b"\r")
        if not header.endswith(b"\n") or header.count(b"\n") != 1 or first[:1] != b">" \
                or first[1:].split(maxsplit=1)[:1] != [name.encode()]:
            return f"sequence '{name}' is not where the index says (byte {offset})"
        end = offset
        if length:
            if line_bases < 1 or line_width < line_bases:
                return f"sequence '{name}' has line lengths {line_bases}/{line_width} in the index"
            if length > line_bases:
                newline = data.read(offset + line_bases, line_width - line_bases)
                if newline.strip(b"\r\n") or not newline.endswith(b"\n"):
                    return f"the lines of sequence '{name}' are not {line_bases} bases long as the index says"
            last = offset + ((length - 1) // line_bases) * line_width + (length - 1) % line_bases
            tail = data.read(last, 1 + line_width - line_bases)
            if not tail[:1].strip() or tail[:1] == b">":
                return f"sequence '{name}' is not {length} bases long as the index says"
            after = tail[1:]
            if after and not after.endswith(b"\n") or after.strip(b"\r\n"):
                return f"sequence '{name}' is longer than the {length} bases the index says"
            end = last + len(tail)
        while data.read(end, 1) in (b"\n", b"\r"):
            end += 1
        position = end
    if position != data.size:
        return "the file has sequences that the index does not list"
    return None


def index_problem(path: str, fai: str, gzi: str | None = None) -> str | None:
    """Why an index beside ``path`` cannot be trusted: older than the file, or :func:`fai_problem`."""
    source_time = os.stat(path).st_mtime_ns
    for index in (fai, gzi):
        if index is not None and os.stat(index).st_mtime_ns < source_time:
            return f"{Path(index).name} is older than the genome"
    return fai_problem(path, fai, gzi)


def write_fai(source: str, stream: IO[bytes] | io.BufferedIOBase, target: str | os.PathLike) -> None:
    """Index a FASTA read from ``stream`` as ``samtools faidx`` would and write the .fai to ``target``.

    InputError (naming ``source`` and line) when it is not FASTA or the lines of a sequence differ in
    length, which htslib cannot index; a sequence name seen again is skipped with a warning, as htslib does."""
    rows: list[str] = []
    seen: set[str] = set()
    name: str | None = None
    length = line_bases = line_width = sequence_offset = 0
    short_line = 0  # line number of a line shorter than the first (the sequence must end there)
    offset = 0
    number = 0

    def finish() -> None:
        if name is None:
            return
        if name in seen:
            logger.warning("%s: sequence name '%s' appears twice; the second is ignored", source, name)
            return
        seen.add(name)
        rows.append(f"{name}\t{length}\t{sequence_offset}\t{line_bases}\t{line_width}\n")

    for number, line in enumerate(stream, start=1):
        size = len(line)
        if line[:1] == b">":
            finish()
            words = line[1:].split(maxsplit=1)
            if not words:
                raise InputError(source, "FASTA header has no sequence name", number)
            try:
                name = words[0].decode("ascii")
            except UnicodeDecodeError:
                raise InputError(source, "FASTA header has a non-ASCII sequence name", number) from None
            length = line_bases = line_width = short_line = 0
            sequence_offset = offset + size
        elif name is None:
            if line.strip():
                raise InputError(source, "is not a FASTA file (text before the first '>' header line): is it "
                                 "a FASTA genome (plain, gzip or bgzip)?", number)
        else:
            bases = len(line.rstrip(b"\r\n"))
            if bases:
                if short_line:
                    raise InputError(source, f"sequence '{name}' has lines of different lengths (line {short_line} "
                                     "is shorter than those before it); rewrap it, e.g. 'seqkit seq -w 60'", number)
                if not line_bases:
                    line_bases, line_width = bases, size
                elif bases > line_bases:
                    raise InputError(source, f"sequence '{name}' has lines of different lengths ({bases} bases here, "
                                     f"{line_bases} before); rewrap it, e.g. 'seqkit seq -w 60'", number)
                elif bases < line_bases or size != line_width:
                    short_line = number
                length += bases
            elif line_bases:
                short_line = short_line or number
        offset += size
    finish()
    if not rows:
        raise InputError(source, "genome FASTA has no sequences")
    with open(target, "w", encoding="utf-8") as output:
        output.writelines(rows)


def _decompress(path: str, target: Path) -> None:
    """Decompress a gzip file to ``target``: faults of the source are InputError, of the target OSError."""
    with gzip.open(path, "rb") as source, open(target, "wb") as copy:
        while True:
            try:
                block = source.read(1 << 20)
            except (OSError, EOFError, zlib.error) as error:
                raise InputError(path, f"cannot decompress the gzip genome ({error})") from None
            if not block:
                break
            copy.write(block)


def plain_copy(path: str) -> tuple[str, str]:
    """A decompressed copy of a plain-gzip genome that pysam can read, and its .fai: made once per content
    (every path to the same bytes shares it) in the cache (:mod:`mirtron_tools.io.cache`)."""
    name = Path(path).name.removesuffix(".gz").removesuffix(".bgz") or "genome.fa"
    if not name.endswith((".fa", ".fasta", ".fna")):
        name = f"{name}.fa"

    def build(folder: Path) -> None:
        logger.info("%s is plain gzip, which htslib cannot index: decompressing it once into the cache %s",
                    path, folder.parent)
        _decompress(path, folder / name)
        with open(folder / name, "rb") as stream:
            write_fai(path, stream, folder / f"{name}.fai")

    entry = cache.derived("genomes", cache.content_key(path, every_byte=True), build, path, "decompressed copy",
                          valid=lambda entry: (entry / f"{name}.fai").is_file() and (entry / name).is_file())
    return str(entry / name), str(entry / f"{name}.fai")


def genome_index(path: str, kind: str) -> tuple[str, str | None]:
    """The .fai (and for bgzip the .gzi) to read ``path`` with: the user's own beside it when it is not
    older than the genome and describes it (:func:`index_problem`); else one made in the cache, keyed
    by the genome's content. Nothing is written beside the genome."""
    fai, gzi = f"{path}.fai", f"{path}.gzi" if kind == "bgzip" else None
    if os.path.isfile(fai) and (gzi is None or os.path.isfile(gzi)):
        problem = index_problem(path, fai, gzi)
        if problem is None:
            return fai, gzi
        logger.warning("%s: %s: not used (an index made from the genome in the cache is used instead; remove or "
                       "rebuild the old one)", fai, problem)
    name = Path(path).name

    def build(folder: Path) -> None:
        logger.info("%s: indexing the genome once into the cache %s", path, folder.parent)
        if kind == "bgzip":
            blocks = _bgzf_blocks(path)
            (folder / f"{name}.gzi").write_bytes(_gzi_bytes(blocks))
            try:
                with gzip.open(path, "rb") as stream:
                    write_fai(path, stream, folder / f"{name}.fai")
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                raise InputError(path, f"cannot decompress the bgzip genome ({error})") from None
        else:
            with open(path, "rb") as stream:
                write_fai(path, stream, folder / f"{name}.fai")

    def valid(entry: Path) -> bool:
        cached_gzi = str(entry / f"{name}.gzi") if kind == "bgzip" else None
        return (entry / f"{name}.fai").is_file() and fai_problem(path, entry / f"{name}.fai", cached_gzi) is None

    entry = cache.derived("genome-index", cache.content_key(path), build, path, "index", valid=valid)
    return str(entry / f"{name}.fai"), str(entry / f"{name}.gzi") if kind == "bgzip" else None


_references: dict[tuple[str, int, int], str] = {}


def indexed_reference(path: str) -> str:
    """A path to the genome with a checked .fai (and .gzi) beside it, for htslib readers that look for
    the index beside the FASTA themselves (CRAM decoding), so that they neither build one beside the
    genome nor read a stale one: the genome itself when its own index is fresh; a plain-gzip genome's
    decompressed copy in the cache; else links, in this process's temporary folder, to the genome and
    its index in the cache. Found once a process."""
    status = os.stat(path)
    memo = (os.path.realpath(path), status.st_size, status.st_mtime_ns)
    if memo in _references and os.path.exists(_references[memo]):
        return _references[memo]
    kind = compression(path)
    if kind == "gzip":
        reference = plain_copy(path)[0]
    else:
        fai, gzi = genome_index(path, kind)
        if fai == f"{path}.fai":
            reference = path
        else:
            folder = Path(tempfile.mkdtemp(prefix="reference_", dir=cache.fallback_folder()))
            reference = str(folder / Path(path).name)
            os.symlink(os.path.realpath(path), reference)
            os.symlink(fai, f"{reference}.fai")
            if gzi is not None:
                os.symlink(gzi, f"{reference}.gzi")
    _references[memo] = reference
    return reference


_COMPLEMENT = str.maketrans("ACGUTNacgutnRYKMSWBDHVrykmswbdhv", "UGCAANugcaanYRMKSWVHDByrmkswvhdb")


def reverse_complement_rna(sequence: str) -> str:
    """Reverse complement in the RNA alphabet (T and U both pair with A)."""
    return sequence.translate(_COMPLEMENT)[::-1]


class Genome:
    """A FASTA genome opened through pysam with a checked index (:func:`genome_index`): the user's .fai
    (and .gzi) when it describes the file, else one made in the cache; never one written beside it.

    Coordinates are 0-based, end-exclusive (BED). Sequences come back upper-case RNA.
    """

    def __init__(self, path: str | os.PathLike):
        import pysam

        self.path = str(path)
        if not os.path.isfile(self.path):
            raise InputError(self.path, "no such genome FASTA")
        kind = compression(self.path)
        if kind == "gzip":
            readable, fai = plain_copy(self.path)
            gzi = None
        else:
            readable = self.path
            fai, gzi = genome_index(self.path, kind)
        verbosity = pysam.set_verbosity(0)  # htslib's own [E::...] lines: our one line says it instead
        try:
            # the index is always named: pysam never builds one beside the genome
            self._fasta = pysam.FastaFile(readable, filepath_index=fai, filepath_index_compressed=gzi)
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
