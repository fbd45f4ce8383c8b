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
  sim_genome.fa(.fai)       8 mirtron-like + 8 canonical-like hairpins placed on 2 random contigs
  sim_candidates.bed        their BED6 regions (either strand); sim_labels.tsv their labels
  sim_reads.bam(.bai)       simulated small-RNA reads over them (tests/simulate.py, simulate_reads,
                            seed 43: zero-read loci, background, artefacts the filters must drop)
  sim_candidates.npz/.tsv   mt-encode sim_candidates.bed --genome sim_genome.fa (golden)
  sim_candidates.cov.npz/.cov.tsv  mt-coverage of them with sim_reads.bam (golden)
  scan_genome.fa(.fai), scan_genes.gtf, scan_genes.gff3   12 simulated genes on 2 contigs (seed 51),
                            alternative transcripts, 2 planted mirtron-like hairpins per subtype
  scan_planted.bed          the planted hairpins (name = id|subtype)
  scan_candidates.npz/.tsv  mt-encode --genome scan_genome.fa --annotation scan_genes.gtf (golden)
  scan_piece_1.plan.npz     plan of piece 1 of 3 of that scan with --decoys (mt-encode --split 3)
  scan_piece_{1,2,3}.scores.npz  mt-predict (bundled genome model) of each piece -o PIECE.scores.npz
  scan_calls.bed, scan_survey.tsv  mt-predict of the whole --decoys scan in one job, --known
  scan_reads.bam            small-RNA reads of the planted hairpins' splice-anchored products and some debris
                            (tests/simulate.py, planted_bam): the read-aware genome-scan workflow's test
                            scan_planted.bed: what the merge of the pieces must equal (Galaxy test)
  tiny_coverage_model.keras  mt-train on sim_candidates with their coverage (seed 7, 4 units): the
                            model of the Galaxy workflow test (encode -> coverage -> predict -> attend)

Run: python test-data/make_test_data.py [PART ...]   (PART: a make_* function name without make_, e.g.
scan_pieces; default: everything)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the test-only simulators (tests/simulate.py)

from simulate import hairpin_set  # noqa: E402

HERE = Path(__file__).resolve().parent


def write_fasta(path: Path, records) -> None:
    with open(path, "w") as stream:
        for identifier, sequence in records:
            stream.write(f">{identifier}\n{sequence}\n")


def encode(fasta: Path, output: Path, genome: Path | None = None) -> None:
    """mt-encode FASTA|BED [--genome GENOME] -o OUTPUT, through the library."""
    from mirtron_tools.candidates import encode_candidates
    from mirtron_tools.io.encoded import write_encoded

    write_encoded(output, encode_candidates(fasta, genome))


def train_tiny(output: Path, work: Path, data, seed: int, epochs: int, units: int) -> None:
    """mt-train ... --seed SEED --epochs EPOCHS --lstm-units UNITS --attention-units UNITS, through the library;
    the metrics table and curves go to ``work``."""
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.config import Architecture, TrainingConfig

    load_tensorflow()
    from mirtron_tools.training import train, write_trained_model

    config = TrainingConfig(seed=seed, epochs=epochs, architecture=Architecture(lstm_units=units,
                                                                                attention_units=units))
    write_trained_model(train(data, config), output, work / f"{output.stem}.metrics.tsv",
                        work / f"{output.stem}.curves.png", title=f"mt-train: {output.name}")


