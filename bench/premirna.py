#!/usr/bin/env python3
"""Pre-miRNA vs pseudo-hairpin accuracy on the deepMiRGene and dnnPreMiR benchmarks.

Positive class = pre-miRNA everywhere. Metrics: sensitivity (SE), specificity (SP), F1, AUROC,
AUPR (average precision), MCC, at each method's own threshold chosen on training data only.

deepMiRGene (Park et al., NIPS 2017), their protocol exactly: train on ``cv/{human,whole}/*_all.fa``,
score ``test/{human,whole}/*_test.fa``. The ``whole`` model is the shipped ``premirna`` model, which
recipes/premirna.py (python -m recipes premirna) trains with this very protocol; this script checks that the model's
recorded training inputs (sha256 of the labelled sequences) equal ``cv/whole/*_all.fa`` before
using it, or trains it again with ``--retrain-whole``. The ``human`` model is trained here with the
same mt-train settings (recipes/premirna.py: 5 networks + the tree member, seed 1).
"trees alone" is the tree member of the same model on its own, at its own out-of-fold threshold.
Their numbers (``reproduce/results/test/*_test.rst``, last of 300 epochs) are printed beside
ours; their logs have no MCC, so it is derived from their SE, SP and the test class counts.

dnnPreMiR (Zheng et al. 2020): 1,881 human pre-miRNAs (``hsa_new.csv``) vs 1,881 CDS pseudo-hairpins
(``pseudo_new.csv``), and vs 1,881 random sequences (``psudo_random.csv``). The repo's own split is
not in its files, so: exact duplicate sequences are kept once (a sequence in both classes is
dropped), then a stratified 80/20 split with numpy seed 1; the same test positives serve both tasks.

Baselines trained in the same run on the same training data: logistic regression on length alone,
on 1-3-mer frequencies + first/last dinucleotide (bench/accuracy.py), and on classic structure
features (MFE, MFE per nt, MFE index, pairing, GC, Xue et al.'s 32 triplet-structure frequencies) plus
the k-mers; thresholds by best F1 on 5-fold out-of-fold training scores.

Traps reported: test sequences also in training (exact match) and the metrics without them; test
negatives that are real human miRNAs (exact miRBase v22 human stem-loops or miRBase_set.csv
canonical hairpins) and the metrics without them; human test sequences inside the cross-species
training set (why the whole-set model is not scored on the human test).

Usage: python bench/premirna.py [--sets human whole dnnpremir] [--threads 2] [--retrain-whole]
Needs scikit-learn. Prints Markdown tables; writes bench/out/premirna.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

from accuracy import baseline_scores, fold_set, kmer_features, structured_features  # noqa: E402

from recipes import human_data  # noqa: E402
from recipes import premirna as build  # noqa: E402

OUT = HERE / "out"
METRICS = ("sensitivity", "specificity", "f1", "auc", "aupr", "mcc")
HEADERS = ("SE", "SP", "F1", "AUROC", "AUPR", "MCC")


def their_last_epoch(name: str, n_positive: int, n_negative: int, shared: Path = human_data.SHARED) -> dict:
    """deepMiRGene's own re-run log, last epoch; MCC derived from SE, SP and the class counts."""
    last = (shared / build.DATASET.replace("dataset", "results") / "test" / f"{name}_test.rst").read_text()
    last = last.strip().splitlines()[-1]
    values = {key: float(value) for key, value in re.findall(r"([A-Za-z-]+): ([0-9.]+)", last)}
    true_positive, true_negative = values["SE"] * n_positive, values["SP"] * n_negative
    false_negative, false_positive = n_positive - true_positive, n_negative - true_negative
    denominator = np.sqrt((true_positive + false_positive) * (true_positive + false_negative)
                          * (true_negative + false_positive) * (true_negative + false_negative))
    return {"sensitivity": values["SE"], "specificity": values["SP"], "f1": values["F-score"],
            "auc": values["AUROC"], "aupr": values["AUPR"],
            "mcc": float((true_positive * true_negative - false_positive * false_negative) / denominator),
            "epoch": int(last.split()[1])}


