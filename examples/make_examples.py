#!/usr/bin/env python3
"""Write the worked example: 17 real human hairpins named by miRBase ID, with their labels.

Sequences and labels come from ../shared/data/cnnMirtronPred/data/miRBase_set.csv (miRBase
hairpins labelled as in Wen et al. 2015): 9 mirtrons, 8 canonical miRNAs.
Usage: python examples/make_examples.py [SHARED_DATA_DIR]
"""
import csv
import sys
from pathlib import Path

MIRTRONS = ["hsa-mir-877", "hsa-mir-1226", "hsa-mir-1224", "hsa-mir-1228", "hsa-mir-1229", "hsa-mir-6816",
            "hsa-mir-4745", "hsa-mir-3064", "hsa-mir-1236"]
CANONICAL = ["hsa-let-7a-1", "hsa-mir-21", "hsa-mir-155", "hsa-mir-625", "hsa-mir-185", "hsa-mir-1306",
             "hsa-mir-16-1", "hsa-mir-122"]


def main() -> None:
    here = Path(__file__).resolve().parent
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent.parent / "shared" / "data"
    rows = {row[0]: row for row in csv.reader(open(data / "cnnMirtronPred/data/miRBase_set.csv"))}
    with open(here / "hairpins.fa", "w") as fasta, open(here / "labels.tsv", "w") as labels:
        labels.write("id\tlabel\n")
        for name in MIRTRONS + CANONICAL:
            _, sequence, is_mirtron = rows[name]
            fasta.write(f">{name}\n{sequence}\n")
            labels.write(f"{name}\t{'mirtron' if is_mirtron == 'TRUE' else 'canonical'}\n")


if __name__ == "__main__":
    main()
