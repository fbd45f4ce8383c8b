"""The window plan: the stretches of introns to fold, merged when introns share them, clustered when they
overlap, and split into regions or pieces (rule steps 2-4 of :mod:`mirtron_tools.scan`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .genes import Intron
from .parameters import ScanParameters


@dataclass(frozen=True)
class Window:
    """A stretch of an intron to fold: genomic ``[start, end)`` on ``strand``.

    ``conventional``: the window is a whole intron within the conventional length range.
    ``acceptor``/``donor``: the window's 3'/5' end (transcript orientation) is a splice site,
    so 5'-/3'-tailed candidates are looked for there. ``hosts``: indices of the introns that
    share the window (alternative splicing shares acceptors and donors).
    """

    contig: str
    start: int
    end: int
    strand: str
    conventional: bool
    acceptor: bool
    donor: bool
    hosts: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, int, int, str]:
        return self.contig, self.start, self.end, self.strand


def intron_windows(intron: Intron, parameters: ScanParameters) -> list[Window]:
    """The windows to fold for one intron: the whole intron when it fits in one window."""
    length = intron.length
    conventional = parameters.conventional_min_length <= length <= parameters.conventional_max_length
    tailed = length >= parameters.min_hairpin_length
    contig, strand = intron.contig, intron.strand
    if length <= parameters.window:
        if not (conventional or tailed):
            return []
        return [Window(contig, intron.start, intron.end, strand, conventional, tailed, tailed)]
    size = parameters.window
    head = (intron.start, intron.start + size)
    tail = (intron.end - size, intron.end)
    # In transcript orientation the acceptor is the genomic end on '+', the genomic start on '-'.
    acceptor, donor = (tail, head) if strand == "+" else (head, tail)
    windows = []
    if conventional:  # longer than the window but still conventional: folded whole as well
        windows.append(Window(contig, intron.start, intron.end, strand, True, False, False))
    windows.append(Window(contig, *acceptor, strand, False, True, False))
    windows.append(Window(contig, *donor, strand, False, False, True))
    return windows


def plan_windows(introns: Sequence[Intron], parameters: ScanParameters) -> list[Window]:
    """Unique windows of all introns, in intron order of first use; shared windows merged."""
    merged: dict[tuple[str, int, int, str], Window] = {}
    for index, intron in enumerate(introns):
        for window in intron_windows(intron, parameters):
            known = merged.get(window.key)
            if known is None:
                merged[window.key] = Window(*window.key, window.conventional, window.acceptor, window.donor, (index,))
            else:
                merged[window.key] = Window(*window.key, known.conventional or window.conventional,
                                            known.acceptor or window.acceptor, known.donor or window.donor,
                                            known.hosts + (index,))
    rank: dict[str, int] = {}
    for intron in introns:
        rank.setdefault(intron.contig, len(rank))
    return sorted(merged.values(), key=lambda window: (rank[window.contig], window.start, window.end, window.strand))


def window_clusters(windows: Sequence[Window]) -> list[list[Window]]:
    """Runs of overlapping windows (either strand). Two windows that can yield the same hairpin
    overlap, so sharding by whole clusters keeps every hairpin in one shard."""
    clusters: list[list[Window]] = []
    reach = -1
    for window in windows:
        if clusters and clusters[-1][0].contig == window.contig and window.start < reach:
            clusters[-1].append(window)
            reach = max(reach, window.end)
        else:
            clusters.append([window])
            reach = window.end
    return clusters


def select_region(clusters: Sequence[list[Window]], contig: str, start: int, end: int) -> list[list[Window]]:
    """Clusters on ``contig`` whose first window *starts* in ``[start, end)``.

    Adjacent regions therefore split the work exactly, with no candidate in two regions.
    """
    return [cluster for cluster in clusters if cluster[0].contig == contig and start <= cluster[0].start < end]


def select_chunk(clusters: Sequence[list[Window]], index: int, count: int) -> list[list[Window]]:
    """Piece ``index`` (1-based) of ``count`` contiguous pieces with near-equal numbers of windows."""
    if not 1 <= index <= count:
        raise ValueError(f"chunk {index}/{count}: need 1 <= I <= N")
    sizes = np.cumsum([len(cluster) for cluster in clusters])
    total = int(sizes[-1]) if len(sizes) else 0
    # cluster k goes to the piece that holds its first window's position in the whole list
    first_positions = np.concatenate([[0], sizes[:-1]]) if len(sizes) else np.zeros(0)
    pieces = (first_positions * count) // max(total, 1) + 1
    return [cluster for cluster, piece in zip(clusters, pieces) if piece == index]
