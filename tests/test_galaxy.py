"""Galaxy wrappers agree with the commands they wrap (parsed with the standard library only).

- every ``argument=`` names an option of the command's parser;
- every required option and positional of the command is reachable from the wrapper;
- the wrapper version (@TOOL_VERSION@) is the package version; every mt-* command has a wrapper;
- every test input and golden file exists in test-data/; the workflow's steps are wrappers here.
The wrappers' behaviour is tested in a real Galaxy by galaxy/run_tests.sh.
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import mirtron_tools

ROOT = Path(__file__).resolve().parent.parent
GALAXY = ROOT / "galaxy"
TEST_DATA = ROOT / "test-data"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _console_scripts() -> dict[str, str]:
    """``{command name: module}`` of the mt-* console scripts in pyproject.toml."""
    return {name: target.split(":")[0] for name, target in PROJECT["scripts"].items() if name.startswith("mt-")}


COMMANDS = _console_scripts()
TOOL_FILES = sorted(GALAXY.glob("mt_*.xml"))


def _macros() -> ElementTree.Element:
    return ElementTree.parse(GALAXY / "macros.xml").getroot()


def _tokens() -> dict[str, str]:
    return {token.get("name"): token.text or "" for token in _macros().iter("token")}


def _expanded(tool: ElementTree.Element) -> ElementTree.Element:
    """The tool with its ``<expand macro=...>`` elements replaced by the macros' children (recursively)."""
    macros = {macro.get("name"): macro for macro in _macros().iter("xml")}

    def expand(element: ElementTree.Element) -> None:
        for index, child in enumerate(list(element)):
            if child.tag == "expand":
                element.remove(child)
                for offset, part in enumerate(list(macros[child.get("macro")])):
                    part = ElementTree.fromstring(ElementTree.tostring(part))
                    if part.tag != "yield":
                        element.insert(index + offset, part)
                        expand(part)
            else:
                expand(child)

    expand(tool)
    return tool


def _tool(path: Path) -> ElementTree.Element:
    return _expanded(ElementTree.parse(path).getroot())


def _command_text(tool: ElementTree.Element) -> str:
    text = tool.find("command").text
    for name, value in _tokens().items():
        text = text.replace(name, value)
    return text


def _command_name(tool: ElementTree.Element) -> str:
    return re.search(r"^\s*(mt-[a-z]+)\b", _command_text(tool), re.MULTILINE).group(1)


def _parser(command: str) -> argparse.ArgumentParser:
    return importlib.import_module(COMMANDS[command]).build_parser()


def _param_name(param: ElementTree.Element) -> str:
    return param.get("name") or param.get("argument", "").lstrip("-").replace("-", "_")


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _mentioned_options(command_text: str) -> set[str]:
    """Options on the mt-* command lines themselves (not on the ln/mv/printf lines around them); a
    wrapper with modes has one mt-* line per top-level #if branch."""
    found: set[str] = set()
    for match in re.finditer(r"^\s*mt-[a-z]+\b", command_text, re.MULTILINE):
        line = re.split(r"^\s*&&|^\s*(?:ln|mv|cp|mkdir|printf)\s", command_text[match.start():], flags=re.MULTILINE)[0]
        found |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", line))
    return found


def test_every_command_has_one_wrapper():
    wrapped = [_command_name(_tool(path)) for path in TOOL_FILES]
    assert sorted(wrapped) == sorted(COMMANDS)
    assert [path.name for path in TOOL_FILES] == sorted(f"{name.replace('-', '_')}.xml" for name in COMMANDS)


