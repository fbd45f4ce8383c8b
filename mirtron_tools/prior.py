"""Class priors: a model's probabilities and call threshold moved to another share of positives.

A classifier's probability answers "how likely is a positive, among hairpins drawn like the
training data"; the share of positives in that data (its *prior*) is part of the answer. For a
user's own share ``P`` Bayes' rule re-weights the odds (Saerens et al. 2002)::

    odds' = odds * (P / (1 - P)) / (prior / (1 - prior))

``prior`` is the share the model's probabilities correspond to (manifest ``prior``): 0.5 for a
model of mt-train, which weights both classes equally, and the natural share of the data for a
model calibrated on it (the bundled ``genome`` model).

The call threshold is the posterior probability at which the model calls a positive. The
manifest threshold was chosen (best out-of-fold F1) on training data with a share
``threshold_prior`` of positives; at that share the model's probability at the threshold is a
posterior of ``reweight(threshold, prior, threshold_prior)``, and that posterior is kept as the
call threshold at every other share. This is the Bayes decision rule with the costs that the
training-data choice implied: at a lower share a hairpin needs stronger evidence (a higher model
score) to be called, as it should. Re-weighting the threshold like the probabilities instead would
only relabel the same calls (the same ranking cut at any share), which is what calls too many
negatives when positives are rarer than in training. At the share the threshold was chosen at,
nothing changes. The posterior that maximises F1 falls somewhat as positives get rarer (it is
half the best F1 reachable for a calibrated model: Lipton et al. 2014), so at very low shares this
rule leans to precision.

Pure functions (numpy only); the commands wire them to ``--prior``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ModelError

#: mt-train weights both classes equally, so its models' probabilities correspond to a 1:1 share.
BALANCED_PRIOR = 0.5
BALANCED_BASIS = "both classes weighted equally in training (mt-train), so probabilities correspond to a 1:1 share"


def odds(probability: float) -> float:
    return probability / (1.0 - probability)


def check_share(value: float, name: str = "prior") -> float:
    """A share of positives strictly between 0 and 1 (0 or 1 leaves nothing to weigh)."""
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be above 0 and below 1, not {value:g}")
    return value


def reweight(probabilities, from_prior: float, to_prior: float) -> np.ndarray:
    """Probabilities (any shape, in [0, 1]) at share ``from_prior`` moved to share ``to_prior``.

    ``p * r / (p * r + 1 - p)`` with ``r`` the ratio of the two prior odds: monotone, so the
    ranking is kept; 0 and 1 stay 0 and 1. Returns float64.
    """
    ratio = odds(check_share(to_prior, "to_prior")) / odds(check_share(from_prior, "from_prior"))
    values = np.asarray(probabilities, dtype=np.float64)
    return values * ratio / (values * ratio + (1.0 - values))


@dataclass(frozen=True)
class PriorShift:
    """A model's probabilities and threshold moved from its training shares to ``prior``.

    ``model_prior``: the share its probabilities correspond to; ``threshold_prior``: the share of
    positives in the data its threshold was chosen on; ``prior``: the share stated by the user.
    """

    model_prior: float
    threshold_prior: float
    prior: float

    def probabilities(self, probabilities) -> np.ndarray:
        """Re-weighted probabilities, float32 like the model's."""
        return reweight(probabilities, self.model_prior, self.prior).astype(np.float32)

    def threshold(self, threshold: float) -> float:
        """The call threshold on the re-weighted probabilities for the manifest's ``threshold``:
        the posterior it meant at the share it was chosen at (see the module docstring)."""
        return float(reweight(threshold, self.model_prior, self.threshold_prior))

    def model_score(self, probability: float) -> float:
        """The model's own score (before re-weighting) that a re-weighted ``probability`` comes from."""
        return float(reweight(probability, self.prior, self.model_prior))


def prior_shift(manifest: dict, prior: float, name: str) -> PriorShift:
    """The :class:`PriorShift` of a model for a stated ``prior``; a manifest without a usable
    ``prior`` raises :class:`ModelError` naming the model (``name``) and how to rebuild it."""
    check_share(prior)
    model_prior = manifest.get("prior")
    if not isinstance(model_prior, (int, float)) or isinstance(model_prior, bool) or not 0.0 < model_prior < 1.0:
        built_by = str(manifest.get("built_by") or "")  # a command ("python -m recipes NAME") or an old script
        how = (f"rebuild it with {built_by if built_by.startswith('python') else f'python {built_by}'}" if built_by
               else "retrain it with mt-train, which records the prior from this version on")
        raise ModelError(f"{name}: model records no training prior (manifest 'prior'), so --prior cannot "
                         f"re-weight its probabilities; {how}")
    threshold_prior = manifest.get("threshold_prior", model_prior)
    if not isinstance(threshold_prior, (int, float)) or not 0.0 < threshold_prior < 1.0:
        raise ModelError(f"{name}: manifest threshold_prior is {threshold_prior!r}, expected a share above 0 and "
                         "below 1")
    return PriorShift(float(model_prior), float(threshold_prior), float(prior))


def training_prior_record(n_positive: int, n_negative: int) -> dict:
    """Manifest fields of a class-balanced model (mt-train): ``prior``, ``prior_basis`` and
    ``threshold_prior`` (the share of positives of the data the threshold was chosen on)."""
    return {"prior": BALANCED_PRIOR, "prior_basis": BALANCED_BASIS,
            "threshold_prior": float(n_positive) / float(n_positive + n_negative)}

