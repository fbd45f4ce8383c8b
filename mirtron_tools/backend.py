"""TensorFlow loaded quietly, once, with a thread limit: for the commands and for library users and scripts.

TensorFlow is imported only where a model is built, trained or run (``mt-encode --help`` stays instant);
call :func:`load_tensorflow` first to keep its start-up noise off standard error.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator


@contextlib.contextmanager
def _stderr_silenced(active: bool) -> Iterator[None]:
    """Silence file descriptor 2 (C++ start-up messages of TensorFlow bypass Python logging)."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_tensorflow(debug: bool = False, threads: int | None = None) -> None:
    """Import TensorFlow and Keras without their start-up noise (unless --debug)."""
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        warnings.filterwarnings("ignore", module="keras")
    with _stderr_silenced(not debug):
        import keras  # noqa: F401
        import tensorflow as tf

        if threads:
            with contextlib.suppress(RuntimeError):  # already initialised: keep its setting
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
    if not debug:
        tf.get_logger().setLevel(logging.ERROR)
