"""pyproject.toml is the one metadata source: the installed package, CITATION.cff and the imports agree with it."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

import mirtron_tools

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_one_metadata_source():
    assert not (ROOT / "setup.cfg").exists()
    hook = (ROOT / "setup.py").read_text(encoding="utf-8")  # the man-page build hook, no metadata of its own
    assert not re.search(r"\b(name|version|install_requires|entry_points|packages)\s*=", hook)


def test_installed_version_is_the_pyproject_version():
    if mirtron_tools.__version__ == "0+unknown":
        pytest.skip("mirtron_tools is not installed")
    assert mirtron_tools.__version__ == PROJECT["version"] == importlib.metadata.version("mirtron_tools")


def test_citation_carries_the_package_version():
    yaml = pytest.importorskip("yaml")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert citation["title"] == PROJECT["name"]
    assert str(citation["version"]) == PROJECT["version"]
    assert citation["license"] == PROJECT["license"]["text"]


def test_every_third_party_import_is_a_declared_dependency():
    """keras, say, is imported by the package, so it is a dependency, not something TensorFlow happens to bring."""
    standard = set(sys.stdlib_module_names)
    imported = set()
    for path in (ROOT / "mirtron_tools").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(imported - standard - {"mirtron_tools"})
    declared = {_requirement_name(requirement) for requirement in PROJECT["dependencies"]}
    #: import name -> distribution name, where they differ
    distributions = {"RNA": "viennarna"}
    missing = [name for name in third_party if distributions.get(name, name).lower() not in declared]
    assert missing == [], f"imported by mirtron_tools but not in [project] dependencies: {missing}"
    assert "keras" in declared


def test_console_scripts_are_installed_as_declared():
    if mirtron_tools.__version__ == "0+unknown":
        pytest.skip("mirtron_tools is not installed")
    installed = {entry.name: entry.value for entry in importlib.metadata.entry_points(group="console_scripts")
                 if entry.dist is not None and entry.dist.metadata["Name"] == PROJECT["name"]}
    assert installed == PROJECT["scripts"]
