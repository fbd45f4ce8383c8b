#!/usr/bin/env python3
"""Regenerate test-data/ from the project's own synthetic generator (no real data).

Files (all deterministic):
  synthetic_hairpins.fa     10 mirtron-like + 10 canonical-like hairpins (golden-file inputs)
  synthetic_labels.tsv      their labels
  synthetic_hairpins.npz/.tsv  mt-encode output of synthetic_hairpins.fa (golden)
  train_positive.fa / train_negative.fa   60 + 60 hairpins for the tiny model
  tiny_model.keras          a small model trained by mt-train --seed 7 (format-break canary)
  tiny_predictions.tsv      mt-predict of synthetic_hairpins.fa with tiny_model.keras (golden)
  tiny_attention.tsv        mt-attend of synthetic_hairpins.npz with tiny_model.keras (golden)
  tiny_mutagenesis.tsv      mt-attend --method mutagenesis of two of them (golden)

Run: python test-data/make_test_data.py   (later issues add genomes, GTFs and BAMs here)
"""
from pathlib import Path

from mirtron_tools.simulate import hairpin_set

HERE = Path(__file__).resolve().parent


def write_fasta(path: Path, records) -> None:
    with open(path, "w") as stream:
        for identifier, sequence in records:
            stream.write(f">{identifier}\n{sequence}\n")


def main() -> None:
    from mirtron_tools.cli import encode, predict, train

    positives = hairpin_set(10, True, seed=11, prefix="syn_mirtron_")
    negatives = hairpin_set(10, False, seed=12, prefix="syn_canonical_")
    write_fasta(HERE / "synthetic_hairpins.fa", positives + negatives)
    with open(HERE / "synthetic_labels.tsv", "w") as stream:
        stream.write("id\tlabel\n")
        stream.writelines(f"{identifier}\tmirtron\n" for identifier, _ in positives)
        stream.writelines(f"{identifier}\tcanonical\n" for identifier, _ in negatives)
    write_fasta(HERE / "train_positive.fa", hairpin_set(60, True, seed=21, prefix="train_mirtron_"))
    write_fasta(HERE / "train_negative.fa", hairpin_set(60, False, seed=22, prefix="train_canonical_"))

    assert encode.main([str(HERE / "synthetic_hairpins.fa"), "-o", str(HERE / "synthetic_hairpins.npz"), "-q"]) == 0
    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    for name in ("train_positive", "train_negative"):
        assert encode.main([str(HERE / f"{name}.fa"), "-o", str(work / f"{name}.npz"), "-q"]) == 0
    assert train.main(["--positive", str(work / "train_positive.npz"), "--negative", str(work / "train_negative.npz"),
                       "-o", str(HERE / "tiny_model.keras"), "--metrics", str(work / "m.tsv"),
                       "--plots", str(work / "c.png"), "--seed", "7", "--epochs", "25", "--lstm-units", "8",
                       "--attention-units", "8", "-q"]) == 0
    assert predict.main(["--model", str(HERE / "tiny_model.keras"), str(HERE / "synthetic_hairpins.fa"),
                         "-o", str(HERE / "tiny_predictions.tsv"), "-q"]) == 0
    make_attention_goldens(work)
    for path in work.iterdir():
        path.unlink()
    work.rmdir()


def make_attention_goldens(work: Path) -> None:
    """tiny_attention.tsv (mt-attend, all 20 hairpins) and tiny_mutagenesis.tsv (two hairpins)."""
    from mirtron_tools.cli import attend

    model, hairpins = str(HERE / "tiny_model.keras"), str(HERE / "synthetic_hairpins.npz")
    sidecars = ["--predictions", str(work / "p.tsv"), "--aggregate", str(work / "a.tsv"), "-q"]
    assert attend.main(["--model", model, hairpins, "-o", str(HERE / "tiny_attention.tsv"), *sidecars]) == 0
    assert attend.main(["--model", model, hairpins, "-o", str(HERE / "tiny_mutagenesis.tsv"), "--method",
                        "mutagenesis", "--ids", "syn_mirtron_0001,syn_canonical_0001", *sidecars]) == 0


if __name__ == "__main__":
    main()
