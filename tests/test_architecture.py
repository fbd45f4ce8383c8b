"""The shape of the house (docs/architecture.md): imports go down the floors only, with no circles.

The package's import graph is read from the source (ast), module-level and function-level imports both;
imports under ``if TYPE_CHECKING:`` are for type hints only and are left out. Floors, bottom to top:

0. foundation: errors, configuration dataclasses, the process-pool helper, the package's version;
1. pure library: arrays and data types (encoding, coordinates, the scan, coverage, metrics), no file access;
2. Keras layers (the network, its feature layers, the ensembles);
3. io/: the only code that opens files; it reads and writes the data types of the floors below (so it sits
   above them: an EncodedSet is defined where it is computed, and io/encoded.py writes it);
4. library entry points (training, prediction, scoring, attribution, manifests, figures);
5. cli/: the commands. A command module never imports another command module (shared wiring is in
   cli/common.py).

A module may import from its own floor (no circles) or any floor below, never from a floor above.
"""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mirtron_tools"

#: Floors from the bottom up; a name ending in ".*" covers a package's modules (and the package itself).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("mirtron_tools", "errors", "config", "boosting", "pool", "models", "backend", "progress")),
    ("pure library", ("coordinates", "encoding", "scan.*", "coverage", "batches", "metrics", "prior", "survey",
                      "pieces", "scores", "inputs", "reads", "report", "inference.blas", "inference.features",
                      "inference.graph", "inference.layers")),
    ("Keras layers", ("features", "model", "ensemble")),
    ("io", ("io.*",)),
    ("entry points", ("training", "prediction", "scoring", "attribution", "manifest", "plots", "recipes.*",
                      "calls", "listing", "selection", "predict_run", "datasets", "candidates", "genome_scan",
                      "genome_training", "trained_model", "read_collection", "inference", "explanation")),
    ("cli", ("cli.*",)),
)
MAX_CLI_LINES = 200


