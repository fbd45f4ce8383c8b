"""Build the bundled read-aware models (``genome_reads``, ``human_mirtron_reads``), deterministically.

Data: recipes/read_training_data.py (real human introns outside chr19 genes, the known mirtrons and
canonical miRBase hairpins they host, scanned with the scan's defaults) with reads from
recipes/read_simulation.py at a nominal 8 M reads per sample, three samples (seed 11). Nothing of chr19 is
read: the chr19 benchmark (bench/reads_chr19.py) is the test.

Model: the read part is a logistic regression on the bounded read-signature features
(:data:`mirtron_tools.reads.FEATURES`) of the candidates with reads, classes weighted equally so that its
linear score is a log-likelihood ratio (mirtron vs not); mt-predict adds it to the sequence model's
calibrated log-odds (:class:`mirtron_tools.reads.ReadModel`). A candidate without reads keeps its
sequence prior. L2 penalty 1 (not tuned). The call threshold is a posterior of 0.5 (the Bayes rule at
equal costs for a calibrated posterior), not chosen on any data.

* ``genome_reads``: the ``genome`` model's trees and manifest plus the read part fitted on the scan's
  candidates (label: overlaps a known mirtron hairpin), judged against their host introns.
* ``human_mirtron_reads``: the ``human_mirtron`` network plus a read part fitted on the hairpins themselves
  (known mirtrons vs canonical miRBase hairpins of those introns), judged without an annotation (the
  hairpin's own ends stand for the splice sites), as mt-predict judges FASTA/BED hairpins.

Usage: python -m recipes reads [--work recipes/out/reads] (about 2 min on 2 cores once the training introns
are scanned; the scan of 3,100 introns takes a few minutes the first time)
"""
from __future__ import annotations

import datetime
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from . import read_simulation as sim
from . import read_training_data
from .sources import MODELS, ROOT

logger = logging.getLogger("recipes.reads")
WORK = ROOT / "recipes" / "out" / "reads"
OUTPUT = MODELS / "genome_reads.keras"
BUILT_BY = "python -m recipes reads"
PREVIOUSLY_BUILT_BY = "bench/train_read_models.py"

DEPTH, SAMPLES, SEED = 8e6, 3, 11
THRESHOLD = 0.5


def hairpins_in(records, mirtrons, canonical, rng) -> list[sim.Hairpin]:
    """The known hairpins of the training introns with their products (plus-strand contigs)."""
    from mirtron_tools.reads import pair_table

    offsets = read_training_data.mature_offsets()
    by_sequence = {sequence: name for name, _, sequence, _, _, _ in read_training_data.mirbase_records()}
    lengths = {record.contig: record for record in records}
    result = []
    for kind, hits in (("mirtron", mirtrons), ("canonical", canonical)):
        for contig, found in sorted(hits.items()):
            if contig not in lengths:
                continue
            record = lengths[contig]
            for start, end, sequence in found:
                structure = sim.fold(sequence)
                name = f"{kind}:{contig}:{start}"
                hairpin = sim.Hairpin(name, contig, start, end, "+", kind, [], structure)
                if kind == "mirtron":
                    donor = record.exon_5p - start
                    acceptor = len(record.sequence) - record.exon_3p - 1 - start
                    hairpin.products = sim.mirtron_products(structure, donor, acceptor, rng)
                else:
                    products = offsets.get(by_sequence.get(sequence, ""), [])
                    if not products:
                        partners = pair_table(structure)
                        first = 12
                        partner = sim._partner(partners, first)
                        last3 = (partner if partner is not None else len(structure) - 14) + 2
                        products = [(first, first + 21), (last3 - 21, last3)]
                    hairpin.products = [product for product in products if 0 <= product[0] <= product[1] < len(structure)]
                if hairpin.products:
                    result.append(hairpin)
    return result


def simulated_reads(work: Path, threads: int = 2):
    records, mirtrons, canonical, encoded, gtf = read_training_data.training_genome(work, threads)
    rng = np.random.default_rng(SEED)
    hairpins = hairpins_in(records, mirtrons, canonical, rng)
    transcripts = sim.transcripts_of(str(gtf))
    lengths = {record.contig: len(record.sequence) for record in records}
    small = []
    for record in records[::20]:  # sdRNA-like loci inside one intron in 20
        low, high = record.exon_5p + 10, len(record.sequence) - record.exon_3p - 10
        if high - low > 160:
            start = int(rng.integers(low, high - 140))
            small.append((record.contig, start, start + int(rng.integers(70, 140)), "+"))
    # the same exon and intron read density as chr19 (bench/reads_chr19.py SHARE over its genes): these
    # contigs hold 100 nt of exon each
    share = 0.06 * (100 * len(records)) / 3.5e6
    samples, _ = sim.simulate(lengths, transcripts, hairpins, small, DEPTH, SAMPLES, share, SEED)
    bams = []
    for index, reads in enumerate(samples):
        path = work / f"sample{index + 1}.bam"
        if not path.exists():
            sim.write_bam(path, lengths, reads)
        bams.append(str(path))
    return encoded, hairpins, bams, work / "training.npz"


