"""Gene models -> introns -> candidate mirtron hairpins (pure: no file access).

Coordinates are 0-based, end-exclusive (BED) throughout. Sequences are upper-case RNA in
transcript orientation (minus-strand windows are reverse complements), as
:meth:`mirtron_tools.io.genome.Genome.fetch` returns them.

The rule (parameters in :class:`ScanParameters`)
-------------------------------------------------
1. **Introns** are the gaps between consecutive exons of each multi-exon transcript.
   Introns with identical contig, start, end and strand are merged; each keeps the host
   genes, transcripts and its intron number in each transcript (1 = nearest the 5' end).
2. **Conventional** mirtrons: the whole intron is a candidate when its length lies within
   ``conventional_min_length .. conventional_max_length`` (default 50..150 nt).
3. **Tailed** mirtrons: a window of ``window`` nt (default 100) at each end of the intron (the
   whole intron when it is shorter) is folded with ViennaRNA (MFE, base-pair span at most
   ``window``). The candidate is the stem-loop of that fold anchored at the intron end:

   * acceptor end (**5'-tailed**): the 3'-most paired base ``j`` and its partner ``i``
     close the outermost helix of the domain nearest the acceptor;
   * donor end (**3'-tailed**): the 5'-most paired base ``i`` and its partner ``j``.

   The hairpin is trimmed like a miRBase hairpin of a tailed mirtron: it reaches the splice
   site at its anchored end (the splice site defines that end of a tailed mirtron) and keeps
   ``flank_5p`` (4) unpaired nt before ``i`` (5'-tailed) or ``flank_3p`` (2) after ``j``
   (3'-tailed) at its free end. These are the median numbers of unpaired nt outside the
   outermost pair of the 216 human miRBase mirtron hairpins folded alone (5' side 4, 3' side
   2, the Dicer 2-nt overhang). The candidate is kept when at most ``max_splice_distance`` (10)
   unpaired nt separate its stem from the splice site (recorded as ``splice_distance``), it is
   ``min_hairpin_length`` (45) to ``window`` nt long, holds at least ``min_base_pairs`` (15)
   base pairs and no N. The kept hairpin is folded again on its own (as ``mt-encode`` folds a
   FASTA hairpin), so the model sees the same kind of sequence and structure it was trained on.
4. Windows shared by several introns (alternative splice sites) are folded once; a hairpin
   found more than once is kept once (conventional first, then 5'-tailed, then 3'-tailed),
   with the genes, transcripts and intron numbers of every intron that hosts it.

Decoys (``ScanParameters.decoys``): every window is also scanned once more after a
dinucleotide-preserving shuffle (:func:`dinucleotide_shuffle`, Altschul-Erickson) of all but its
first and last two nt, which keeps the splice-site dinucleotides (GU...AG) in place. The shuffle
is seeded by the window's coordinates, so decoys do not depend on threads, chunks or regions.
Decoy candidates carry ``decoy`` = 1 and ids ``decoy:contig:start-end(strand)``; they estimate how
many candidates of the same windows the scan and a model would pass by chance (mt-predict's survey).

Optional prefilter: before folding, a window is skipped when no helix-like diagonal of the
dot plot reaches its anchored end (:func:`prefilter_scores`); see the README for its measured
recall. It is off by default.
"""
from __future__ import annotations

import multiprocessing
import sys
import zlib
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .encoding import DEFAULT_MAX_LENGTH, EncodedSet, fold, foldable

CONVENTIONAL = "conventional"
FIVE_TAILED = "5'-tailed"
THREE_TAILED = "3'-tailed"
SUBTYPES = (CONVENTIONAL, FIVE_TAILED, THREE_TAILED)

#: Annotation columns of a scan's EncodedSet (in this order in the TSV sidecar after sorting).
ANNOTATION_COLUMNS = ("contig", "start", "end", "strand", "subtype", "gene", "transcript", "intron_number",
                      "intron", "splice_distance", "decoy")


