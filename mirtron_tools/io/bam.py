"""Small-RNA-seq alignments (BAM/CRAM through pysam): checks, contig names, filtered reads, coverage.

Inputs must be coordinate-sorted: each candidate's window is fetched through an index, so memory
does not grow with the size of the BAM. The user's .bai/.csi/.crai beside the file is used when it
is not older than the file and belongs to it; else the file is indexed once into the cache
(:func:`alignment_index`), never beside it. Checked before the work starts: the file exists and
is complete (BGZF end-of-file marker), the header says it is coordinate-sorted, and every
candidate contig is found (exactly, through ``--contig-alias``, or by adding/removing a ``chr``
prefix, which is reported).
"""
from __future__ import annotations

import errno
import logging
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

from ..coordinates import Region
from ..errors import InputError
from ..pool import process_pool
from .text import shortened

if TYPE_CHECKING:
    from ..coverage import CandidateSummary

logger = logging.getLogger(__name__)

#: SAM flag bits (the SAM specification, section 1.4): the reader drops by them, the simulated BAMs set them
FLAG_UNMAPPED, FLAG_REVERSE, FLAG_SECONDARY, FLAG_QC_FAIL, FLAG_DUPLICATE, FLAG_SUPPLEMENTARY = (
    0x4, 0x10, 0x100, 0x200, 0x400, 0x800)
#: Candidates per job; jobs never mix contigs, and different contigs run in parallel.
JOB_CANDIDATES = 2000


@dataclass(frozen=True)
class ReadFilter:
    """Which alignments count. Small-RNA reads often map to several loci (MAPQ 0-1 with bowtie2),
    so MAPQ is not filtered unless asked."""

    min_mapq: int = 0
    min_length: int = 16
    max_length: int = 35
    keep_duplicates: bool = False
    keep_secondary: bool = False
    keep_supplementary: bool = False

    @property
    def skip_flags(self) -> int:
        flags = FLAG_UNMAPPED | FLAG_QC_FAIL
        flags |= 0 if self.keep_duplicates else FLAG_DUPLICATE
        flags |= 0 if self.keep_secondary else FLAG_SECONDARY
        flags |= 0 if self.keep_supplementary else FLAG_SUPPLEMENTARY
        return flags

    def to_dict(self) -> dict:
        return {"min_mapq": self.min_mapq, "min_read_length": self.min_length, "max_read_length": self.max_length,
                "keep_duplicates": self.keep_duplicates, "keep_secondary": self.keep_secondary,
                "keep_supplementary": self.keep_supplementary}


def _quiet_htslib() -> None:
    import pysam

    pysam.set_verbosity(0)  # htslib's own stderr warnings; we raise clear errors instead


def _open(path: str, genome: str | None, index: str | None):
    """pysam.AlignmentFile with the given index (None: pysam's own search, used only to read the header).

    A CRAM's reference ``genome`` is given to htslib with a checked index beside it
    (:func:`mirtron_tools.io.genome.indexed_reference`): htslib would otherwise build one beside the genome."""
    import pysam

    _quiet_htslib()
    if genome is not None and _is_cram(path):
        from .genome import indexed_reference

        genome = indexed_reference(genome)
    try:
        if index is None:
            return pysam.AlignmentFile(path, "r", reference_filename=genome)
        return pysam.AlignmentFile(path, "r", reference_filename=genome, index_filename=index)
    except OSError as error:
        text = str(error)
        if "EOF marker" in text or "truncated" in text:
            raise InputError(path, "BAM is truncated (no BGZF end-of-file marker); the file is incomplete, "
                             "re-create or re-download it") from None
        raise InputError(path, f"cannot read as BAM/CRAM ({text})") from None
    except ValueError as error:
        raise InputError(path, f"cannot read as BAM/CRAM ({error})") from None


def _is_cram(path: str) -> bool:
    with open(path, "rb") as stream:
        return stream.read(4) == b"CRAM"


