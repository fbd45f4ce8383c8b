#!/usr/bin/env python3
"""Real small-RNA-seq profiles at a mirtron and two canonical miRNAs -> docs/coverage_profiles.png.

Six real SLK-cell small-RNA BAMs (srnadiff, GSE62830, GRCh38 chr14 50-100 Mb, ../shared/data)
are copied to a temporary folder and indexed there (shared/ is read-only), then run through
mt-encode (FASTA with coordinate headers) and mt-coverage, as a user would. Per locus: read
depth, read 5' ends and read 3' ends along the hairpin (0 = its 5' end) with 20 nt of flank.

Run: python bench/plot_coverage_profiles.py [-o docs/coverage_profiles.png]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("MIRTRON_SHARED_DATA", HERE.parent.parent / "shared" / "data"))

LOCI = [
    ("hsa-mirtron-1636", "14:59459004-59459065(-)",
     "CTCAGTAAGAATAGTGAGTCTGTGGCATTTGATTTATAACCCACTCTCTCCCTATTCCCAG",
     "mirtron (5'-tailed; 3' end = GPR135 intron 3 acceptor)"),
    ("hsa-mir-625", None, None, "canonical"),
    ("hsa-mir-3173", None, None, "canonical"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, default=HERE.parent / "docs" / "coverage_profiles.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pysam

    from mirtron_tools.candidates import encode_candidates
    from mirtron_tools.io.coverage import read_coverage
    from mirtron_tools.io.encoded import write_encoded
    from mirtron_tools.read_collection import CollectRequest, collect

    names = dict(line.split("\t") for line in
                 (SHARED / "derived_splits" / "chr14_mirbase22_hairpins.names.tsv").read_text().splitlines())
    by_name = {}
    for block in (SHARED / "derived_splits" / "chr14_mirbase22_hairpins.fa").read_text().split(">")[1:]:
        header, *lines = block.strip().splitlines()
        by_name[names[header]] = (header, "".join(lines))
    loci = [(name, header or by_name[name][0], sequence or by_name[name][1], label)
            for name, header, sequence, label in LOCI]

    with tempfile.TemporaryDirectory(prefix="profiles_") as folder:
        work = Path(folder)
        bams = []
        for bam in sorted((SHARED / "srnadiff" / "inst" / "extdata").glob("SRR*.bam")):
            shutil.copy(bam, work / bam.name)
            pysam.index(str(work / bam.name))
            bams.append(str(work / bam.name))
        (work / "loci.fa").write_text("".join(f">{header}\n{sequence}\n" for _, header, sequence, _ in loci))
        write_encoded(work / "loci.npz", encode_candidates(work / "loci.fa"))
        collect(CollectRequest(str(work / "loci.npz"), bams, str(work / "loci.cov.npz"), str(work / "loci.cov.tsv")))
        tracks = read_coverage(work / "loci.cov.npz")

    figure, axes = plt.subplots(len(loci), 1, figsize=(9, 2.6 * len(loci)), constrained_layout=True)
    flank = tracks.flank
    for axis, (name, header, sequence, label) in zip(axes, loci):
        row = tracks.ids.index(header)
        counts = tracks.counts[row]
        positions = np.arange(len(counts)) - flank
        axis.fill_between(positions, counts[:, 0], step="mid", color="#c8d7e8", label="depth")
        axis.bar(positions - 0.2, counts[:, 1], width=0.4, color="#1f77b4", label="read 5' ends")
        axis.bar(positions + 0.2, counts[:, 2], width=0.4, color="#d62728", label="read 3' ends")
        length = len(sequence)
        for edge in (-0.5, length - 0.5):
            axis.axvline(edge, color="black", linestyle="--", linewidth=0.8)
        axis.set_title(f"{name} {header}: {label}; {int(counts[flank:flank + length, 0].max())} reads at the peak, "
                       f"6 samples", fontsize=9, loc="left")
        axis.set_xlim(-flank - 0.5, length + flank - 0.5)
        axis.set_ylabel("reads")
    axes[-1].set_xlabel("position from the hairpin's 5' end (dashed: hairpin ends; outside: 20-nt flanks)")
    axes[0].legend(loc="upper right", fontsize=8)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output, dpi=130)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