def test_wrapper_version_is_the_package_version():
    tokens = _tokens()
    assert tokens["@TOOL_VERSION@"] == PROJECT["version"]
    if mirtron_tools.__version__ != "0+unknown":
        assert tokens["@TOOL_VERSION@"] == mirtron_tools.__version__
    assert float(tokens["@PROFILE@"]) >= 23.0
    assert tokens["@THREADS@"] == "\\${GALAXY_SLOTS:-2}"


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda path: path.name)
def test_arguments_exist_in_the_parser(path):
    tool = _tool(path)
    command = _command_name(tool)
    options = _options(_parser(command))
    arguments = [param.get("argument") for param in tool.iter("param") if param.get("argument")]
    assert arguments, f"{path.name} has no argument= at all"
    assert sorted(set(arguments) - options) == []
    # Options written into the command block directly must exist too.
    assert sorted(_mentioned_options(_command_text(tool)) - options) == []


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda path: path.name)
def test_required_options_are_reachable(path):
    tool = _tool(path)
    parser = _parser(_command_name(tool))
    text = _command_text(tool)
    mentioned = _mentioned_options(text)
    data_params = {param.get("name") for param in tool.iter("param") if param.get("type") == "data"}
    for action in parser._actions:
        if action.required and action.option_strings:
            assert mentioned & set(action.option_strings), f"{path.name}: required {action.option_strings} unreachable"
        elif not action.option_strings and action.nargs not in ("?", "*"):
            # A required positional: a data parameter feeds it.
            assert data_params, f"{path.name}: positional {action.dest} has no data input"


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda path: path.name)
def test_house_rules(path):
    tool = _tool(path)
    assert tool.get("version") == "@TOOL_VERSION@+galaxy@VERSION_SUFFIX@"
    assert tool.get("profile") == "@PROFILE@"
    command = tool.find("command")
    assert command.get("detect_errors") == "exit_code"
    assert tool.find("version_command").text == f"{_command_name(tool)} --version"
    assert "@THREADS@" in command.text
    # Every file or free-text parameter is single-quoted where the command line uses it
    # (Cheetah directive lines, '#if $x:' / '#for ...', are logic, not command line).
    quoted_types = {_param_name(p): p.get("type") for p in tool.iter("param")}
    for line in _command_text(tool).splitlines():
        if line.strip().startswith("#"):
            continue
        for match in re.finditer(r"\$\{?([A-Za-z_][\w.]*)\}?", line):
            if quoted_types.get(match.group(1).split(".")[-1]) in ("data", "text"):
                before, after = line[match.start() - 1], line[match.end():match.end() + 1]
                assert before == after == "'", f"{path.name}: {match.group(0)} is not quoted in: {line.strip()}"
    assert tool.find("citations") is not None and tool.find("edam_topics") is not None
    tests = tool.find("tests")
    assert tests is not None and len(tests) >= 2
    assert any(test.get("expect_failure") == "true" for test in tests), f"{path.name}: no failing-input test"
    for test in tests:
        if test.get("expect_failure") != "true":
            assert any(element.tag.startswith("has_") for element in test.iter()) or test.find("output[@file]") is not None


def _test_files(tool: ElementTree.Element) -> set[str]:
    files = set()
    for test in tool.find("tests"):
        for element in test.iter():
            if element.tag == "param" and element.get("value") and element.get("ftype"):
                files.update(element.get("value").split(","))  # a multiple data param lists several
            if element.tag == "output" and element.get("file"):
                files.add(element.get("file"))
    return files


@pytest.mark.parametrize("path", TOOL_FILES, ids=lambda path: path.name)
def test_test_files_exist(path):
    missing = sorted(name for name in _test_files(_tool(path)) if not (TEST_DATA / name).is_file())
    assert missing == []


#: the tool steps of each workflow, in order
WORKFLOW_STEPS = {
    "mirtron_candidates.ga": ["mt_encode", "mt_coverage", "mt_predict", "mt_attend"],
    # plan the pieces, scan each piece, score each piece, merge the pieces' scores
    "genome_scan.ga": ["mt_encode", "mt_encode", "mt_predict", "mt_predict"],
    # the same with each piece's reads collected and scored by the read-aware genome model
    "genome_scan_reads.ga": ["mt_encode", "mt_encode", "mt_coverage", "mt_predict", "mt_predict"],
}


def test_workflow_chains_the_wrappers():
    assert sorted(WORKFLOW_STEPS) == sorted(path.name for path in (GALAXY / "workflows").glob("*.ga"))
    tool_ids = {_tool(path).get("id") for path in TOOL_FILES}
    for workflow_path in sorted((GALAXY / "workflows").glob("*.ga")):
        workflow = json.loads(workflow_path.read_text())
        steps = [step for step in workflow["steps"].values() if step["type"] == "tool"]
        assert [step["tool_id"] for step in steps] == WORKFLOW_STEPS[workflow_path.name]
        assert {step["tool_id"] for step in steps} <= tool_ids
        version = f"{_tokens()['@TOOL_VERSION@']}+galaxy{_tokens()['@VERSION_SUFFIX@']}"
        assert {step["tool_version"] for step in steps} == {version}
        tests = workflow_path.with_name(workflow_path.stem + "-tests.yml")
        assert tests.is_file(), f"{workflow_path.name} has no {tests.name}"
        paths = re.findall(r"(?:path|file): (\S+)", tests.read_text())
        assert paths and all((tests.parent / path).resolve().is_file() for path in paths)
        labels = {output["label"] for step in workflow["steps"].values() for output in step.get("workflow_outputs", [])}
        assert set(re.findall(r"^    (\w+):$", tests.read_text(), re.MULTILINE)) <= labels | set(
            step["label"] for step in workflow["steps"].values())


def test_unknown_argument_is_noticed(tmp_path):
    """The check above can fail: a wrapper naming an option the parser lacks."""
    bad = tmp_path / "mt_encode.xml"
    bad.write_text((GALAXY / "mt_encode.xml").read_text().replace('argument="--plan"', 'argument="--plans"'))
    tool = _expanded(ElementTree.parse(bad).getroot())
    arguments = {param.get("argument") for param in tool.iter("param") if param.get("argument")}
    assert arguments - _options(_parser("mt-encode")) == {"--plans"}
