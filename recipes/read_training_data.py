"""Training data of the read-aware models: real human introns outside chr19, with simulated reads.

A subset of the genome model's intron genome (recipes/genome_data.py; chr19 genes held out): every intron
that hosts a known human mirtron or a canonical miRBase hairpin, and ``BACKGROUND`` others drawn at random
(seed 1). The library's genome scan (mirtron_tools.genome_scan) scans it with the scan's defaults;
recipes/read_simulation.py gives it reads.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from . import genome_data, human_data

BACKGROUND = 3000


def mature_offsets(shared: Path = human_data.SHARED) -> dict[str, list[tuple[int, int]]]:
    """miRBase v22 hairpin name -> its matures as hairpin positions (first, last), from hsa.gff3."""
    hairpins, matures = {}, []
    for line in open(shared / "mirbase22_hsa_gff3" / "hsa.gff3"):
        if line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 9:
            continue
        attributes = dict(item.split("=", 1) for item in fields[8].split(";") if "=" in item)
        start, end, strand = int(fields[3]) - 1, int(fields[4]), fields[6]
        if fields[2] == "miRNA_primary_transcript":
            hairpins[attributes["ID"]] = (attributes["Name"], fields[0], start, end, strand)
        elif fields[2] == "miRNA":
            matures.append((attributes.get("Derives_from"), start, end))
    result: dict[str, list[tuple[int, int]]] = {}
    for parent, start, end in matures:
        if parent not in hairpins:
            continue
        name, _, low, high, strand = hairpins[parent]
        first, last = (start - low, end - 1 - low) if strand == "+" else (high - end, high - 1 - start)
        result.setdefault(name, []).append((first, last))
    return {name: sorted(products) for name, products in result.items()}


def mirbase_records(shared: Path = human_data.SHARED) -> list[tuple[str, str, str, int, int, str]]:
    """``(name, contig, DNA sequence, start, end, strand)`` of every miRBase v22 human hairpin."""
    sequences = {name.split()[0]: sequence for name, sequence in
                 human_data.read_fasta_pairs(shared / human_data.FILES["mirbase22"])}
    records = []
    for line in open(shared / "mirbase22_hsa_gff3" / "hsa.gff3"):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 9 or fields[2] != "miRNA_primary_transcript":
            continue
        name = dict(item.split("=", 1) for item in fields[8].split(";") if "=" in item)["Name"]
        if name in sequences:
            records.append((name, fields[0], sequences[name].upper().replace("U", "T"), int(fields[3]) - 1,
                            int(fields[4]), fields[6]))
    return records


def training_genome(work: Path, threads: int = 2):
    """The intron subset, its genome files, its scan NPZ and the known hairpins in it (cached in ``work``)."""
    from mirtron_tools.io.encoded import read_encoded

    work.mkdir(parents=True, exist_ok=True)
    cached = work / "records.pkl"
    if cached.exists():
        records, mirtrons, canonical = pickle.loads(cached.read_bytes())
    else:
        everything, _ = genome_data.background_introns()
        contigs = {record.contig: record.sequence for record in everything}
        mirtrons = genome_data.find_exact(genome_data.known_mirtron_sequences(), contigs)
        canonical = genome_data.find_exact(genome_data.canonical_mirbase_sequences(), contigs)
        hosts = set(mirtrons) | set(canonical)
        rng = np.random.default_rng(1)
        others = [record.contig for record in everything if record.contig not in hosts]
        chosen = hosts | set(rng.choice(others, size=BACKGROUND, replace=False).tolist())
        records = [record for record in everything if record.contig in chosen]
        cached.write_bytes(pickle.dumps((records, mirtrons, canonical)))
    npz = work / "training.npz"
    if not npz.exists():
        from mirtron_tools.genome_scan import scan_genome, write_scan
        from mirtron_tools.scan.parameters import ScanParameters

        fasta, gtf = genome_data.write_genome(records, work)
        write_scan(npz, scan_genome(fasta, gtf, ScanParameters(), threads=threads))
    return records, mirtrons, canonical, read_encoded(npz), work / "introns.gtf"
