"""Tab-separated tables: writing (atomic) and the labels file that training and evaluation read."""
from __future__ import annotations

import os
from typing import Iterable, Sequence

from ..errors import InputError
from .atomic import AtomicOutputs, atomic_text
from .text import read_lines

POSITIVE_WORDS = {"1", "true", "yes", "positive", "pos", "mirtron", "premirna", "pre-mirna", "mirna"}
NEGATIVE_WORDS = {"0", "false", "no", "negative", "neg", "canonical", "other", "pseudo", "pseudo-hairpin"}


def write_table(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[object]],
                comments: Sequence[str] = (), group: AtomicOutputs | None = None) -> None:
    """Write a TSV with ``#`` comment lines first, then the header, then rows.

    With ``group`` the table is one of several outputs renamed together (see ``atomic_outputs``)."""
    with atomic_text(path, group) as stream:
        for comment in comments:
            stream.write(f"# {comment}\n")
        stream.write("\t".join(header) + "\n")
        for row in rows:
            stream.write("\t".join(str(value) for value in row) + "\n")


def parse_label(word: str) -> int | None:
    """1 for a positive word, 0 for a negative one, None when the word is neither."""
    lowered = word.strip().lower()
    if lowered in POSITIVE_WORDS:
        return 1
    if lowered in NEGATIVE_WORDS:
        return 0
    return None


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """Read ``id<TAB>label`` lines (a header line and ``#`` comments are allowed)."""
    name = str(path)
    labels: dict[str, int] = {}
    for line_number, line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(name, "expected 'id<TAB>label'", line_number)
        identifier, word = fields[0].strip(), fields[1]
        label = parse_label(word)
        if label is None:
            if not labels and line_number == 1 or identifier.lower() == "id":
                continue  # a header line
            raise InputError(name, f"label '{word}' of '{identifier}' is not one of 1/0, true/false, "
                             "positive/negative, mirtron/canonical", line_number)
        if identifier in labels and labels[identifier] != label:
            raise InputError(name, f"id '{identifier}' is labelled both ways", line_number)
        labels[identifier] = label
    if not labels:
        raise InputError(name, "no labels found")
    return labels
