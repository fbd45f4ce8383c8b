"""Labelled human hairpin sets read from ../shared/data (never copied into the project).

Every rule applied to the raw files is here, in one place, so the bundled model, the accuracy
benchmark and the tests use the same data:

* T is written as U and letters are upper-cased (the sets mix alphabets by class: a trap).
* Positives (mirtrons): miRBase_set.csv TRUE rows (216), the Rorbach/Wen putative mirtrons (201),
  and mirtronDB human precursors (585, type p).
* Negatives (canonical): miRBase_set.csv FALSE rows (707) and miRBase v22 human stem-loops
  (hsa-pre-release22.fa), after removing every stem-loop that equals, contains or lies inside a
  known mirtron precursor, or whose name is a mirtron in miRBase_set.csv.
* Exact duplicate sequences are kept once (first source wins); a sequence labelled both ways
  (e.g. hsa-mir-6859-1..4: FALSE in miRBase_set, a mirtron in mirtronDB) is dropped from both.
* Sequences longer than 200 nt are dropped (none are in these sets).
* Human chromosome 19 is held out (``hold_out_chr19``, on by default): every hairpin that shares an exact
  stretch of at least 45 nt with chr19 is dropped (:mod:`mirtron_tools.recipes.chr19_holdout` states the rule).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .sources import FILES, SHARED, read_fasta_pairs, rna  # noqa: F401  (re-exported: the benchmarks read them here)


def mirtrondb_precursors(shared: Path = SHARED, organism: str | None = "h. sapiens") -> list[tuple[str, str, str]]:
    """(mirtron name, organism, RNA sequence) of mirtronDB precursors (type p)."""
    result = []
    for header, sequence in read_fasta_pairs(shared / FILES["mirtrondb"]):
        fields = dict(part.strip().split(":", 1) for part in header.split(";") if ":" in part)
        if fields.get("type", "").strip() != "p":
            continue
        species = fields.get("organism", "").strip()
        if organism is None or species == organism:
            result.append((fields["mirtron"].strip(), species, rna(sequence)))
    return result


@dataclass
class LabelledSet:
    ids: list[str] = field(default_factory=list)
    sequences: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    report: dict[str, int] = field(default_factory=dict)
    #: sequences dropped by the chr19 hold-out
    held_out: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def human_mirtron_set(shared: Path = SHARED, max_length: int = 200, hold_out_chr19: bool = True) -> LabelledSet:
    """All human mirtrons vs canonical miRNAs, cleaned as described in the module docstring."""
    candidates: list[tuple[str, str, int, str]] = []  # id, sequence, label, source
    mirbase_mirtron_names = set()
    for name, sequence, flag in csv.reader(open(shared / FILES["mirbase_set"])):
        label = 1 if flag.strip().upper() == "TRUE" else 0
        if label:
            mirbase_mirtron_names.add(name)
        candidates.append((name, rna(sequence), label, "miRBase_set"))
    for name, sequence, _ in csv.reader(open(shared / FILES["putative"])):
        candidates.append((f"putative:{name}", rna(sequence), 1, "putative_mirtrons_set"))
    for name, _, sequence in mirtrondb_precursors(shared):
        candidates.append((f"mirtronDB:{name}", sequence, 1, "mirtronDB"))
    mirtron_sequences = {sequence for _, sequence, label, _ in candidates if label == 1}
    removed_overlap = 0
    for header, sequence in read_fasta_pairs(shared / FILES["mirbase22"]):
        name = header.split()[0]
        sequence = rna(sequence)
        if name in mirbase_mirtron_names or any(
                sequence in mirtron or mirtron in sequence for mirtron in mirtron_sequences):
            removed_overlap += 1
            continue
        candidates.append((f"miRBase22:{name}", sequence, 0, "miRBase22"))

    labels_by_sequence: dict[str, set[int]] = {}
    for _, sequence, label, _ in candidates:
        labels_by_sequence.setdefault(sequence, set()).add(label)
    result = LabelledSet()
    seen_sequences, seen_ids = set(), set()
    conflicts = duplicates = too_long = 0
    held_out = set()
    if hold_out_chr19:
        from . import chr19_holdout

        distinct = sorted(labels_by_sequence)
        held_out = {sequence for sequence, dropped in zip(distinct, chr19_holdout.held_out_mask(distinct, shared))
                    if dropped}
    for identifier, sequence, label, source in candidates:
        if len(labels_by_sequence[sequence]) > 1:
            conflicts += 1
            continue
        if sequence in held_out:
            if sequence not in result.held_out:
                result.held_out.append(sequence)
            continue
        if sequence in seen_sequences:
            duplicates += 1
            continue
        if len(sequence) > max_length:
            too_long += 1
            continue
        while identifier in seen_ids:
            identifier += "'"
        seen_sequences.add(sequence)
        seen_ids.add(identifier)
        result.ids.append(identifier)
        result.sequences.append(sequence)
        result.labels.append(label)
        result.sources.append(source)
    result.report = {"candidates": len(candidates), "mirbase22_removed_as_mirtron": removed_overlap,
                     "dropped_conflicting_label": conflicts, "dropped_duplicate": duplicates,
                     "dropped_too_long": too_long, "dropped_chr19": len(result.held_out),
                     "positives": sum(result.labels),
                     "negatives": len(result.labels) - sum(result.labels)}
    return result


def label_conflicts(sequences: list[str], labels: list[int], shared: Path = SHARED) -> list[bool]:
    """Whether another source labels each hairpin the other way: a canonical one that equals,
    contains or lies inside a mirtronDB human precursor (e.g. hsa-mir-1238, FALSE in miRBase_set.csv,
    ends GU...AG), or a mirtron that equals, contains or lies inside a miRBase_set.csv canonical
    (FALSE) hairpin. The published splits keep such hairpins; benchmarks report them apart."""
    mirtrons = {sequence for _, _, sequence in mirtrondb_precursors(shared)}
    canonical = {rna(sequence) for _, sequence, flag in csv.reader(open(shared / FILES["mirbase_set"]))
                 if flag.strip().upper() != "TRUE"}
    result = []
    for sequence, label in zip(sequences, labels):
        others = canonical if label == 1 else mirtrons
        result.append(any(sequence in other or other in sequence for other in others))
    return result


def published_split(name: str, shared: Path = SHARED) -> dict[str, LabelledSet]:
    """The Rorbach 2018 ('rorbach') or cnnMirtronPred ('cnn') train/test split, T->U."""
    sets = {"train": LabelledSet(), "test": LabelledSet()}
    path = shared / FILES["rorbach_split" if name == "rorbach" else "cnn_split"]
    for row in csv.DictReader(open(path)):
        part = sets[row["split"]]
        identifier = row["id"]
        while identifier in part.ids:
            identifier += "'"
        part.ids.append(identifier)
        part.sequences.append(rna(row["seq"]))
        part.labels.append(1 if row["label"] == "mirtron" else 0)
        part.sources.append(row["source_set"])
    return sets