def known_human_mirnas(shared: Path = human_data.SHARED) -> set[str]:
    """Exact sequences of real human miRNA hairpins (miRBase v22 stem-loops, miRBase_set.csv)."""
    sequences = {human_data.rna(sequence) for _, sequence in human_data.read_fasta_pairs(
        shared / human_data.FILES["mirbase22"])}
    sequences.update(human_data.rna(row[1]) for row in csv.reader(open(shared / human_data.FILES["mirbase_set"])))
    return sequences


def method_scores(train_sequences, train_labels, test_sequences, seed: int, threads: int = 2) -> dict:
    """The logistic-regression baselines: (test scores, threshold)."""
    train_labels = np.asarray(train_labels)
    return {
        "structure + k-mer LR": baseline_scores(structured_features(fold_set(train_sequences, threads)), train_labels,
                                                structured_features(fold_set(test_sequences, threads)), seed),
        "k-mer LR": baseline_scores(np.array([kmer_features(s) for s in train_sequences]), train_labels,
                                    np.array([kmer_features(s) for s in test_sequences]), seed),
        "length LR": baseline_scores(np.array([[len(s)] for s in train_sequences]), train_labels,
                                     np.array([[len(s)] for s in test_sequences]), seed),
    }


def subsets(test_sequences, test_labels, train_sequences: set[str], real_mirnas: set[str]) -> dict:
    labels = np.asarray(test_labels)
    novel = np.array([s not in train_sequences for s in test_sequences])
    mirna_negative = np.array([label == 0 and s in real_mirnas for s, label in zip(test_sequences, labels)])
    return {"all": np.ones(len(labels), bool), "novel_only": novel,
            "without_mirna_negatives": ~mirna_negative, "novel_without_mirna_negatives": novel & ~mirna_negative}


def report(name: str, scores: dict, test_labels, masks: dict, extra: dict) -> dict:
    from mirtron_tools.metrics import evaluate

    labels = np.asarray(test_labels)
    result = {**extra, "subset_sizes": {key: int(mask.sum()) for key, mask in masks.items()}, "methods": {}}
    for method, (score, threshold) in scores.items():
        score = np.asarray(score)
        result["methods"][method] = {"threshold": float(threshold), **{
            key: evaluate(labels[mask], score[mask], threshold) for key, mask in masks.items()}}
    return result


def markdown(name: str, result: dict) -> str:
    lines = [f"#### {name}", "", "| method | subset | n | " + " | ".join(HEADERS) + " |",
             "|---" * (3 + len(HEADERS)) + "|"]
    if "theirs" in result:
        theirs = result["theirs"]
        lines.append(f"| deepMiRGene (their log, epoch {theirs['epoch']}) | all | {result['subset_sizes']['all']} | "
                     + " | ".join(f"{theirs[m]:.3f}" for m in METRICS) + " |")
    for method, parts in result["methods"].items():
        for part, values in parts.items():
            if part == "threshold":
                continue
            lines.append(f"| {method} | {part} | {result['subset_sizes'][part]} | "
                         + " | ".join(f"{values[m]:.3f}" for m in METRICS) + " |")
    return "\n".join(lines)


def lstm_train_and_score(folder: Path, positive_npz: Path, negative_npz: Path, test_npz: tuple[Path, Path],
                         output: Path, threads: int):
    from mirtron_tools.training import write_trained_model

    write_trained_model(build.train_model(positive_npz, negative_npz, threads), output, folder / "m.tsv",
                        folder / "c.png")
    labels, scores, sequences, manifest = build.score_part(output, *test_npz)
    return labels, scores, sequences, manifest


