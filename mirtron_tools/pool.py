"""The one way the package starts worker processes (folding, the genome scan, BAM coverage).

Workers are forked, which is fast and shares the parent's read-only state; once TensorFlow is loaded
they are spawned instead, because forking a process whose TensorFlow threads run can deadlock.
What a worker needs must then travel as picklable arguments (it does already in every caller).
"""
from __future__ import annotations

import multiprocessing
import sys
from multiprocessing.pool import Pool


def start_method() -> str:
    """``"spawn"`` once TensorFlow is imported in this process, else ``"fork"``."""
    return "spawn" if "tensorflow" in sys.modules else "fork"


def process_pool(processes: int) -> Pool:
    """A pool of ``processes`` worker processes (a context manager: ``with process_pool(4) as pool``)."""
    return multiprocessing.get_context(start_method()).Pool(processes)
