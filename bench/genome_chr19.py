#!/usr/bin/env python3
"""Genome-wide mirtron discovery on the held-out human chromosome 19, as a user runs it.

1. ``mt-encode --genome chr19.fa.gz --annotation chr19.gff3.gz --decoys`` on the files of
   ``../shared/data/intronIC`` as shipped (plain gzip), ``--threads 2``: wall time, peak RSS, ratio to
   raw folding of the same windows divided by the threads.
2. ``mt-predict c19.npz -o c19.bed --survey ... --known chr19_known_mirtrons.bed`` with the defaults
   (the bundled ``genome`` model): wall time, peak RSS, the survey.
3. Every method scored on the same candidates against the same truth (candidates overlapping the
   known mirtron loci of ``derived_splits/chr19_known_mirtrons.bed``, same strand, by >= 1 nt):
   the bundled ``genome`` model, ``human_mirtron``, ``premirna``, the product of those two, and a
   structure + k-mer tree baseline (the same trees on k-mer and structure features only, trained on
   the same background, no context, no extra positives). AP, AUC, share of candidates called at the
   method's own threshold, known loci called, known loci in the top 1 % and top 100.
4. The 20 top-ranked candidates of the default scoring that overlap no known mirtron and no miRBase
   v22 hairpin, with host gene: candidates for follow-up.

No model is trained or tuned here on chr19: the bundled models hold it out (bench/chr19_holdout.py).
Usage: python bench/genome_chr19.py [--work bench/out/chr19] [--threads 2]; writes <work>/genome_chr19.json
and prints the tables of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

from recipes import chr19_holdout, human_data  # noqa: E402

BIN = Path(sys.executable).parent


def timed(command: list[str]) -> tuple[float, float]:
    """Run a command; ``(wall seconds, peak RSS of the child in MB)``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def truth(encoded, bed: Path) -> tuple[np.ndarray, list[list[int]], int]:
    """Per candidate: overlaps a known locus; the loci each overlaps; the number of loci."""
    from mirtron_tools.io.known import KnownIndex, read_known

    index = KnownIndex(read_known(bed))
    a = encoded.annotations
    loci = [index.overlaps(str(a["contig"][row]), int(a["start"][row]), int(a["end"][row]), str(a["strand"][row]))
            for row in range(len(encoded))]
    return np.array([bool(hit) for hit in loci]), loci, len(index.loci)


def method_record(scores: np.ndarray, threshold: float, positive: np.ndarray, loci: list[list[int]]) -> dict:
    from mirtron_tools.metrics import average_precision, roc_auc

    order = np.argsort(-scores, kind="stable")
    top_1pct = set(order[:int(round(0.01 * len(scores)))].tolist())
    top_100 = set(order[:100].tolist())

    def loci_of(rows) -> int:
        return len({locus for row in rows for locus in loci[row]})

    called = np.flatnonzero(scores >= threshold)
    return {"ap": float(average_precision(positive, scores)), "auc": float(roc_auc(positive, scores)),
            "threshold": float(threshold), "called": int(len(called)), "called_share": float(len(called) / len(scores)),
            "known_loci_called": loci_of(called), "known_loci_top_1pct": loci_of(top_1pct),
            "known_loci_top_100": loci_of(top_100), "reachable_loci": loci_of(range(len(scores)))}


def score(model_name: str, encoded, batch_size: int = 256) -> tuple[np.ndarray, dict]:
    from mirtron_tools.encoding import model_inputs, uses_context, uses_energy
    from mirtron_tools.io.model import load_model, resolve_model
    from mirtron_tools.prediction import predict_arrays

    model, manifest = load_model(resolve_model(model_name))
    arrays = model_inputs(encoded, energy=uses_energy(manifest), context=uses_context(manifest))
    return predict_arrays(model, arrays, batch_size), manifest


def baseline_scores(encoded, work: Path) -> tuple[np.ndarray, float]:
    """Structure + k-mer trees trained on the same background (no context, no extra positives):
    calibrated and thresholded by the same out-of-fold rules as the genome model."""
    from mirtron_tools.boosting import BoostingConfig, fit_trees, tree_logits
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.features import regression_feature_matrix
    from mirtron_tools.genome_training import balanced_weights, group_folds, out_of_fold, platt, recall_threshold
    from recipes import genome as build

    background, labels, groups, _, _, _ = build.scan_background(build.WORK, 2)
    keep = labels >= 0
    x = regression_feature_matrix(model_inputs(background, energy=True), structure=True)[keep]
    y, group = labels[keep].astype(int), groups[keep]
    logits = out_of_fold(x, y, group_folds(group, y, build.FOLDS), np.zeros((0, x.shape[1])), 0.0, BoostingConfig())
    a, b = platt(logits, y)
    threshold = recall_threshold(1 / (1 + np.exp(-(a * logits + b))), y, build.TARGET_RECALL)
    trees = fit_trees(x, y, BoostingConfig(), sample_weights=balanced_weights(y, np.zeros(len(y), bool), 0.0))
    test = regression_feature_matrix(model_inputs(encoded, energy=True), structure=True)
    return 1 / (1 + np.exp(-(a * tree_logits(trees, test) + b))), threshold


