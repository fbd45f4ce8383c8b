"""Coverage NPZ (mt-coverage output) and its per-candidate summary table."""
from __future__ import annotations

import os
from typing import Sequence

from ..coverage import COVERAGE_FORMAT_VERSION, COVERAGE_KIND, SUMMARY_HEADER, CoverageSet, merge_coverage
from .atomic import AtomicOutputs
from .npz import read_arrays, write_arrays
from .tsv import write_table

REQUIRED = ("ids", "lengths", "flank", "offsets", "counts", "library_sizes")


def write_coverage(path: str | os.PathLike, coverage: CoverageSet, extra: dict | None = None,
                   group: AtomicOutputs | None = None) -> None:
    """Write the coverage NPZ (raw counts, log1p CPM, settings); ``extra`` adds arrays (e.g. coordinates).

    With ``group`` the NPZ is renamed together with the group's other outputs."""
    write_arrays(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, {**coverage.to_arrays(), **(extra or {})}, group)


def read_coverage(path: str | os.PathLike) -> CoverageSet:
    """Read an mt-coverage NPZ (checks kind, format version and internal consistency)."""
    arrays = read_arrays(path, COVERAGE_KIND, COVERAGE_FORMAT_VERSION, REQUIRED)
    return CoverageSet.from_arrays(arrays, str(path))


def read_coverage_files(paths: Sequence[str | os.PathLike]) -> CoverageSet:
    """Read and join one or more coverage NPZ files (ids unique across them, one flank)."""
    return merge_coverage([(str(path), read_coverage(path)) for path in paths])


def write_summary(path: str | os.PathLike, rows, comments: Sequence[str] = (),
                  group: AtomicOutputs | None = None) -> None:
    write_table(path, SUMMARY_HEADER, rows, comments, group)