def trees_alone(model_path: Path, test_npz: tuple[Path, Path], manifest: dict) -> dict:
    """The model's tree member on its own, at its own out-of-fold threshold (from the manifest)."""
    from mirtron_tools.ensemble import TREE_MEMBER

    record = manifest.get("member_metrics", {}).get("trees")
    if record is None:
        return {}
    scores = build.score_part(model_path, *test_npz, member=TREE_MEMBER)[1]
    return {"trees alone": (scores, float(record["threshold"]))}


def deepmirgene(name: str, folder: Path, args, real_mirnas: set[str]) -> dict:
    from mirtron_tools.io.model import bundled_models, read_manifest

    started = time.time()
    train_positive, train_negative = build.deepmirgene_records(f"cv/{name}")
    test_positive, test_negative = build.deepmirgene_records(f"test/{name}")
    test_npz = build.encode_part(folder, f"test/{name}", args.threads)[:2]
    sha = build.inputs_sha256(train_positive, train_negative)
    bundled = bundled_models().get("premirna")
    reuse = (name == "whole" and not args.retrain_whole and bundled is not None
             and read_manifest(bundled).get("training_data", {}).get("inputs_sha256") == sha)
    if reuse:
        model_path = bundled
        labels, lstm, sequences, manifest = build.score_part(bundled, *test_npz)
        lstm_source = f"shipped premirna model (inputs sha256 {sha[:12]} checked)"
    else:
        positive_npz, negative_npz, _ = build.encode_part(folder, f"cv/{name}", args.threads)
        model_path = OUT / f"premirna_{name}.keras"
        labels, lstm, sequences, manifest = lstm_train_and_score(folder, positive_npz, negative_npz, test_npz,
                                                                 model_path, args.threads)
        lstm_source = f"trained in this run: bench/out/premirna_{name}.keras"
    train_sequences = [s for _, s in train_positive + train_negative]
    train_labels = [1] * len(train_positive) + [0] * len(train_negative)
    scores = {"LSTM + trees": (lstm, float(manifest["threshold"])),
              **trees_alone(model_path, test_npz, manifest),
              **method_scores(train_sequences, train_labels, sequences, args.seed, args.threads)}
    masks = subsets(sequences, labels, set(train_sequences), real_mirnas)
    extra = {"lstm": lstm_source, "lstm_epochs_run": manifest["training"]["epochs_run"],
             "n_train": len(train_labels), "n_test": int(len(labels)), "test_positive": int(labels.sum()),
             "test_in_train_exact": int((~masks["novel_only"]).sum()),
             "test_negatives_that_are_human_mirnas": int((~masks["without_mirna_negatives"]).sum()),
             "theirs": their_last_epoch(name, int(labels.sum()), int((labels == 0).sum()))}
    if name == "human":
        whole = {s for _, s in sum(build.deepmirgene_records("cv/whole"), [])}
        extra["test_in_whole_training_exact"] = int(sum(s in whole for s in sequences))
    result = report(name, scores, labels, masks, extra)
    result["seconds"] = round(time.time() - started, 1)
    return result


def dnnpremir_records(shared: Path = human_data.SHARED) -> dict[str, list[tuple[str, str]]]:
    """``{'premirna': [...], 'cds': [...], 'random': [...]}`` as (id, RNA sequence)."""
    base = shared / "dnnPreMiR" / "src" / "data"
    sets = {}
    for key, filename in (("premirna", "hsa_new.csv"), ("cds", "pseudo_new.csv")):
        rows = list(csv.reader(open(base / filename)))[1:]
        sets[key] = [(row[1], human_data.rna("".join(token[0] for token in row[2].split()))) for row in rows]
    rows = [row for row in csv.reader(open(base / "psudo_random.csv", newline="")) if row]
    sets["random"] = [(row[0], human_data.rna(row[1])) for row in rows]
    return sets


