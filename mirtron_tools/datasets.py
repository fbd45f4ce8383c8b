"""What training reads, free of TensorFlow: labelled hairpins assembled from mt-encode NPZ files and label
tables, their coverage channels, and a model to fine-tune, checked and handed to
:func:`mirtron_tools.training.train`."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .config import InitialModel
from .encoding import EncodedSet, concatenate
from .errors import InputError

logger = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """Labelled hairpins: the encoded set, a 0/1 label per row, and what the manifest records of them."""

    encoded: EncodedSet
    labels: np.ndarray
    #: what the data are (file names by role), the manifest's ``training_data.sources``
    sources: dict = field(default_factory=dict)
    #: extra per-base channels (coverage tracks): one ``(length, k)`` array per row, their channel names,
    #: and the manifest record of their source
    extra: list[np.ndarray] | None = None
    extra_channels: list[str] = field(default_factory=list)
    coverage: dict | None = None


def labelled_union(positives: Sequence[tuple[str, EncodedSet]], negatives: Sequence[tuple[str, EncodedSet]]
                   ) -> tuple[EncodedSet, np.ndarray, list[str]]:
    """Join labelled sets; ids must be unique across files.

    Identical sequences labelled both ways are dropped (they would teach noise); their ids are
    returned so the command can warn.
    """
    parts: list[EncodedSet] = []
    labels: list[int] = []
    origin: dict[str, str] = {}  # id -> the file it came from
    for label, named_sets in ((1, positives), (0, negatives)):
        for source, encoded in named_sets:
            for identifier in encoded.ids:
                if identifier in origin:
                    raise InputError(source, f"id '{identifier}' is also in {origin[identifier]}; ids must be unique")
                origin[identifier] = source
            parts.append(encoded)
            labels.extend([label] * len(encoded))
    joined = concatenate(parts)
    label_array = np.array(labels, dtype=int)
    by_sequence: dict[str, set[int]] = {}
    for sequence, label in zip(joined.sequences, label_array):
        by_sequence.setdefault(sequence, set()).add(int(label))
    conflicted = {sequence for sequence, seen in by_sequence.items() if len(seen) > 1}
    keep = [row for row, sequence in enumerate(joined.sequences) if sequence not in conflicted]
    dropped = [joined.ids[row] for row, sequence in enumerate(joined.sequences) if sequence in conflicted]
    return joined.subset(keep), label_array[keep], dropped


def labels_for(encoded: EncodedSet, labels: dict[str, int], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``encoded`` that have a label, and those labels; unknown ids in ``labels`` fail."""
    known = set(encoded.ids)
    unknown = [identifier for identifier in labels if identifier not in known]
    if unknown:
        from .errors import shortened

        raise InputError(source, f"{len(unknown)} labelled id(s) are not in the input: {shortened(unknown)}")
    rows = np.array([row for row, identifier in enumerate(encoded.ids) if identifier in labels], dtype=int)
    return rows, np.array([labels[encoded.ids[row]] for row in rows], dtype=int)



def read_training_data(positive: Sequence[str | os.PathLike] = (), negative: Sequence[str | os.PathLike] = (),
                       encoded: str | os.PathLike | None = None, labels: str | os.PathLike | None = None,
                       source: str = "mt-train") -> TrainingData:
    """The labelled hairpins of ``positive``/``negative`` NPZ files (ids unique across files; a sequence
    labelled both ways is dropped with a warning), or of one ``encoded`` NPZ labelled by a ``labels`` TSV
    (rows without a label are left out with a warning). Each class needs at least 2 hairpins.
    ``source`` names the caller in the message about a wrong combination."""
    from .io.encoded import read_encoded
    from .io.text import shortened
    from .io.tsv import read_labels

    if encoded or labels:
        if not (encoded and labels) or positive or negative:
            raise InputError(source, "give --encoded with --labels, or --positive with --negative")
        hairpins = read_encoded(encoded)
        rows, label_array = labels_for(hairpins, read_labels(labels), str(labels))
        if len(rows) < len(hairpins):
            logger.warning("%s: %d hairpin(s) have no label and are not used", encoded, len(hairpins) - len(rows))
        hairpins = hairpins.subset(rows)
        sources: dict = {"encoded": Path(encoded).name, "labels": Path(labels).name}
    else:
        if not positive or not negative:
            raise InputError(source, "give both --positive and --negative (or --encoded with --labels)")
        hairpins, label_array, dropped = labelled_union([(str(path), read_encoded(path)) for path in positive],
                                                        [(str(path), read_encoded(path)) for path in negative])
        if dropped:
            logger.warning("dropped %d hairpin(s) whose identical sequence is labelled both ways: %s",
                           len(dropped), shortened(dropped))
        sources = {"positive": [Path(path).name for path in positive],
                   "negative": [Path(path).name for path in negative]}
    for value, name, files in ((1, "positive", positive), (0, "negative", negative)):
        found = int((label_array == value).sum())
        if found < 2:
            where = f"{encoded} with {labels}" if encoded else " ".join(str(path) for path in files)
            raise InputError(where, f"need at least 2 {name} hairpins to train, found {found}")
    return TrainingData(hairpins, label_array, sources)


def join_coverage(data: TrainingData, paths: Sequence[str | os.PathLike]) -> None:
    """Add the coverage channels of mt-coverage files (joined by id; every hairpin needs its coverage) to
    ``data``: its extra channels, their names, the manifest's coverage record and source files."""
    from .coverage import MODEL_CHANNELS, coverage_channels, coverage_manifest
    from .io.coverage import read_coverage_files

    coverage = read_coverage_files(paths)
    data.extra = coverage_channels(data.encoded, coverage, " ".join(str(path) for path in paths))
    data.coverage, data.extra_channels = coverage_manifest(coverage), list(MODEL_CHANNELS)
    data.sources["coverage"] = [Path(path).name for path in paths]
    logger.info("coverage joined for all %d hairpins (flank %d nt)", len(data.encoded), coverage.flank)


def read_initial_model(name: str, energy: bool = False, extra_channels: Sequence[str] = ()) -> InitialModel:
    """The model to fine-tune, its manifest checked against the training data's channels (the free-energy
    channel when ``energy`` or when the model reads it, then ``extra_channels``) before TensorFlow loads."""
    from .encoding import model_channels, uses_energy
    from .io.model import read_manifest, resolve_model
    from .manifest import check_initial_model

    path = resolve_model(name)
    manifest = read_manifest(path)
    check_initial_model(name, manifest, model_channels(energy or uses_energy(manifest), list(extra_channels)))
    return InitialModel(name, path, manifest)
