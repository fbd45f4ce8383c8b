"""Rebuild the bundled human mirtron model (``human_mirtron``) from ../shared/data alone, with a fixed seed.

Data: recipes/human_data.py (its docstring lists every file and rule: T->U, dedup, drop sequences
labelled both ways, remove known mirtrons from the miRBase v22 negatives). The model is a
5-member cross-validation ensemble of attention LSTMs that also read each hairpin's free energy,
blended with gradient-boosted trees on k-mer, structure, free-energy, stem-loop shape and splice-site
pyrimidine features (mt-train --ensemble 5 --tree-weight auto --energy --seed 1: the trees' share is
the one of 0.1-0.9 with the best out-of-fold AUC); its threshold and the metrics in its manifest are
out-of-fold, i.e. each hairpin scored by members that did not train on it. It goes through the same
library calls as mt-train (mirtron_tools.candidates.encode_candidates, mirtron_tools.training.train).

Usage: python -m recipes human_mirtron [--output mirtron_tools/models/human_mirtron.keras] [--threads 2]
Writes also docs/human_mirtron.curves.png and recipes/human_mirtron.metrics.tsv.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from . import chr19_holdout, human_data
from .sources import MODELS, ROOT, SHARED

HERE = Path(__file__).resolve().parent
OUTPUT = MODELS / "human_mirtron.keras"
#: what a rebuild records in its manifest, the command (a model built before the recipes left bench/ records
#: the script that built it then)
BUILT_BY = "python -m recipes human_mirtron"
PREVIOUSLY_BUILT_BY = "bench/train_bundled_model.py"

SEED = 1
MEMBERS = 5
#: the logistic-regression member's share (0.5 until the trees replaced it: see CHANGELOG.md)
REGRESSION_WEIGHT = 0.0
#: the gradient-boosted tree member's share (mt-train --tree-weight): "auto" = chosen by mt-train among
#: 0.1-0.9 on the out-of-fold AUC of the training data (0.5 fixed until 2026-12-01: see CHANGELOG.md)
TREE_WEIGHT = "auto"
#: mt-train --energy: the free-energy channel, and structure + free-energy features in the regression
ENERGY = True
#: what the training data are; the manifest's description adds "; built by" the recipe
DATA_DESCRIPTION = ("human mirtrons (miRBase_set TRUE, Wen/Rorbach putative mirtrons, mirtronDB human precursors) vs "
                    "human canonical miRNAs (miRBase_set FALSE, miRBase v22 stem-loops without known mirtrons), GRCh38 "
                    "chr19 held out")
DESCRIPTION = f"{DATA_DESCRIPTION}; built by {BUILT_BY}"


def write_inputs(folder: Path, shared: Path = SHARED) -> tuple[Path, Path, dict]:
    """Write positive/negative FASTA files of the cleaned human set; return them and the cleaning report
    (with the chr19 hold-out record of the manifest under ``held_out``)."""
    data = human_data.human_mirtron_set(shared)
    paths = folder / "human_mirtrons.fa", folder / "human_canonical.fa"
    for path, wanted in zip(paths, (1, 0)):
        with open(path, "w") as stream:
            for identifier, sequence, label in zip(data.ids, data.sequences, data.labels):
                if label == wanted:
                    stream.write(f">{identifier}\n{sequence}\n")
    return paths[0], paths[1], {**data.report, "held_out": chr19_holdout.holdout_record(data.sequences,
                                                                                         data.held_out)}


def encode_fasta(fasta: Path, threads: int, max_length: int | None = None) -> Path:
    """mt-encode FASTA -o FASTA.npz, through the library: the NPZ beside the FASTA."""
    from mirtron_tools.candidates import encode_candidates
    from mirtron_tools.encoding import DEFAULT_MAX_LENGTH
    from mirtron_tools.io.encoded import write_encoded

    npz = fasta.with_suffix(".npz")
    write_encoded(npz, encode_candidates(fasta, threads=threads, max_length=max_length or DEFAULT_MAX_LENGTH))
    return npz


def encode_inputs(folder: Path, threads: int = 2) -> tuple[Path, Path, dict]:
    positive_fasta, negative_fasta, report = write_inputs(folder)
    return encode_fasta(positive_fasta, threads), encode_fasta(negative_fasta, threads), report


def training_fingerprint(positive_npz: Path, negative_npz: Path, energy: bool = ENERGY) -> str:
    """The training-data sha256 that mt-train records for these inputs (``energy``: mt-train --energy)."""
    from mirtron_tools.datasets import read_training_data
    from mirtron_tools.encoding import model_inputs
    from mirtron_tools.manifest import data_sha256

    data = read_training_data([positive_npz], [negative_npz])
    return data_sha256(model_inputs(data.encoded, energy=energy), data.labels)


def training_config(seed: int = SEED, **changes):
    """The bundled model's settings: mt-train's defaults plus the recipe's (``changes`` override them)."""
    from mirtron_tools.config import TrainingConfig

    settings = {"seed": seed, "regression_weight": REGRESSION_WEIGHT, "tree_weight": TREE_WEIGHT, "energy": ENERGY,
                **changes}
    return TrainingConfig(**settings)


def build(output: Path = OUTPUT, threads: int = 2, metrics: Path = HERE / "human_mirtron.metrics.tsv",
          plots: Path = ROOT / "docs" / "human_mirtron.curves.png") -> dict:
    """Encode, train and write the model (with its metrics table and curves); returns its manifest."""
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.datasets import read_training_data

    with tempfile.TemporaryDirectory() as folder:
        positive, negative, report = encode_inputs(Path(folder), threads)
        print("data:", report, flush=True)
        data = read_training_data([positive], [negative])
        config = training_config()
        config.check(ensemble=MEMBERS)
        load_tensorflow(threads=threads)
        from mirtron_tools.training import train, write_trained_model

        trained = train(data, config, task="mirtron", ensemble=MEMBERS, description=DESCRIPTION)
    trained.manifest["training_data"]["held_out"] = report["held_out"]
    trained.manifest["built_by"] = BUILT_BY
    write_trained_model(trained, output, metrics, plots, title=f"mt-train: {Path(output).name}")
    return trained.manifest
