"""The scan's parameters and vocabulary: the numbers of the candidate rule (see :mod:`mirtron_tools.scan`), the
candidate subtypes and the annotation columns of its output. :mod:`mirtron_tools.encoding` reads the names,
so this module imports nothing from the package."""
from __future__ import annotations

from dataclasses import dataclass

CONVENTIONAL = "conventional"
FIVE_TAILED = "5'-tailed"
THREE_TAILED = "3'-tailed"
SUBTYPES = (CONVENTIONAL, FIVE_TAILED, THREE_TAILED)

#: Annotation columns of a scan's EncodedSet (in this order in the TSV sidecar after sorting).
ANNOTATION_COLUMNS = ("contig", "start", "end", "strand", "subtype", "gene", "transcript", "intron_number",
                      "intron", "splice_distance", "decoy")


@dataclass(frozen=True)
class ScanParameters:
    """Parameters of the candidate rule (see the module docstring); lengths in nt."""

    conventional_min_length: int = 50
    conventional_max_length: int = 150
    window: int = 100
    min_hairpin_length: int = 45
    max_splice_distance: int = 10
    min_base_pairs: int = 15
    flank_5p: int = 4
    flank_3p: int = 2
    prefilter: bool = False
    #: prefilter: helix blocks of this many stacked positions ...
    prefilter_block: int = 12
    #: ... whose pair-energy score (GC -3, AU -2, GU -1, mismatch +2) is at most this.
    prefilter_threshold: float = -13.0
    #: also scan a dinucleotide-shuffled copy of every window (decoys)
    decoys: bool = False

    def check(self) -> None:
        """Raise ValueError when the parameters contradict each other."""
        if not 0 < self.conventional_min_length <= self.conventional_max_length:
            raise ValueError("conventional length range must be 1 <= MIN <= MAX")
        if self.min_hairpin_length > self.window:
            raise ValueError(f"window ({self.window} nt) is shorter than the shortest hairpin "
                             f"({self.min_hairpin_length} nt)")
        if self.max_splice_distance < 0 or self.flank_5p < 0 or self.flank_3p < 0:
            raise ValueError("distances and flanks cannot be negative")
