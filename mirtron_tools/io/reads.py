"""Reads of every candidate, per sample, from small-RNA-seq alignments: the evidence of the read-aware models.

Each candidate's reads are fetched through the BAM index over the hairpin plus
:data:`mirtron_tools.reads.INTRON_REACH` nt each side and the exon spans beyond its host intron's splice
sites, so memory does not grow with the library. Reads on the candidate's strand that pass the
:class:`~mirtron_tools.io.bam.ReadFilter` are kept as hairpin positions of their 5' and 3' ends,
identical alignments collapsed with a count, with a multi-mapped flag: ``NH`` above 1, or (bowtie2,
which writes no NH) a second alignment ``XS`` scoring as well as the reported one ``AS``. A plain
``XS`` tag is not enough: bowtie2 writes one for about 85 % of small-RNA reads (the srnadiff BAMs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..coordinates import Region
from ..errors import InputError
from ..reads import EXON_SPAN, INTRON_REACH, Geometry, Reads, evidence, reads_arrays, reads_from_arrays
from .bam import AlignmentInputs, ReadFilter, contig_jobs, open_alignment_file, run_jobs


@dataclass(frozen=True)
class ReadJob:
    """Candidates of one contig (rows of the encoded set), processed by one worker."""

    contig: str
    rows: tuple[int, ...]
    regions: tuple[Region, ...]
    geometries: tuple[Geometry, ...]


def _hairpin_to_genome(region: Region, position: int) -> int:
    return region.start + position if region.strand != "-" else region.end - 1 - position


def fetch_spans(region: Region, geometry: Geometry) -> list[tuple[int, int]]:
    """Genomic ``[start, end)`` spans to fetch for a candidate (merged, sorted)."""
    spans = [(-INTRON_REACH, geometry.length - 1 + INTRON_REACH)]
    for site in (geometry.donor, geometry.acceptor):
        if site is not None:
            spans.append((site - EXON_SPAN, site + EXON_SPAN))
    genomic = []
    for low, high in spans:
        a, b = _hairpin_to_genome(region, low), _hairpin_to_genome(region, high)
        genomic.append((max(min(a, b), 0), max(a, b) + 1))
    genomic.sort()
    merged: list[tuple[int, int]] = []
    for start, end in genomic:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def is_multi_mapped(read) -> bool:
    """NH above 1, or an equally good second alignment (bowtie2's XS >= AS)."""
    if read.has_tag("NH"):
        return int(read.get_tag("NH")) > 1
    if read.has_tag("XS") and read.has_tag("AS"):
        return int(read.get_tag("XS")) >= int(read.get_tag("AS"))
    return False


def candidate_reads(opened: Sequence, paths: Sequence[str], mappings: Sequence[dict[str, str]], region: Region,
                    geometry: Geometry, read_filter: ReadFilter) -> Reads:
    """The collapsed reads of one candidate, every sample (one open alignment file per sample)."""
    reverse_wanted = region.strand == "-"
    skip, min_mapq = read_filter.skip_flags, read_filter.min_mapq
    spans = fetch_spans(region, geometry)
    collapsed: dict[tuple[int, int, bool, int], int] = {}
    for sample, (alignments, path, mapping) in enumerate(zip(opened, paths, mappings)):
        contig = mapping.get(region.contig)
        if contig is None:
            continue
        seen: set[tuple[str, int, int]] = set()
        try:
            for start, end in spans:
                for read in alignments.fetch(contig, start, end):
                    flag = read.flag
                    if flag & skip or bool(flag & 0x10) != reverse_wanted:
                        continue
                    if min_mapq and read.mapping_quality < min_mapq:
                        continue
                    length = read.query_length or read.infer_read_length() or 0
                    if length < read_filter.min_length or length > read_filter.max_length:
                        continue
                    key = (read.query_name, read.reference_start, flag)
                    if len(spans) > 1:
                        if key in seen:
                            continue
                        seen.add(key)
                    low, high = read.reference_start, read.reference_end
                    if reverse_wanted:
                        first, last = region.end - high, region.end - 1 - low
                    else:
                        first, last = low - region.start, high - 1 - region.start
                    entry = (first, last, is_multi_mapped(read), sample)
                    collapsed[entry] = collapsed.get(entry, 0) + 1
        except OSError as error:
            raise InputError(path, f"cannot read alignments near {contig}:{spans[0][0] + 1}: the BAM is truncated "
                             f"or corrupt, or its index does not belong to it ({error})") from None
    if not collapsed:
        return Reads.empty()
    keys = sorted(collapsed)
    return Reads(np.array([key[0] for key in keys], dtype=np.int32), np.array([key[1] for key in keys], dtype=np.int32),
                 np.array([collapsed[key] for key in keys], dtype=np.int32),
                 np.array([key[2] for key in keys], dtype=bool), np.array([key[3] for key in keys], dtype=np.int16))


def _run_job(job: ReadJob, inputs: AlignmentInputs, read_filter: ReadFilter):
    opened = [open_alignment_file(path, inputs.genome) for path in inputs.paths]
    try:
        samples = len(inputs.paths)
        results = []
        for row, region, geometry in zip(job.rows, job.regions, job.geometries):
            reads = candidate_reads(opened, inputs.paths, inputs.mappings, region, geometry, read_filter)
            results.append((row, reads, evidence(reads, geometry, samples)))
        return results
    finally:
        for alignments in opened:
            alignments.close()


def collect_reads(regions: Sequence[Region], geometries: Sequence[Geometry], inputs: AlignmentInputs,
                  read_filter: ReadFilter, skip: Sequence[bool] | None = None, threads: int = 1,
                  progress: Callable[[int], None] | None = None) -> tuple[list[Reads], np.ndarray]:
    """Collapsed reads and ``(n, samples, len(EVIDENCE))`` evidence of every candidate, in input order.

    ``skip`` marks rows that get no reads (a scan's decoys: shuffled sequence, nothing maps there)."""
    from ..reads import EVIDENCE

    samples = len(inputs.paths)
    reads: list[Reads] = [Reads.empty() for _ in regions]
    values = np.zeros((len(regions), samples, len(EVIDENCE)), dtype=np.float32)
    jobs = [ReadJob(regions[rows[0]].contig, tuple(rows), tuple(regions[row] for row in rows),
                    tuple(geometries[row] for row in rows)) for rows in contig_jobs(regions, skip)]

    def consume(payload) -> None:
        for row, found, row_values in payload:
            reads[row], values[row] = found, row_values
        if progress:
            progress(len(payload))

    run_jobs(_run_job, [(job, inputs, read_filter) for job in jobs], threads, consume)
    return reads, values


@dataclass
class ReadEvidence:
    """Per-sample read evidence of an encoded set's candidates (the read part of a reads NPZ).

    ``values``: ``(n, samples, len(EVIDENCE))`` float32; ``reads``: collapsed reads per candidate (hairpin
    positions); ``scan``: the genome-scan record of the encoded NPZ they were counted for (None otherwise)."""

    ids: list[str]
    samples: list[str]
    library_sizes: np.ndarray
    values: np.ndarray
    reads: list[Reads]
    flank: int
    scan: dict | None = None

    def to_arrays(self) -> dict[str, np.ndarray]:
        import json

        from ..reads import EVIDENCE

        arrays = {"samples": np.array(self.samples, dtype=str),
                  "sample_library_sizes": np.asarray(self.library_sizes, dtype=np.int64),
                  "evidence": np.asarray(self.values, dtype=np.float32),
                  "evidence_names": np.array(EVIDENCE, dtype=str), **reads_arrays(self.reads, self.flank)}
        if self.scan is not None:
            arrays["scan"] = np.array(json.dumps(self.scan, sort_keys=True))
        return arrays

    def describe(self) -> str:
        from ..reads import samples_with_evidence

        counts = samples_with_evidence(self.values)
        return (f"{len(self.samples)} sample(s); {int((counts > 0).sum())} candidates with >= 2 reads in at least one "
                f"sample, {int((counts == len(self.samples)).sum()) if len(self.samples) else 0} in all")

    def subset(self, ids: Sequence[str], source: str) -> "ReadEvidence":
        """The evidence of ``ids`` (in that order); InputError naming ``source`` for ids it lacks."""
        index = {identifier: row for row, identifier in enumerate(self.ids)}
        missing = [identifier for identifier in ids if identifier not in index]
        if missing:
            from .text import shortened

            raise InputError(source, f"{len(missing)} of {len(ids)} candidate(s) have no reads counted: "
                             f"{shortened(missing)} (the reads NPZ must be mt-coverage's of this very NPZ)")
        rows = [index[identifier] for identifier in ids]
        return ReadEvidence(list(ids), self.samples, self.library_sizes, self.values[rows],
                            [self.reads[row] for row in rows], self.flank, self.scan)


def merge_evidence(parts: Sequence[ReadEvidence], sources: Sequence[str]) -> ReadEvidence:
    """Several reads NPZs of one set of samples (e.g. of several encoded NPZs) as one; ids unique."""
    first = parts[0]
    seen: dict[str, str] = {}
    for part, source in zip(parts, sources):
        if part.samples != first.samples or part.flank != first.flank:
            raise InputError(source, f"holds the reads of samples {part.samples} (flank {part.flank}) but "
                             f"{sources[0]} of {first.samples} (flank {first.flank}): give reads of the same samples")
        for identifier in part.ids:
            if identifier in seen:
                raise InputError(source, f"id '{identifier}' is also in {seen[identifier]}; ids must be unique")
            seen[identifier] = source
    return ReadEvidence([identifier for part in parts for identifier in part.ids], first.samples,
                        first.library_sizes, np.concatenate([part.values for part in parts]),
                        [item for part in parts for item in part.reads], first.flank, None)


def sample_names(paths: Sequence[str]) -> list[str]:
    """Sample names from alignment file names (extension dropped; made unique with the file's position)."""
    import os

    names = []
    for path in paths:
        name = os.path.basename(path)
        for suffix in (".bam", ".cram", ".sam"):
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        names.append(name)
    return [f"{name}_{position + 1}" if names.count(name) > 1 else name for position, name in enumerate(names)]


def check_distinct_alignments(paths: Sequence[str]) -> None:
    """The same alignment file given twice (by two paths, or a copy) would count its reads twice."""
    import hashlib
    import os

    seen: dict[tuple, str] = {}
    for path in paths:
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as handle:
                head = handle.read(1 << 16)
        except OSError:
            continue  # missing files are reported by the checks that follow, one line each
        key = (size, hashlib.sha256(head).hexdigest())
        if key in seen:
            raise InputError(path, f"is the same alignment file as {seen[key]} (same size and content): each "
                             "sample's BAM once, or its reads are counted twice")
        seen[key] = path


def collect_evidence(encoded, regions: Sequence[Region], inputs: AlignmentInputs, read_filter: ReadFilter,
                     flank: int, source: str, threads: int = 1,
                     progress: Callable[[int], None] | None = None) -> ReadEvidence:
    """Reads and evidence of every candidate of ``encoded`` (decoys get none), with the scan record of
    ``source`` (the encoded NPZ) when it is a genome scan's."""
    from ..reads import geometries
    from .bam import library_size
    from .pieces import encoded_scan_record

    decoy = encoded.annotations.get("decoy")
    skip = None if decoy is None else [int(value) == 1 for value in decoy]
    reads, values = collect_reads(regions, geometries(encoded), inputs, read_filter, skip, threads, progress)
    sizes = np.array([library_size(path, inputs.genome) for path in inputs.paths], dtype=np.int64)
    return ReadEvidence(list(encoded.ids), sample_names(inputs.paths), sizes, values, reads, flank,
                        encoded_scan_record(source))


def has_evidence(path) -> bool:
    """Whether a coverage NPZ carries read evidence (made by this version of mt-coverage)."""
    from ..coverage import COVERAGE_FORMAT_VERSION, COVERAGE_KIND
    from .npz import looks_like_npz, open_checked

    if not looks_like_npz(path):
        return False
    with open_checked(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, ("ids",)) as archive:
        return "evidence" in archive.files


def read_evidence(path) -> ReadEvidence:
    """The read evidence of a coverage NPZ of mt-coverage (InputError when it has none or is inconsistent)."""
    import json

    from ..coverage import COVERAGE_FORMAT_VERSION, COVERAGE_KIND
    from ..reads import EVIDENCE
    from .npz import read_arrays

    name = str(path)
    arrays = read_arrays(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, ("ids", "flank"))
    if "evidence" not in arrays:
        raise InputError(name, "has no read evidence (made by an older mt-coverage): run mt-coverage again")
    names = [str(value) for value in arrays["evidence_names"]]
    if names != list(EVIDENCE):
        raise InputError(name, f"read evidence columns {names} differ from this version's; run mt-coverage again")
    ids = [str(value) for value in arrays["ids"]]
    values = np.asarray(arrays["evidence"], dtype=np.float32)
    samples = [str(value) for value in arrays["samples"]]
    offsets = np.asarray(arrays["read_offsets"])
    if values.shape != (len(ids), len(samples), len(EVIDENCE)) or len(offsets) != len(ids) + 1 \
            or offsets[-1] != len(arrays["read_first"]):
        raise InputError(name, "read evidence is inconsistent with its ids; re-create it with mt-coverage")
    flank = int(arrays["flank"])
    scan = json.loads(str(arrays["scan"])) if "scan" in arrays else None
    return ReadEvidence(ids, samples, np.asarray(arrays["sample_library_sizes"]), values,
                        reads_from_arrays(arrays, flank), flank, scan)
