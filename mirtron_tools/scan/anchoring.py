"""The stem-loop anchored at a splice site of a folded window, trimmed like a miRBase hairpin
(rule step 3 of :mod:`mirtron_tools.scan`)."""
from __future__ import annotations

import numpy as np

from .parameters import ScanParameters


def pair_table(structure: str) -> np.ndarray:
    """Partner index of each position (-1 when unpaired) of a dot-bracket string."""
    partners = np.full(len(structure), -1, dtype=np.int64)
    stack = []
    for position, letter in enumerate(structure):
        if letter == "(":
            stack.append(position)
        elif letter == ")":
            opening = stack.pop()
            partners[opening] = position
            partners[position] = opening
    return partners


def anchored_hairpin(structure: str, anchor: str, parameters: ScanParameters) -> tuple[int, int, int] | None:
    """The stem-loop anchored at one end of a folded window, trimmed like a miRBase hairpin.

    ``anchor`` is ``"3"`` (acceptor at the window's 3' end) or ``"5"`` (donor at its 5' end).
    Returns ``(first, last_exclusive, splice_distance)`` as offsets in the window, or None
    when no stem-loop passes the rule of the module docstring. The hairpin reaches the splice
    site; ``splice_distance`` is the number of unpaired nt between its stem and the splice site.
    """
    partners = pair_table(structure)
    paired = np.flatnonzero(partners >= 0)
    if paired.size == 0:
        return None
    size = len(structure)
    if anchor == "3":
        closing = int(paired[-1])
        opening = int(partners[closing])
        first, last = max(opening - parameters.flank_5p, 0), size
        distance = size - 1 - closing
    elif anchor == "5":
        opening = int(paired[0])
        closing = int(partners[opening])
        first, last = 0, min(closing + 1 + parameters.flank_3p, size)
        distance = opening
    else:
        raise ValueError(f"anchor must be '3' or '5', not {anchor!r}")
    length = last - first
    if distance > parameters.max_splice_distance or not parameters.min_hairpin_length <= length <= parameters.window:
        return None
    if int(np.count_nonzero(partners[opening:closing + 1] >= 0)) // 2 < parameters.min_base_pairs:
        return None
    return first, last, distance