def _modules() -> dict[str, Path]:
    """Dotted name (without the ``mirtron_tools.`` prefix; the package itself is ``mirtron_tools``) -> file."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts) or "mirtron_tools"] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (hints only, not run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(inner) for inner in ast.walk(child))
    return skipped


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports anywhere in its file (module or function level)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_nodes(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if name == "mirtron_tools":
        package = []
    found: set[str] = set()

    def add(dotted: str) -> None:
        dotted = dotted.removeprefix("mirtron_tools").removeprefix(".") or "mirtron_tools"
        if dotted in modules:
            found.add(dotted)

    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mirtron_tools":
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                prefix = ".".join(["mirtron_tools", *base, *([node.module] if node.module else [])])
            elif (node.module or "").split(".")[0] == "mirtron_tools":
                prefix = node.module or ""
            else:
                continue
            for alias in node.names:
                submodule = f"{prefix}.{alias.name}"
                short = submodule.removeprefix("mirtron_tools.")
                add(submodule if short in modules else prefix)
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _floor(name: str) -> int:
    for number, (_, patterns) in enumerate(FLOORS):
        for pattern in patterns:
            if name == pattern or (pattern.endswith(".*") and (name == pattern[:-2]
                                                               or name.startswith(pattern[:-1]))):
                return number
    raise LookupError(name)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source():
    graph = _graph()
    # a module-level import, a function-level one and a package-relative one, each found
    assert "errors" in graph["io.text"]
    assert "encoding" in graph["io.encoded"]
    assert {"model", "ensemble", "features"} <= graph["io.model"]  # registered inside load_model
    assert "cli.common" in graph["cli.train"]


def test_the_circle_finder_finds_circles():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_every_module_has_a_floor():
    unplaced = [name for name in _modules() if _try_floor(name) is None]
    assert not unplaced, f"add these modules to a floor in tests/test_architecture.py: {unplaced}"


def _try_floor(name: str) -> int | None:
    try:
        return _floor(name)
    except LookupError:
        return None


def test_no_import_circles():
    assert _circles(_graph()) == []


def test_imports_only_go_down():
    upward = [f"{name} ({FLOORS[_floor(name)][0]}) imports {target} ({FLOORS[_floor(target)][0]})"
              for name, targets in sorted(_graph().items()) for target in sorted(targets)
              if _try_floor(name) is not None and _try_floor(target) is not None and _floor(target) > _floor(name)]
    assert not upward, "\n".join(upward)


def _command_modules() -> set[str]:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return {target.split(":")[0].removeprefix("mirtron_tools.") for target in scripts.values()}


def test_a_command_never_imports_another_command():
    commands = _command_modules()
    assert commands and all(command.startswith("cli.") for command in commands)
    graph = _graph()
    crossing = [f"{command} imports {target}" for command in sorted(commands)
                for target in sorted(graph[command] & commands)]
    assert not crossing, crossing


def test_every_module_is_reached_from_the_commands():
    """Nothing ships that only tests or benchmarks use (the simulators live in tests/simulate.py)."""
    graph = _graph()
    reached: set[str] = set()
    waiting = list(_command_modules())
    while waiting:
        name = waiting.pop()
        if name not in reached:
            reached.add(name)
            waiting.extend(graph[name])
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"}
    assert sorted(set(graph) - reached - packages) == []


def test_the_bench_scripts_have_no_import_circles():
    scripts = {path.stem: path for path in (ROOT / "bench").glob("*.py")}
    graph = {}
    for name, path in scripts.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in scripts)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module in scripts:
                targets.add(node.module)
        graph[name] = targets - {name}
    assert _circles(graph) == []


def test_no_cli_module_is_over_200_lines():
    long = {path.name: count for path in sorted((PACKAGE / "cli").glob("*.py"))
            if (count := len(path.read_text().splitlines())) > MAX_CLI_LINES}
    assert not long, f"cli modules over {MAX_CLI_LINES} lines: {long}"


def _command_calls(path: Path) -> list[str]:
    """``name.main(...)`` calls in a script on a command module imported from mirtron_tools.cli, and calls of
    a ``main`` imported from one ("file:line name.main")."""
    tree = ast.parse(path.read_text(), str(path))
    commands = {name.removeprefix("cli.") for name in _command_modules()}
    aliases: set[str] = set()
    mains: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "mirtron_tools.cli":
            aliases.update(alias.asname or alias.name for alias in node.names if alias.name in commands)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").removeprefix("mirtron_tools.cli.") in commands:
            mains.update(alias.asname or alias.name for alias in node.names if alias.name == "main")
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Attribute) and function.attr == "main" and isinstance(function.value, ast.Name) \
                and function.value.id in aliases:
            found.append(f"{path.name}:{node.lineno} {function.value.id}.main")
        elif isinstance(function, ast.Name) and function.id in mains:
            found.append(f"{path.name}:{node.lineno} main")
    return found


def test_the_command_call_finder_finds_calls(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("from mirtron_tools.cli import encode as e, common\nfrom mirtron_tools.cli.train import main\n"
                      "e.main(['x'])\nmain([])\ncommon.run(None)\n")
    assert _command_calls(script) == ["script.py:3 e.main", "script.py:4 main"]


def test_bench_and_test_data_call_the_library_not_the_commands():
    scripts = sorted((ROOT / "bench").glob("*.py")) + sorted((ROOT / "test-data").glob("*.py"))
    calls = [f"{path.parent.name}/{call}" for path in scripts for call in _command_calls(path)]
    assert not calls, f"{len(calls)} command calls: {calls}"


def test_tests_marked_slow_get_the_slow_budget():
    """pyproject's pytest-timeout ``timeout`` is the budget of a default-run test; tests marked slow get
    conftest.SLOW_TIMEOUT, unless they set their own."""
    import conftest

    class Item:
        def __init__(self, *marks):
            self.marks = list(marks)

        def get_closest_marker(self, name):
            return next((mark for mark in self.marks if mark.name == name), None)

        def add_marker(self, marker):
            self.marks.append(marker.mark)

    slow, fast, own = Item(pytest.mark.slow.mark), Item(), Item(pytest.mark.slow.mark, pytest.mark.timeout(5).mark)
    conftest.pytest_collection_modifyitems(None, [slow, fast, own])
    assert slow.get_closest_marker("timeout").args == (conftest.SLOW_TIMEOUT,)
    assert fast.get_closest_marker("timeout") is None and own.get_closest_marker("timeout").args == (5,)
    budget = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["timeout"]
    assert 0 < budget < conftest.SLOW_TIMEOUT
