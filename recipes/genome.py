"""Build the bundled genome-scan model (``genome``) from ../shared/data alone, deterministically.

Data (recipes/genome_data.py states every rule): the candidates that the scan's own rule cuts from
19,264 real human introns outside chr19 genes (intronIC's U2 reference set), labelled by exact
matches of known human mirtron hairpins (98 positives in 75 introns, 19,371 background candidates);
plus, if chosen out of fold, the known human mirtron hairpins that no background intron hosts.
Nothing of chr19 is read: its introns are held out, and so are the hairpin training set's chr19
hairpins (recipes/chr19_holdout.py).

Model: gradient-boosted trees (mirtron_tools.boosting, the hairpin models' tree member) on k-mer,
structure, free-energy, stem-loop shape and splice-site features of each candidate, in a Keras model
(BoostedTrees over the registered feature layers), so that it is a ``.keras`` file with a manifest
like the other bundled models. Choices, all made out of fold (5 folds grouped by host gene, chr19 never
read), by average precision on the intron-cut candidates:

1. the weight of the extra positives (0, 0.25 or 1 a hairpin);
2. the tree settings (:data:`TREE_CONFIGS`), with that weight;
3. calibration: Platt scaling of the out-of-fold log-odds, fitted with the background's own class
   balance, folded into the trees (leaves and bias), so that the probability is the chance that a
   scan candidate overlaps a known mirtron at genome scale: the prior (share of positives among the
   intron-cut candidates) is written in the manifest;
4. the call threshold: the highest calibrated out-of-fold cut-off that still recovers half of the
   intron-cut positives.

The recipe is library code (:mod:`mirtron_tools.genome_training`, which ``mt-train --genome-scan`` runs
too); what is particular to these data is here: the intron genome, the labels, the true intron lengths
(the intron genome shortens long introns) and the extra positives.

Usage: python -m recipes genome [--output mirtron_tools/models/genome.keras] [--work recipes/out/genome]
The work folder keeps the intron genome, its scan and the features between runs (``--threads``: scan).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from . import chr19_holdout, genome_data, human_data
from .sources import MODELS, ROOT

OUTPUT = MODELS / "genome.keras"
WORK = ROOT / "recipes" / "out" / "genome"
#: what a rebuild records in its manifest, the command (a model built before the recipes left bench/ records
#: the script that built it then)
BUILT_BY = "python -m recipes genome"
PREVIOUSLY_BUILT_BY = "bench/train_genome_model.py"
SEED = 1
FOLDS = 5
EXTRA_WEIGHTS = (0.0, 0.25, 1.0)
TARGET_RECALL = 0.5
#: what the training data are; the manifest's description adds "; built by" the recipe
DATA_DESCRIPTION = ("genome-scan candidates: scan-cut candidates of 19,264 real human introns outside chr19 genes "
                    "(intronIC U2 reference set) overlapping known human mirtrons vs the rest; GRCh38 chr19 held out")
DESCRIPTION = f"{DATA_DESCRIPTION}; built by {BUILT_BY}"


def scan_background(work: Path, threads: int):
    """The scan's candidates of the background introns, their labels, groups (genes), hosted mirtrons, the
    intron records and how many chr19-gene introns were held out."""
    from mirtron_tools.genome_scan import scan_genome, write_scan
    from mirtron_tools.io.encoded import read_encoded

    work.mkdir(parents=True, exist_ok=True)
    records_path = work / "records.pkl"
    if records_path.exists():
        records, held = pickle.loads(records_path.read_bytes())
    else:
        records, held = genome_data.background_introns()
        records_path.write_bytes(pickle.dumps((records, held)))
    npz = work / "background.npz"
    if not npz.exists():  # mt-encode --genome introns.fa --annotation introns.gtf, the scan's defaults
        fasta, gtf = genome_data.write_genome(records, work)
        write_scan(npz, scan_genome(fasta, gtf, threads=threads))
    encoded = read_encoded(npz)
    labels, hosted = genome_data.label_candidates(encoded, records)
    gene = {record.contig: record.gene for record in records}
    groups = np.array([gene[str(contig)] for contig in encoded.annotations["contig"]])
    return encoded, labels, groups, hosted, records, held


def encode_extra(work: Path, hosted: set[str], threads: int):
    """The extra positives (known mirtrons no background intron hosts), folded alone (mt-encode)."""
    from mirtron_tools.io.encoded import read_encoded

    from .human_mirtron import encode_fasta

    npz = work / "extra_positives.npz"
    if not npz.exists():
        ids, sequences = genome_data.extra_positives(hosted)
        fasta = work / "extra_positives.fa"
        fasta.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, sequences)))
        encode_fasta(fasta, threads)
    return read_encoded(npz)


def true_intron_context(encoded, records) -> np.ndarray:
    """Context columns with each candidate's real intron length (the intron genome shortens long introns)."""
    from mirtron_tools.encoding import context_values

    context = context_values(encoded)
    length = {record.contig: record.intron_length for record in records}
    context[:, 0] = np.log10([length[str(contig)] for contig in encoded.annotations["contig"]]).astype(np.float32)
    return context


