"""The hairpins a model reads: encoded NPZs chunk by chunk, or FASTA folded chunk by chunk (the one input
reader of mt-predict and mt-attend). Memory holds one chunk, whatever the input's size."""
from __future__ import annotations

import itertools
from typing import Iterator, Sequence

from ..encoding import EncodedSet


def input_chunks(paths: Sequence[str], is_npz: bool, chunk_size: int, max_length: int, skip_long: bool,
                 threads: int, stats, wanted: set[str] | None = None) -> Iterator[EncodedSet]:
    """Chunks of the inputs in order: NPZs (several: the pieces of one scan, in piece order) read as they
    are, or one FASTA (``-`` = standard input) folded chunk by chunk; only the ``wanted`` ids when given."""
    from ..encoding import encode_sequences
    from .encoded import iter_encoded
    from .fasta import iter_hairpins

    if is_npz:
        for path in paths:
            for chunk in iter_encoded(path, chunk_size):
                if wanted is not None:
                    chunk = chunk.subset([row for row, identifier in enumerate(chunk.ids) if identifier in wanted])
                if len(chunk):
                    yield chunk
        return
    records = iter_hairpins(paths[0], max_length, skip_long, stats)
    if wanted is not None:
        records = (record for record in records if record.identifier in wanted)
    while chunk_records := list(itertools.islice(records, chunk_size)):
        yield encode_sequences([record.identifier for record in chunk_records],
                               [record.sequence for record in chunk_records], threads=threads, max_length=max_length)


def input_ids(path: str) -> list[str] | None:
    """Ids of a FASTA or NPZ input without folding (None for standard input, which is read once only)."""
    from .encoded import encoded_ids
    from .fasta import read_fasta
    from .npz import looks_like_npz

    if path == "-":
        return None
    if looks_like_npz(path):
        return encoded_ids(path)
    return [record.identifier for record in read_fasta(path)]


def sniff_hairpins(path: str, records: int = 8) -> None:
    """Check the format of a hairpin input from its first ``records`` records (FASTA or mt-encode NPZ), so
    that a table or a protein FASTA given as hairpins fails in a moment, before a model is read; raises
    :class:`~mirtron_tools.errors.InputError`. Standard input is checked as it is read (it is read once)."""
    from .encoded import iter_encoded
    from .fasta import read_fasta
    from .npz import looks_like_npz

    if path == "-":
        return
    if looks_like_npz(path):
        next(iter_encoded(path, records), None)
        return
    for _ in itertools.islice(read_fasta(path, unique_ids=False), records):
        pass
