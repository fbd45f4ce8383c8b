"""Indexed genome FASTA access (plain or bgzip) through pysam, strand-aware."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError

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
        index = Path(f"{self.path}.fai")
        if not index.exists() and not os.access(Path(self.path).resolve().parent, os.W_OK):
            raise InputError(self.path, "genome FASTA has no .fai index and its folder is read-only; "
                             "index it with 'samtools faidx' or copy it to a writable folder")
        try:
            self._fasta = pysam.FastaFile(self.path)
        except (OSError, ValueError) as error:
            raise InputError(self.path, f"cannot open or index the genome FASTA ({error}); "
                             "a compressed genome must be bgzip-compressed, not gzip") from None
        self.lengths = dict(zip(self._fasta.references, self._fasta.lengths))

    def check_contig(self, contig: str, source: str, line: int | None = None) -> None:
        if contig not in self.lengths:
            shown = ", ".join(list(self.lengths)[:5])
            alternative = contig[3:] if contig.startswith("chr") else f"chr{contig}"
            hint = f"; the genome has '{alternative}' (chr naming differs)" if alternative in self.lengths else ""
            raise InputError(source, f"contig '{contig}' is not in genome {self.path} (it has: {shown}"
                             f"{' ...' if len(self.lengths) > 5 else ''}){hint}", line)

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