def main() -> None:
    from mirtron_tools.datasets import read_training_data
    from mirtron_tools.predict_run import PredictRequest, predict

    positives = hairpin_set(10, True, seed=11, prefix="syn_mirtron_")
    negatives = hairpin_set(10, False, seed=12, prefix="syn_canonical_")
    write_fasta(HERE / "synthetic_hairpins.fa", positives + negatives)
    with open(HERE / "synthetic_labels.tsv", "w") as stream:
        stream.write("id\tlabel\n")
        stream.writelines(f"{identifier}\tmirtron\n" for identifier, _ in positives)
        stream.writelines(f"{identifier}\tcanonical\n" for identifier, _ in negatives)
    write_fasta(HERE / "train_positive.fa", hairpin_set(60, True, seed=21, prefix="train_mirtron_"))
    write_fasta(HERE / "train_negative.fa", hairpin_set(60, False, seed=22, prefix="train_canonical_"))

    make_synthetic_encoded()
    work = HERE / "_work"
    work.mkdir(exist_ok=True)
    for name in ("train_positive", "train_negative"):
        encode(HERE / f"{name}.fa", work / f"{name}.npz")
    train_tiny(HERE / "tiny_model.keras", work, read_training_data([work / "train_positive.npz"],
                                                                    [work / "train_negative.npz"]), 7, 25, 8)
    predict(PredictRequest([str(HERE / "synthetic_hairpins.fa")], str(HERE / "tiny_predictions.tsv"),
                           model=str(HERE / "tiny_model.keras")))
    make_attention_goldens(work)
    make_coverage_data()
    make_genome_scan_data()
    make_scan_pieces()
    make_scan_reads()
    make_coverage_model(work)
    for path in work.iterdir():
        path.unlink()
    work.rmdir()


def make_synthetic_encoded() -> None:
    """synthetic_hairpins.npz/.tsv: mt-encode of synthetic_hairpins.fa (golden)."""
    encode(HERE / "synthetic_hairpins.fa", HERE / "synthetic_hairpins.npz")


def make_attention_goldens(work: Path) -> None:
    """tiny_attention.tsv (mt-attend, all 20 hairpins) and tiny_mutagenesis.tsv (two hairpins)."""
    from mirtron_tools.explanation import ExplainRequest, explain

    model, hairpins = str(HERE / "tiny_model.keras"), str(HERE / "synthetic_hairpins.npz")
    sidecars = {"predictions": str(work / "p.tsv"), "aggregate": str(work / "a.tsv")}
    explain(ExplainRequest(hairpins, str(HERE / "tiny_attention.tsv"), model=model, **sidecars))
    explain(ExplainRequest(hairpins, str(HERE / "tiny_mutagenesis.tsv"), "mutagenesis", model=model,
                           ids=["syn_mirtron_0001", "syn_canonical_0001"], **sidecars))


def make_coverage_data() -> None:
    """Simulated genome, candidates, reads (BAM) and the mt-encode / mt-coverage goldens for them."""
    from simulate import ExpressionLevel, loci_bed_rows, place_hairpins, simulate_reads, write_alignments

    from mirtron_tools.read_collection import CollectRequest, collect

    hairpins = ([(identifier, sequence, True) for identifier, sequence
                 in hairpin_set(8, True, seed=31, prefix="sim_mirtron_")]
                + [(identifier, sequence, False) for identifier, sequence
                   in hairpin_set(8, False, seed=32, prefix="sim_canonical_")])
    genome = place_hairpins(hairpins, seed=41)
    write_fasta(HERE / "sim_genome.fa", genome.contigs.items())
    (HERE / "sim_genome.fa.fai").unlink(missing_ok=True)
    with open(HERE / "sim_candidates.bed", "w") as stream:
        stream.writelines(f"{row}\n" for row in loci_bed_rows(genome.loci))
    with open(HERE / "sim_labels.tsv", "w") as stream:
        stream.write("id\tlabel\n")
        stream.writelines(f"{locus.identifier}\t{'mirtron' if locus.mirtron else 'canonical'}\n"
                          for locus in genome.loci)
    level = ExpressionLevel("test", mirtron_mean=8, canonical_mean=30, zero_fraction=0.15)
    reads = simulate_reads(genome, level, seed=43, background_reads=150)
    write_alignments(HERE / "sim_reads.bam", {name: len(sequence) for name, sequence in genome.contigs.items()},
                     reads)
    encode(HERE / "sim_candidates.bed", HERE / "sim_candidates.npz", genome=HERE / "sim_genome.fa")
    collect(CollectRequest(str(HERE / "sim_candidates.npz"), [str(HERE / "sim_reads.bam")],
                           str(HERE / "sim_candidates.cov.npz"), str(HERE / "sim_candidates.cov.tsv")))


