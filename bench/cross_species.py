#!/usr/bin/env python3
"""Do mirtrons of other species look like human mirtrons? Train on human, score the others.

Training (human only): mirtronDB human precursors (positive) vs human canonical miRNAs (negative:
miRBase_set.csv FALSE rows and miRBase v22 human stem-loops without known mirtrons, cleaned as in
bench/human_data.py). A stratified 20% of each class (numpy seed 1) is held out as the human test.
Methods, all trained in this run on the same 80%: the LSTM (mt-train, one network, seed 1, at most
30 epochs, patience 5), logistic regression on 1-3-mers + end dinucleotides, and on length alone
(bench/accuracy.py; thresholds by best F1 on 5-fold out-of-fold training scores).

Scored: mirtronDB precursors of every other species in ../shared/data (mouse is not there: it is
the maintainers' blind set and is never used). Sequences identical to a human training sequence
are counted and left out. For each species:
  * sensitivity at the human threshold (share of its mirtrons called mirtron) and median probability;
  * AUROC of its mirtrons against the held-out human canonical miRNAs: do they rank above human
    canonical hairpins? (a cross-species positive vs a human negative, said as such);
  * a species-matched negative set exists only for C. elegans: the 7 canonical cel hairpins of the
    miRDeep2 tutorial (miRBase v14: cel-mir-36..41, 229), too few for more than a hint. For every
    other species ../shared/data has no canonical hairpins of that species (miRBase v22 and
    MirGeneDB here are human only; the deepMiRGene cross-species positives carry no species names
    and may contain mouse and mirtrons), so no specificity can be measured there.

Usage: python bench/cross_species.py [--threads 2]
Writes bench/out/cross_species.json and the human LSTM bench/out/cross_species_human.keras (the
starting model of bench/finetune.py), and prints Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project root (recipes/) and bench/

from accuracy import baseline_scores, kmer_features  # noqa: E402

from recipes import human_data  # noqa: E402
from recipes import premirna as build  # noqa: E402

OUT = HERE / "out"
SEED = 1
EPOCHS = 30
PATIENCE = 5
HUMAN_MODEL = OUT / "cross_species_human.keras"
PLANTS = {"o. sativa", "m. truncatula", "a. thaliana", "s. italica", "m. esculenta"}
WORM_CANONICAL = "mirdeep2_tutorial/tutorial_dir/precursors_ref_this_species.fa"


def human_training_set(shared: Path = human_data.SHARED, seed: int = SEED) -> dict:
    """Human mirtronDB precursors vs human canonical miRNAs, split 80/20 per class.

    Returns ``{"train": [(id, seq, label)], "test": [...], "report": {...}}``.
    """
    cleaned = human_data.human_mirtron_set(shared)
    canonical = [(i, s) for i, s, label in zip(cleaned.ids, cleaned.sequences, cleaned.labels) if label == 0]
    canonical_sequences = {s for _, s in canonical}
    positives, seen, conflicting = [], set(), 0
    for name, _, sequence in human_data.mirtrondb_precursors(shared):
        if sequence in canonical_sequences:
            conflicting += 1
            continue
        if sequence not in seen:
            seen.add(sequence)
            positives.append((f"mirtronDB:{name}", sequence))
    rng = np.random.default_rng(seed)
    split = {"train": [], "test": []}
    for label, records in ((1, positives), (0, canonical)):
        order = rng.permutation(len(records))
        cut = int(round(0.2 * len(records)))
        split["test"].extend((records[i][0], records[i][1], label) for i in order[:cut])
        split["train"].extend((records[i][0], records[i][1], label) for i in order[cut:])
    split["report"] = {"mirtronDB_human_unique": len(positives), "canonical": len(canonical),
                       "mirtronDB_equal_to_a_canonical_dropped": conflicting}
    return split


def other_species(shared: Path = human_data.SHARED) -> dict[str, list[tuple[str, str]]]:
    """mirtronDB precursors of each non-human species, unique sequences (mouse is absent from the file)."""
    species: dict[str, list[tuple[str, str]]] = {}
    for name, organism, sequence in human_data.mirtrondb_precursors(shared, organism=None):
        if organism == "h. sapiens":
            continue
        if sequence not in {s for _, s in species.get(organism, [])}:
            species.setdefault(organism, []).append((name, sequence))
    return species


def worm_canonical(shared: Path = human_data.SHARED) -> list[tuple[str, str]]:
    return [(header.split()[0], human_data.rna(sequence))
            for header, sequence in human_data.read_fasta_pairs(shared / WORM_CANONICAL)]


def train_files(positive: Path, negative: Path, output: Path, folder: Path, threads: int, description: str = "",
                init_model: str | None = None, **settings) -> None:
    """mt-train --positive POSITIVE --negative NEGATIVE -o OUTPUT with these TrainingConfig ``settings``, through
    the library (``init_model``: --init-model)."""
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.config import TrainingConfig
    from mirtron_tools.datasets import read_initial_model, read_training_data

    data = read_training_data([positive], [negative])
    initial = read_initial_model(init_model) if init_model else None
    config = TrainingConfig(**settings)
    config.check(fine_tuning=initial is not None)
    load_tensorflow(threads=threads)
    from mirtron_tools.training import train, write_trained_model

    write_trained_model(train(data, config, description=description, initial=initial), output, folder / "m.tsv",
                        folder / "c.png")


def train_lstm(folder: Path, train: list, threads: int, output: Path = HUMAN_MODEL) -> None:
    positive = build.encode_fasta(build.write_fasta(folder / "human_pos.fa", [(i, s) for i, s, y in train if y]),
                                  threads)
    negative = build.encode_fasta(build.write_fasta(folder / "human_neg.fa", [(i, s) for i, s, y in train if not y]),
                                  threads)
    train_files(positive, negative, output, folder, threads, "human mirtronDB precursors vs human canonical miRNAs "
                "(80%), bench/cross_species.py", seed=SEED, epochs=EPOCHS, patience=PATIENCE)


def lstm_scorer(model_path: Path, threads: int):
    from mirtron_tools.encoding import encode_sequences, model_inputs, uses_energy
    from mirtron_tools.io.model import load_model
    from mirtron_tools.prediction import predict_arrays

    model, manifest = load_model(model_path)

    def score(sequences: list[str]) -> np.ndarray:
        encoded = encode_sequences([f"s{i}" for i in range(len(sequences))], sequences, threads=threads, max_length=400)
        return predict_arrays(model, model_inputs(encoded, energy=uses_energy(manifest)))

    return score, float(manifest["threshold"]), manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reuse-model", action="store_true",
                        help="score with an existing bench/out/cross_species_human.keras instead of training it")
    args = parser.parse_args()
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.metrics import evaluate, roc_auc

    load_tensorflow(threads=args.threads)
    OUT.mkdir(exist_ok=True)
    started = time.time()
    data = human_training_set()
    train, test = data["train"], data["test"]
    if not (args.reuse_model and HUMAN_MODEL.exists()):
        with tempfile.TemporaryDirectory() as folder:
            train_lstm(Path(folder), train, args.threads)
    lstm, lstm_threshold, manifest = lstm_scorer(HUMAN_MODEL, args.threads)
    train_sequences = [s for _, s, _ in train]
    train_labels = np.array([y for _, _, y in train])
    human_training = set(train_sequences)

    species = other_species()
    worms = worm_canonical()
    test_sequences = [s for _, s, _ in test]
    test_labels = np.array([y for _, _, y in test])
    held_out_canonical = [s for s, y in zip(test_sequences, test_labels) if y == 0]
    # every sequence to score, once, so each method scores one list
    pool = list(dict.fromkeys(test_sequences + [s for records in species.values() for _, s in records]
                              + [s for _, s in worms]))
    row_of = {s: row for row, s in enumerate(pool)}
    methods = {"LSTM": (lstm(pool), lstm_threshold)}
    methods["k-mer LR"] = baseline_scores(np.array([kmer_features(s) for s in train_sequences]), train_labels,
                                          np.array([kmer_features(s) for s in pool]), SEED)
    methods["length LR"] = baseline_scores(np.array([[len(s)] for s in train_sequences]), train_labels,
                                           np.array([[len(s)] for s in pool]), SEED)

    def scores_of(method: str, sequences: list[str]) -> np.ndarray:
        return np.array([methods[method][0][row_of[s]] for s in sequences], dtype=float)

    result = {"human": {"report": data["report"], "n_train": len(train), "n_test": len(test),
                        "test_positive": int(test_labels.sum()), "lstm_epochs_run": manifest["training"]["epochs_run"],
                        "methods": {m: evaluate(test_labels, scores_of(m, test_sequences), methods[m][1])
                                    for m in methods}},
              "thresholds": {m: float(methods[m][1]) for m in methods}, "species": {}}
    for organism in sorted(species, key=lambda o: (o in PLANTS, -len(species[o]), o)):
        records = species[organism]
        novel = [s for _, s in records if s not in human_training]
        entry = {"n": len(records), "in_human_training_exact": len(records) - len(novel),
                 "kingdom": "plant" if organism in PLANTS else "animal",
                 "median_length": float(np.median([len(s) for s in novel])) if novel else None, "methods": {}}
        for method, (_, threshold) in methods.items():
            positive = scores_of(method, novel)
            negative = scores_of(method, held_out_canonical)
            auc = roc_auc(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]) \
                if len(positive) else float("nan")
            entry["methods"][method] = {
                "sensitivity": float(np.mean(positive >= threshold)) if len(positive) else float("nan"),
                "median_probability": float(np.median(positive)) if len(positive) else float("nan"),
                "auc_vs_held_out_human_canonical": auc}
            if organism == "c. elegans":
                worm = scores_of(method, [s for _, s in worms])
                labels = np.r_[np.ones(len(positive)), np.zeros(len(worm))]
                entry["methods"][method]["vs_worm_canonical"] = evaluate(labels, np.r_[positive, worm], threshold)
        entry["species_matched_negatives"] = (f"{len(worms)} canonical cel hairpins (miRDeep2 tutorial, miRBase v14)"
                                              if organism == "c. elegans" else "none in ../shared/data")
        result["species"][organism] = entry
    result["held_out_human_canonical"] = len(held_out_canonical)
    result["seconds"] = round(time.time() - started, 1)
    (OUT / "cross_species.json").write_text(json.dumps(result, indent=2))
    print(markdown(result))


def markdown(result: dict) -> str:
    lines = ["#### Human test (20% held out)", "", "| method | AUROC | AUPR | F1 | MCC | SE | SP |", "|---|---|---|---|---|---|---|"]
    for method, m in result["human"]["methods"].items():
        lines.append(f"| {method} | {m['auc']:.3f} | {m['aupr']:.3f} | {m['f1']:.3f} | {m['mcc']:.3f} | "
                     f"{m['sensitivity']:.3f} | {m['specificity']:.3f} |")
    lines += ["", f"#### Other species (AUROC vs the {result['held_out_human_canonical']} held-out human canonical "
              "miRNAs; SE at the human threshold)", "",
              "| species | n | = human train | LSTM SE | LSTM median p | LSTM AUROC | k-mer SE | k-mer AUROC | "
              "length SE | length AUROC |", "|---" * 10 + "|"]
    for organism, entry in result["species"].items():
        m = entry["methods"]
        lines.append(f"| {organism}{' (plant)' if entry['kingdom'] == 'plant' else ''} | {entry['n']} | "
                     f"{entry['in_human_training_exact']} | {m['LSTM']['sensitivity']:.2f} | "
                     f"{m['LSTM']['median_probability']:.2f} | {m['LSTM']['auc_vs_held_out_human_canonical']:.2f} | "
                     f"{m['k-mer LR']['sensitivity']:.2f} | {m['k-mer LR']['auc_vs_held_out_human_canonical']:.2f} | "
                     f"{m['length LR']['sensitivity']:.2f} | {m['length LR']['auc_vs_held_out_human_canonical']:.2f} |")
    worm = result["species"].get("c. elegans", {}).get("methods", {})
    if worm:
        lines += ["", "#### C. elegans mirtrons vs the 7 canonical cel hairpins (species-matched, tiny)", "",
                  "| method | AUROC | SE | SP |", "|---|---|---|---|"]
        for method, m in worm.items():
            v = m["vs_worm_canonical"]
            lines.append(f"| {method} | {v['auc']:.3f} | {v['sensitivity']:.3f} | {v['specificity']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
