"""Keep numpy's BLAS on one thread per caller while the scorer runs its own threads.

The matrix products of the LSTM step are small (a batch of 256 by 48 by 192): OpenBLAS splits them over
every core anyway, which costs more than it brings (10x slower on a busy 2-core machine, measured), and
multiplies with the scorer's own threads. Best effort: OpenBLAS (as bundled with numpy wheels, or a
system one) is found among the loaded libraries; with any other BLAS nothing is changed.
"""
from __future__ import annotations

import ctypes
import logging

logger = logging.getLogger(__name__)

#: setters exported by OpenBLAS builds: numpy's bundled scipy-openblas (64-bit integers) and plain OpenBLAS
SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
           "openblas_set_num_threads")


def _loaded_openblas() -> list[str]:
    import numpy  # noqa: F401  (loads numpy's BLAS)

    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:  # not Linux: leave the BLAS as it is
        return []
    return sorted(paths)


def limit_blas_threads(count: int = 1) -> bool:
    """Set OpenBLAS to ``count`` threads; True when a setter was found and called."""
    for path in _loaded_openblas():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter(ctypes.c_int(count))
                logger.debug("OpenBLAS (%s) set to %d thread(s)", path, count)
                return True
    return False