def mirbase_chr19(shared: Path) -> list[tuple[int, int, str, str]]:
    rows = []
    for line in open(shared / "mirbase22_hsa_gff3" / "hsa.gff3"):
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 9 and fields[0] == "chr19" and fields[2] == "miRNA_primary_transcript":
            name = dict(part.split("=", 1) for part in fields[8].split(";") if "=" in part).get("Name", "?")
            rows.append((int(fields[3]) - 1, int(fields[4]), fields[6], name))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=HERE / "out" / "chr19")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="reuse the scan NPZ of an earlier run")
    args = parser.parse_args()
    shared = human_data.SHARED
    genome, annotation = shared / chr19_holdout.CHR19, shared / chr19_holdout.CHR19_GFF3
    bed = shared / chr19_holdout.KNOWN_BED
    args.work.mkdir(parents=True, exist_ok=True)
    npz = args.work / "c19.npz"
    result: dict = {"date": time.strftime("%Y-%m-%d"), "threads": args.threads, "cpus": os.cpu_count()}
    if not (args.reuse and npz.exists()):
        wall, rss = timed([str(BIN / "mt-encode"), "--genome", str(genome), "--annotation", str(annotation),
                           "-o", str(npz), "--decoys", "--threads", str(args.threads), "-q"])
        from scan_benchmark import raw_folding_seconds

        raw, windows, refolded = raw_folding_seconds(genome, annotation, npz, None, decoys=True)
        result["scan"] = {"wall_s": wall, "peak_rss_mb": rss, "raw_folding_s": raw, "windows_folded": windows,
                          "candidates_refolded": refolded, "ratio_to_raw_folding_per_thread": wall / (raw / args.threads)}
        print(f"scan (with decoys): {wall:.0f} s, peak RSS {rss:.0f} MB; raw folding of the same {windows} windows "
              f"and {refolded} refolded candidates {raw:.0f} s in one process: wall / (raw / threads) = "
              f"{wall / (raw / args.threads):.2f}", flush=True)
    survey = args.work / "c19.survey.tsv"
    wall, rss = timed([str(BIN / "mt-predict"), str(npz), "-o", str(args.work / "c19.bed"), "--survey", str(survey),
                       "--survey-plot", str(args.work / "c19.survey.png"), "--known", str(bed),
                       "--threads", str(args.threads), "-q"])
    result["predict"] = {"wall_s": wall, "peak_rss_mb": rss}
    print(f"mt-predict (default model): {wall:.1f} s, peak RSS {rss:.0f} MB", flush=True)
    result["survey"] = survey.read_text()

    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.io.encoded import read_encoded

    load_tensorflow()
    everything = read_encoded(npz)
    decoy = everything.annotations.get("decoy", np.zeros(len(everything))) == 1
    encoded = everything.subset(np.flatnonzero(~decoy))
    positive, loci, n_loci = truth(encoded, bed)
    subtypes = {str(s): int((encoded.annotations["subtype"] == s).sum()) for s in np.unique(encoded.annotations["subtype"])}
    result["candidates"] = {"n": len(encoded), "decoys": int(decoy.sum()), "subtypes": subtypes,
                            "positive_candidates": int(positive.sum()), "known_loci": n_loci}
    print(result["candidates"], flush=True)
    methods = {}
    scores = {}
    for name in ("genome", "human_mirtron", "premirna"):
        started = time.perf_counter()
        scores[name], manifest = score(name, encoded)
        methods[name] = method_record(scores[name], float(manifest["threshold"]), positive, loci)
        methods[name]["score_s"] = time.perf_counter() - started
    # the product: its threshold is the product of the two models' thresholds
    from mirtron_tools.io.model import read_manifest, resolve_model

    thresholds = {name: float(read_manifest(resolve_model(name))["threshold"]) for name in ("human_mirtron", "premirna")}
    product = scores["human_mirtron"] * scores["premirna"]
    methods["human_mirtron x premirna"] = method_record(product, thresholds["human_mirtron"] * thresholds["premirna"],
                                                        positive, loci)
    baseline, baseline_threshold = baseline_scores(encoded, args.work)
    methods["structure + k-mer trees (same background)"] = method_record(baseline, baseline_threshold, positive, loci)
    result["methods"] = methods
    print("| method | AP | AUC | called | share called | known loci called | top 1 % | top 100 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, record in methods.items():
        print(f"| {name} | {record['ap']:.3f} | {record['auc']:.3f} | {record['called']} | "
              f"{100 * record['called_share']:.2f} % | {record['known_loci_called']} of {record['reachable_loci']} | "
              f"{record['known_loci_top_1pct']} | {record['known_loci_top_100']} |")

    hairpins = mirbase_chr19(shared)
    a = encoded.annotations
    follow_up = []
    for row in np.argsort(-scores["genome"], kind="stable"):
        if positive[row]:
            continue
        start, end, strand = int(a["start"][row]), int(a["end"][row]), str(a["strand"][row])
        if any(start < h_end and h_start < end and strand == h_strand for h_start, h_end, h_strand, _ in hairpins):
            continue
        follow_up.append({"id": encoded.ids[row], "probability": float(scores["genome"][row]),
                          "subtype": str(a["subtype"][row]), "gene": str(a["gene"][row]),
                          "length": len(encoded.sequences[row]), "mfe": float(encoded.mfe[row]),
                          "splice_distance": int(a["splice_distance"][row])})
        if len(follow_up) == 20:
            break
    result["follow_up"] = follow_up
    print("| rank | candidate | probability | subtype | host gene | nt | MFE |")
    print("|---|---|---|---|---|---|---|")
    for rank, record in enumerate(follow_up, 1):
        print(f"| {rank} | {record['id']} | {record['probability']:.3f} | {record['subtype']} | {record['gene']} | "
              f"{record['length']} | {record['mfe']:.1f} |")
    (args.work / "genome_chr19.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
