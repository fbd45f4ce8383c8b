"""Add the training prior and length range to the manifests of the bundled hairpin models.

``human_mirtron`` and ``premirna`` were built before mt-train recorded them (it does from this
version on, so a rebuild by ``python -m recipes human_mirtron`` or ``python -m recipes premirna`` writes
the same fields itself). Nothing is estimated here; each field follows from the build scripts'
own training data and mt-train's recipe:

* ``prior`` 0.5: mt-train weights both classes equally (mirtron_tools.training.balanced_class_weights,
  for the networks and the trees alike), so the probabilities correspond to a 1:1 share;
* ``threshold_prior``: the share of positives in the out-of-fold data the threshold was chosen on,
  i.e. all training hairpins, from the manifest's own counts (mt-train's, after dropping sequences
  labelled both ways);
* ``training_lengths``: the shortest and longest training hairpin, from the build script's data
  (the same sequences; no folding needed).

The genome model already records its prior (calibrated at the natural share of its candidates).
tests/test_prior.py checks these fields against the recipes' data.

Usage: python -m recipes priors
"""
from __future__ import annotations

from pathlib import Path

from . import human_data
from . import premirna as premirna_recipe
from .sources import SHARED


def training_sequences(name: str, shared: Path = SHARED) -> tuple[list[str], list[str]]:
    """``(positives, negatives)``: the sequences a bundled model's build script trains on, without the
    sequences labelled both ways (which mt-train drops)."""
    if name == "premirna":
        positives, negatives = premirna_recipe.deepmirgene_records("cv/whole", shared)
        positive, negative = [sequence for _, sequence in positives], [sequence for _, sequence in negatives]
    elif name == "human_mirtron":
        data = human_data.human_mirtron_set(shared)
        positive = [sequence for sequence, label in zip(data.sequences, data.labels) if label == 1]
        negative = [sequence for sequence, label in zip(data.sequences, data.labels) if label == 0]
    else:
        raise KeyError(name)
    both = set(positive) & set(negative)
    return ([sequence for sequence in positive if sequence not in both],
            [sequence for sequence in negative if sequence not in both])


def prior_fields(name: str, shared: Path = SHARED) -> dict:
    """The manifest fields mt-train records now, from the build script's training data."""
    from mirtron_tools.prediction import training_lengths
    from mirtron_tools.prior import training_prior_record

    positive, negative = training_sequences(name, shared)
    return {**training_prior_record(len(positive), len(negative)),
            "training_lengths": training_lengths([len(sequence) for sequence in positive + negative])}


def record() -> None:
    """Write the fields into the bundled models' manifests (after checking the data are what they saw)."""
    from mirtron_tools.io.model import read_manifest, resolve_model, update_manifest

    for name in ("human_mirtron", "premirna"):
        path = resolve_model(name)
        fields = prior_fields(name)
        data = read_manifest(path)["training_data"]
        positive, negative = training_sequences(name)
        if (len(positive), len(negative)) != (data["n_positive"], data["n_negative"]):
            raise SystemExit(f"{name}: the build script's data ({len(positive)} + {len(negative)}) is not what the "
                             f"model was trained on ({data['n_positive']} + {data['n_negative']}): rebuild it")
        update_manifest(path, fields)
        print(name, fields)
