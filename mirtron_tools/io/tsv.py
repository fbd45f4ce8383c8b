"""Tab-separated tables: writing (atomic), and the labels and groups files that training and evaluation read."""
from __future__ import annotations

import os
from typing import Callable, Iterable, Sequence, TypeVar

from ..errors import InputError
from .atomic import AtomicOutputs, atomic_text
from .text import read_lines

V = TypeVar("V")

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


def _read_id_values(path: str | os.PathLike, expected: str, parse: Callable[[int, str, str, bool], V | None],
                    conflict: str, what: str) -> dict[str, V]:
    """``{id: value}`` of ``id<TAB>value`` lines (blank and ``#`` lines skipped). ``parse(line number, id,
    field, first)`` returns the value, None for a header line, or raises; an id given two values fails with
    ``conflict`` (formatted with ``identifier``, ``old`` and ``new``); a file with none fails too."""
    name = str(path)
    values: dict[str, V] = {}
    first = True
    for line_number, line in read_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(name, f"expected '{expected}'", line_number)
        identifier = fields[0].strip()
        value = parse(line_number, identifier, fields[1], first)
        first = False
        if value is None:
            continue
        if identifier in values and values[identifier] != value:
            raise InputError(name, conflict.format(identifier=identifier, old=values[identifier], new=value),
                             line_number)
        values[identifier] = value
    if not values:
        raise InputError(name, f"no {what} found")
    return values


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """Read ``id<TAB>label`` lines (``#`` comments, and a first line of header words, are allowed).

    A first line whose label is not a label word is a header only when one of its fields is a
    header word (:data:`HEADER_WORDS`); otherwise it is a data row with a bad label, an error,
    so that no record is silently dropped."""
    def label(line_number: int, identifier: str, word: str, first: bool) -> int | None:
        value = parse_label(word)
        if value is None:
            if first and (identifier.lower() in HEADER_WORDS or word.strip().lower() in HEADER_WORDS):
                return None  # a header line
            raise InputError(str(path), f"label '{word}' of '{identifier}' is not one of 1/0, true/false, "
                             "positive/negative, mirtron/canonical", line_number)
        return value

    return _read_id_values(path, "id<TAB>label", label, "id '{identifier}' is labelled both ways", "labels")


def read_groups(path: str | os.PathLike) -> dict[str, str]:
    """Read ``id<TAB>group`` lines (``#`` comments and an ``id<TAB>group`` header allowed): the group
    (e.g. host gene) of each record, so that grouped folds keep a group on one side."""
    def group(line_number: int, identifier: str, field: str, first: bool) -> str | None:
        if not field.strip():
            raise InputError(str(path), "expected 'id<TAB>group'", line_number)
        if first and identifier.lower() in HEADER_WORDS and field.strip().lower() in {"group", "gene", "groups"}:
            return None  # a header line
        return field.strip()

    return _read_id_values(path, "id<TAB>group", group, "id '{identifier}' is in two groups ({old}, {new})",
                           "groups")
