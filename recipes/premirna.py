"""Rebuild the bundled pre-miRNA model (``premirna``) from ../shared/data alone, with a fixed seed.

Data: deepMiRGene's cross-species ("whole") benchmark, the training part of their own protocol:
``cv/whole/whole_pos_all.fa`` (1,510 pre-miRNAs of many species, positive) and
``cv/whole/whole_neg_all.fa`` (7,440 pseudo-hairpins, negative). Their held-out
``test/whole/*_test.fa`` (167 + 826) is never trained on: it is scored after training and those
metrics are written into the manifest as ``benchmark``. The FASTA headers are bare numbers (``>1``)
in both files, so records are renamed ``whole_pos_N`` / ``whole_neg_N``. RNA alphabet; negatives are
up to 398 nt long, so the length limit is 400 nt.

Model: a cross-validation ensemble of 5 networks of the default architecture that also read
the free energy per nt, blended with gradient-boosted trees on k-mer, structure, free-energy,
stem-loop shape and splice-site pyrimidine features (mt-train --task premirna --ensemble 5
--tree-weight auto --energy --seed 1 --epochs 30 --patience 6, through mt-encode --max-length 400:
the trees' share is the one of 0.1-0.9 with the best out-of-fold AUC); the threshold and
the manifest's metrics come from out-of-fold scores of the training data. The file stays well
under 5 MB; the build takes about 20-25 minutes on 2 CPU cores. It goes through the same library calls
as mt-encode and mt-train (mirtron_tools.candidates, mirtron_tools.training.train).

Usage: python -m recipes premirna [--output mirtron_tools/models/premirna.keras] [--threads 2]
Writes also recipes/premirna.metrics.tsv and docs/premirna.curves.png.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from . import chr19_holdout, human_data, human_mirtron
from .sources import MODELS, ROOT, SHARED

HERE = Path(__file__).resolve().parent
OUTPUT = MODELS / "premirna.keras"
#: what a rebuild records in its manifest, the command (a model built before the recipes left bench/ records
#: the script that built it then)
BUILT_BY = "python -m recipes premirna"
PREVIOUSLY_BUILT_BY = "bench/train_premirna_model.py"

# the design of the human_mirtron model: seed, members, member shares and the free-energy channel
SEED, MEMBERS, REGRESSION_WEIGHT, TREE_WEIGHT, ENERGY = (human_mirtron.SEED, human_mirtron.MEMBERS,
                                                         human_mirtron.REGRESSION_WEIGHT, human_mirtron.TREE_WEIGHT,
                                                         human_mirtron.ENERGY)
EPOCHS = 30
PATIENCE = 6
MAX_LENGTH = 400
DATASET = "deepMiRGene/reproduce/dataset"
#: what the training data are; the manifest's description adds "; built by" the recipe
DATA_DESCRIPTION = ("pre-miRNAs of many species vs pseudo-hairpins: deepMiRGene cross-species training set "
                    "(cv/whole/whole_{pos,neg}_all.fa; test/whole held out; GRCh38 chr19 held out)")
DESCRIPTION = f"{DATA_DESCRIPTION}; built by {BUILT_BY}"


def deepmirgene_records(part: str, shared: Path = SHARED, hold_out_chr19: bool | None = None
                        ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(positives, negatives)`` as ``(id, RNA sequence)`` for ``cv/human``, ``cv/whole``,
    ``test/human`` or ``test/whole`` (the cv parts are the ``*_all.fa`` files).

    The training (cv) parts drop every record that the chr19 hold-out rule holds out
    (recipes/chr19_holdout.py); ``hold_out_chr19`` overrides that (default: on for cv, off for test)."""
    kind, name = part.split("/")
    folder = shared / DATASET / kind / name
    records = []
    for label in ("pos", "neg"):
        path = folder / (f"{name}_{label}_all.fa" if kind == "cv" else f"{name}_{label}_test.fa")
        records.append([(f"{name}_{label}_{header.split()[0]}", human_data.rna(sequence))
                        for header, sequence in human_data.read_fasta_pairs(path)])
    if hold_out_chr19 if hold_out_chr19 is not None else kind == "cv":
        for index, part_records in enumerate(records):
            dropped = chr19_holdout.held_out_mask([sequence for _, sequence in part_records], shared)
            records[index] = [record for record, drop in zip(part_records, dropped) if not drop]
    return records[0], records[1]


def held_out_records(part: str, shared: Path = SHARED) -> list[str]:
    """Sequences of a deepMiRGene part that the chr19 hold-out drops."""
    kept = {sequence for records in deepmirgene_records(part, shared) for _, sequence in records}
    every = {sequence for records in deepmirgene_records(part, shared, hold_out_chr19=False) for _, sequence in records}
    return sorted(every - kept)


def inputs_sha256(positives: list[tuple[str, str]], negatives: list[tuple[str, str]]) -> str:
    """Fingerprint of the labelled sequences before folding (cheap to recompute in tests)."""
    digest = hashlib.sha256()
    for label, records in ((1, positives), (0, negatives)):
        for identifier, sequence in records:
            digest.update(f"{label}\t{identifier}\t{sequence}\n".encode())
    return digest.hexdigest()


def write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    with open(path, "w") as stream:
        stream.writelines(f">{identifier}\n{sequence}\n" for identifier, sequence in records)
    return path


