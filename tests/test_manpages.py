"""Man pages: one per mt-* console script, rendered by argparse-manpage from build_parser() at build time."""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import subprocess
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


def _page(command: str) -> str:
    """The page as the build writes it: argparse-manpage's rendering, then setup.py's preformat_epilog."""
    manpage = pytest.importorskip("argparse_manpage.manpage")
    page = str(manpage.Manpage(_parser(command), _data={"prog": command, "project_name": "mirtron_tools",
                                                         "description": SETUP.summary(COMMANDS[command])}))
    return SETUP.preformat_epilog(page)


def _example_lines(command: str) -> list[str]:
    epilog = importlib.import_module(COMMANDS[command]).EPILOG
    return [line for line in epilog.splitlines() if line.lstrip().startswith("mt-")]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_epilog_lines_fit_78_columns(command):
    epilog = importlib.import_module(COMMANDS[command]).EPILOG
    assert _example_lines(command), f"{command}: no example in the epilog"
    assert [line for line in epilog.splitlines() if len(line) > 78] == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_examples_are_preformatted_in_the_page(command):
    lines = _page(command).splitlines()
    assert ".SH COMMENTS" not in lines
    start = lines.index(f".SH {SETUP.EPILOG_TITLE}")
    assert lines[start + 1] == ".nf"
    end = lines.index(".fi", start)
    block = lines[start + 2:end]
    for example in _example_lines(command):  # each example line intact, on one line of the no-fill block
        assert example.replace("\\", "\\\\").replace("-", "\\-") in block


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_rendered_page_keeps_epilog_lines_within_80_columns(command, tmp_path):
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed")
    source = tmp_path / f"{command}.1"
    source.write_text(_page(command), encoding="utf-8")
    result = subprocess.run([groff, "-man", "-Tascii", "-P-cbou", "-rLL=80n", str(source)],
                            capture_output=True, text=True, check=True)
    rendered = result.stdout.splitlines()
    assert [line for line in rendered if len(line) > 80] == []
    stripped = [line.strip() for line in rendered]
    epilog = importlib.import_module(COMMANDS[command]).EPILOG
    for line in filter(None, (line.strip() for line in epilog.splitlines())):  # examples and output tables
        assert line in stripped, f"{command}: {line!r} is not one line of the page"


def test_page_without_epilog_is_unchanged():
    page = '.TH MT\\-X "1"\n.SH NAME\nmt\\-x\n.SH OPTIONS\n'
    assert SETUP.preformat_epilog(page) == page


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_text_line_is_read_as_a_request(command):
    """A line that begins with a quote is a roff request: its text would vanish from the page."""
    assert [line for line in _page(command).splitlines() if line.startswith("'")] == []
    assert "\\&'chr1:100\\-160:+'" in _page("mt-encode")


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
    text = page.read_text(encoding="utf-8")
    assert _missing_options(text, _parser(command)) == []
    assert f".SH {SETUP.EPILOG_TITLE}\n.nf\n" in text  # built with setup.py's preformat_epilog
