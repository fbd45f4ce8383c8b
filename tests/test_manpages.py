"""Man pages: one per mt-* console script, rendered by argparse-manpage from build_parser() at build time."""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_setup_py():
    spec = importlib.util.spec_from_file_location("mirtron_tools_setup_py", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs no setup(): that is under __main__
    return module


SETUP = _load_setup_py()
COMMANDS = SETUP.console_scripts()


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings
            if option not in ("-h", "--help")]


def _missing_options(page: str, parser: argparse.ArgumentParser) -> list[str]:
    """Options that the page does not list in bold (roff escapes '-' as '\\-')."""
    text = page.replace("\\-", "-")
    missing = [option for option in _option_strings(parser) if f"\\fB{option}\\fR" not in text]
    missing += [action.metavar or action.dest for action in parser._actions
                if not action.option_strings and f"\\fB{action.metavar or action.dest}\\fR" not in text]
    return missing


def _parser(command: str) -> argparse.ArgumentParser:
    return importlib.import_module(COMMANDS[command]).build_parser()


def test_every_console_script_gets_a_page():
    assert {"mt-encode", "mt-train", "mt-predict"} <= set(COMMANDS)
    for module in COMMANDS.values():
        assert callable(importlib.import_module(module).build_parser)
    specs = SETUP.manpage_specs().splitlines()
    assert [line.split(":")[0] for line in specs] == [f"build/man/{name}.1" for name in sorted(COMMANDS)]
    for line, name in zip(specs, sorted(COMMANDS)):
        assert f":prog={name}:" in line and ":function=build_parser:" in line


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_rendered_page_mentions_every_option(command):
    manpage = pytest.importorskip("argparse_manpage.manpage")
    parser = _parser(command)
    page = str(manpage.Manpage(parser, _data={"prog": command, "description": SETUP.summary(COMMANDS[command]),
                                              "project_name": "mirtron_tools"}))
    assert page.startswith(f'.TH {command.upper().replace("-", chr(92) + "-")} "1"')
    assert _missing_options(page, parser) == []


def test_missing_option_is_noticed():
    parser = argparse.ArgumentParser(prog="mt-x")
    parser.add_argument("--kept")
    parser.add_argument("--dropped")
    parser.add_argument("input", metavar="FASTA")
    page = ".SH OPTIONS\n.TP\n\\fB\\-\\-kept\\fR\n.TP\n\\fBFASTA\\fR\n"
    assert _missing_options(page, parser) == ["--dropped"]


def _editable_install() -> bool:
    """Whether pip installed the package in editable mode (the source tree's own egg-info does not count)."""
    for distribution in importlib.metadata.distributions(name="mirtron_tools"):
        text = distribution.read_text("direct_url.json")
        if text:
            return bool(json.loads(text).get("dir_info", {}).get("editable"))
    return False


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_installed_page(command):
    if _editable_install():
        pytest.skip("editable install: pages are installed only by 'pip install .' (wheel data)")
    page = Path(sys.prefix, "share", "man", "man1", f"{command}.1")
    assert page.is_file(), f"{page} was not installed"
    assert _missing_options(page.read_text(encoding="utf-8"), _parser(command)) == []