def open_alignment_file(path: str, genome: str | None = None):
    """Open a BAM/CRAM with a checked index (:func:`alignment_index`), turning pysam's faults into one
    clear InputError; ``fetch()`` works on what it returns."""
    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a folder, not a BAM file")
    return _open(path, genome, alignment_index(path, genome))


#: The index each alignment file is read with, by (real path, size, modification time): found once a process.
_indexes: dict[tuple[str, int, int], str] = {}
#: Virtual offsets of BGZF blocks checked per index (evenly spread over those the index holds).
CHECKED_OFFSETS = 256
_BGZF_MAGIC = b"\x1f\x8b\x08\x04"


def _sort_problem(path: str, header: dict) -> None:
    order = header.get("HD", {}).get("SO")
    if order is not None and order != "coordinate":
        raise InputError(path, f"BAM is not coordinate-sorted (header SO:{order}); sort it: "
                         f"samtools sort -o sorted.bam {os.path.basename(path)}")


def _bai_offsets(data: bytes) -> tuple[int, list[int]]:
    """``(references, file offsets of BGZF blocks)`` that a BAI or (decompressed) CSI index points at."""
    csi = data[:4] == b"CSI\x01"
    if data[:4] != b"BAI\x01" and not csi:
        raise ValueError("not a BAI or CSI index (no magic)")
    position = 4
    pseudo_bin = 37450
    if csi:
        _, depth, aux_length = struct.unpack_from("<iii", data, position)
        position += 12 + aux_length
        pseudo_bin = ((1 << (3 * (depth + 1))) - 1) // 7 + 1
    (references,) = struct.unpack_from("<i", data, position)
    position += 4
    offsets = []
    for _ in range(references):
        (bins,) = struct.unpack_from("<i", data, position)
        position += 4
        for _ in range(bins):
            (number,) = struct.unpack_from("<I", data, position)
            position += 4
            if csi:
                offsets.append(struct.unpack_from("<Q", data, position)[0] >> 16)
                position += 8
            (chunks,) = struct.unpack_from("<i", data, position)
            position += 4
            pairs = struct.unpack_from(f"<{2 * chunks}Q", data, position)
            position += 16 * chunks
            if number == pseudo_bin:  # its second pair holds read counts, not offsets
                pairs = pairs[:2]
            offsets.extend(value >> 16 for value in pairs)
        if not csi:
            (intervals,) = struct.unpack_from("<i", data, position)
            position += 4
            offsets.extend(value >> 16 for value in struct.unpack_from(f"<{intervals}Q", data, position))
            position += 8 * intervals
    return references, offsets


