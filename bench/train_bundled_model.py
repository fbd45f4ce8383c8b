#!/usr/bin/env python3
"""Rebuild the bundled human mirtron model from ../shared/data alone, with a fixed seed.

Data: bench/human_data.py (its docstring lists every file and rule: T->U, dedup, drop sequences
labelled both ways, remove known mirtrons from the miRBase v22 negatives). The model is a
5-member cross-validation ensemble of attention LSTMs that also read each hairpin's free energy,
blended with gradient-boosted trees on k-mer, structure, free-energy, stem-loop shape and splice-site
pyrimidine features (mt-train --ensemble 5 --tree-weight auto --energy --seed 1: the trees' share is
the one of 0.1-0.9 with the best out-of-fold AUC); its threshold and the metrics in its manifest are
out-of-fold, i.e. each hairpin scored by members that did not train on it.

Usage: python bench/train_bundled_model.py [--output mirtron_tools/models/human_mirtron.keras]
Writes also docs/human_mirtron.curves.png and bench/human_mirtron.metrics.tsv.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import human_data  # noqa: E402

SEED = 1
MEMBERS = 5
#: the logistic-regression member's share (0.5 until the trees replaced it: see CHANGELOG.md)
REGRESSION_WEIGHT = 0.0
#: the gradient-boosted tree member's share (mt-train --tree-weight): "auto" = chosen by mt-train among
#: 0.1-0.9 on the out-of-fold AUC of the training data (0.5 fixed until 2026-12-01: see CHANGELOG.md)
TREE_WEIGHT = "auto"
#: mt-train --energy: the free-energy channel, and structure + free-energy features in the regression
ENERGY = True
DESCRIPTION = ("human mirtrons (miRBase_set TRUE, Wen/Rorbach putative mirtrons, mirtronDB human precursors) vs "
               "human canonical miRNAs (miRBase_set FALSE, miRBase v22 stem-loops without known mirtrons), GRCh38 chr19 "
               "held out; "
               "built by bench/train_bundled_model.py")


def write_inputs(folder: Path, shared: Path = human_data.SHARED) -> tuple[Path, Path, dict]:
    """Write positive/negative FASTA files of the cleaned human set; return them and the cleaning report
    (with the chr19 hold-out record of the manifest under ``held_out``)."""
    import chr19_holdout

    data = human_data.human_mirtron_set(shared)
    paths = folder / "human_mirtrons.fa", folder / "human_canonical.fa"
    for path, wanted in zip(paths, (1, 0)):
        with open(path, "w") as stream:
            for identifier, sequence, label in zip(data.ids, data.sequences, data.labels):
                if label == wanted:
                    stream.write(f">{identifier}\n{sequence}\n")
    return paths[0], paths[1], {**data.report, "held_out": chr19_holdout.holdout_record(data.sequences,
                                                                                         data.held_out)}


def encode_inputs(folder: Path, threads: int = 2) -> tuple[Path, Path, dict]:
    from mirtron_tools.cli import encode

    positive_fasta, negative_fasta, report = write_inputs(folder)
    outputs = []
    for fasta in (positive_fasta, negative_fasta):
        npz = fasta.with_suffix(".npz")
        if encode.main([str(fasta), "-o", str(npz), "--threads", str(threads), "-q"]) != 0:
            raise SystemExit(f"mt-encode failed on {fasta}")
        outputs.append(npz)
    return outputs[0], outputs[1], report


def training_fingerprint(positive_npz: Path, negative_npz: Path, energy: bool = ENERGY) -> str:
    """The training-data sha256 that mt-train records for these inputs (``energy``: mt-train --energy)."""
    from mirtron_tools.datasets import labelled_union
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.training import data_sha256

    encoded, labels, _ = labelled_union([(str(positive_npz), read_encoded(positive_npz))],
                                        [(str(negative_npz), read_encoded(negative_npz))])
    return data_sha256(model_inputs(encoded, energy=energy), labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=str(HERE.parent / "mirtron_tools" / "models" / "human_mirtron.keras"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from mirtron_tools.cli import train

    with tempfile.TemporaryDirectory() as folder:
        positive, negative, report = encode_inputs(Path(folder), args.threads)
        print("data:", report, flush=True)
        status = train.main(["--positive", str(positive), "--negative", str(negative), "-o", args.output,
                             "--metrics", str(HERE / "human_mirtron.metrics.tsv"),
                             "--plots", str(HERE.parent / "docs" / "human_mirtron.curves.png"),
                             "--seed", str(SEED), "--ensemble", str(MEMBERS), "--kmer-weight", str(REGRESSION_WEIGHT),
                             "--tree-weight", str(TREE_WEIGHT),
                             *(["--energy"] if ENERGY else []), "--threads", str(args.threads),
                             "--description", DESCRIPTION])
    if status == 0:
        from mirtron_tools.io.model import read_manifest, update_manifest

        update_manifest(args.output, {"training_data": {**read_manifest(args.output)["training_data"],
                                                         "held_out": report["held_out"]},
                                      "built_by": "bench/train_bundled_model.py"})
    raise SystemExit(status)


if __name__ == "__main__":
    main()