def make_genome_scan_data() -> None:
    """scan_genome.fa(.fai) + scan_genes.gtf / scan_genes.gff3 + scan_planted.bed and the golden
    mt-encode --annotation output scan_candidates.npz/.tsv (tests/simulate.py, seed 51)."""
    import pysam
    from simulate import gff3_lines, gtf_lines, simulate_gene_models

    from mirtron_tools.genome_scan import scan_genome, write_scan

    models = simulate_gene_models(51)
    with open(HERE / "scan_genome.fa", "w") as stream:
        for name in models.contigs:
            sequence = models.sequence(name)
            stream.write(f">{name}\n")
            stream.writelines(f"{sequence[start:start + 60]}\n" for start in range(0, len(sequence), 60))
    (HERE / "scan_genome.fa.fai").unlink(missing_ok=True)
    pysam.faidx(str(HERE / "scan_genome.fa"))
    (HERE / "scan_genes.gtf").write_text("\n".join(gtf_lines(models)) + "\n")
    (HERE / "scan_genes.gff3").write_text("\n".join(gff3_lines(models)) + "\n")
    with open(HERE / "scan_planted.bed", "w") as stream:
        stream.writelines(f"{locus.contig}\t{locus.start}\t{locus.end}\t{locus.identifier}|{locus.subtype}\t0\t"
                          f"{locus.strand}\n" for locus in models.planted)
    write_scan(HERE / "scan_candidates.npz", scan_genome(HERE / "scan_genome.fa", HERE / "scan_genes.gtf"))


def make_scan_reads() -> None:
    """scan_reads.bam: reads of the planted mirtrons of scan_genome.fa (the read-aware workflow test)."""
    from simulate import planted_bam

    planted_bam(HERE / "scan_reads.bam", HERE)
    (HERE / "scan_reads.bam.bai").unlink()  # Galaxy indexes what it uploads; mt-coverage indexes into its cache


def make_scan_pieces() -> None:
    """The genome scan in 3 pieces and in one job (see the module docstring)."""
    import shutil
    import tempfile

    from mirtron_tools.genome_scan import plan_scan, scan_genome, scan_plan, write_scan
    from mirtron_tools.predict_run import PredictRequest, predict
    from mirtron_tools.scan.parameters import ScanParameters

    genome, annotation, decoys = HERE / "scan_genome.fa", HERE / "scan_genes.gtf", ScanParameters(decoys=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        plan_scan(genome, annotation, work / "plans", 3, decoys)
        shutil.copyfile(work / "plans" / "piece_1.plan.npz", HERE / "scan_piece_1.plan.npz")
        for index in (1, 2, 3):
            write_scan(work / f"piece_{index}.npz", scan_plan(work / "plans" / f"piece_{index}.plan.npz", genome))
            predict(PredictRequest([str(work / f"piece_{index}.npz")], str(HERE / f"scan_piece_{index}.scores.npz"),
                                   "npz"))
        write_scan(work / "whole.npz", scan_genome(genome, annotation, decoys))
        predict(PredictRequest([str(work / "whole.npz")], str(HERE / "scan_calls.bed"), "bed",
                               survey=str(HERE / "scan_survey.tsv"), known=str(HERE / "scan_planted.bed")))


def make_coverage_model(work: Path) -> None:
    """tiny_coverage_model.keras: a coverage-channel model small enough for Galaxy tool tests."""
    from mirtron_tools.datasets import join_coverage, read_training_data

    data = read_training_data(encoded=HERE / "sim_candidates.npz", labels=HERE / "sim_labels.tsv")
    join_coverage(data, [HERE / "sim_candidates.cov.npz"])
    train_tiny(HERE / "tiny_coverage_model.keras", work, data, 7, 5, 4)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        for part in sys.argv[1:]:
            globals()[f"make_{part}"]()
    else:
        main()
