#!/usr/bin/env python3
"""The README's attention figure: mt-attend's aggregate profile of the bundled model on real data.

Data: the test part of the Rorbach 2018 split (201 putative human mirtrons + 200 canonical
miRNAs, ../shared/data/derived_splits/rorbach2018_split.csv; T written as U), never copied into
the project. Runs mt-attend with --labels, so the figure is split by predicted and true class,
writes docs/attention_rorbach2018_test.png (with --method mutagenesis:
docs/attention_rorbach2018_test_mutagenesis.png; or --output) and prints the numbers the README
sentence rests on: mean relative attention (1 = uniform) over the 10 terminal bases of each end
and over the middle of the hairpin, per group.

Run:  python bench/attention_figure.py [--model NAME|FILE] [--method attention|mutagenesis]
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("MIRTRON_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
SPLIT = SHARED / "derived_splits" / "rorbach2018_split.csv"


def write_inputs(folder: Path) -> tuple[Path, Path, int]:
    """The test split as FASTA and id<TAB>label, T->U; ids made unique."""
    fasta, labels = folder / "rorbach_test.fa", folder / "rorbach_test_labels.tsv"
    seen: set[str] = set()
    count = 0
    with open(SPLIT) as table, open(fasta, "w") as sequences, open(labels, "w") as truth:
        truth.write("id\tlabel\n")
        for row in csv.DictReader(table):
            if row["split"] != "test":
                continue
            identifier = row["id"]
            while identifier in seen:
                identifier += "_dup"
            seen.add(identifier)
            sequences.write(f">{identifier}\n{row['seq'].strip().upper().replace('T', 'U')}\n")
            truth.write(f"{identifier}\t{'mirtron' if row['label'] == 'mirtron' else 'canonical'}\n")
            count += 1
    return fasta, labels, count


def summarise(aggregate: Path, ends: int = 10) -> list[str]:
    """Mean relative score over the ``ends`` terminal bases of each end and over distances 25-35."""
    curves: dict[tuple[str, str], dict[int, float]] = {}
    with open(aggregate) as table:
        for row in csv.DictReader(table, delimiter="\t"):
            curves.setdefault((row["group"], row["end"]), {})[int(row["distance"])] = float(row["mean_relative"])
    lines = [f"{'group':<20}{'5p first ' + str(ends):>14}{'3p last ' + str(ends):>13}{'5p 25-35':>10}"]
    for group in sorted({group for group, _ in curves}):
        five, three = curves[(group, "5p")], curves[(group, "3p")]

        def mean(curve, distances):
            values = [curve[distance] for distance in distances if distance in curve]
            return sum(values) / len(values) if values else float("nan")

        lines.append(f"{group:<20}{mean(five, range(ends)):>14.2f}{mean(three, range(ends)):>13.2f}"
                     f"{mean(five, range(25, 36)):>10.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="default: the bundled human_mirtron model")
    parser.add_argument("--method", default="attention", choices=("attention", "mutagenesis"))
    parser.add_argument("--output", default=None, help="default: docs/attention_rorbach2018_test[_mutagenesis].png")
    parser.add_argument("--threads", default="2")
    args = parser.parse_args()
    if not SPLIT.is_file():
        raise SystemExit(f"{SPLIT} is absent (set MIRTRON_SHARED_DATA to point at shared/data)")
    suffix = "" if args.method == "attention" else "_mutagenesis"
    output = Path(args.output or HERE.parent / "docs" / f"attention_rorbach2018_test{suffix}.png")
    from mirtron_tools.explanation import ExplainRequest, explain

    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        fasta, labels, count = write_inputs(folder)
        print(f"mt-attend {fasta} -o a.tsv --labels {labels} --plots figures --top 0 --method {args.method} "
              f"--threads {args.threads}" + (f" --model {args.model}" if args.model else "") + " (as a library call)")
        explain(ExplainRequest(str(fasta), str(folder / "a.tsv"), args.method, model=args.model, labels=str(labels),
                               top=0, plots=str(folder / "figures"), predictions=str(folder / "a.predictions.tsv"),
                               aggregate=str(folder / "a.aggregate.tsv"), threads=int(args.threads)),
                create_plots=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / "figures" / f"aggregate_{args.method}.png", output)
        print(f"{count} hairpins of the Rorbach 2018 test split; figure: {output}")
        print("\n".join(summarise(folder / "a.aggregate.tsv")))


if __name__ == "__main__":
    main()
