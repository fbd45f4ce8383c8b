"""A genome scan cut into pieces and gathered back (pure: no file access).

A scan is identified by what decides its candidates: the scan parameters, ``--max-length``,
``--region``, the genome's contigs (names and lengths) and the annotation's introns (after
contig renaming). Every NPZ of a scan (``mt-encode`` output, a plan of ``mt-encode --split``,
``mt-predict``'s scores) carries that identity as JSON with the piece it holds, ``[I, N]``; a
whole run is piece ``[1, 1]``. Pieces gather back only when they share one identity (and, for
scores, one model and threshold) and together are pieces 1..N, each once (:func:`order_pieces`).

Pieces are whole clusters of overlapping windows (:func:`mirtron_tools.scan.windows.select_chunk`), so
no hairpin is in two pieces and the pieces in order hold exactly the whole run's candidates.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Mapping, Sequence

from .errors import InputError, shortened
from .scan.genes import Intron
from .scan.parameters import ScanParameters
from .scan.windows import Window

#: keys of the metadata that say which piece it is, not which scan
PIECE_KEYS = ("piece", "windows")


def _digest(lines: Sequence[str]) -> str:
    sha = hashlib.sha256()
    for line in lines:
        sha.update(line.encode())
        sha.update(b"\n")
    return sha.hexdigest()


def introns_digest(introns: Sequence[Intron]) -> str:
    """sha256 of the introns (coordinates, hosts), in order: the annotation as the scan read it."""
    return _digest([f"{i.contig}\t{i.start}\t{i.end}\t{i.strand}\t{','.join(i.genes)}\t{','.join(i.transcripts)}\t"
                    f"{','.join(map(str, i.numbers))}" for i in introns])


def contigs_digest(lengths: Mapping[str, int]) -> str:
    """sha256 of the genome's contig names and lengths, in order."""
    return _digest([f"{name}\t{length}" for name, length in lengths.items()])


def scan_metadata(parameters: ScanParameters, max_length: int, region: tuple[str, int, int] | None,
                  genome_name: str, lengths: Mapping[str, int], annotation_name: str, introns: Sequence[Intron],
                  piece: tuple[int, int], windows: int, version: str) -> dict:
    """The JSON-able record of one piece of one scan."""
    return {
        "parameters": dataclasses.asdict(parameters),
        "max_length": int(max_length),
        "region": None if region is None else f"{region[0]}:{region[1] + 1}-{region[2]}",
        "genome": {"name": genome_name, "contigs": len(lengths), "sha256": contigs_digest(lengths)},
        "annotation": {"name": annotation_name, "introns": len(introns), "sha256": introns_digest(introns)},
        "mirtron_tools": version,
        "piece": [int(piece[0]), int(piece[1])],
        "windows": int(windows),
    }


def dumps(record: Mapping) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def identity(record: Mapping) -> dict:
    """What pieces of one scan share: everything but the piece, its window count and the version
    (names of the genome and annotation files are kept for messages only)."""
    same = {key: value for key, value in record.items() if key not in (*PIECE_KEYS, "mirtron_tools")}
    same["genome"] = {key: value for key, value in record["genome"].items() if key != "name"}
    same["annotation"] = {key: value for key, value in record["annotation"].items() if key != "name"}
    same["count"] = record["piece"][1]
    return same


def _differences(first: Mapping, other: Mapping, prefix: str = "") -> list[str]:
    found = []
    for key in sorted(set(first) | set(other)):
        left, right = first.get(key), other.get(key)
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            found.extend(_differences(left, right, f"{prefix}{key}."))
        elif left != right:
            found.append(f"{prefix}{key} {left!r} vs {right!r}")
    return found


def order_pieces(records: Sequence[Mapping], names: Sequence[str]) -> list[int]:
    """Indices of ``records`` (one per file ``names``) in piece order; InputError when they are not
    exactly the pieces 1..N of one scan: a foreign piece (other scan, parameters, model or count), a
    piece given twice, or missing pieces."""
    first = identity(records[0])
    for record, name in zip(records[1:], names[1:]):
        differences = _differences(first, identity(record))
        if differences:
            raise InputError(name, f"is a piece of another scan than {names[0]} ({shortened(differences, 3, '; ')})")
    count = int(records[0]["piece"][1])
    where: dict[int, int] = {}
    for position, record in enumerate(records):
        index = int(record["piece"][0])
        if index in where:
            raise InputError(names[position], f"piece {index}/{count} is given twice (also "
                             f"{names[where[index]]})")
        where[index] = position
    missing = [index for index in range(1, count + 1) if index not in where]
    if missing:
        raise InputError(names[0], f"{len(missing)} of the {count} pieces of this scan are missing: piece(s) "
                         f"{shortened(missing, 10)}")
    return [where[index] for index in range(1, count + 1)]


# ----------------------------------------------------------------------------- plans

def plan_piece(windows: Sequence[Window], introns: Sequence[Intron]) -> tuple[list[Window], list[Intron]]:
    """The windows of one piece with only the introns they need, renumbered in the same order
    (so the piece's candidates and their host columns are those of the whole run)."""
    used = sorted({host for window in windows for host in window.hosts})
    new_index = {old: new for new, old in enumerate(used)}
    return ([dataclasses.replace(window, hosts=tuple(new_index[host] for host in window.hosts)) for window in windows],
            [introns[old] for old in used])


def windows_to_json(windows: Sequence[Window]) -> list:
    return [[w.contig, w.start, w.end, w.strand, int(w.conventional), int(w.acceptor), int(w.donor), list(w.hosts)]
            for w in windows]


def windows_from_json(rows: Sequence) -> list[Window]:
    return [Window(str(contig), int(start), int(end), str(strand), bool(conventional), bool(acceptor), bool(donor),
                   tuple(int(host) for host in hosts))
            for contig, start, end, strand, conventional, acceptor, donor, hosts in rows]


def introns_to_json(introns: Sequence[Intron]) -> list:
    return [[i.contig, i.start, i.end, i.strand, list(i.genes), list(i.transcripts), list(i.numbers)] for i in introns]


def introns_from_json(rows: Sequence) -> list[Intron]:
    return [Intron(str(contig), int(start), int(end), str(strand), tuple(map(str, genes)), tuple(map(str, transcripts)),
                   tuple(int(number) for number in numbers))
            for contig, start, end, strand, genes, transcripts, numbers in rows]


def parameters_from_record(record: Mapping) -> ScanParameters:
    """The :class:`ScanParameters` of a scan's metadata."""
    return ScanParameters(**record["parameters"])