def training_data(work: Path = WORK, threads: int = 2):
    """The recipe's :class:`~mirtron_tools.genome_training.GenomeTrainingData` (features cached in ``work``),
    the number of background introns and of chr19-gene introns held out."""
    from mirtron_tools.genome_training import GenomeTrainingData, candidate_features, hairpin_context

    encoded, labels, groups, hosted, records, held = scan_background(work, threads)
    print(f"background: {len(records)} introns ({held} chr19-gene introns held out), {len(labels)} candidates, "
          f"{int((labels == 1).sum())} positive, {int((labels == 0).sum())} background, "
          f"{int((labels < 0).sum())} removed (canonical miRNA)", flush=True)
    extra = encode_extra(work, hosted, threads)
    cache = work / "features.npz"
    if cache.exists():
        stored = np.load(cache)
        features, extra_features = stored["x"], stored["extra"]
    else:
        features = candidate_features(encoded, true_intron_context(encoded, records))
        extra_features = candidate_features(extra, hairpin_context(extra))
        np.savez(cache, x=features, extra=extra_features)
    sources = {"background": genome_data.IIC, "positives": "exact matches of miRBase_set TRUE, "
               "putative_mirtrons_set and mirtronDB human precursors in those introns"}
    return (GenomeTrainingData(encoded, labels, groups, sources, extra=extra, features=features,
                               extra_features=extra_features), len(records), held)


def build(output: Path = OUTPUT, work: Path = WORK, threads: int = 2) -> dict:
    """Scan, label, train, calibrate and write the model (mirtron_tools.genome_training); returns its manifest."""
    from mirtron_tools.backend import load_tensorflow
    from mirtron_tools.genome_training import GenomeTrainingConfig, train_genome_model
    from mirtron_tools.io.model import save_model

    load_tensorflow(threads=threads)  # before the features (their module holds Keras layers)
    data, n_introns, held = training_data(work, threads)
    config = GenomeTrainingConfig(folds=FOLDS, target_recall=TARGET_RECALL, extra_weights=EXTRA_WEIGHTS, seed=SEED)
    trained = train_genome_model(data, config, description=DESCRIPTION)
    manifest = trained.manifest
    manifest["training_data"].update(
        n_introns=n_introns,
        held_out={"chromosome": "GRCh38 chr19", "rule": chr19_holdout.RULE, "introns_held_out": held,
                  "hairpins": json.loads(json.dumps(human_data.human_mirtron_set().report))["dropped_chr19"]})
    manifest["built_by"] = BUILT_BY
    print("out of fold: " + json.dumps({key: round(value, 4) if isinstance(value, float) else value
                                        for key, value in manifest["metrics"]["out_of_fold"].items()}), flush=True)
    save_model(trained.model, output, manifest)
    print(f"{output}: {Path(output).stat().st_size / 1e6:.2f} MB")
    return manifest
