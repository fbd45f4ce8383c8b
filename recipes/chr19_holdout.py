"""Human chromosome 19 is the project's held-out chromosome: the one rule, in one place.

No bundled model trains or tunes on chr19. A training hairpin is **held out** when it shares an exact
stretch of at least ``min(45, its length)`` nt with chr19 (Ensembl 91 GRCh38, ``../shared/data/intronIC``)
on either strand. That covers, with one test and no scan to run first:

* every hairpin that lies on chr19 (the 134 known mirtron sequences of
  ``derived_splits/chr19_known_mirtrons.bed``, the 143 chr19 miRBase v22 hairpins, chr19 CDS
  pseudo-hairpins), since a hairpin on chr19 shares its whole length;
* every hairpin equal to or inside a chr19 scan candidate (candidates lie on chr19);
* every hairpin that contains a chr19 scan candidate, since candidates are at least 45 nt
  (``ScanParameters.min_hairpin_length``).

Introns: a background intron is held out when its gene (ENSG id) has a gene model on chr19.

The index is of all 32-mers of chr19 (2 bits a base in a uint64; about 2 GB of memory while it is
built, 20-30 s); a shared stretch of ``L`` >= 32 nt is a run of ``L - 31`` consecutive 32-mer hits on
one diagonal. Shorter hairpins (41-44 nt, a handful of miRBase ones) are searched as whole strings.
"""
from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from mirtron_tools.manifest import sequences_sha256  # noqa: F401  (re-exported: the recipes' fingerprint of a set)

from .sources import SHARED

CHR19 = "intronIC/test_data/Homo_sapiens.Chr19.Ensembl_91.fa.gz"
CHR19_GFF3 = "intronIC/test_data/Homo_sapiens.Chr19.Ensembl_91.gff3.gz"
KNOWN_BED = "derived_splits/chr19_known_mirtrons.bed"
#: the shortest shared stretch that holds a hairpin out (ScanParameters.min_hairpin_length)
MIN_SHARED = 45
K = 32
RULE = ("held out: every hairpin sharing an exact stretch of at least min(45, its length) nt with GRCh38 chr19 "
        "(either strand), i.e. on chr19, equal to, inside or containing a chr19 scan candidate; every intron of a "
        "gene with a chr19 gene model")

_CODE = np.zeros(256, dtype=np.uint64)
for _index, _letter in enumerate("ACGT"):
    _CODE[ord(_letter)] = _index
    _CODE[ord(_letter.lower())] = _index
_CODE[ord("U")] = _CODE[ord("u")] = 3


def chr19_sequence(shared: Path = SHARED) -> str:
    """chr19 as one upper-case DNA string (the FASTA ships as plain gzip)."""
    with gzip.open(shared / CHR19, "rt") as stream:
        return "".join(line.strip() for line in stream if not line.startswith(">")).upper()


def _kmers(codes: np.ndarray) -> np.ndarray:
    """All K-mers of a code array as uint64 (one per start position)."""
    count = len(codes) - K + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    values = np.zeros(count, dtype=np.uint64)
    for offset in range(K):
        values <<= np.uint64(2)
        values |= codes[offset:offset + count]
    return values


def _codes(text: str) -> np.ndarray:
    return _CODE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]


def _reverse_complement(sequence: str) -> str:
    return sequence.upper().replace("U", "T").translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


class Chr19Index:
    """Exact-match queries against chr19, both strands."""

    def __init__(self, shared: Path = SHARED):
        self.sequence = chr19_sequence(shared)
        values = _kmers(_codes(self.sequence))
        self.order = np.argsort(values, kind="stable")
        self.sorted = values[self.order]

    def longest_hit_run(self, sequence: str) -> int:
        """Length (nt) of the longest exact stretch that ``sequence`` shares with chr19 (either strand),
        counted in K-mer runs (0 when no K-mer is shared)."""
        best = 0
        for strand in (sequence.upper().replace("U", "T"), _reverse_complement(sequence)):
            queries = _kmers(_codes(strand))
            low = np.searchsorted(self.sorted, queries, "left")
            high = np.searchsorted(self.sorted, queries, "right")
            offsets = np.repeat(np.arange(len(queries)), high - low)
            if not len(offsets):
                continue
            positions = np.concatenate([self.order[a:b] for a, b in zip(low, high) if b > a])
            diagonal = positions.astype(np.int64) - offsets
            order = np.lexsort((offsets, diagonal))
            diagonal, offsets = diagonal[order], offsets[order]
            breaks = np.flatnonzero((np.diff(diagonal) != 0) | (np.diff(offsets) != 1)) + 1
            starts = np.r_[0, breaks]
            ends = np.r_[breaks, len(offsets)]
            best = max(best, int((ends - starts).max()) + K - 1)
        return best

    def held_out(self, sequence: str) -> bool:
        """Whether a training hairpin shares at least ``min(MIN_SHARED, len)`` nt with chr19."""
        text = sequence.upper().replace("U", "T")
        if len(text) < K:
            return text in self.sequence or _reverse_complement(text) in self.sequence
        if len(text) < MIN_SHARED:
            return text in self.sequence or _reverse_complement(text) in self.sequence
        return self.longest_hit_run(text) >= MIN_SHARED


@lru_cache(maxsize=1)
def chr19_index(shared: Path = SHARED) -> Chr19Index:
    return Chr19Index(shared)


def held_out_mask(sequences: Sequence[str], shared: Path = SHARED) -> np.ndarray:
    """True for every sequence that the chr19 rule holds out (distinct sequences are checked once)."""
    index = chr19_index(shared)
    verdicts: dict[str, bool] = {}
    for sequence in sequences:
        if sequence not in verdicts:
            verdicts[sequence] = index.held_out(sequence)
    return np.array([verdicts[sequence] for sequence in sequences], dtype=bool)


def chr19_genes(shared: Path = SHARED) -> set[str]:
    """ENSG ids of the genes in the chr19 gene models."""
    genes = set()
    with gzip.open(shared / CHR19_GFF3, "rt") as stream:
        for line in stream:
            if line.startswith("#"):
                continue
            genes.update(re.findall(r"gene:(ENSG\d+)", line))
    return genes


def holdout_record(kept: Sequence[str], dropped: Sequence[str]) -> dict:
    """The manifest's ``held_out`` entry: the rule, what it dropped and the kept set's fingerprint."""
    return {"chromosome": "GRCh38 chr19", "rule": RULE, "dropped": len(set(dropped)),
            "dropped_sha256": sequences_sha256(dropped), "kept": len(set(kept)),
            "kept_sha256": sequences_sha256(kept), "dropped_sequences": sorted(set(dropped))}
