"""Scoring without TensorFlow: the bundled and mt-train models evaluated in numpy.

:func:`load_scorer` reads a ``.keras`` model file (its Keras graph ``config.json``, its weights
``model.weights.h5`` through h5py, and the mirtron_tools manifest) and returns a :class:`Scorer`. The graph
is evaluated layer by layer in numpy (:mod:`~mirtron_tools.inference.graph`,
:mod:`~mirtron_tools.inference.layers`): the masked bidirectional LSTM with attention pooling, the motif
convolution, the fixed feature layers, boosted trees, blends and mixtures. A model with a layer this path
does not know is scored by Keras instead (TensorFlow is then imported), with one log line saying so.

Nothing is written beside the model file: what the numpy path needs is in the ``.keras`` archive itself, so
every model saved so far (and by any version of mt-train) is read as it is.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..batches import length_batches, pad
from ..errors import ModelError
from .blas import limit_blas_threads
from .graph import Graph
from .layers import Unsupported

logger = logging.getLogger(__name__)

#: the saved names of an ensemble's members that are not attention networks (those of
#: :data:`mirtron_tools.ensemble.FEATURE_MEMBERS`; a test checks they agree)
FEATURE_MEMBERS = ("kmer_logistic", "feature_logistic", "boosted_trees")
#: the name of the attention layer in a network (:data:`mirtron_tools.model.ATTENTION_LAYER`)
ATTENTION_LAYER = "attention"
ATTENTION_CLASS = "mirtron_tools>AttentionPooling"

Progress = Callable[[int], None]
#: set to ``keras`` to score with Keras (TensorFlow) as before, e.g. to compare (bench/light_scoring.py)
ENGINE_VARIABLE = "MIRTRON_TOOLS_ENGINE"


class Scorer:
    """A loaded model: :meth:`predict` gives probabilities, :meth:`attention` the attention read-out.

    ``manifest`` is the model's manifest, ``path`` its file and ``engine`` ``"numpy"`` or ``"keras"``.
    Inputs are per-hairpin ``(length, channels)`` float32 arrays, as
    :func:`mirtron_tools.encoding.model_inputs` makes them; outputs are in input order.
    """

    engine = "numpy"

    def __init__(self, path: str | os.PathLike, manifest: dict, graph: Graph, threads: int = 1):
        self.path, self.manifest, self.graph, self.threads = Path(path), manifest, graph, max(1, threads)

    def predict(self, arrays: Sequence[np.ndarray], batch_size: int = 256,
                progress: Progress | None = None) -> np.ndarray:
        """``(n,)`` float32 probabilities of the model's output; with ``threads`` > 1 batches are scored in
        that many threads at once (numpy releases the interpreter lock in its array operations)."""
        probabilities = np.empty(len(arrays), dtype=np.float32)

        def score(item):
            rows, batch = item
            return rows, np.asarray(self.graph(batch)[0], dtype=np.float32).reshape(-1)

        batches = _batches(arrays, batch_size)
        if self.threads > 1 and len(arrays) > batch_size:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(self.threads) as pool:
                results = pool.map(score, batches)
                for rows, values in results:
                    probabilities[rows] = values
                    if progress is not None:
                        progress(len(rows))
            return probabilities
        for item in batches:
            rows, values = score(item)
            probabilities[rows] = values
            if progress is not None:
                progress(len(rows))
        return probabilities

    def attention_readers(self) -> list[Graph]:
        """The graphs whose attention layer is read: the network, or an ensemble's networks."""
        members = [graph for name, graph in self.graph.nested.items() if name not in FEATURE_MEMBERS]
        graphs = members or [self.graph]
        for graph in graphs:
            if graph.classes.get(ATTENTION_LAYER) != ATTENTION_CLASS:
                raise ModelError(f"{self.path}: the model has no attention layer")
        return graphs

    def attention(self, arrays: Sequence[np.ndarray], batch_size: int = 256
                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Probabilities and per-position attention weights (unpadded, one array per hairpin); for an
        ensemble the mean of its networks' weights, as :func:`mirtron_tools.model.attention_model`."""
        readers = self.attention_readers()
        probabilities = np.empty(len(arrays), dtype=np.float32)
        weights: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * len(arrays)
        for rows, batch in _batches(arrays, batch_size):
            probabilities[rows] = np.asarray(self.graph.evaluate(batch)[0], dtype=np.float32).reshape(-1)
            parts = [reader.last[(ATTENTION_LAYER, 0, 1)] for reader in readers]
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            mean = total / np.float32(len(parts)) if len(parts) > 1 else total
            for position, row in enumerate(rows):
                weights[row] = np.asarray(mean[position, : len(arrays[row])], dtype=np.float32)
        return probabilities, weights


class KerasScorer(Scorer):
    """The same interface over a Keras model (a model with a layer the numpy path does not know)."""

    engine = "keras"

    def __init__(self, path: str | os.PathLike, manifest: dict, model):
        self.path, self.manifest, self.model = Path(path), manifest, model

    def predict(self, arrays: Sequence[np.ndarray], batch_size: int = 256,
                progress: Progress | None = None) -> np.ndarray:
        from ..prediction import predict_arrays

        return predict_arrays(self.model, arrays, batch_size, progress)

    def attention(self, arrays: Sequence[np.ndarray], batch_size: int = 256
                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        from ..prediction import attention_arrays

        return attention_arrays(self.model, arrays, batch_size)

    def attention_readers(self) -> list[Graph]:
        from ..prediction import _attention_reader

        _attention_reader(self.model)  # raises ModelError without an attention layer
        return []


def _batches(arrays: Sequence[np.ndarray], batch_size: int):
    """Length-sorted batches padded to their longest hairpin (no rounding: numpy does not retrace)."""
    for rows in length_batches([len(array) for array in arrays], batch_size):
        yield rows, pad([arrays[row] for row in rows], quantum=1)


def numpy_graph(path: str | os.PathLike) -> Graph:
    """The model file's graph for numpy; raises :class:`Unsupported` when a layer is not known here."""
    from ..io.model import read_network

    config, weights = read_network(path)
    try:
        return Graph(config, weights)
    except (KeyError, TypeError, ValueError, IndexError) as error:  # a graph not laid out as Keras 3 saves it
        raise Unsupported(f"unexpected graph ({type(error).__name__}: {error})") from None


def load_scorer(path: str | os.PathLike, manifest: dict | None = None,
                prepare_keras: Callable[[], None] | None = None, threads: int = 1) -> Scorer:
    """The :class:`Scorer` of a model file: numpy when every layer is known here, else Keras (one log line;
    ``prepare_keras`` runs first, e.g. to import TensorFlow quietly). ``manifest``: the manifest when
    already read and checked (else it is read here, its format checked). ``threads``: batches scored at
    once; numpy's OpenBLAS is then kept to one thread per batch (:func:`~.blas.limit_blas_threads`)."""
    from ..io.model import read_manifest

    if manifest is None:
        manifest = read_manifest(path, check=False)
    if os.environ.get(ENGINE_VARIABLE, "").lower() == "keras":
        logger.info("%s=keras: scoring %s with Keras (TensorFlow)", ENGINE_VARIABLE, Path(path).name)
    else:
        try:
            graph = numpy_graph(path)
            limit_blas_threads(1)
            return Scorer(path, manifest, graph, threads)
        except Unsupported as error:
            logger.info("%s: %s is not in the numpy scorer; scoring with Keras (TensorFlow)", Path(path).name, error)
    if prepare_keras is not None:
        prepare_keras()
    from ..io.model import load_model

    model, manifest = load_model(path)
    return KerasScorer(path, manifest, model)


__all__ = ["ENGINE_VARIABLE", "KerasScorer", "Scorer", "Unsupported", "load_scorer", "numpy_graph"]