def dnnpremir_split(sets: dict, seed: int) -> dict:
    """Deduplicated sequences and a stratified 80/20 split per class (test positives shared by both tasks)."""
    labels_of: dict[str, set[str]] = {}
    for key, records in sets.items():
        for _, sequence in records:
            labels_of.setdefault(sequence, set()).add("premirna" if key == "premirna" else "negative")
    rng = np.random.default_rng(seed)
    split, dropped = {}, {}
    for key, records in sets.items():
        seen, unique = set(), []
        for identifier, sequence in records:
            if sequence in seen or len(labels_of[sequence]) > 1:
                continue
            seen.add(sequence)
            unique.append((identifier, sequence))
        dropped[key] = len(records) - len(unique)
        order = rng.permutation(len(unique))
        cut = int(round(0.2 * len(unique)))
        split[key] = {"test": [unique[i] for i in order[:cut]], "train": [unique[i] for i in order[cut:]]}
    return {"split": split, "dropped_duplicate_or_conflicting": dropped}


def dnnpremir(folder: Path, args, real_mirnas: set[str]) -> dict:
    from recipes.human_mirtron import encode_fasta

    def encode_records(name: str, records) -> Path:
        return encode_fasta(build.write_fasta(folder / f"{name}.fa", records), args.threads)

    data = dnnpremir_split(dnnpremir_records(), args.seed)
    split = data["split"]
    results = {"split": {key: {part: len(value) for part, value in parts.items()} for key, parts in split.items()},
               "dropped_duplicate_or_conflicting": data["dropped_duplicate_or_conflicting"]}
    positive_train = encode_records("dnn_pos_train", split["premirna"]["train"])
    positive_test = encode_records("dnn_pos_test", split["premirna"]["test"])
    for negative in ("cds", "random"):
        started = time.time()
        negative_train = encode_records(f"dnn_{negative}_train", split[negative]["train"])
        negative_test = encode_records(f"dnn_{negative}_test", split[negative]["test"])
        model_path = OUT / f"premirna_dnnpremir_{negative}.keras"
        labels, lstm, sequences, manifest = lstm_train_and_score(
            folder, positive_train, negative_train, (positive_test, negative_test), model_path, args.threads)
        train_sequences = [s for _, s in split["premirna"]["train"] + split[negative]["train"]]
        train_labels = [1] * len(split["premirna"]["train"]) + [0] * len(split[negative]["train"])
        scores = {"LSTM + trees": (lstm, float(manifest["threshold"])),
                  **trees_alone(model_path, (positive_test, negative_test), manifest),
                  **method_scores(train_sequences, train_labels, sequences, args.seed, args.threads)}
        masks = subsets(sequences, labels, set(train_sequences), real_mirnas)
        masks = {"all": masks["all"], "without_mirna_negatives": masks["without_mirna_negatives"]}
        result = report(negative, scores, labels, masks, {
            "lstm_epochs_run": manifest["training"]["epochs_run"], "n_train": len(train_labels),
            "n_test": int(len(labels)), "test_positive": int(labels.sum()),
            "test_negatives_that_are_human_mirnas": int((~masks["without_mirna_negatives"]).sum())})
        result["seconds"] = round(time.time() - started, 1)
        results[negative] = result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["human", "whole", "dnnpremir"],
                        choices=["human", "whole", "dnnpremir"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--retrain-whole", action="store_true",
                        help="train the whole-set LSTM here instead of scoring the shipped premirna model")
    args = parser.parse_args()
    from mirtron_tools.backend import load_tensorflow

    load_tensorflow(threads=args.threads)
    OUT.mkdir(exist_ok=True)
    real_mirnas = known_human_mirnas()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sets:
            if name == "dnnpremir":
                results[name] = dnnpremir(Path(folder), args, real_mirnas)
                for negative in ("cds", "random"):
                    print(markdown(f"dnnPreMiR: pre-miRNA vs {negative}", results[name][negative]), flush=True)
                print({key: value for key, value in results[name].items() if key not in ("cds", "random")})
            else:
                results[name] = deepmirgene(name, Path(folder), args, real_mirnas)
                print(markdown(f"deepMiRGene {name}", results[name]), flush=True)
                print({key: value for key, value in results[name].items() if key not in ("methods", "theirs")},
                      flush=True)
    (OUT / "premirna.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
