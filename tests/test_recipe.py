"""recipe/meta.yaml: rendered like conda-build would, then held to the bioconda lint rules that apply
to a noarch Python package, and to the package's own metadata (pyproject.toml, PEP 621)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

jinja2 = pytest.importorskip("jinja2")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipe" / "meta.yaml"
#: pip names whose conda package has another name (conda-forge ships matplotlib without Qt as -base)
CONDA_NAMES = {"matplotlib": "matplotlib-base", "tensorflow-cpu": "tensorflow", "pyyaml": "pyyaml"}


def render(text: str) -> dict:
    """Render the recipe's Jinja with conda-build's context functions, then parse the YAML."""
    def pin_subpackage(name, max_pin=None, exact=False):
        return f"pin_subpackage({name}, max_pin={max_pin}, exact={exact})"

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    rendered = environment.from_string(text).render(PYTHON="python", pin_subpackage=pin_subpackage,
                                                    environ={}, os=None)
    return yaml.safe_load(rendered)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pip_requirements(lines: list[str]) -> dict[str, str]:
    """``{conda name: version spec}`` of pip requirements."""
    requirements = {}
    for line in lines:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*(.*?)\s*", line)
        requirements[CONDA_NAMES.get(match.group(1).lower(), match.group(1).lower())] = match.group(2)
    return requirements


def _conda_requirements(entries: list[str]) -> dict[str, str]:
    requirements = {}
    for entry in entries:
        name, _, spec = entry.partition(" ")
        assert name not in requirements, f"{name} listed twice"
        requirements[name] = spec.strip()
    return requirements


def _console_scripts() -> dict[str, str]:
    return dict(pyproject()["project"]["scripts"])


@pytest.fixture(scope="module")
def recipe() -> dict:
    return render(RECIPE.read_text())


def test_package_matches_pyproject(recipe):
    metadata = pyproject()["project"]
    assert recipe["package"] == {"name": metadata["name"].lower(), "version": metadata["version"]}
    assert recipe["about"]["license"] == metadata["license"]["text"]
    assert recipe["about"]["summary"] == metadata["description"]


def test_python_suite_build(recipe):
    build = recipe["build"]
    assert build["noarch"] == "python"
    assert isinstance(build["number"], int) and build["number"] >= 0
    assert re.fullmatch(r"python -m pip install \. --no-deps --no-build-isolation( -vv?v?)?", build["script"])
    assert build["run_exports"] == [f"pin_subpackage({recipe['package']['name']}, max_pin=x.x, exact=False)"]


def test_source_is_the_checkout_or_a_hashed_release(recipe):
    source = recipe["source"]
    if "url" in source:  # bioconda lint: missing_hash
        assert re.fullmatch(r"[0-9a-f]{64}", str(source.get("sha256", ""))), "a url source needs its sha256"
        assert recipe["package"]["version"] in source["url"]
    else:
        assert (RECIPE.parent / source["path"]).resolve() == ROOT


def test_entry_points_match_pyproject(recipe):
    entry_points = dict((part.strip() for part in line.split("=", 1)) for line in recipe["build"]["entry_points"])
    assert entry_points == _console_scripts()


def test_run_requirements_agree_with_pyproject(recipe):
    metadata = pyproject()["project"]
    run = _conda_requirements(recipe["requirements"]["run"])
    assert run.pop("python") == metadata["requires-python"]
    expected = {name: re.sub(r",\s*", ",", spec) for name, spec in _pip_requirements(metadata["dependencies"]).items()}
    assert run == expected


def test_host_has_the_build_requirements(recipe):
    host = _conda_requirements(recipe["requirements"]["host"])
    assert host["python"] == _conda_requirements(recipe["requirements"]["run"])["python"]
    assert "pip" in host
    for requirement in pyproject()["build-system"]["requires"]:
        name, spec = next(iter(_pip_requirements([requirement]).items()))
        assert name in host, f"build requirement {name} missing from host"
        assert host[name] == spec


def test_lint_rules(recipe):
    text = RECIPE.read_text()
    requirements = recipe["requirements"]
    # noarch: python packages cannot use selectors or compilers (bioconda: should_not_be_noarch_*)
    assert not re.search(r"#\s*\[", text)
    assert "compiler(" not in text and "build" not in requirements
    for section in ("host", "run"):
        for entry in requirements[section]:
            # version_constraints_missing_whitespace, lower-case names
            assert re.fullmatch(r"[a-z0-9_.-]+( [<>=!~][^ ]*)?", entry), f"{section}: '{entry}'"
    assert "setuptools" not in _conda_requirements(requirements["run"])  # uses_setuptools
    about = recipe["about"]
    for field in ("home", "license", "summary", "doc_url"):  # missing_home, missing_license, ...
        assert about.get(field), f"about.{field} is missing"
    assert isinstance(recipe["extra"]["identifiers"], list)


def test_every_command_is_tested(recipe):
    commands = recipe["test"]["commands"]
    for name in _console_scripts():  # missing_tests
        assert f"{name} --help" in commands and f"{name} --version" in commands
    assert "mirtron_tools" in recipe["test"]["imports"]
    assert any("share/man/man1" in command for command in commands)


def test_a_drifted_recipe_fails():
    """The checks can fail: an entry point missing and an unspaced constraint are noticed."""
    drifted = render(RECIPE.read_text().replace("    - mt-attend = mirtron_tools.cli.attend:main\n", "")
                     .replace("    - pysam >=0.21\n", "    - pysam>=0.21\n"))
    with pytest.raises(AssertionError):
        test_entry_points_match_pyproject(drifted)
    with pytest.raises(AssertionError):
        test_lint_rules(drifted)