def index_problem(path: str, index: str, references: int) -> str | None:
    """Why ``index`` does not belong to the alignment file ``path`` (or None): for BAI/CSI, another number of
    references than the header's, or an offset that is past the end of the file or not the start of a
    BGZF block (up to :data:`CHECKED_OFFSETS` of them, spread evenly); for CRAI, a container past the end."""
    import gzip

    size = os.path.getsize(path)
    try:
        data = Path(index).read_bytes()
        if index.endswith(".crai"):
            offsets = [int(line.split()[3]) for line in gzip.decompress(data).decode().splitlines() if line.strip()]
            count = references
        else:
            count, offsets = _bai_offsets(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    except (OSError, EOFError, ValueError, IndexError, UnicodeDecodeError, struct.error) as error:
        return f"cannot be read as an index ({error})"
    if count != references:
        return f"lists {count} reference sequences, the file's header {references}"
    if any(offset > size for offset in offsets):
        return "points past the end of the file"
    if index.endswith(".crai"):
        return None
    distinct = sorted(set(offset for offset in offsets if offset < size))
    step = max(1, len(distinct) // CHECKED_OFFSETS)
    with open(path, "rb") as stream:
        for offset in distinct[::step]:
            stream.seek(offset)
            if stream.read(4) != _BGZF_MAGIC:
                return f"points at byte {offset}, which is not the start of a BGZF block of the file"
    return None


def _indexes_beside(path: str, kind: str) -> list[str]:
    stem = path.rsplit(".", 1)[0]
    if kind == "CRAM":
        return [f"{path}.crai", f"{stem}.crai"]
    return [f"{path}.bai", f"{path}.csi", f"{stem}.bai", f"{stem}.csi"]


def alignment_index(path: str, genome: str | None = None) -> str:
    """The index to read ``path`` with: the user's own .bai/.csi (.crai) beside it when it is not older
    than the file and belongs to it (:func:`index_problem`); else one made with pysam in the cache
    (:mod:`mirtron_tools.io.cache`, keyed by the file's content), with one log line. Nothing is written
    beside the file. InputError when the file cannot be indexed (not coordinate-sorted, truncated)."""
    import pysam

    from . import cache

    status = os.stat(path)
    memo = (os.path.realpath(path), status.st_size, status.st_mtime_ns)
    if memo in _indexes and os.path.exists(_indexes[memo]):
        return _indexes[memo]
    kind = alignment_format(path)
    with _open(path, genome, None) as alignments:
        references = alignments.nreferences
        header = alignments.header.to_dict()
        longest = max(alignments.lengths, default=0)
    _sort_problem(path, header)
    reason = "has no index"
    for candidate in _indexes_beside(path, kind):
        if not os.path.isfile(candidate):
            continue
        if os.stat(candidate).st_mtime_ns < status.st_mtime_ns:
            problem: str | None = "is older than the alignment file"
        else:
            problem = index_problem(path, candidate, references)
        if problem is None:
            _indexes[memo] = candidate
            return candidate
        reason = f"has a stale index ({os.path.basename(candidate)} {problem})"
        break
    name = os.path.basename(path) + (".crai" if kind == "CRAM" else ".csi" if longest >= 2**29 else ".bai")

    def build(folder: Path) -> None:
        logger.info("%s %s: indexing it once into the cache %s (nothing is written beside it)", path, reason,
                    folder.parent)
        options = ["-c"] if name.endswith(".csi") else []
        try:
            pysam.index(*options, path, "-o", str(folder / name))
        except pysam.SamtoolsError as error:
            text = str(error).rsplit("stderr=", 1)[-1]
            if "failed to create or write index" in text:
                raise OSError(errno.EIO, f"cannot write {folder / name}") from None
            raise InputError(path, "cannot be indexed (samtools index failed): is it coordinate-sorted and "
                             f"complete? Sort it: samtools sort -o sorted.bam {os.path.basename(path)}") from None

    entry = cache.derived("alignment-index", cache.content_key(path), build, path, "index",
                          valid=lambda entry: (entry / name).is_file()
                          and index_problem(path, str(entry / name), references) is None)
    _indexes[memo] = str(entry / name)
    return _indexes[memo]


def alignment_format(path: str) -> str:
    """``"BAM"`` or ``"CRAM"`` by the file's magic bytes; an InputError saying what it is otherwise.

    SAM text, plain gzip, bgzip-compressed text and empty files are told apart, each with the fix."""
    import zlib

    if not os.path.exists(path):
        raise InputError(path, "no such file")
    if os.path.isdir(path):
        raise InputError(path, "is a folder, not a BAM file")
    with open(path, "rb") as stream:
        head = stream.read(1 << 16)
    name = os.path.basename(path)
    convert = f"samtools sort -o {name.rsplit('.', 1)[0]}.bam {name} && samtools index {name.rsplit('.', 1)[0]}.bam"
    if not head:
        raise InputError(path, "alignment file is empty")
    if head[:4] == b"CRAM":
        return "CRAM"
    if head[:2] == b"\x1f\x8b":
        bgzf = len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"
        try:
            text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4)
        except zlib.error:
            text = b""
        if text[:4] == b"BAM\x01":
            if not bgzf:
                raise InputError(path, "BAM is gzip- but not BGZF-compressed, so it cannot be indexed; rewrite "
                                 f"it: samtools view -b -o fixed.bam {name}")
            return "BAM"
        if text[:1] == b"@" or not bgzf:
            raise InputError(path, "is gzip-compressed text (SAM?), not BAM or CRAM: convert and index it: "
                             + convert)
        raise InputError(path, "is bgzip-compressed but not BAM (no 'BAM' magic)")
    if head[:1] == b"@" or (b"\t" in head.split(b"\n", 1)[0] and b"\0" not in head):
        raise InputError(path, f"is SAM text, not BAM or CRAM: convert and index it: {convert}")
    raise InputError(path, "is not a BAM or CRAM file (no BAM/CRAM magic bytes)")


def check_alignment_file(path: str, genome: str | None = None) -> dict[str, int]:
    """Check format, sort order and index (made in the cache when missing or stale); return the contig lengths."""
    alignment_format(path)
    with open_alignment_file(path, genome) as alignments:
        _sort_problem(path, alignments.header.to_dict())
        if not alignments.has_index():
            raise InputError(path, "its index cannot be loaded")
        return dict(zip(alignments.references, alignments.lengths))


def library_size(path: str, genome: str | None = None) -> int:
    """Mapped alignments in the file, from the index (counts per million use this)."""
    with open_alignment_file(path, genome) as alignments:
        try:
            return int(alignments.mapped)
        except (ValueError, AttributeError):  # CRAM indexes carry no counts: count once
            return sum(1 for read in alignments.fetch(until_eof=True) if not read.is_unmapped)


def read_contig_aliases(values: Sequence[str]) -> dict[str, str]:
    """``--contig-alias`` values: ``FROM=TO`` pairs, or files of ``FROM<TAB>TO`` lines."""
    from .text import read_lines

    aliases: dict[str, str] = {}
    for value in values:
        if "=" in value and not os.path.exists(value):
            source, _, target = value.partition("=")
            if not source or not target:
                raise InputError("--contig-alias", f"'{value}' is not FROM=TO")
            aliases[source] = target
            continue
        for line_number, line in read_lines(value):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t") if "\t" in line else line.split()
            if len(fields) < 2:
                raise InputError(value, "expected 'CANDIDATE_CONTIG<TAB>BAM_CONTIG'", line_number)
            aliases[fields[0].strip()] = fields[1].strip()
    return aliases


def match_contigs(wanted: Iterable[str], available: dict[str, int], aliases: dict[str, str]
                  ) -> tuple[dict[str, str], list[str], list[str]]:
    """Map candidate contig names to names in a BAM.

    Returns ``(mapping, renamed, missing)``: ``renamed`` lists 'a -> b' for names matched by the
    contig-naming rule of every command (:func:`mirtron_tools.coordinates.contig_key`: a ``chr``
    prefix added or removed, chrM <-> MT); aliases are used as given.
    """
    from ..coordinates import contig_key

    mapping, renamed, missing = {}, [], []
    by_key: dict[str, list[str]] = {}
    for name in available:
        by_key.setdefault(contig_key(name), []).append(name)
    for contig in sorted(set(wanted)):
        if contig in aliases:
            if aliases[contig] in available:
                mapping[contig] = aliases[contig]
            else:
                missing.append(f"{contig} (alias {aliases[contig]})")
            continue
        if contig in available:
            mapping[contig] = contig
            continue
        matches = by_key.get(contig_key(contig), [])
        found = matches[0] if len(matches) == 1 else None  # two BAM names for one contig: not guessed
        if found is None:
            missing.append(contig)
        else:
            mapping[contig] = found
            renamed.append(f"{contig} -> {found}")
    return mapping, renamed, missing


@dataclass
class AlignmentInputs:
    """Checked alignment files with, for each, the candidate-contig -> BAM-contig mapping."""

    paths: list[str]
    mappings: list[dict[str, str]]
    library_size: int
    genome: str | None = None
    notes: list[str] = field(default_factory=list)
    #: per file, its contig lengths (from the header)
    contig_lengths: list[dict[str, int]] = field(default_factory=list)


def prepare_alignments(paths: Sequence[str], contigs: Iterable[str], aliases: dict[str, str],
                       allow_missing: bool = False, genome: str | None = None) -> AlignmentInputs:
    """Check every file and map the candidate contigs; say what was renamed or is missing."""
    wanted = sorted(set(contigs))
    mappings, notes, lengths = [], [], []
    for path in paths:
        available = check_alignment_file(path, genome)
        lengths.append(available)
        mapping, renamed, missing = match_contigs(wanted, available, aliases)
        if renamed:  # one line per file, as the genome reports its renaming
            logger.info("%s: candidate contig names matched to the BAM's (chr naming differs): %s "
                        "(--contig-alias sets names yourself)", path, shortened(renamed))
        if missing:
            shown, have = shortened(missing), shortened(available)
            if not allow_missing or not mapping:
                raise InputError(path, f"BAM has no contig for {len(missing)} candidate contig(s): {shown} "
                                 f"(the BAM has: {have}); use --contig-alias CANDIDATE=BAM"
                                 + ("" if allow_missing else ", or --allow-missing-contigs to give them zero reads"))
            notes.append(f"{path}: {len(missing)} candidate contig(s) are not in the BAM, their candidates get "
                         f"zero reads from it: {shown}")
        mappings.append(mapping)
    total = sum(library_size(path, genome) for path in paths)
    if total == 0:
        raise InputError(paths[0], "the alignment file(s) hold no mapped reads")
    return AlignmentInputs(list(paths), mappings, total, genome, notes, lengths)


def check_regions_in_contigs(regions: Sequence[Region], ids: Sequence[str], source: str,
                             inputs: AlignmentInputs) -> None:
    """Every candidate lies within its contig as the alignment files' headers give its length
    (a candidate past the end means the candidates and the reads come from different assemblies)."""
    for path, mapping, lengths in zip(inputs.paths, inputs.mappings, inputs.contig_lengths):
        for identifier, region in zip(ids, regions):
            name = mapping.get(region.contig)
            if name is not None and region.end > lengths[name]:
                raise InputError(source, f"record '{identifier}' ({region}) runs past the end of contig {name} "
                                 f"({lengths[name]} nt in {path}): were the candidates and the reads aligned to "
                                 "different genome assemblies?")


def fetch_reads(alignments, path: str, contig: str, start: int, end: int, read_filter: ReadFilter
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, reverse)`` of alignments overlapping ``[start, end)`` that pass the filter."""
    skip, min_mapq = read_filter.skip_flags, read_filter.min_mapq
    min_length, max_length = read_filter.min_length, read_filter.max_length
    starts: list[int] = []
    ends: list[int] = []
    reverse: list[bool] = []
    add_start, add_end, add_reverse = starts.append, ends.append, reverse.append
    previous = -1
    try:
        for read in alignments.fetch(contig, max(start, 0), end):
            position = read.reference_start
            if position < previous:
                raise InputError(path, f"BAM is not coordinate-sorted (read '{read.query_name}' at "
                                 f"{contig}:{position + 1} follows position {previous + 1}); its index does not "
                                 "match it: sort and re-index it")
            previous = position
            flag = read.flag
            if flag & skip or (min_mapq and read.mapping_quality < min_mapq):
                continue
            length = read.query_length or read.infer_read_length() or 0
            if length < min_length or length > max_length:
                continue
            add_start(position)
            add_end(read.reference_end)
            add_reverse(flag & 0x10)
    except OSError as error:
        raise InputError(path, f"cannot read alignments near {contig}:{max(start, 0) + 1}: the BAM is truncated or "
                         f"corrupt, or its index does not belong to it (re-index it) ({error})") from None
    return (np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), np.array(reverse, dtype=bool))


@dataclass(frozen=True)
class CoverageJob:
    """Candidates of one contig (rows of the encoded set), processed by one worker."""

    contig: str
    rows: tuple[int, ...]
    regions: tuple[Region, ...]
    structures: tuple[str, ...]


def _run_job(job: CoverageJob, inputs: AlignmentInputs, flank: int, read_filter: ReadFilter):
    from ..coverage import candidate_tracks

    opened = [open_alignment_file(path, inputs.genome) for path in inputs.paths]
    try:
        results = []
        for row, region, structure in zip(job.rows, job.regions, job.structures):
            parts = [fetch_reads(alignments, path, mapping[region.contig], region.start - flank,
                                 region.end + flank, read_filter)
                     for alignments, path, mapping in zip(opened, inputs.paths, inputs.mappings)
                     if region.contig in mapping]
            starts = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
            ends = np.concatenate([part[1] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
            reverse = np.concatenate([part[2] for part in parts]) if parts else np.zeros(0, dtype=bool)
            tracks, summary = candidate_tracks(starts, ends, reverse, region.start, region.end, region.strand,
                                               flank, structure)
            results.append((row, tracks, summary))
        return results
    finally:
        for alignments in opened:
            alignments.close()


def _call_safely(arguments):
    """Worker entry: ``(function, *args)`` -> ``("ok", result)``, or ``("error", (source, problem, line))``
    for an InputError (which does not pickle with its fields)."""
    function, *rest = arguments
    try:
        return "ok", function(*rest)
    except InputError as error:
        return "error", (error.source, error.problem, error.line)


def contig_jobs(regions: Sequence[Region], skip: Sequence[bool] | None = None) -> list[list[int]]:
    """Rows to count, grouped by contig, sorted by position and split into jobs of :data:`JOB_CANDIDATES`
    (jobs never mix contigs, so different contigs run in parallel); the largest jobs first. ``skip`` marks
    rows left out."""
    by_contig: dict[str, list[int]] = {}
    for row, region in enumerate(regions):
        if skip is None or not skip[row]:
            by_contig.setdefault(region.contig, []).append(row)
    jobs: list[list[int]] = []
    for rows in by_contig.values():
        rows.sort(key=lambda row: (regions[row].start, regions[row].end))
        jobs.extend(rows[first:first + JOB_CANDIDATES] for first in range(0, len(rows), JOB_CANDIDATES))
    jobs.sort(key=lambda job: -len(job))
    return jobs


def run_jobs(function: Callable, arguments: Sequence[tuple], threads: int, consume: Callable[[list], None]) -> None:
    """``function(*argument)`` for every argument (a list of per-row results each), in ``threads`` worker
    processes when there are several jobs; ``consume`` takes each job's results as they come (any order).
    An InputError in a worker is raised here."""
    def take(outcome) -> None:
        status, payload = outcome
        if status == "error":
            raise InputError(*payload)
        consume(payload)

    calls = [(function, *argument) for argument in arguments]
    if threads <= 1 or len(calls) < 2:
        for call in calls:
            take(_call_safely(call))
    else:
        with process_pool(min(threads, len(calls))) as pool:
            for outcome in pool.imap_unordered(_call_safely, calls):
                take(outcome)


def collect_coverage(regions: Sequence[Region], structures: Sequence[str], inputs: AlignmentInputs, flank: int,
                     read_filter: ReadFilter, threads: int = 1,
                     progress: Callable[[int], None] | None = None) -> list[tuple[np.ndarray, CandidateSummary]]:
    """Tracks and summary for every candidate, in input order (jobs of :func:`contig_jobs` in ``threads``
    worker processes)."""
    jobs = [CoverageJob(regions[rows[0]].contig, tuple(rows), tuple(regions[row] for row in rows),
                        tuple(structures[row] for row in rows)) for rows in contig_jobs(regions)]
    results: list = [None] * len(regions)

    def consume(payload) -> None:
        for row, tracks, summary in payload:
            results[row] = (tracks, summary)
        if progress:
            progress(len(payload))

    run_jobs(_run_job, [(job, inputs, flank, read_filter) for job in jobs], threads, consume)
    return results
