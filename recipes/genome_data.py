"""Training data of the genome-scan model: real human introns, cut by the scan's own rule.

Every rule applied to the raw files is here, so the bundled ``genome`` model, its benchmark and the
tests use the same data.

* **Introns** (background): ``intronIC/u2_reference_human.introns.iic.gz``, the 20,155 rows with an
  ENSG id (5 columns: id, score, 50 nt 5' exon, intron, 50 nt 3' exon). The 10,000 7-column rows are
  intronIC's synthetic "hard negatives", not annotated introns: skipped. Introns of genes with a chr19
  gene model are held out (recipes/chr19_holdout.py).
* **A small genome** of those introns: one contig per intron, ``5' exon + intron + 3' exon``, plus-strand
  in transcript orientation, with a GTF of one two-exon transcript per contig. An intron longer than
  ``2 * KEEP + GAP`` nt keeps its first and last ``KEEP`` (300) nt joined by ``GAP`` (20) N: the scan
  folds only ``--window`` (100) nt at each end and whole introns of at most 150 nt, so its candidates
  are those of the full intron.
* **Candidates**: ``mt-encode --genome --annotation`` on that genome, the scan's defaults.
* **Labels**: a candidate is **positive** when it overlaps (by at least 1 nt) a known human mirtron
  hairpin found exactly in its intron (``miRBase_set.csv`` TRUE, the Wen/Rorbach putative set,
  mirtronDB human precursors: the same sources as the chr19 truth); it is **removed** (label -1) when
  it overlaps a miRBase v22 human hairpin that is not a known mirtron (a canonical miRNA); every other
  candidate is **background** (0).
* **Extra positives** (``extra_positives``): the known human mirtron hairpins of the hairpin model's
  training set (chr19 held out) that no background intron hosts, folded alone, as miRBase writes them.
  They add variety that the ~90 intron-cut positives lack; whether they help is decided out of fold on
  the intron-cut candidates (recipes/genome.py).
"""
from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import chr19_holdout, human_data

IIC = "intronIC/u2_reference_human.introns.iic.gz"
KEEP = 300
GAP = 20
SEED_LENGTH = 20


@dataclass(frozen=True)
class IntronRecord:
    contig: str
    name: str
    gene: str
    transcript: str
    sequence: str  # 5' exon + (kept) intron + 3' exon, upper-case DNA
    exon_5p: int
    exon_3p: int
    intron_length: int  # before the middle of a long intron was cut out


def background_introns(shared: Path = human_data.SHARED) -> tuple[list[IntronRecord], int]:
    """The intronIC introns outside chr19 genes, as contigs; and how many chr19-gene introns were held out."""
    held_genes = chr19_holdout.chr19_genes(shared)
    records: list[IntronRecord] = []
    held = 0
    with gzip.open(shared / IIC, "rt") as stream:
        for line in stream:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 5 or "ENSG" not in fields[0]:
                continue
            name = fields[0]
            gene = name.split("-", 1)[1].split("@")[0]
            transcript = name.split("@")[1].split("-")[0]
            if gene in held_genes:
                held += 1
                continue
            five, intron, three = (part.upper() for part in fields[2:5])
            length = len(intron)
            if len(intron) > 2 * KEEP + GAP:
                intron = intron[:KEEP] + "N" * GAP + intron[-KEEP:]
            records.append(IntronRecord(f"i{len(records) + 1}", name, gene, transcript, five + intron + three,
                                        len(five), len(three), length))
    return records, held


def write_genome(records: list[IntronRecord], folder: Path) -> tuple[Path, Path]:
    """FASTA (one contig per intron) and GTF (one two-exon transcript per contig) in ``folder``."""
    fasta, gtf = folder / "introns.fa", folder / "introns.gtf"
    with open(fasta, "w") as stream:
        for record in records:
            stream.write(f">{record.contig}\n")
            for start in range(0, len(record.sequence), 80):
                stream.write(record.sequence[start:start + 80] + "\n")
    with open(gtf, "w") as stream:
        for record in records:
            attributes = f'gene_id "{record.gene}"; transcript_id "{record.transcript}:{record.contig}";'
            end = len(record.sequence)
            for start, stop in ((1, record.exon_5p), (end - record.exon_3p + 1, end)):
                stream.write(f"{record.contig}\tintronIC\texon\t{start}\t{stop}\t.\t+\t.\t{attributes}\n")
    return fasta, gtf


