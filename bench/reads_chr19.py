#!/usr/bin/env python3
"""Read-aware mirtron discovery on the held-out human chr19, with simulated small-RNA-seq reads.

The chain of the README (mt-encode --decoys; mt-coverage; mt-predict --coverage) on chr19, with reads from
recipes/read_simulation.py (every parameter stated there) at three nominal depths (2, 8 and 32 M reads per
sample) and one, three and six samples. Truth: chr19's known mirtron loci
(derived_splits/chr19_known_mirtrons.bed). Reported per depth and samples, for the sequence model alone
(``genome``), the reads alone (the read part's log-likelihood ratio on a flat prior) and both
(``genome_reads``, the default with --coverage):

* AP over the candidates, positives = candidates overlapping a known locus with reads in those samples
  ("expressed"), candidates of known loci without reads left out; expressed loci whose best candidate is in
  the top 1 % of candidates; share of candidates called at the model's threshold;
* canonical miRBase loci with reads (hard negatives) that some called candidate overlaps;
* the default call's estimated false discovery rate (model; read signatures permuted) against the true one
  (called candidates overlapping no known mirtron locus);
* unexpressed known loci: their mean rank with and without reads.

Usage: python bench/reads_chr19.py [--work bench/out/reads_chr19] [--scan bench/out/chr19.npz]
(the scan: mt-encode --genome ... --annotation ... --decoys --threads 2 -o bench/out/chr19.npz, as in the
README). Prints a Markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the recipes (training data and the read simulation)

from recipes import human_data, read_training_data  # noqa: E402
from recipes import read_simulation as sim  # noqa: E402

DEPTHS = (2e6, 8e6, 32e6)
SAMPLES = 6
SUBSETS = (1, 3, 6)
#: chr19's share of the transcriptome's degradation/intronic reads (7 % of protein-coding genes, gene-dense)
SHARE = 0.06
DATA = human_data.SHARED / "intronIC" / "test_data"
GFF3 = DATA / "Homo_sapiens.Chr19.Ensembl_91.gff3.gz"
KNOWN = human_data.SHARED / "derived_splits" / "chr19_known_mirtrons.bed"


def chr19_loci(sequence: str, transcripts, rng) -> tuple[list[sim.Hairpin], list[tuple[str, int, int, str]]]:
    """Known mirtron loci (with products), canonical miRBase hairpins and sno/snRNA features of chr19."""
    hairpins = []
    known = [line.split("\t") for line in KNOWN.read_text().splitlines() if line.strip()]
    merged: list[list] = []
    for contig, start, end, name, _, strand in sorted(known, key=lambda f: (f[5], int(f[1]))):
        if merged and merged[-1][5] == strand and int(start) < merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], int(end))
            continue
        merged.append([contig, int(start), int(end), name, 0, strand])
    for contig, start, end, name, _, strand in merged:
        text = sequence[start:end]
        text = text if strand == "+" else sim.reverse_complement(text)
        hairpin = sim.Hairpin(f"mirtron:{start}", contig, start, end, strand, "mirtron", [], sim.fold(text))
        donor, acceptor = sim.intron_anchors_of(hairpin, transcripts)
        hairpin.products = sim.mirtron_products(hairpin.structure, donor, acceptor, rng)
        hairpins.append(hairpin)
    mirtron_spans = [(h.start, h.end, h.strand) for h in hairpins]
    offsets = read_training_data.mature_offsets()
    for name, contig, text, start, end, strand in read_training_data.mirbase_records():
        if contig != "chr19" or any(start < b and a < end and s == strand for a, b, s in mirtron_spans):
            continue
        products = [p for p in offsets.get(name, []) if 0 <= p[0] <= p[1] < end - start]
        if products:
            hairpins.append(sim.Hairpin(f"canonical:{name}", "19", start, end, strand, "canonical", products,
                                        sim.fold(text)))
    small = []
    import gzip

    with gzip.open(GFF3, "rt") as stream:
        for line in stream:
            fields = line.split("\t")
            if len(fields) > 8 and fields[2] in ("snoRNA", "snRNA", "scaRNA"):
                small.append((fields[0], int(fields[3]) - 1, int(fields[4]), fields[6]))
    return hairpins, small


def sequence_scores(scan: Path, work: Path) -> np.ndarray:
    """The ``genome`` model's probability of every row of the scan (cached)."""
    cached = work / "genome_scores.npy"
    if cached.exists():
        return np.load(cached)
    from mirtron_tools.io.encoded import iter_encoded
    from mirtron_tools.io.model import load_model, resolve_model
    from mirtron_tools.scoring import ModelInputs, score_chunks

    model, manifest = load_model(resolve_model("genome"))
    scores = np.concatenate([chunk.probabilities for chunk in
                             score_chunks(model, ModelInputs(manifest, str(scan)), iter_encoded(scan, 4096), 1024)])
    np.save(cached, scores)
    return scores