def encode_fasta(fasta: Path, threads: int) -> Path:
    """mt-encode --max-length 400 FASTA -o FASTA.npz, through the library."""
    return human_mirtron.encode_fasta(fasta, threads, MAX_LENGTH)


def encode_part(folder: Path, part: str, threads: int, shared: Path = SHARED
                ) -> tuple[Path, Path, str]:
    """Encode one deepMiRGene part: positive NPZ, negative NPZ, inputs sha256."""
    positives, negatives = deepmirgene_records(part, shared)
    stem = part.replace("/", "_")
    return (encode_fasta(write_fasta(folder / f"{stem}_pos.fa", positives), threads),
            encode_fasta(write_fasta(folder / f"{stem}_neg.fa", negatives), threads),
            inputs_sha256(positives, negatives))


def training_config(seed: int = SEED, **changes):
    """The bundled model's settings (mt-train --task premirna --seed 1 --epochs 30 --patience 6 --ensemble 5
    --kmer-weight 0 --tree-weight auto --energy): human_mirtron's and shorter training; ``changes`` override
    them (also used by bench/premirna.py)."""
    return human_mirtron.training_config(seed, **{"epochs": EPOCHS, "patience": PATIENCE, **changes})


def train_model(positive: Path, negative: Path, threads: int, description: str = "", **changes):
    """The bundled model's training run on encoded positive/negative NPZ files (a TrainedModel, not written)."""
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.datasets import read_training_data

    data = read_training_data([positive], [negative])
    config = training_config(**changes)
    config.check(ensemble=MEMBERS)
    load_tensorflow(threads=threads)
    from mirtron_tools.training import train

    return train(data, config, task="premirna", ensemble=MEMBERS, description=description)


def score_part(model_path: Path, positive_npz: Path, negative_npz: Path, batch_size: int = 128,
               member: str | None = None):
    """Labels, probabilities and sequences of an encoded part, scored with a model file (or with
    one ``member`` of its ensemble, by layer name)."""
    import numpy as np

    from mirtron_tools.encoding import model_inputs, uses_energy
    from mirtron_tools.io.encoded import read_encoded
    from mirtron_tools.io.model import load_model
    from mirtron_tools.prediction import predict_arrays

    positives, negatives = read_encoded(positive_npz), read_encoded(negative_npz)
    model, manifest = load_model(model_path)
    if member is not None:
        model = model.get_layer(member)
    scores = [predict_arrays(model, model_inputs(part, energy=uses_energy(manifest)), batch_size)
              for part in (positives, negatives)]
    labels = np.r_[np.ones(len(positives), dtype=int), np.zeros(len(negatives), dtype=int)]
    return labels, np.concatenate(scores), positives.sequences + negatives.sequences, manifest


def benchmark_record(labels, scores, sequences, threshold: float, train_sequences: set[str]) -> dict:
    """Test metrics, on all test hairpins and on those whose exact sequence is not in training."""
    import numpy as np

    from mirtron_tools.metrics import evaluate

    novel = np.array([sequence not in train_sequences for sequence in sequences])
    return {"n": int(len(labels)), "n_positive": int(labels.sum()), "in_training_exact": int((~novel).sum()),
            "all": evaluate(labels, scores, threshold),
            "novel_only": evaluate(labels[novel], scores[novel], threshold)}


def build(output: Path = OUTPUT, threads: int = 2, metrics: Path = HERE / "premirna.metrics.tsv",
          plots: Path = ROOT / "docs" / "premirna.curves.png") -> dict:
    """Encode, train, score the held-out deepMiRGene test set and write the model; returns its manifest."""
    from mirtron_tools.io.model import update_manifest
    from mirtron_tools.training import write_trained_model

    with tempfile.TemporaryDirectory() as folder:
        positive, negative, sha = encode_part(Path(folder), "cv/whole", threads)
        test_positive, test_negative, _ = encode_part(Path(folder), "test/whole", threads)
        trained = train_model(positive, negative, threads, DESCRIPTION)
        kept = [sequence for records in deepmirgene_records("cv/whole") for _, sequence in records]
        trained.manifest["training_data"] = {
            **trained.manifest["training_data"], "inputs_sha256": sha,
            "held_out": chr19_holdout.holdout_record(kept, held_out_records("cv/whole")),
            "files": [f"{DATASET}/cv/whole/whole_pos_all.fa", f"{DATASET}/cv/whole/whole_neg_all.fa"]}
        trained.manifest["built_by"] = BUILT_BY
        write_trained_model(trained, output, metrics, plots, title=f"mt-train: {Path(output).name}")
        labels, scores, sequences, manifest = score_part(output, test_positive, test_negative)
        train_sequences = {sequence for _, sequence in sum(deepmirgene_records("cv/whole"), [])}
        benchmark = benchmark_record(labels, scores, sequences, float(manifest["threshold"]), train_sequences)
    manifest = update_manifest(output, {"benchmark": {"deepMiRGene whole test (test/whole/*_test.fa)": benchmark}})
    print("test/whole:", {key: round(value, 3) for key, value in benchmark["all"].items()}, flush=True)
    print("test/whole novel only:", {key: round(value, 3) for key, value in benchmark["novel_only"].items()})
    return manifest