def known_mirtron_sequences(shared: Path = human_data.SHARED) -> set[str]:
    """Distinct known human mirtron hairpins (DNA letters), the sources of the chr19 truth BED."""
    sequences = set()
    for _, sequence, flag in csv.reader(open(shared / human_data.FILES["mirbase_set"])):
        if flag.strip().upper() == "TRUE":
            sequences.add(sequence)
    for _, sequence, _ in csv.reader(open(shared / human_data.FILES["putative"])):
        sequences.add(sequence)
    for _, _, sequence in human_data.mirtrondb_precursors(shared):
        sequences.add(sequence)
    return {sequence.strip().upper().replace("U", "T") for sequence in sequences}


def canonical_mirbase_sequences(shared: Path = human_data.SHARED) -> set[str]:
    """miRBase v22 human hairpins that are not known mirtrons (DNA letters)."""
    mirtrons = known_mirtron_sequences(shared)
    result = set()
    for _, sequence in human_data.read_fasta_pairs(shared / human_data.FILES["mirbase22"]):
        dna = sequence.strip().upper().replace("U", "T")
        if not any(dna in mirtron or mirtron in dna for mirtron in mirtrons if abs(len(mirtron) - len(dna)) < 60):
            result.add(dna)
    return result


def find_exact(sequences: set[str], contigs: dict[str, str]) -> dict[str, list[tuple[int, int, str]]]:
    """Where each of ``sequences`` occurs exactly (plus strand) in each contig: ``{contig: [(start, end,
    sequence)]}``, through a dictionary of their first ``SEED_LENGTH`` nt."""
    seeds: dict[str, list[str]] = {}
    for sequence in sequences:
        seeds.setdefault(sequence[:SEED_LENGTH], []).append(sequence)
    hits: dict[str, list[tuple[int, int, str]]] = {}
    for contig, text in contigs.items():
        for position in range(len(text) - SEED_LENGTH + 1):
            for sequence in seeds.get(text[position:position + SEED_LENGTH], ()):
                if text.startswith(sequence, position):
                    hits.setdefault(contig, []).append((position, position + len(sequence), sequence))
    return hits


def label_candidates(encoded, records: list[IntronRecord], shared: Path = human_data.SHARED) -> tuple[np.ndarray,
                                                                                                       set[str]]:
    """Labels (1 known mirtron, 0 background, -1 canonical miRNA) of scan candidates of :func:`write_genome`'s
    genome, and the known mirtron sequences that some background intron hosts."""
    contigs = {record.contig: record.sequence for record in records}
    mirtrons = find_exact(known_mirtron_sequences(shared), contigs)
    canonical = find_exact(canonical_mirbase_sequences(shared), contigs)
    annotations = encoded.annotations
    labels = np.zeros(len(encoded), dtype=np.int8)
    for row in range(len(encoded)):
        contig, start, end = str(annotations["contig"][row]), int(annotations["start"][row]), int(annotations["end"][row])
        if any(start < hit_end and hit_start < end for hit_start, hit_end, _ in mirtrons.get(contig, ())):
            labels[row] = 1
        elif any(start < hit_end and hit_start < end for hit_start, hit_end, _ in canonical.get(contig, ())):
            labels[row] = -1
    hosted = {sequence for hits in mirtrons.values() for _, _, sequence in hits}
    return labels, hosted


def extra_positives(hosted: set[str], shared: Path = human_data.SHARED) -> tuple[list[str], list[str]]:
    """``(ids, RNA sequences)`` of known human mirtrons of the hairpin training set (chr19 held out)
    that no background intron hosts (exactly, or overlapping one that does)."""
    data = human_data.human_mirtron_set(shared)
    ids, sequences = [], []
    for identifier, sequence, label in zip(data.ids, data.sequences, data.labels):
        dna = sequence.replace("U", "T")
        if label == 1 and not any(dna in other or other in dna for other in hosted):
            ids.append(f"known:{identifier}")
            sequences.append(sequence)
    return ids, sequences
