"""Folding the planned windows into candidate hairpins, in worker processes (:func:`scan`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from ..encoding import fold, foldable
from ..pool import process_pool
from .anchoring import anchored_hairpin
from .decoys import decoy_sequence
from .parameters import CONVENTIONAL, FIVE_TAILED, THREE_TAILED, ScanParameters
from .prefilter import prefilter_keep
from .windows import Window


@dataclass
class Candidate:
    """One candidate hairpin; ``start``/``end`` genomic, ``sequence`` in transcript orientation.

    ``window`` indexes the window it was found in; ``also_from`` other windows that found it.
    """

    window: int
    subtype: str
    start: int
    end: int
    sequence: str
    structure: str
    mfe: float
    splice_distance: int
    also_from: tuple[int, ...] = ()
    decoy: bool = False


def fold_window(sequence: str, span: int) -> tuple[str, float]:
    """MFE structure and energy with base pairs spanning at most ``span`` nt (ViennaRNA)."""
    import RNA

    model = RNA.md()
    model.max_bp_span = span
    compound = RNA.fold_compound(foldable(sequence), model)
    structure, energy = compound.mfe()
    return structure, float(energy)


def _to_genome(window: Window, first: int, last: int) -> tuple[int, int]:
    """Window offsets (transcript orientation) -> genomic ``[start, end)``."""
    if window.strand == "+":
        return window.start + first, window.start + last
    return window.end - last, window.end - first


#: One unit of work: (window index, window, its sequence in transcript orientation).
WorkItem = tuple[int, Window, str]


def scan_batch(batch: tuple[ScanParameters, list[WorkItem]]) -> list[Candidate]:
    """Fold a batch of windows and return their candidates, in window order.

    Runs in worker processes; everything it needs travels in ``batch``. Calls to
    :func:`fold_window` and :func:`mirtron_tools.encoding.fold` are the whole folding cost.
    """
    parameters, items = batch
    wanted = {(row, anchor): flag for row, (_, window, _) in enumerate(items)
              for anchor, flag in (("3", window.acceptor), ("5", window.donor))}
    if parameters.prefilter:
        for anchor in ("3", "5"):
            rows = [row for row in range(len(items)) if wanted[(row, anchor)]]
            if rows:
                mask = prefilter_keep([items[row][2] for row in rows], anchor, parameters)
                wanted.update({(row, anchor): bool(flag) for row, flag in zip(rows, mask)})
    results: list[Candidate] = []
    for row, (index, window, sequence) in enumerate(items):
        anchors = [anchor for anchor in ("3", "5") if wanted[(row, anchor)]]
        results.extend(_window_candidates(index, window, sequence, anchors, parameters, decoy=False))
        if parameters.decoys:  # the decoy of every window (the prefilter does not apply to decoys)
            anchors = [anchor for anchor, flag in (("3", window.acceptor), ("5", window.donor)) if flag]
            results.extend(_window_candidates(index, window, decoy_sequence(window, sequence), anchors, parameters,
                                              decoy=True))
    return results


def _window_candidates(index: int, window: Window, sequence: str, anchors: list[str], parameters: ScanParameters,
                       decoy: bool) -> list[Candidate]:
    """The candidates of one window's sequence (see the module docstring's rule)."""
    if not (window.conventional or anchors):
        return []
    structure, energy = fold_window(sequence, max(parameters.window, len(sequence)))
    found: dict[tuple[int, int], Candidate] = {}
    if window.conventional and "N" not in sequence:
        found[(window.start, window.end)] = Candidate(index, CONVENTIONAL, window.start, window.end,
                                                      sequence, structure, energy, 0, decoy=decoy)
    for anchor in anchors:
        hairpin = anchored_hairpin(structure, anchor, parameters)
        if hairpin is None:
            continue
        first, last, distance = hairpin
        start, end = _to_genome(window, first, last)
        piece = sequence[first:last]
        if (start, end) in found or "N" in piece:
            continue
        if first == 0 and last == len(sequence):
            piece_structure, piece_energy = structure, energy
        else:
            piece_structure, piece_energy = fold(piece)
        found[(start, end)] = Candidate(index, FIVE_TAILED if anchor == "3" else THREE_TAILED,
                                        start, end, piece, piece_structure, piece_energy, distance, decoy=decoy)
    return list(found.values())


def scan(windows: Sequence[Window], fetch: Callable[[str, int, int, str], str], parameters: ScanParameters,
         threads: int = 1, progress: Callable[[int], None] | None = None, batch_size: int = 32
         ) -> list[Candidate]:
    """Candidates of all windows, in window order, one per hairpin (genomic coordinates and
    strand); a hairpin found from several windows keeps the first and the hosts of all.

    ``fetch(contig, start, end, strand)`` runs in this process only; workers receive sequences,
    so the result does not depend on ``threads``.
    """
    parameters.check()

    def batches() -> Iterator[tuple[ScanParameters, list[WorkItem]]]:
        for first in range(0, len(windows), batch_size):
            yield parameters, [(index, windows[index], fetch(windows[index].contig, windows[index].start,
                                                             windows[index].end, windows[index].strand))
                               for index in range(first, min(first + batch_size, len(windows)))]

    kept: dict[tuple[str, int, int, str, bool], Candidate] = {}
    extra_hosts: dict[tuple[str, int, int, str, bool], list[int]] = {}

    def collect(results: list[Candidate], done: int) -> None:
        for candidate in results:
            window = windows[candidate.window]
            key = (window.contig, candidate.start, candidate.end, window.strand, candidate.decoy)
            if key in kept:
                extra_hosts.setdefault(key, []).append(candidate.window)
            else:
                kept[key] = candidate
        if progress:
            progress(done)

    if threads <= 1 or len(windows) <= batch_size:
        for batch in batches():
            collect(scan_batch(batch), len(batch[1]))
    else:
        with process_pool(threads) as pool:
            for number, results in enumerate(pool.imap(scan_batch, batches())):
                collect(results, min(batch_size, len(windows) - number * batch_size))
    candidates = list(kept.values())
    for key, others in extra_hosts.items():
        kept[key].also_from = tuple(others)
    return candidates