@dataclass(frozen=True)
class Transcript:
    """One transcript's exons, sorted by coordinate, 0-based end-exclusive."""

    transcript_id: str
    gene: str
    contig: str
    strand: str
    exons: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Intron:
    """A unique intron; ``transcripts`` and ``numbers`` run in parallel."""

    contig: str
    start: int
    end: int
    strand: str
    genes: tuple[str, ...]
    transcripts: tuple[str, ...]
    numbers: tuple[int, ...]

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.contig}:{self.start}-{self.end}({self.strand})"


@dataclass(frozen=True)
class ScanParameters:
    """Parameters of the candidate rule (see the module docstring); lengths in nt."""

    conventional_min_length: int = 50
    conventional_max_length: int = 150
    window: int = 100
    min_hairpin_length: int = 45
    max_splice_distance: int = 10
    min_base_pairs: int = 15
    flank_5p: int = 4
    flank_3p: int = 2
    prefilter: bool = False
    #: prefilter: helix blocks of this many stacked positions ...
    prefilter_block: int = 12
    #: ... whose pair-energy score (GC -3, AU -2, GU -1, mismatch +2) is at most this.
    prefilter_threshold: float = -13.0
    #: also scan a dinucleotide-shuffled copy of every window (decoys)
    decoys: bool = False

    def check(self) -> None:
        """Raise ValueError when the parameters contradict each other."""
        if not 0 < self.conventional_min_length <= self.conventional_max_length:
            raise ValueError("conventional length range must be 1 <= MIN <= MAX")
        if self.min_hairpin_length > self.window:
            raise ValueError(f"window ({self.window} nt) is shorter than the shortest hairpin "
                             f"({self.min_hairpin_length} nt)")
        if self.max_splice_distance < 0 or self.flank_5p < 0 or self.flank_3p < 0:
            raise ValueError("distances and flanks cannot be negative")


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


# ----------------------------------------------------------------------------- introns

def introns_from_transcripts(transcripts: Iterable[Transcript],
                             contig_order: Sequence[str] | None = None) -> list[Intron]:
    """Unique introns of all multi-exon transcripts, sorted by contig, start, end, strand.

    Contigs follow ``contig_order`` (e.g. the genome's), else their first appearance. Adjacent
    exons (no gap) make no intron. Single-exon transcripts contribute nothing.
    """
    merged: dict[tuple[str, int, int, str], tuple[list[str], list[str], list[int]]] = {}
    seen_contigs: dict[str, int] = {}
    for transcript in transcripts:
        exons = transcript.exons
        seen_contigs.setdefault(transcript.contig, len(seen_contigs))
        count = len(exons) - 1
        for index in range(count):
            start, end = exons[index][1], exons[index + 1][0]
            if end <= start:
                continue
            number = index + 1 if transcript.strand == "+" else count - index
            key = (transcript.contig, start, end, transcript.strand)
            genes, names, numbers = merged.setdefault(key, ([], [], []))
            if transcript.gene not in genes:
                genes.append(transcript.gene)
            names.append(transcript.transcript_id)
            numbers.append(number)
    rank = {contig: index for index, contig in enumerate(contig_order)} if contig_order is not None else {}
    offset = len(rank)
    order = sorted(merged, key=lambda key: (rank.get(key[0], offset + seen_contigs[key[0]]), key[1], key[2], key[3]))
    introns = []
    for key in order:
        genes, names, numbers = merged[key]
        pairs = sorted(zip(names, numbers))
        introns.append(Intron(*key, genes=tuple(genes), transcripts=tuple(name for name, _ in pairs),
                              numbers=tuple(number for _, number in pairs)))
    return introns


# ----------------------------------------------------------------------------- windows

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
    rank = {}
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


def pair_table(structure: str) -> np.ndarray:
    """Partner index of each position (-1 when unpaired) of a dot-bracket string."""
    partners = np.full(len(structure), -1, dtype=np.int64)
    stack = []
    for position, letter in enumerate(structure):
        if letter == "(":
            stack.append(position)
        elif letter == ")":
            opening = stack.pop()
            partners[opening] = position
            partners[position] = opening
    return partners


