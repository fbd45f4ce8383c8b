"""Synthetic hairpins for tests, examples and benchmarks (seeded, no real data).

Mirtron-like hairpins mimic a short spliced intron: they start with the donor ``GU`` and end
with the acceptor ``AG``, are 55-75 nt long, and pair almost to their ends. Canonical-like
hairpins are 75-100 nt with an unpaired basal segment and no splice-site motifs. These are not
biology; they give the tests and the examples something learnable and deterministic.
"""
from __future__ import annotations

import numpy as np

_PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}
_WOBBLE = {"G": "U", "U": "G"}


def _random_sequence(rng: np.random.Generator, length: int, gc: float = 0.5) -> str:
    weights = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return "".join(rng.choice(list("ACGU"), size=length, p=weights))


def _partner_arm(rng: np.random.Generator, arm: str, mismatch_rate: float) -> str:
    partner = []
    for base in reversed(arm):
        draw = rng.random()
        if draw < mismatch_rate:
            partner.append(rng.choice([letter for letter in "ACGU" if letter != _PAIR[base]]))
        elif draw < mismatch_rate * 1.5 and base in _WOBBLE:
            partner.append(_WOBBLE[base])
        else:
            partner.append(_PAIR[base])
    return "".join(partner)


def hairpin(rng: np.random.Generator, mirtron_like: bool) -> str:
    """One synthetic hairpin, upper-case RNA."""
    if mirtron_like:
        stem = int(rng.integers(22, 31))
        loop = int(rng.integers(8, 14))
        arm = "GU" + _random_sequence(rng, stem - 2, gc=0.6)
        other = _partner_arm(rng, arm[2:], 0.08)
        return arm + _random_sequence(rng, loop, gc=0.45) + other[:-2] + "AG" if len(other) > 2 else arm + "AG"
    stem = int(rng.integers(26, 34))
    loop = int(rng.integers(8, 16))
    basal = int(rng.integers(4, 9))
    arm = _random_sequence(rng, stem, gc=0.45)
    sequence = (_random_sequence(rng, basal, gc=0.4) + arm + _random_sequence(rng, loop, gc=0.4)
                + _partner_arm(rng, arm, 0.1) + _random_sequence(rng, basal, gc=0.4))
    # Canonical hairpins rarely carry both splice-site ends; avoid them deliberately.
    if sequence.startswith("GU"):
        sequence = "C" + sequence[1:]
    if sequence.endswith("AG"):
        sequence = sequence[:-1] + "C"
    return sequence


def hairpin_set(count: int, mirtron_like: bool, seed: int, prefix: str) -> list[tuple[str, str]]:
    """``count`` (id, sequence) pairs, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return [(f"{prefix}{index + 1:04d}", hairpin(rng, mirtron_like)) for index in range(count)]
