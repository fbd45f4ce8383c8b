"""Training settings (recorded in the model manifest), free of TensorFlow: mt-train checks them before it
imports TensorFlow. :mod:`mirtron_tools.training` and :mod:`mirtron_tools.model` re-export them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .boosting import BoostingConfig


@dataclass(frozen=True)
class Architecture:
    """Hyper-parameters of the network (recorded in the model manifest)."""

    lstm_units: int = 48
    attention_units: int = 32
    dense_units: int = 32
    dropout: float = 0.25
    recurrent_dropout: float = 0.0
    motif_filters: int = 32
    motif_width: int = 5

    def to_dict(self) -> dict:
        return asdict(self)


#: ``tree_weight="auto"`` chooses among these shares; the networks always keep at least a tenth, so
#: that the attention read-out (mt-attend) explains a part of every call
AUTO = "auto"
AUTO_TREE_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings (recorded in the model manifest)."""

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    patience: int = 12
    #: what early stopping and the learning-rate schedule watch on the validation data: "loss" or
    #: "auc" (ranking; lets training go on while the loss rises from over-confidence)
    monitor: str = "loss"
    validation_fraction: float = 0.15
    seed: int | None = None
    #: share of the logistic regression member (on k-mer frequencies, and with ``energy`` also on the
    #: 38 structure features) in an ensemble's probability (fit_ensemble only); ``mt-train --kmer-weight``
    regression_weight: float = 0.0
    #: the inputs carry the free-energy channel (``mt-train --energy``); the regression member then
    #: also gets the classic structure and free-energy features
    energy: bool = False
    #: share of gradient-boosted trees (on the regression features plus stem-loop shape and
    #: splice-site features) in an ensemble's probability (fit_ensemble only), or ``"auto"``: the
    #: share of :data:`AUTO_TREE_WEIGHTS` with the best out-of-fold AUC (:func:`choose_tree_weight`)
    tree_weight: float | str = 0.0
    architecture: Architecture = field(default_factory=Architecture)
    #: the tree member's settings (number, depth, ...), when ``tree_weight`` is not 0
    trees: BoostingConfig = field(default_factory=BoostingConfig)

    def check(self, ensemble: int = 1, folds: int = 0, fine_tuning: bool = False) -> None:
        """Raise ValueError when the settings contradict each other or the run (``ensemble`` members,
        ``folds`` of cross-validation, fine-tuning a model). Messages name the fields."""
        if folds == 1 or folds < 0:
            raise ValueError("folds must be 0 (no cross-validation) or at least 2")
        if fine_tuning and (folds or ensemble > 1):
            raise ValueError("init_model fine-tunes the given model as it is: use it without folds and ensemble")
        if not 0 <= self.regression_weight <= 1:
            raise ValueError("regression_weight must be between 0 and 1")
        if self.tree_weight != AUTO and not (isinstance(self.tree_weight, (int, float))
                                             and 0 <= self.tree_weight <= 1):
            raise ValueError("tree_weight must be between 0 and 1, or auto")
        for name, weight in (("regression_weight", self.regression_weight), ("tree_weight", self.tree_weight)):
            if weight and ensemble < 2:
                raise ValueError(f"{name} needs an ensemble of 2 or more members: the {name.split('_')[0]} member "
                                 "joins an ensemble")
        if self.tree_weight == AUTO and self.regression_weight > 0.8:
            raise ValueError("tree_weight auto needs regression_weight 0.8 or less (trees and networks keep at "
                             "least 0.1 each)")
        if self.tree_weight != AUTO and self.regression_weight + float(self.tree_weight) > 1:
            raise ValueError("regression_weight and tree_weight add up to more than 1")
        if self.monitor not in ("loss", "auc"):
            raise ValueError(f"unknown early-stopping monitor {self.monitor!r}")

    def to_dict(self) -> dict:
        record = asdict(self)
        # the manifest key that mt-train has always written and every saved model carries
        record["kmer_weight"] = record.pop("regression_weight")
        record["architecture"] = self.architecture.to_dict()
        record.pop("trees")
        if self.tree_weight:
            record["trees"] = self.trees.to_dict()
        return record


@dataclass(frozen=True)
class InitialModel:
    """A model to fine-tune: the name the user gave (bundled name or file), its file and its manifest."""

    name: str
    path: Path
    manifest: dict