def anchored_hairpin(structure: str, anchor: str, parameters: ScanParameters) -> tuple[int, int, int] | None:
    """The stem-loop anchored at one end of a folded window, trimmed like a miRBase hairpin.

    ``anchor`` is ``"3"`` (acceptor at the window's 3' end) or ``"5"`` (donor at its 5' end).
    Returns ``(first, last_exclusive, splice_distance)`` as offsets in the window, or None
    when no stem-loop passes the rule of the module docstring. The hairpin reaches the splice
    site; ``splice_distance`` is the number of unpaired nt between its stem and the splice site.
    """
    partners = pair_table(structure)
    paired = np.flatnonzero(partners >= 0)
    if paired.size == 0:
        return None
    size = len(structure)
    if anchor == "3":
        closing = int(paired[-1])
        opening = int(partners[closing])
        first, last = max(opening - parameters.flank_5p, 0), size
        distance = size - 1 - closing
    elif anchor == "5":
        opening = int(paired[0])
        closing = int(partners[opening])
        first, last = 0, min(closing + 1 + parameters.flank_3p, size)
        distance = opening
    else:
        raise ValueError(f"anchor must be '3' or '5', not {anchor!r}")
    length = last - first
    if distance > parameters.max_splice_distance or not parameters.min_hairpin_length <= length <= parameters.window:
        return None
    if int(np.count_nonzero(partners[opening:closing + 1] >= 0)) // 2 < parameters.min_base_pairs:
        return None
    return first, last, distance


# ----------------------------------------------------------------------------- prefilter

_CODES = np.zeros(256, dtype=np.int8)
for _index, _letter in enumerate("ACGU"):
    _CODES[ord(_letter)] = _index + 1
_PAIR_SCORE = np.full((5, 5), 2.0, dtype=np.float32)
for _first, _second, _score in (("A", "U", -2), ("U", "A", -2), ("G", "C", -3), ("C", "G", -3),
                                ("G", "U", -1), ("U", "G", -1)):
    _PAIR_SCORE["-ACGU".index(_first), "-ACGU".index(_second)] = _score
_MIN_LOOP = 3


def prefilter_scores(sequences: Sequence[str], anchor: str, parameters: ScanParameters) -> np.ndarray:
    """Best helix score reaching the anchored end of each sequence (lower = more helix-like).

    For every anti-diagonal of the dot plot whose 3' partner (``anchor="3"``) or 5' partner
    (``anchor="5"``) lies within ``max_splice_distance + 2 * prefilter_block`` nt of the
    anchored end, the sum of per-pair scores (GC -3, AU -2, GU -1, anything else +2) over
    ``prefilter_block`` consecutive positions; the minimum over all such blocks. Vectorised over
    the sequences (numpy), which is what makes it cheap beside folding.
    """
    block = parameters.prefilter_block
    count = len(sequences)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    size = max(len(sequence) for sequence in sequences)
    codes = np.zeros((count, size), dtype=np.int8)
    for row, sequence in enumerate(sequences):
        text = sequence if anchor == "3" else sequence[::-1]
        # right-align, so the anchored end is the last column (5' anchors are read reversed)
        codes[row, size - len(text):] = _CODES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    reach = min(parameters.max_splice_distance + 2 * block, size)
    tail = np.arange(size - reach, size)
    best = np.zeros(count, dtype=np.float32)
    zero_column = np.zeros((count, 1), dtype=np.float32)
    for diagonal in range(size - reach, 2 * size - 1):
        partner = diagonal - tail
        valid = (partner >= 0) & (partner < tail - _MIN_LOOP)
        if int(valid.sum()) < block:
            continue
        ends, starts = codes[:, tail[valid]], codes[:, partner[valid]]
        scores = _PAIR_SCORE[ends, starts]
        scores[(ends == 0) | (starts == 0)] = 2.0
        sums = np.cumsum(np.concatenate([zero_column, scores], axis=1), axis=1)
        best = np.minimum(best, (sums[:, block:] - sums[:, :-block]).min(axis=1))
    return best


