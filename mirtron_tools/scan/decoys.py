"""Decoy windows: a dinucleotide-preserving shuffle of each window (``ScanParameters.decoys``), seeded by its
coordinates so decoys do not depend on threads, chunks or regions."""
from __future__ import annotations

import zlib

import numpy as np

from .windows import Window

#: nt kept in place at each end of a window when it is shuffled into a decoy (the splice-site dinucleotides)
DECOY_FIXED_ENDS = 2


def dinucleotide_shuffle(sequence: str, rng: np.random.Generator) -> str:
    """A random sequence with exactly the dinucleotide counts, first and last letter of ``sequence``
    (Altschul & Erickson 1985, by a random Eulerian walk: Kandel et al. 1996)."""
    if len(sequence) < 3:
        return sequence
    successors: dict[str, list[str]] = {}
    for first, second in zip(sequence, sequence[1:]):
        successors.setdefault(first, []).append(second)
    last = sequence[-1]
    # A random arborescence towards the last letter: for every other letter, the edge it leaves by last
    # (loop-erased random walks, as in Wilson's algorithm).
    in_tree = {last}
    final_edge: dict[str, int] = {}
    for start in sorted(successors):
        walk: dict[str, int] = {}
        letter = start
        while letter not in in_tree:
            walk[letter] = int(rng.integers(len(successors[letter])))
            letter = successors[letter][walk[letter]]
        letter = start
        while letter not in in_tree:
            final_edge[letter] = walk[letter]
            in_tree.add(letter)
            letter = successors[letter][walk[letter]]
    orders: dict[str, list[str]] = {}
    for letter, options in successors.items():
        kept = list(options)
        tail = [kept.pop(final_edge[letter])] if letter in final_edge else []
        order = rng.permutation(len(kept))
        orders[letter] = [kept[index] for index in order] + tail
    result, letter = [sequence[0]], sequence[0]
    position = dict.fromkeys(orders, 0)
    for _ in range(len(sequence) - 1):
        following = orders[letter][position[letter]]
        position[letter] += 1
        result.append(following)
        letter = following
    return "".join(result)


def decoy_sequence(window: Window, sequence: str) -> str:
    """The decoy of a window: its middle dinucleotide-shuffled, :data:`DECOY_FIXED_ENDS` nt kept at each
    end, seeded by the window's coordinates (the same decoy in every run, shard and thread count)."""
    fixed = DECOY_FIXED_ENDS
    if len(sequence) <= 2 * fixed + 2:
        return sequence
    rng = np.random.default_rng(zlib.crc32(f"{window.contig}:{window.start}-{window.end}({window.strand})".encode()))
    return sequence[:fixed] + dinucleotide_shuffle(sequence[fixed:-fixed], rng) + sequence[-fixed:]
