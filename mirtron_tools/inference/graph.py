"""A Keras functional graph (the ``config.json`` of a ``.keras`` file) evaluated in numpy.

The graph is walked in its saved order; each layer's inbound nodes name the tensors they read
(``keras_history``: layer, node, output) and the keyword arguments (``mask``) they were called with. The
variables of a layer are found where Keras' saving code puts them: under ``layers/<class in snake_case>``
(``dense``, ``dense_1``, ... in the order of the layers), nested models under their own ``layers/``.
"""
from __future__ import annotations

import re
import threading
from typing import Any, Sequence

import numpy as np

from .layers import BUILDERS, Unsupported, bidirectional_lstm

Tensors = dict[tuple[str, int, int], Any]


def snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: ``BoostedTrees`` -> ``boosted_trees``, ``Conv1D`` -> ``conv1d``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _variables(weights: dict[str, np.ndarray], group: str) -> list[np.ndarray]:
    """The arrays ``group/vars/0``, ``group/vars/1``, ... in order."""
    found: dict[int, np.ndarray] = {}
    prefix = f"{group}/vars/"
    for key, value in weights.items():
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            found[int(key[len(prefix):])] = value
    if sorted(found) != list(range(len(found))):
        raise Unsupported(f"weights of {group} are not numbered 0..n")
    return [found[index] for index in range(len(found))]


def _history(value: Any, tensors: Tensors) -> Any:
    """Call arguments with every saved tensor reference replaced by its array."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tensors[tuple(value["config"]["keras_history"])]  # type: ignore[index]
    if isinstance(value, list):
        return [_history(item, tensors) for item in value]
    if isinstance(value, dict):
        return {key: _history(item, tensors) for key, item in value.items()}
    return value


def _references(value: Any) -> list[list]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"]]
    if isinstance(value, list):
        return [reference for item in value for reference in _references(item)]
    if isinstance(value, dict):
        return [reference for item in value.values() for reference in _references(item)]
    return []


def _tensor_list(record: Any) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: one ``[name, node, index]`` or a list of them."""
    if record and isinstance(record[0], str):
        return [tuple(record)]  # type: ignore[list-item]
    return [tuple(item) for item in record]


class Graph:
    """One functional model (or a model nested in one) ready to run on numpy arrays.

    ``Graph(config, weights)`` raises :class:`Unsupported` for a layer not in
    :data:`~mirtron_tools.inference.layers.BUILDERS` or weights not where Keras saves them. Calling it on
    the model's input(s) returns its output(s); :attr:`last` keeps every tensor of the last call in this
    thread (and
    :attr:`nested` the nested graphs), so read-outs such as the attention weights come from the same pass.
    """

    def __init__(self, config: dict, weights: dict[str, np.ndarray], prefix: str = "", name: str = "model"):
        body = config["config"]
        self.name = body.get("name", name)
        self.inputs = _tensor_list(body["input_layers"])
        self.outputs = _tensor_list(body["output_layers"])
        self.steps: list[tuple[str, Any, list[dict]]] = []
        self.nested: dict[str, Graph] = {}
        self.classes: dict[str, str] = {}
        self._local = threading.local()
        used: dict[str, int] = {}
        for layer in body["layers"]:
            class_name = layer["class_name"]
            group = f"{prefix}layers/{_unique(snake_case(class_name), used)}"
            name = layer.get("name") or layer["config"]["name"]
            key = layer.get("registered_name") or class_name
            self.classes[name] = key
            if class_name == "InputLayer":
                continue
            if class_name in ("Functional", "Model") and "layers" in layer.get("config", {}):
                graph = Graph(layer, weights, f"{group}/", name)
                self.nested[name] = graph
                call: Any = _graph_call(graph, self)
            elif class_name == "Bidirectional":
                call = bidirectional_lstm(layer["config"], _variables(weights, f"{group}/forward_layer/cell"),
                                          _variables(weights, f"{group}/backward_layer/cell"))
            elif class_name == "LSTM":
                call = BUILDERS["LSTM"](layer["config"], _variables(weights, f"{group}/cell"))
            elif key in BUILDERS:
                call = BUILDERS[key](layer["config"], _variables(weights, group))
            else:
                raise Unsupported(f"layer {name!r} of class {key}")
            self.steps.append((name, call, layer.get("inbound_nodes", [])))
        known = {name for name, _, _ in self.steps} | {name for name, key in self.classes.items()
                                                        if key == "InputLayer"}
        last_read: dict[tuple, int] = {}
        for step, (_, _, nodes) in enumerate(self.steps):
            for node in nodes:
                if not isinstance(node, dict) or not isinstance(node.get("args", []), list):
                    raise Unsupported("a graph saved in another format than Keras 3's")
                for reference in _references(node):
                    if reference[0] not in known:
                        raise Unsupported(f"graph reads {reference[0]!r}, which it does not hold")
                    last_read[tuple(reference)] = step
        outputs = set(self.outputs)
        #: per step, the tensors nothing after it reads (let go then, unless they are outputs)
        self._released: list[list[tuple]] = [[] for _ in self.steps]
        for key, step in last_read.items():
            if key not in outputs:
                self._released[step].append(key)

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """The outputs; intermediate tensors are let go as soon as nothing later reads them."""
        return self._run(inputs, keep=False)

    def evaluate(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """The outputs, keeping every tensor of this graph and of its nested graphs in :attr:`last`."""
        return self._run(inputs, keep=True)

    def _run(self, inputs: Sequence[np.ndarray], keep: bool) -> list[np.ndarray]:
        self._local.keep = keep
        tensors: Tensors = {key: value for key, value in zip(self.inputs, inputs)}
        for step, (name, call, nodes) in enumerate(self.steps):
            for index, node in enumerate(nodes):
                args = _history(node.get("args", []), tensors)
                kwargs = _history(node.get("kwargs", {}), tensors)
                result = call(args, kwargs)
                del args, kwargs
                if isinstance(result, (list, tuple)):
                    for position, value in enumerate(result):
                        tensors[(name, index, position)] = value
                else:
                    tensors[(name, index, 0)] = result
            if not keep:
                for key in self._released[step]:
                    tensors.pop(key, None)
        self._local.last = tensors if keep else {}
        return [tensors[key] for key in self.outputs]

    @property
    def last(self) -> Tensors:
        """Every tensor of this thread's last call (keyed ``(layer, node, output)``)."""
        return getattr(self._local, "last", {})


def _graph_call(graph: Graph, parent: Graph):
    def call(args, kwargs):
        outputs = graph._run(args, keep=getattr(parent._local, "keep", False))
        return outputs if len(outputs) > 1 else outputs[0]
    return call
