"""Where the recipes read their data, and the two readers every data module uses (no other rule here).

The public data sets (cnnMirtronPred, mirtronDB, miRBase, intronIC, deepMiRGene, ...) sit in one folder,
``MIRTRON_SHARED_DATA`` (default: ``shared/data`` beside the project checkout); the recipes read it and
never write beside it.
"""
from __future__ import annotations

import os
from pathlib import Path

#: the project checkout, and the bundled models the recipes rebuild
ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "mirtron_tools" / "models"
#: the data folder (``MIRTRON_SHARED_DATA``, default: ``shared/data`` beside the project checkout)
SHARED = Path(os.environ.get("MIRTRON_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

FILES = {
    "mirbase_set": "cnnMirtronPred/data/miRBase_set.csv",
    "putative": "cnnMirtronPred/data/putative_mirtrons_set.csv",
    "mirtrondb": "mirtronDB/Data/all_organisms_except_mouse.fasta",
    "mirbase22": "dnnPreMiR/testData/hsa-pre-release22.fa",
    "rorbach_split": "derived_splits/rorbach2018_split.csv",
    "cnn_split": "derived_splits/cnnMirtronPred_split_seed2.csv",
}


def rna(sequence: str) -> str:
    return sequence.strip().upper().replace("T", "U")


def read_fasta_pairs(path: Path) -> list[tuple[str, str]]:
    records: list[tuple[str, str]] = []
    header: str | None = None
    parts: list[str] = []
    for line in open(path):
        line = line.strip()
        if line.startswith(">"):
            if header is not None:
                records.append((header, "".join(parts)))
            header, parts = line[1:].strip(), []
        elif line:
            parts.append(line)
    if header is not None:
        records.append((header, "".join(parts)))
    return records