def overlapping(encoded, hairpins, kind: str, real: np.ndarray) -> dict[str, np.ndarray]:
    """Per hairpin of ``kind``, the real (not decoy) candidate rows overlapping it on its strand."""
    annotations = encoded.annotations
    starts, ends = np.asarray(annotations["start"]), np.asarray(annotations["end"])
    strands = np.asarray(annotations["strand"]).astype(str)
    return {h.name: np.flatnonzero((starts < h.end) & (ends > h.start) & (strands == h.strand) & real)
            for h in hairpins if h.kind == kind}


def evaluate(probability, called, real, mirtron_rows, expressed, canonical_rows, canonical_expressed) -> dict:
    from mirtron_tools.metrics import average_precision

    positives = np.zeros(len(probability), dtype=bool)
    excluded = np.zeros(len(probability), dtype=bool)
    for name, rows in mirtron_rows.items():
        (positives if expressed[name] else excluded)[rows] = True
    keep = real & ~(excluded & ~positives)
    ap = float(average_precision(positives[keep].astype(int), probability[keep]))
    order = np.argsort(-probability[real], kind="stable")
    rank = np.empty(int(real.sum()), dtype=np.int64)
    rank[order] = np.arange(len(order))
    real_rows = np.flatnonzero(real)
    position = {row: rank[index] for index, row in enumerate(real_rows)}
    top = int(np.ceil(0.01 * len(real_rows)))
    best = {name: min(position[row] for row in rows) for name, rows in mirtron_rows.items() if len(rows)}
    expressed_loci = [name for name in best if expressed[name]]
    silent_loci = [name for name in best if not expressed[name]]
    any_known = np.zeros(len(probability), dtype=bool)
    for rows in mirtron_rows.values():
        any_known[rows] = True
    called_real = called & real
    canonical_with_reads = [name for name, rows in canonical_rows.items() if len(rows) and canonical_expressed[name]]
    return {"ap": ap, "expressed_loci": len(expressed_loci),
            "top1": float(np.mean([best[name] < top for name in expressed_loci])) if expressed_loci else float("nan"),
            "called_share": float(called_real.sum() / real.sum()),
            "canonical_with_reads": len(canonical_with_reads),
            "canonical_called": float(np.mean([called[canonical_rows[name]].any() for name in canonical_with_reads]))
            if canonical_with_reads else float("nan"),
            "true_fdr": float((called_real & ~any_known).sum() / max(called_real.sum(), 1)),
            "silent_mean_rank": float(np.mean([best[name] for name in silent_loci])) if silent_loci else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "reads_chr19")
    parser.add_argument("--scan", type=Path, default=HERE / "out" / "chr19.npz")
    parser.add_argument("--depths", type=float, nargs="+", default=DEPTHS)
    args = parser.parse_args()
    from mirtron_tools.coordinates import regions_of
    from mirtron_tools.io.bam import ReadFilter, prepare_alignments
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.io.model import read_manifest, resolve_model
    from mirtron_tools.io.reads import collect_evidence
    from mirtron_tools.reads import EVIDENCE_INDEX, ReadModel, geometries, permutation_false_calls, permuted_scores
    from mirtron_tools.survey import PERMUTATIONS
    from recipes import chr19_holdout

    args.work.mkdir(parents=True, exist_ok=True)
    encoded = read_encoded(args.scan)
    real = ~(np.asarray(encoded.annotations.get("decoy", np.zeros(len(encoded)))) == 1)
    prior = sequence_scores(args.scan, args.work)
    manifest = read_manifest(resolve_model("genome_reads"))
    model = ReadModel.from_manifest(manifest["reads"])
    threshold, sequence_threshold = float(manifest["threshold"]), float(read_manifest(resolve_model("genome"))["threshold"])
    transcripts = sim.transcripts_of(str(GFF3))
    rng = np.random.default_rng(19)
    hairpins, small = chr19_loci(chr19_holdout.chr19_sequence(human_data.SHARED), transcripts, rng)
    mirtron_rows = overlapping(encoded, hairpins, "mirtron", real)
    canonical_rows = overlapping(encoded, hairpins, "canonical", real)
    lengths = {"19": 58617616}
    geometry = geometries(encoded)
    rows = []
    for depth_index, depth in enumerate(args.depths):
        folder = args.work / f"depth{int(depth / 1e6)}M"
        folder.mkdir(exist_ok=True)
        bams = [folder / f"sample{index + 1}.bam" for index in range(SAMPLES)]
        if not all(path.exists() for path in bams):
            samples, _ = sim.simulate(lengths, transcripts, hairpins, small, depth, SAMPLES, SHARE, 100 + depth_index)
            for path, reads in zip(bams, samples):
                sim.write_bam(path, lengths, reads)
        regions = regions_of(encoded, str(args.scan))
        inputs = prepare_alignments([str(path) for path in bams], (region.contig for region in regions), {})
        began = time.perf_counter()
        evidence = collect_evidence(encoded, regions, inputs, ReadFilter(), 20, str(args.scan), threads=2)
        seconds = time.perf_counter() - began
        for count in SUBSETS:
            values = evidence.values[:, :count]
            reads = [item.select(item.sample < count) for item in evidence.reads]
            expressed, canonical_expressed = {}, {}
            for names, target in ((mirtron_rows, expressed), (canonical_rows, canonical_expressed)):
                for name, found in names.items():
                    target[name] = bool(len(found)) and bool(values[found, :, EVIDENCE_INDEX["reads"]].sum() > 0)
            model_k = ReadModel(model.weights, model.bias, model.min_samples)
            ratio = model_k.log_ratio(values)
            both = model_k.combine(prior, values)
            flat = 1 / (1 + np.exp(-(np.log(float(manifest["prior"]) / (1 - float(manifest["prior"]))) + ratio)))
            result = {"depth_M": depth / 1e6, "samples": count, "evidence_seconds_6_samples": round(seconds, 1)}
            for mode, probability, cut in (("sequence", prior, sequence_threshold), ("reads", flat, threshold),
                                           ("both", both, threshold)):
                result[mode] = evaluate(probability, probability >= cut, real, mirtron_rows, expressed,
                                        canonical_rows, canonical_expressed)
            real_rows = np.flatnonzero(real)
            permuted = permuted_scores(model_k, prior[real_rows], [reads[row] for row in real_rows],
                                       [geometry[row] for row in real_rows], count, PERMUTATIONS, 1)
            mean, _ = permutation_false_calls(permuted, [threshold])
            called = both[real_rows] >= threshold
            result["both"]["fdr_permuted"] = float(min(1.0, mean[0] / max(called.sum(), 1)))
            result["both"]["fdr_model"] = float(np.sum(1 - both[real_rows][called]) / max(called.sum(), 1))
            print(json.dumps(result), flush=True)
            rows.append(result)
    (args.work / ("results_" + "_".join(f"{depth / 1e6:g}M" for depth in args.depths) + ".json")).write_text(
        json.dumps(rows, indent=1))
    print("| depth | samples | scoring | expressed loci | AP | expressed loci in top 1 % | called | canonical with "
          "reads called | true FDR | est. FDR (model / permuted) | silent loci mean rank |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in rows:
        for mode in ("sequence", "reads", "both"):
            r = result[mode]
            estimate = f"{r['fdr_model']:.2f} / {r['fdr_permuted']:.2f}" if mode == "both" else ""
            print(f"| {result['depth_M']:g} M | {result['samples']} | {mode} | {r['expressed_loci']} | {r['ap']:.3f} | "
                  f"{100 * r['top1']:.0f} % | {100 * r['called_share']:.2f} % | {100 * r['canonical_called']:.0f} % "
                  f"of {r['canonical_with_reads']} | {r['true_fdr']:.2f} | {estimate} | {r['silent_mean_rank']:.0f} |")


if __name__ == "__main__":
    main()