def prefilter_keep(sequences: Sequence[str], anchor: str, parameters: ScanParameters) -> np.ndarray:
    """Boolean mask: the sequences that the prefilter lets through to folding."""
    return prefilter_scores(sequences, anchor, parameters) <= parameters.prefilter_threshold


# ----------------------------------------------------------------------------- decoys

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


# ----------------------------------------------------------------------------- folding work

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
        method = "spawn" if "tensorflow" in sys.modules else "fork"
        with multiprocessing.get_context(method).Pool(threads) as pool:
            for number, results in enumerate(pool.imap(scan_batch, batches())):
                collect(results, min(batch_size, len(windows) - number * batch_size))
    candidates = list(kept.values())
    for key, others in extra_hosts.items():
        kept[key].also_from = tuple(others)
    return candidates


# ----------------------------------------------------------------------------- output

def candidate_id(contig: str, start: int, end: int, strand: str) -> str:
    """``contig:start-end(strand)``, 0-based start as ``bedtools getfasta -s`` writes it."""
    return f"{contig}:{start}-{end}({strand})"


def _hosts(candidate: Candidate, windows: Sequence[Window], introns: Sequence[Intron]) -> list[Intron]:
    indices: list[int] = []
    for window_index in (candidate.window, *candidate.also_from):
        indices.extend(index for index in windows[window_index].hosts if index not in indices)
    return [introns[index] for index in sorted(indices)]


def candidates_to_encoded(candidates: Sequence[Candidate], windows: Sequence[Window], introns: Sequence[Intron],
                          max_length: int = DEFAULT_MAX_LENGTH) -> EncodedSet:
    """An :class:`EncodedSet` whose annotations are :data:`ANNOTATION_COLUMNS`.

    ``gene`` lists the host genes; ``transcript``, ``intron_number`` and ``intron`` (genomic
    ``start-end``) list, in parallel, every transcript intron that hosts the candidate. When any
    candidate is a decoy, a ``decoy`` column (1 = decoy) is added and decoy ids start ``decoy:``.
    """
    contigs, strands, genes, transcripts, numbers, spans = [], [], [], [], [], []
    for candidate in candidates:
        window = windows[candidate.window]
        hosts = _hosts(candidate, windows, introns)
        contigs.append(window.contig)
        strands.append(window.strand)
        host_genes: list[str] = []
        for intron in hosts:
            host_genes.extend(gene for gene in intron.genes if gene not in host_genes)
        genes.append(",".join(host_genes))
        transcripts.append(",".join(name for intron in hosts for name in intron.transcripts))
        numbers.append(",".join(str(number) for intron in hosts for number in intron.numbers))
        spans.append(",".join(f"{intron.start}-{intron.end}" for intron in hosts
                              for _ in intron.transcripts))
    text = (lambda values: np.array(values, dtype=str) if values else np.array([], dtype="<U1"))
    annotations = {
        "contig": text(contigs),
        "start": np.array([candidate.start for candidate in candidates], dtype=np.int64),
        "end": np.array([candidate.end for candidate in candidates], dtype=np.int64),
        "strand": text(strands),
        "subtype": text([candidate.subtype for candidate in candidates]),
        "gene": text(genes),
        "transcript": text(transcripts),
        "intron_number": text(numbers),
        "intron": text(spans),
        "splice_distance": np.array([candidate.splice_distance for candidate in candidates], dtype=np.int32),
    }
    if any(candidate.decoy for candidate in candidates):
        annotations["decoy"] = np.array([int(candidate.decoy) for candidate in candidates], dtype=np.int8)
    return EncodedSet(
        ids=[("decoy:" if candidate.decoy else "") + candidate_id(contig, candidate.start, candidate.end, strand)
             for candidate, contig, strand in zip(candidates, contigs, strands)],
        sequences=[candidate.sequence for candidate in candidates],
        structures=[candidate.structure for candidate in candidates],
        mfe=np.array([candidate.mfe for candidate in candidates], dtype=np.float32),
        max_length=max_length,
        annotations=annotations,
    )
