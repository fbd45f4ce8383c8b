"""Small-RNA-seq read signatures of candidate hairpins (pure numpy, no file access).

A mirtron leaves a read signature that no other source of small RNA leaves all at once
(Berezikov et al. 2007; Ruby et al. 2007; Ladewig et al. 2012; Wen et al. 2015):

* reads on the candidate's strand, stacked on the hairpin's **arms** (Dicer products), few on the
  terminal loop and few running past the hairpin's ends (a longer transcript);
* a **precise 5' end** on each arm (the seed is defined by it);
* the two arms' dominant reads form a **Dicer duplex**: paired in the fold, with 2-nt 3' overhangs;
* a length profile of 20-24 nt (Dicer products);
* **splice anchoring**, the mirtron hallmark: the 5p read begins at the intron's first nucleotide, or
  the 3p read ends at (or a nucleotide or two before) the intron's last nucleotide, because splicing,
  not Drosha, makes those ends. Canonical intronic miRNAs have Drosha ends inside the intron;
* little read cover on the rest of the host intron and on the flanking exons (degradation of the
  host transcript, not processing), few multi-mapped reads, and evidence in several samples.

Reads are described in the candidate's own orientation as hairpin positions: ``first`` is the
hairpin position of the read's 5' end and ``last`` of its 3' end (0 = the hairpin's first nt; reads
may start before 0 or end past ``length - 1``). Identical alignments are collapsed with a ``count``.
:func:`evidence` turns one candidate's reads into the values of :data:`EVIDENCE`, per sample;
:func:`model_features` turns pooled evidence into the read-aware model's features; :func:`combine`
adds their log-likelihood ratio to the sequence model's prior log-odds; :func:`permuted_scores`
gives the label-free false-discovery estimate (read signatures moved onto other candidates'
structures, as miRDeep2's controls do).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .coverage import loop_centre

#: a read's 5' end counts as at the intron's first nt within this many nt
DONOR_TOLERANCE = 1
#: a read's 3' end counts as at the acceptor when it is the intron's last nt or up to this many nt before it
ACCEPTOR_SLACK = 2
#: intron body (nt beyond the hairpin, inside the intron) and exon span (nt outside each splice site) counted
#: as degradation of the host transcript
INTRON_REACH = 200
EXON_SPAN = 50
#: Dicer products
PRODUCT_LENGTHS = (20, 24)
#: a read "runs past" the hairpin when it extends more than this many nt beyond either end
PAST_SLACK = 2
#: reads on the hairpin for a sample to count as having evidence
SAMPLE_EVIDENCE_READS = 2

#: per candidate and sample (mt-coverage's ``evidence`` array), in this order
EVIDENCE: tuple[str, ...] = (
    "reads",                 # reads on the candidate's strand overlapping the hairpin
    "reads_5p_arm",          # of them, on the 5p arm (midpoint before the terminal loop's centre)
    "reads_3p_arm",          # on the 3p arm
    "loop_reads",            # covering the terminal loop's centre
    "five_prime_precision",  # share of arm reads whose 5' end is their arm's most common 5' end
    "three_prime_precision",  # share of arm reads whose 3' end is within 1 nt of their arm's most common 3' end
    "duplex",                # 1: both arms' dominant reads pair in the fold with 2-nt 3' overhangs (+-1)
    "length_share",          # share of hairpin reads 20-24 nt long
    "splice_anchored",       # share of hairpin reads whose 5' end is the intron's first nt, or 3' end at the acceptor
    "anchored_products",     # share of hairpin reads that are splice-anchored Dicer products: 20-24 nt, on an arm,
                             # both ends at their arm's dominant ends (3' end within 1 nt)
    "past_hairpin",          # hairpin reads running more than 2 nt past either hairpin end
    "intron_reads",          # reads inside the host intron within 200 nt of the hairpin, not on it
    "exon_reads",            # reads on the 50 nt of exon beyond each splice site
    "multi_mapped",          # hairpin reads mapped to several loci
)
EVIDENCE_INDEX = {name: index for index, name in enumerate(EVIDENCE)}
#: the evidence values that are shares of reads (pooled over samples weighted by reads; the rest are counts)
SHARES = ("five_prime_precision", "three_prime_precision", "length_share", "splice_anchored", "anchored_products")

#: the read-aware model's features (:func:`model_features`), from the evidence pooled over samples
FEATURES: tuple[str, ...] = (
    "log_reads", "five_prime_precision", "three_prime_precision", "duplex", "length_share", "splice_anchored",
    "anchored_products", "loop_share",
    "past_share", "degradation", "multi_share", "sample_share", "both_arms",
)

#: the criteria the TSV's ``failed`` column names (miRDeep2 users ask which criterion a candidate failed)
CRITERIA: tuple[tuple[str, str], ...] = (
    ("reads", "no reads on the hairpin"),
    ("splice_anchored", "no read 5' end at the intron's first nt nor 3' end at its acceptor"),
    ("duplex", "no Dicer duplex (both arms, 2-nt 3' overhangs)"),
    ("precise_ends", "ends imprecise (dominant 5' end, or 3' end within 1 nt, < half the arm reads)"),
    ("products", "fewer than half the reads 20-24 nt"),
    ("loop", "reads on the terminal loop or past the hairpin (>= a quarter)"),
    ("degradation", "more reads on the host intron and exons than on the hairpin"),
    ("multi_mapped", "most reads multi-mapped"),
)


@dataclass(frozen=True)
class Geometry:
    """Where a candidate's reads are judged, in hairpin positions of its own orientation.

    ``donor``/``acceptor``: hairpin positions of the host intron's first and last nt (None: not known,
    e.g. a hairpin without annotation, then the hairpin's own ends are used for anchoring and its flanks
    as the intron body)."""

    length: int
    structure: str
    donor: int | None = None
    acceptor: int | None = None

    @property
    def anchors(self) -> tuple[int, int]:
        return (0 if self.donor is None else self.donor,
                self.length - 1 if self.acceptor is None else self.acceptor)


@dataclass
class Reads:
    """Collapsed reads of one candidate (parallel arrays): hairpin positions of the 5' and 3' ends,
    the number of identical alignments, multi-mapped or not, and the sample index."""

    first: np.ndarray
    last: np.ndarray
    count: np.ndarray
    multi: np.ndarray
    sample: np.ndarray

    @classmethod
    def empty(cls) -> "Reads":
        return cls(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, bool),
                   np.zeros(0, np.int16))

    def __len__(self) -> int:
        return len(self.first)

    def select(self, mask: np.ndarray) -> "Reads":
        return Reads(self.first[mask], self.last[mask], self.count[mask], self.multi[mask], self.sample[mask])

    def moved(self, length: int, other_length: int) -> "Reads":
        """The same reads on a candidate of ``other_length`` nt: positions kept relative to the nearer
        hairpin end (a read stack near the 3' end stays near the 3' end), for permutation controls."""
        if length == other_length or not len(self):
            return self
        middle = (self.first + self.last) / 2
        shift = np.where(middle >= length / 2, other_length - length, 0).astype(np.int32)
        return Reads(self.first + shift, self.last + shift, self.count, self.multi, self.sample)


def intron_anchors(start: int, end: int, strand: str, introns: str) -> tuple[int | None, int | None]:
    """Hairpin positions of the host intron's first and last nt for a candidate at ``[start, end)`` on
    ``strand``, from a scan's ``intron`` annotation (``start-end[,start-end...]``, genomic, 0-based,
    end-exclusive): of several host introns, the one whose splice site is nearest a hairpin end."""
    best: tuple[int, int, int] | None = None
    length = end - start
    for span in str(introns).split(","):
        if "-" not in span:
            continue
        left, right = (int(value) for value in span.split("-", 1))
        donor, acceptor = (left - start, right - 1 - start) if strand != "-" else (end - right, end - 1 - left)
        distance = min(abs(donor), abs(acceptor - (length - 1)))
        if best is None or distance < best[0]:
            best = (distance, donor, acceptor)
    return (None, None) if best is None else (best[1], best[2])


def pair_table(structure: str) -> np.ndarray:
    """Partner position of every position of a dot-bracket (-1 where unpaired)."""
    partners = np.full(len(structure), -1, dtype=np.int64)
    stack: list[int] = []
    for position, letter in enumerate(structure):
        if letter == "(":
            stack.append(position)
        elif letter == ")" and stack:
            opening = stack.pop()
            partners[opening], partners[position] = position, opening
    return partners


def _nearest_partner(partners: np.ndarray, position: int) -> int | None:
    """Partner of ``position``, or of the nearest paired position (offset kept), None if none pairs."""
    if not 0 <= position < len(partners):
        return None
    if partners[position] >= 0:
        return int(partners[position])
    for offset in range(1, 4):
        for neighbour in (position - offset, position + offset):
            if 0 <= neighbour < len(partners) and partners[neighbour] >= 0:
                return int(partners[neighbour]) + (neighbour - position)
    return None


def _dominant(first: np.ndarray, last: np.ndarray, count: np.ndarray) -> tuple[int, int] | None:
    if not len(first):
        return None
    spans: dict[tuple[int, int], int] = {}
    for a, b, c in zip(first.tolist(), last.tolist(), count.tolist()):
        spans[(a, b)] = spans.get((a, b), 0) + c
    return max(spans.items(), key=lambda item: (item[1], -item[0][0]))[0]


def is_duplex(partners: np.ndarray, five: tuple[int, int], three: tuple[int, int], tolerance: int = 1) -> bool:
    """Whether a 5p-arm read ``five`` and a 3p-arm read ``three`` (first, last) pair like Dicer's duplex:
    the 5p read's 5' end pairs 2 nt before the 3p read's 3' end, or the 3p read's 5' end pairs 2 nt
    before the 5p read's 3' end (2-nt 3' overhangs), within ``tolerance`` nt."""
    partner = _nearest_partner(partners, five[0])
    if partner is not None and abs(partner - (three[1] - 2)) <= tolerance:
        return True
    partner = _nearest_partner(partners, three[0])
    return partner is not None and abs(partner - (five[1] - 2)) <= tolerance


def evidence(reads: Reads, geometry: Geometry, samples: int) -> np.ndarray:
    """``(samples, len(EVIDENCE))`` float32 read evidence of one candidate, one row per sample."""
    values = np.zeros((samples, len(EVIDENCE)), dtype=np.float32)
    if not len(reads):
        return values
    partners = pair_table(geometry.structure)
    centre = loop_centre(geometry.structure)
    for sample in np.unique(reads.sample):
        values[int(sample)] = _sample_evidence(reads.select(reads.sample == sample), geometry, partners, centre)
    return values


def _sample_evidence(reads: Reads, geometry: Geometry, partners: np.ndarray, centre: float) -> np.ndarray:
    row = np.zeros(len(EVIDENCE), dtype=np.float32)
    length = geometry.length
    first, last, count = reads.first, reads.last, reads.count.astype(np.float64)
    on = (last >= 0) & (first <= length - 1)
    donor, acceptor = geometry.anchors
    low, high = min(donor, 0), max(acceptor, length - 1)
    # the host transcript around the hairpin: intron body within reach, and exon beyond each splice site
    body = (~on & (first >= donor) & (last <= acceptor) & (last >= -INTRON_REACH)
            & (first <= length - 1 + INTRON_REACH))
    exon = (((last >= donor - EXON_SPAN) & (first <= donor - 1)) | ((first <= acceptor + EXON_SPAN)
                                                                      & (last >= acceptor + 1)))
    if geometry.donor is None:  # no intron known: the flanks stand for the intron body, no exons
        body = ~on & (last >= low - INTRON_REACH) & (first <= high + INTRON_REACH)
        exon = np.zeros(len(first), dtype=bool)
    row[EVIDENCE_INDEX["intron_reads"]] = count[body].sum()
    row[EVIDENCE_INDEX["exon_reads"]] = count[exon & ~on].sum()
    total = count[on].sum()
    row[EVIDENCE_INDEX["reads"]] = total
    if not total:
        return row
    f, t, c, multi = first[on], last[on], count[on], reads.multi[on]
    middle = (f + t) / 2
    loop = (f < centre) & (t > centre) & (f > 0) & (t < length - 1)
    five_arm = (middle < centre) & ~loop
    three_arm = (middle >= centre) & ~loop
    row[EVIDENCE_INDEX["reads_5p_arm"]] = c[five_arm].sum()
    row[EVIDENCE_INDEX["reads_3p_arm"]] = c[three_arm].sum()
    row[EVIDENCE_INDEX["loop_reads"]] = c[loop].sum()
    precise = precise_three = 0.0
    at_dominant = np.zeros(len(f), dtype=bool)
    for arm in (five_arm, three_arm):
        if arm.any():
            ends, which = np.unique(f[arm], return_inverse=True)
            counts = np.bincount(which, weights=c[arm])
            precise += counts.max()
            threes, which3 = np.unique(t[arm], return_inverse=True)
            dominant3 = threes[np.bincount(which3, weights=c[arm]).argmax()]
            near = np.abs(t[arm] - dominant3) <= 1
            precise_three += c[arm][near].sum()
            at_dominant[np.flatnonzero(arm)] = (f[arm] == ends[counts.argmax()]) & near
    arm_total = c[five_arm | three_arm].sum()
    row[EVIDENCE_INDEX["five_prime_precision"]] = precise / arm_total if arm_total else 0.0
    row[EVIDENCE_INDEX["three_prime_precision"]] = precise_three / arm_total if arm_total else 0.0
    five, three = _dominant(f[five_arm], t[five_arm], c[five_arm]), _dominant(f[three_arm], t[three_arm], c[three_arm])
    row[EVIDENCE_INDEX["duplex"]] = float(five is not None and three is not None and is_duplex(partners, five, three))
    lengths = t - f + 1
    row[EVIDENCE_INDEX["length_share"]] = c[(lengths >= PRODUCT_LENGTHS[0]) & (lengths <= PRODUCT_LENGTHS[1])].sum() / total
    anchored = (np.abs(f - donor) <= DONOR_TOLERANCE) | ((t <= acceptor) & (t >= acceptor - ACCEPTOR_SLACK))
    row[EVIDENCE_INDEX["splice_anchored"]] = c[anchored].sum() / total
    products = anchored & at_dominant & (lengths >= PRODUCT_LENGTHS[0]) & (lengths <= PRODUCT_LENGTHS[1])
    row[EVIDENCE_INDEX["anchored_products"]] = c[products].sum() / total
    row[EVIDENCE_INDEX["past_hairpin"]] = c[(f < -PAST_SLACK) | (t > length - 1 + PAST_SLACK)].sum()
    row[EVIDENCE_INDEX["multi_mapped"]] = c[multi].sum()
    return row


def pooled(values: np.ndarray) -> np.ndarray:
    """Evidence ``(..., samples, len(EVIDENCE))`` pooled over samples: counts summed, shares weighted by
    each sample's hairpin reads, the duplex as any sample's."""
    values = np.asarray(values, dtype=np.float64)
    reads = values[..., EVIDENCE_INDEX["reads"]]
    total = reads.sum(axis=-1)
    result = values.sum(axis=-2)
    weights = reads / np.maximum(total, 1.0)[..., None]
    for name in SHARES:
        result[..., EVIDENCE_INDEX[name]] = (values[..., EVIDENCE_INDEX[name]] * weights).sum(axis=-1)
    result[..., EVIDENCE_INDEX["duplex"]] = values[..., EVIDENCE_INDEX["duplex"]].max(axis=-1)
    return result


def samples_with_evidence(values: np.ndarray) -> np.ndarray:
    """Per candidate, the samples with at least :data:`SAMPLE_EVIDENCE_READS` reads on the hairpin."""
    return (np.asarray(values)[..., EVIDENCE_INDEX["reads"]] >= SAMPLE_EVIDENCE_READS).sum(axis=-1)


def model_features(values: np.ndarray) -> np.ndarray:
    """``(n, len(FEATURES))`` float64 features of the read-aware model from per-sample evidence
    ``(n, samples, len(EVIDENCE))``: bounded, monotone transforms of the pooled evidence."""
    values = np.asarray(values, dtype=np.float64)
    pool = pooled(values)
    reads = pool[:, EVIDENCE_INDEX["reads"]]
    safe = np.maximum(reads, 1.0)
    features = np.zeros((len(pool), len(FEATURES)))
    columns = {
        "log_reads": np.log1p(reads),
        **{name: pool[:, EVIDENCE_INDEX[name]] for name in ("five_prime_precision", "three_prime_precision", "duplex",
                                                            "length_share", "splice_anchored", "anchored_products")},
        "loop_share": pool[:, EVIDENCE_INDEX["loop_reads"]] / safe,
        "past_share": pool[:, EVIDENCE_INDEX["past_hairpin"]] / safe,
        "degradation": np.log1p(pool[:, EVIDENCE_INDEX["intron_reads"]] + pool[:, EVIDENCE_INDEX["exon_reads"]])
        - np.log1p(reads),
        "multi_share": pool[:, EVIDENCE_INDEX["multi_mapped"]] / safe,
        "sample_share": samples_with_evidence(values) / max(values.shape[1] if values.ndim == 3 else 1, 1),
        "both_arms": ((pool[:, EVIDENCE_INDEX["reads_5p_arm"]] > 0) & (pool[:, EVIDENCE_INDEX["reads_3p_arm"]] > 0)),
    }
    for index, name in enumerate(FEATURES):
        features[:, index] = columns[name]
    features[reads == 0] = 0.0
    return features


def failed_criteria(values: np.ndarray) -> list[str]:
    """Per candidate, the :data:`CRITERIA` names it fails (comma-joined; '' when it passes all)."""
    pool = pooled(np.asarray(values, dtype=np.float64))
    result = []
    for row in pool:
        reads = row[EVIDENCE_INDEX["reads"]]
        if reads == 0:
            result.append("reads")
            continue
        arms = row[EVIDENCE_INDEX["reads_5p_arm"]] + row[EVIDENCE_INDEX["reads_3p_arm"]]
        failed = [name for name, fails in (
            ("splice_anchored", row[EVIDENCE_INDEX["splice_anchored"]] == 0),
            ("duplex", row[EVIDENCE_INDEX["duplex"]] == 0),
            ("precise_ends", arms == 0 or min(row[EVIDENCE_INDEX["five_prime_precision"]],
                                              row[EVIDENCE_INDEX["three_prime_precision"]]) < 0.5),
            ("products", row[EVIDENCE_INDEX["length_share"]] < 0.5),
            ("loop", (row[EVIDENCE_INDEX["loop_reads"]] + row[EVIDENCE_INDEX["past_hairpin"]]) >= 0.25 * reads),
            ("degradation", row[EVIDENCE_INDEX["intron_reads"]] + row[EVIDENCE_INDEX["exon_reads"]] > reads),
            ("multi_mapped", row[EVIDENCE_INDEX["multi_mapped"]] > 0.5 * reads),
        ) if fails]
        result.append(",".join(failed))
    return result


@dataclass(frozen=True)
class ReadModel:
    """The read-aware model's read part: a log-likelihood ratio ``weights . features + bias`` added to the
    sequence model's prior log-odds for candidates with read evidence in at least ``min_samples`` samples
    (others keep their prior). Stored in the model manifest under ``reads``."""

    weights: tuple[float, ...]
    bias: float
    min_samples: int = 1

    def to_manifest(self) -> dict:
        return {"features": list(FEATURES), "weights": [float(w) for w in self.weights], "bias": float(self.bias),
                "min_samples": int(self.min_samples), "evidence": list(EVIDENCE)}

    @classmethod
    def from_manifest(cls, record: dict, min_samples: int | None = None) -> "ReadModel":
        if list(record.get("features", [])) != list(FEATURES):
            raise ValueError(f"read features {record.get('features')} differ from this version's {list(FEATURES)}")
        return cls(tuple(float(w) for w in record["weights"]), float(record["bias"]),
                   int(min_samples if min_samples is not None else record.get("min_samples", 1)))

    def log_ratio(self, values: np.ndarray) -> np.ndarray:
        """``(n,)`` log-likelihood ratio of each candidate's reads (0 without evidence)."""
        values = np.asarray(values, dtype=np.float64)
        if not len(values):
            return np.zeros(0)
        ratio = model_features(values) @ np.asarray(self.weights) + self.bias
        reads = pooled(values)[:, EVIDENCE_INDEX["reads"]]
        samples = (values[..., EVIDENCE_INDEX["reads"]] > 0).sum(axis=-1)
        return np.where((reads > 0) & (samples >= self.min_samples), ratio, 0.0)

    def combine(self, prior: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Posterior probabilities: the sequence model's (calibrated) ``prior`` moved by the reads' ratio."""
        return combine(prior, self.log_ratio(values))


def combine(prior: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """``sigmoid(logit(prior) + log_ratio)``, float64; prior clipped to [1e-9, 1 - 1e-9]."""
    p = np.clip(np.asarray(prior, dtype=np.float64), 1e-9, 1 - 1e-9)
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + np.asarray(log_ratio, dtype=np.float64))))


def fit_read_model(values: np.ndarray, labels: np.ndarray, l2: float = 1.0, min_samples: int = 1) -> ReadModel:
    """Logistic regression of ``labels`` (1 = mirtron) on :func:`model_features` of candidates with reads,
    classes weighted equally, so that ``weights . features + bias`` estimates a log-likelihood ratio (the
    prior comes from the sequence model). Newton's method with an L2 penalty ``l2`` on the weights."""
    x = model_features(values)
    y = np.asarray(labels, dtype=np.float64)
    keep = x[:, 0] > 0
    x, y = x[keep], y[keep]
    if not len(y) or y.min() == y.max():
        raise ValueError("fitting the read model needs candidates with reads of both classes")
    weights = np.where(y == 1, 0.5 / y.sum(), 0.5 / (1 - y).sum()) * len(y)
    design = np.c_[x, np.ones(len(x))]
    penalty = np.r_[np.full(x.shape[1], l2), 0.0]
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (weights * (p - y)) + penalty * beta
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return ReadModel(tuple(float(w) for w in beta[:-1]), float(beta[-1]), min_samples)


def permuted_scores(model: ReadModel, prior: np.ndarray, reads: Sequence[Reads], geometries: Sequence[Geometry],
                    samples: int, permutations: int = 20, seed: int = 1) -> np.ndarray:
    """``(permutations, n)`` scores of the candidates when read signatures are moved at random onto other
    candidates' structures and introns (miRDeep2's permutation controls): each candidate keeps its own
    sequence prior and gets another candidate's reads (placed relative to the nearer hairpin end), so a
    signature scores high only by chance agreement with the structure it lands on."""
    n = len(prior)
    result = np.empty((permutations, n))
    has_reads = np.array([len(item) > 0 for item in reads], dtype=bool)
    rng = np.random.default_rng(seed)
    for k in range(permutations):
        source = rng.permutation(n)
        values = np.zeros((n, samples, len(EVIDENCE)), dtype=np.float32)
        for target in np.flatnonzero(has_reads[source]).tolist():
            origin = int(source[target])
            moved = reads[origin].moved(geometries[origin].length, geometries[target].length)
            values[target] = evidence(moved, geometries[target], samples)
        result[k] = model.combine(prior, values)
    return result


def permutation_false_calls(permuted: np.ndarray, cutoffs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over permutations of the candidates scoring at least each cut-off."""
    counts = np.array([[int(np.sum(row >= cutoff)) for cutoff in cutoffs] for row in permuted], dtype=np.float64)
    if not len(counts):
        return np.zeros(len(cutoffs)), np.zeros(len(cutoffs))
    return counts.mean(axis=0), counts.std(axis=0)


def geometries(encoded) -> list[Geometry]:
    """The :class:`Geometry` of every record of an EncodedSet: host-intron anchors from a genome scan's
    ``intron`` annotation where there is one (with coordinates), else the hairpin's own ends."""
    annotations = encoded.annotations
    scan = all(key in annotations for key in ("intron", "start", "end", "strand"))
    result = []
    for row, structure in enumerate(encoded.structures):
        donor = acceptor = None
        if scan:
            donor, acceptor = intron_anchors(int(annotations["start"][row]), int(annotations["end"][row]),
                                             str(annotations["strand"][row]), str(annotations["intron"][row]))
        result.append(Geometry(len(structure), structure, donor, acceptor))
    return result


def reads_arrays(reads: Sequence[Reads], flank: int) -> dict[str, np.ndarray]:
    """The reads of every candidate as the flat arrays of the reads NPZ (5'/3' ends as window indices:
    window index ``flank + i`` is hairpin position ``i``)."""
    offsets = np.zeros(len(reads) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(item) for item in reads])

    def joined(name: str, dtype) -> np.ndarray:
        parts = [getattr(item, name) for item in reads if len(item)]
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return {"read_offsets": offsets, "read_sample": joined("sample", np.int16),
            "read_first": joined("first", np.int32) + np.int32(flank),
            "read_last": joined("last", np.int32) + np.int32(flank),
            "read_count": joined("count", np.int32), "read_multi": joined("multi", bool)}


def reads_from_arrays(arrays, flank: int, rows: Sequence[int] | None = None) -> list[Reads]:
    """Inverse of :func:`reads_arrays` (hairpin positions again), for every row or ``rows``."""
    offsets = np.asarray(arrays["read_offsets"], dtype=np.int64)
    first = np.asarray(arrays["read_first"]) - flank
    last = np.asarray(arrays["read_last"]) - flank
    count, multi, sample = (np.asarray(arrays[key]) for key in ("read_count", "read_multi", "read_sample"))
    result = []
    for row in (range(len(offsets) - 1) if rows is None else rows):
        a, b = int(offsets[row]), int(offsets[row + 1])
        result.append(Reads(first[a:b].astype(np.int32), last[a:b].astype(np.int32), count[a:b].astype(np.int32),
                            multi[a:b].astype(bool), sample[a:b].astype(np.int16)))
    return result