def scan_evidence(encoded, bams, source, threads: int = 2):
    from mirtron_tools.coordinates import regions_of
    from mirtron_tools.io.bam import ReadFilter, prepare_alignments
    from mirtron_tools.io.reads import collect_evidence

    regions = regions_of(encoded, str(source))
    inputs = prepare_alignments(bams, (region.contig for region in regions), {})
    return collect_evidence(encoded, regions, inputs, ReadFilter(), 20, str(source), threads=threads)


def hairpin_evidence(hairpins, bams, threads: int = 2):
    """Evidence of the known hairpins themselves, judged without an annotation."""
    from mirtron_tools.coordinates import Region
    from mirtron_tools.io.bam import ReadFilter, prepare_alignments
    from mirtron_tools.io.reads import collect_reads
    from mirtron_tools.reads import Geometry

    regions = [Region(h.contig, h.start, h.end, h.strand) for h in hairpins]
    inputs = prepare_alignments(bams, (region.contig for region in regions), {})
    geometry = [Geometry(h.length, h.structure) for h in hairpins]
    _, values = collect_reads(regions, geometry, inputs, ReadFilter(), threads=threads)
    return values


def overlaps_mirtron(encoded, hairpins) -> np.ndarray:
    spans: dict[str, list[tuple[int, int]]] = {}
    for hairpin in hairpins:
        if hairpin.kind == "mirtron":
            spans.setdefault(hairpin.contig, []).append((hairpin.start, hairpin.end))
    annotations = encoded.annotations
    return np.array([any(int(annotations["start"][row]) < end and start < int(annotations["end"][row])
                         for start, end in spans.get(str(annotations["contig"][row]), ()))
                     for row in range(len(encoded))], dtype=int)


def out_of_fold_ap(values, labels, groups, folds: int = 5) -> float:
    """AP over the candidates with reads of a read part fitted without their intron (reported, not tuned)."""
    from mirtron_tools.metrics import average_precision
    from mirtron_tools.reads import fit_read_model, model_features

    names = np.unique(groups)
    fold_of = dict(zip(np.random.default_rng(1).permutation(names), np.arange(len(names)) % folds))
    fold = np.array([fold_of[group] for group in groups])
    scores = np.zeros(len(labels))
    for index in range(folds):
        part = fit_read_model(values[fold != index], labels[fold != index])
        scores[fold == index] = part.log_ratio(values[fold == index])
    keep = model_features(values)[:, 0] > 0
    return float(average_precision(labels[keep], scores[keep]))


def save(base: str, output: Path, model, extra: dict) -> None:
    """A copy of a bundled model with its manifest extended by the read part."""
    from mirtron_tools.io.model import bundled_models, read_manifest, update_manifest

    shutil.copyfile(bundled_models()[base], output)
    manifest = read_manifest(output)
    update_manifest(output, {
        "reads": model.to_manifest(), "threshold": THRESHOLD, "base_model": base,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "description": (manifest.get("description") or base) + "; plus small-RNA-seq read signatures "
                       "(python -m recipes reads)",
        "built_by": BUILT_BY, **extra})


def build(output: Path = OUTPUT, work: Path = WORK, threads: int = 2) -> dict:
    """Simulate, collect, fit and write both read-aware models (``output``: the genome one; the hairpin one
    beside it); returns the genome one's manifest."""
    from mirtron_tools.io.model import read_manifest
    from mirtron_tools.metrics import average_precision
    from mirtron_tools.reads import fit_read_model, model_features

    encoded, hairpins, bams, source = simulated_reads(work, threads)
    evidence = scan_evidence(encoded, bams, source, threads)
    labels = overlaps_mirtron(encoded, hairpins)
    genome_part = fit_read_model(evidence.values, labels)
    contigs = np.asarray(encoded.annotations["contig"]).astype(str)
    with_reads = model_features(evidence.values)[:, 0] > 0
    score = genome_part.log_ratio(evidence.values)
    record = {"candidates": int(len(labels)), "with_reads": int(with_reads.sum()),
              "positives_with_reads": int(labels[with_reads].sum()),
              "in_sample_ap_with_reads": float(average_precision(labels[with_reads], score[with_reads])),
              "out_of_fold_ap_with_reads": out_of_fold_ap(evidence.values, labels, contigs)}
    logger.info("genome_reads: %s; weights %s", json.dumps(record), json.dumps(genome_part.to_manifest()["weights"]))
    training = {"read_training": {"simulation": "recipes/read_simulation.py", "depth": DEPTH, "samples": SAMPLES,
                                  "seed": SEED, "introns": "recipes/read_training_data.py", **record}}
    save("genome", output, genome_part, training)

    values = hairpin_evidence(hairpins, bams, threads)
    hairpin_labels = np.array([hairpin.kind == "mirtron" for hairpin in hairpins], dtype=int)
    hairpin_part = fit_read_model(values, hairpin_labels)
    keep = model_features(values)[:, 0] > 0
    hairpin_record = {"hairpins": len(hairpins), "with_reads": int(keep.sum()),
                      "mirtrons_with_reads": int(hairpin_labels[keep].sum()),
                      "in_sample_ap_with_reads": float(average_precision(hairpin_labels[keep],
                                                                         hairpin_part.log_ratio(values)[keep]))}
    logger.info("human_mirtron_reads: %s", json.dumps(hairpin_record))
    save("human_mirtron", output.parent / "human_mirtron_reads.keras", hairpin_part,
         {"read_training": {**training["read_training"], **hairpin_record}})
    return read_manifest(output)
