"""Sequence + ViennaRNA secondary structure -> arrays (pure functions, no file access).

Per position the model sees 7 channels: one-hot A, C, G, U (all zero for N and other IUPAC
ambiguity codes), then the dot-bracket state: paired with a downstream base ``(``, paired with
an upstream base ``)``, unpaired ``.``. Padding positions are all zero, which the model masks.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from .pool import Pool, process_pool
from .scan.parameters import ANNOTATION_COLUMNS, SUBTYPES

ENCODED_KIND = "mirtron_tools.encoded"
#: Bump when the meaning or layout of the encoded arrays changes; models record it.
ENCODING_FORMAT_VERSION = 1
CHANNELS: tuple[str, ...] = ("A", "C", "G", "U", "paired_open", "paired_close", "unpaired")
NUCLEOTIDE_CHANNELS = 4
#: Optional model channel after the 7 above: the hairpin's minimum free energy per nucleotide,
#: negated (kcal/mol/nt, so about 0.1-0.6 for hairpins), repeated at every position. Models
#: trained with ``mt-train --energy`` list it in their manifest channels; it is computed from the
#: NPZ's ``mfe`` column (or the fold of a FASTA record), so the NPZ format does not change.
ENERGY_CHANNEL = "mfe_per_nt"
#: Longest hairpin the commands accept unless --max-length says otherwise. The network reads any
#: length (masked LSTM, length-bucketed batches); the bound is there because ViennaRNA's folding
#: cost grows with about the cube of the length (about 0.03 s at 200 nt, 0.3 s at 500 nt, 1.3 s at
#: 1,000 nt and 7 s at 2,000 nt per hairpin on one core). 1,000 nt holds plant pre-miRNAs (often
#: 200-500 nt) with room to spare.
DEFAULT_MAX_LENGTH = 1000
#: Optional model channels after the free-energy one, for genome-scan candidates only: where the
#: candidate sits, from the scan NPZ's annotations, each repeated at every position. ``log10`` of the
#: shortest host intron's length (nt); the subtype as three 0/1 channels; the splice distance (nt).
#: Models that read them (the bundled ``genome`` model) list them in their manifest channels.
CONTEXT_CHANNELS = ("log10_intron_length", "conventional", "five_tailed", "three_tailed", "splice_distance")

_NUCLEOTIDE_INDEX = np.full(256, -1, dtype=np.int8)
for _index, _letter in enumerate("ACGU"):
    _NUCLEOTIDE_INDEX[ord(_letter)] = _index
_STRUCTURE_INDEX = np.full(256, -1, dtype=np.int8)
for _index, _letter in enumerate("()."):
    _STRUCTURE_INDEX[ord(_letter)] = _index + NUCLEOTIDE_CHANNELS
_FOLDABLE = str.maketrans({letter: "N" for letter in "RYKMSWBDHV"})


def foldable(sequence: str) -> str:
    """``sequence`` as ViennaRNA is given it: IUPAC ambiguity codes read as N (which pairs with nothing)."""
    return sequence.translate(_FOLDABLE)


def fold(sequence: str) -> tuple[str, float]:
    """Minimum free energy structure (dot-bracket) and its energy in kcal/mol (ViennaRNA)."""
    import RNA

    structure, energy = RNA.fold(foldable(sequence))
    return structure, float(energy)


def fold_many(
    sequences: Sequence[str],
    threads: int = 1,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 32,
    pool: Pool | None = None,
) -> list[tuple[str, float]]:
    """Fold every sequence, in a process pool when ``threads`` > 1; order is kept.

    ``pool`` (from :func:`fold_pool`) is reused instead of starting one for this call: callers that
    fold many small groups (mutagenesis) pay the start-up once."""
    results: list[tuple[str, float]] = []
    if pool is None and (threads <= 1 or len(sequences) < 2 * chunk_size):
        for sequence in sequences:
            results.append(fold(sequence))
            if progress:
                progress(1)
        return results
    with contextlib.nullcontext(pool) if pool is not None else fold_pool(threads) as workers:
        for result in workers.imap(fold, sequences, chunksize=max(1, min(chunk_size, len(sequences) // threads))):
            results.append(result)
            if progress:
                progress(1)
    return results


def fold_pool(threads: int) -> Pool:
    """A pool of ``threads`` fold processes (a context manager), from :func:`mirtron_tools.pool.process_pool`."""
    return process_pool(threads)


def count_ambiguous(sequence: str) -> int:
    """Number of positions that are not A, C, G or U."""
    return sum(1 for letter in sequence if letter not in "ACGU")


def one_hot(sequence: str, structure: str, length: int | None = None) -> np.ndarray:
    """Encode one hairpin as a ``(length, 7)`` uint8 array, zero-padded past its end."""
    size = len(sequence) if length is None else length
    if len(structure) != len(sequence):
        raise ValueError("sequence and structure differ in length")
    if len(sequence) > size:
        raise ValueError(f"sequence of {len(sequence)} nt does not fit in {size} positions")
    array = np.zeros((size, len(CHANNELS)), dtype=np.uint8)
    positions = np.arange(len(sequence))
    nucleotides = _NUCLEOTIDE_INDEX[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
    known = nucleotides >= 0
    array[positions[known], nucleotides[known]] = 1
    states = _STRUCTURE_INDEX[np.frombuffer(structure.encode("ascii"), dtype=np.uint8)]
    array[positions, states] = 1
    return array


def one_hot_batch(sequences: Sequence[str], structures: Sequence[str], length: int | None = None) -> np.ndarray:
    """Encode many hairpins as ``(n, length, 7)`` uint8; ``length`` defaults to the longest."""
    size = max((len(sequence) for sequence in sequences), default=0) if length is None else length
    batch = np.zeros((len(sequences), size, len(CHANNELS)), dtype=np.uint8)
    for row, (sequence, structure) in enumerate(zip(sequences, structures)):
        batch[row, : len(sequence)] = one_hot(sequence, structure)
    return batch


def decode_one_hot(array: np.ndarray) -> tuple[str, str]:
    """Inverse of :func:`one_hot`: ``(sequence, structure)``, unknown bases as N, padding dropped."""
    occupied = np.asarray(array.any(axis=1))  # an array also for mypy (numpy types any() as bool | array)
    length = int(occupied.nonzero()[0].max()) + 1 if occupied.any() else 0
    sequence = []
    structure = []
    for position in range(length):
        nucleotide = array[position, :NUCLEOTIDE_CHANNELS]
        sequence.append("ACGU"[int(nucleotide.argmax())] if nucleotide.any() else "N")
        structure.append("()."[int(array[position, NUCLEOTIDE_CHANNELS:].argmax())])
    return "".join(sequence), "".join(structure)


@dataclass
class EncodedSet:
    """Hairpins with their structures, in input order.

    ``annotations`` holds optional per-record columns (genomic coordinates, host gene, ...),
    each a 1-D array as long as ``ids``; they travel in the NPZ and the TSV sidecar.
    """

    ids: list[str]
    sequences: list[str]
    structures: list[str]
    mfe: np.ndarray
    max_length: int = DEFAULT_MAX_LENGTH
    annotations: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(sequence) for sequence in self.sequences], dtype=np.int32)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "EncodedSet":
        rows = list(np.asarray(rows, dtype=int))
        return EncodedSet(
            ids=[self.ids[row] for row in rows],
            sequences=[self.sequences[row] for row in rows],
            structures=[self.structures[row] for row in rows],
            mfe=self.mfe[rows],
            max_length=self.max_length,
            annotations={key: value[rows] for key, value in self.annotations.items()},
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "ids": np.array(self.ids, dtype=str),
            "sequences": np.array(self.sequences, dtype=str),
            "structures": np.array(self.structures, dtype=str),
            "mfe": np.asarray(self.mfe, dtype=np.float32),
            "lengths": self.lengths,
            "max_length": np.array(self.max_length, dtype=np.int32),
            "channels": np.array(CHANNELS, dtype=str),
            "onehot": one_hot_batch(self.sequences, self.structures),
        }
        for key, value in self.annotations.items():
            arrays[f"annotation_{key}"] = value
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "EncodedSet":
        return cls(
            ids=[str(value) for value in arrays["ids"]],
            sequences=[str(value) for value in arrays["sequences"]],
            structures=[str(value) for value in arrays["structures"]],
            mfe=np.asarray(arrays["mfe"], dtype=np.float32),
            max_length=int(arrays["max_length"]),
            annotations={
                key[len("annotation_"):]: value for key, value in arrays.items() if key.startswith("annotation_")
            },
        )

    def table_rows(self) -> Iterable[list[str]]:
        """Rows of the human-readable sidecar: id, length, mfe, dot-bracket, sequence, annotations."""
        keys = self.annotation_order()
        for row, identifier in enumerate(self.ids):
            yield [
                identifier,
                str(len(self.sequences[row])),
                f"{float(self.mfe[row]):.2f}",
                self.structures[row],
                self.sequences[row],
                *(str(self.annotations[key][row]) for key in keys),
            ]

    def table_header(self) -> list[str]:
        return ["id", "length", "mfe", "structure", "sequence", *self.annotation_order()]

    def annotation_order(self) -> list[str]:
        """The annotation columns in the one documented order of every table (BED order first:
        contig, start, end, strand, then the genome scan's columns, :data:`mirtron_tools.scan.parameters.ANNOTATION_COLUMNS`),
        then any others sorted."""
        return ([key for key in ANNOTATION_COLUMNS if key in self.annotations]
                + sorted(key for key in self.annotations if key not in ANNOTATION_COLUMNS))


def encode_sequences(
    ids: Sequence[str],
    sequences: Sequence[str],
    threads: int = 1,
    max_length: int = DEFAULT_MAX_LENGTH,
    progress: Callable[[int], None] | None = None,
) -> EncodedSet:
    """Fold and wrap sequences (already upper-case RNA) as an :class:`EncodedSet`."""
    folded = fold_many(sequences, threads=threads, progress=progress)
    return EncodedSet(
        ids=list(ids),
        sequences=list(sequences),
        structures=[structure for structure, _ in folded],
        mfe=np.array([energy for _, energy in folded], dtype=np.float32),
        max_length=max_length,
    )


def concatenate(sets: Sequence[EncodedSet]) -> EncodedSet:
    """Join encoded sets (e.g. shards) in order; annotation columns must agree."""
    if not sets:
        raise ValueError("nothing to concatenate")
    keys = set(sets[0].annotations)
    return EncodedSet(
        ids=[identifier for part in sets for identifier in part.ids],
        sequences=[sequence for part in sets for sequence in part.sequences],
        structures=[structure for part in sets for structure in part.structures],
        mfe=np.concatenate([part.mfe for part in sets]),
        max_length=max(part.max_length for part in sets),
        annotations={key: np.concatenate([part.annotations[key] for part in sets]) for key in keys},
    )


def energy_column(mfe: float, length: int) -> np.ndarray:
    """The :data:`ENERGY_CHANNEL` of one hairpin: ``(length, 1)`` float32 filled with ``-mfe / length``."""
    return np.full((length, 1), -float(mfe) / max(length, 1), dtype=np.float32)


def model_channels(energy: bool = False, extra: Sequence[str] = (), context: bool = False) -> list[str]:
    """Names of a model's input channels, in :func:`model_inputs` order."""
    return (list(CHANNELS) + ([ENERGY_CHANNEL] if energy else []) + (list(CONTEXT_CHANNELS) if context else [])
            + list(extra))


def uses_energy(manifest: dict) -> bool:
    """Whether a model (by its manifest) reads the free-energy channel."""
    return ENERGY_CHANNEL in manifest.get("channels", [])


def uses_context(manifest: dict) -> bool:
    """Whether a model (by its manifest) reads the genome-scan context channels."""
    return CONTEXT_CHANNELS[0] in manifest.get("channels", [])


def context_values(encoded: EncodedSet) -> np.ndarray:
    """``(n, len(CONTEXT_CHANNELS))`` float32 context of genome-scan candidates (see :data:`CONTEXT_CHANNELS`).

    Needs the scan's ``intron`` (``start-end[,start-end...]``), ``subtype`` and ``splice_distance``
    annotations; raises KeyError naming the first one missing.
    """
    subtype_channels = {subtype: 1 + index for index, subtype in enumerate(SUBTYPES)}  # after log10_intron_length
    annotations = encoded.annotations
    for key in ("intron", "subtype", "splice_distance"):
        if key not in annotations:
            raise KeyError(key)
    values = np.zeros((len(encoded), len(CONTEXT_CHANNELS)), dtype=np.float32)
    for row in range(len(encoded)):
        spans = [span.split("-") for span in str(annotations["intron"][row]).split(",") if "-" in span]
        shortest = min((int(end) - int(start) for start, end in spans), default=1)
        values[row, 0] = np.log10(max(shortest, 1))
        channel = subtype_channels.get(str(annotations["subtype"][row]))
        if channel is not None:
            values[row, channel] = 1.0
        values[row, 4] = float(annotations["splice_distance"][row])
    return values


def model_inputs(encoded: EncodedSet, extra: Sequence[np.ndarray] | None = None,
                 energy: bool = False, context: bool = False) -> list[np.ndarray]:
    """Per-record ``(length, channels)`` float32 inputs: one-hot channels, then the free-energy
    channel if ``energy``, the genome-scan context channels if ``context``, then ``extra`` ones.

    ``extra`` (for example coverage tracks) holds one ``(length, k)`` array per record, aligned
    base for base with the sequence.
    """
    places = context_values(encoded) if context else None
    arrays = []
    for row, (sequence, structure) in enumerate(zip(encoded.sequences, encoded.structures)):
        array = input_array(sequence, structure, float(encoded.mfe[row]) if energy else None,
                            None if extra is None else extra[row])
        if places is not None:
            array = np.concatenate([array[:, :len(CHANNELS) + int(energy)],
                                    np.repeat(places[row][None, :], len(sequence), axis=0),
                                    array[:, len(CHANNELS) + int(energy):]], axis=1)
        arrays.append(array)
    return arrays


def input_array(sequence: str, structure: str, mfe: float | None = None,
                extra: np.ndarray | None = None) -> np.ndarray:
    """One hairpin's model input: one-hot, the free-energy column when ``mfe`` is given, ``extra``."""
    pieces = [one_hot(sequence, structure).astype(np.float32)]
    if mfe is not None:
        pieces.append(energy_column(mfe, len(sequence)))
    if extra is not None:
        pieces.append(np.asarray(extra, dtype=np.float32))
    return np.concatenate(pieces, axis=1) if len(pieces) > 1 else pieces[0]
