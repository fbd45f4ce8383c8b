"""Tab-separated tables: writing (atomic), and the labels and groups files that training and evaluation read."""
from __future__ import annotations

import os
from typing import Iterable, Sequence

from ..errors import InputError
from .atomic import AtomicOutputs, atomic_text
from .text import read_lines

POSITIVE_WORDS = {"1", "true", "yes", "positive", "pos", "mirtron", "premirna", "pre-mirna", "mirna"}
#: Words of a header line ('id<TAB>label', 'name<TAB>class', ...); only such a first line is a header.
HEADER_WORDS = {"id", "ids", "name", "identifier", "hairpin", "sequence", "seq_id", "label", "labels", "class",
                "type", "truth", "category"}
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
    """Read ``id<TAB>label`` lines (``#`` comments, and a first line of header words, are allowed).

    A first line whose label is not a label word is a header only when one of its fields is a
    header word (:data:`HEADER_WORDS`); otherwise it is a data row with a bad label, an error,
    so that no record is silently dropped."""
    name = str(path)
    labels: dict[str, int] = {}
    first = True
    for line_number, line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(name, "expected 'id<TAB>label'", line_number)
        identifier, word = fields[0].strip(), fields[1]
        label = parse_label(word)
        is_first, first = first, False
        if label is None:
            if is_first and (identifier.lower() in HEADER_WORDS or word.strip().lower() in HEADER_WORDS):
                continue  # a header line
            raise InputError(name, f"label '{word}' of '{identifier}' is not one of 1/0, true/false, "
                             "positive/negative, mirtron/canonical", line_number)
        if identifier in labels and labels[identifier] != label:
            raise InputError(name, f"id '{identifier}' is labelled both ways", line_number)
        labels[identifier] = label
    if not labels:
        raise InputError(name, "no labels found")
    return labels


def read_groups(path: str | os.PathLike) -> dict[str, str]:
    """Read ``id<TAB>group`` lines (``#`` comments and an ``id<TAB>group`` header allowed): the group
    (e.g. host gene) of each record, so that grouped folds keep a group on one side."""
    name = str(path)
    groups: dict[str, str] = {}
    for line_number, line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[1].strip():
            raise InputError(name, "expected 'id<TAB>group'", line_number)
        identifier, group = fields[0].strip(), fields[1].strip()
        if not groups and identifier.lower() in HEADER_WORDS and group.lower() in {"group", "gene", "groups"}:
            continue  # a header line
        if identifier in groups and groups[identifier] != group:
            raise InputError(name, f"id '{identifier}' is in two groups ({groups[identifier]}, {group})", line_number)
        groups[identifier] = group
    if not groups:
        raise InputError(name, "no groups found")
    return groups
