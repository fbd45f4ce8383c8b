"""The README's examples run as written: every mt-* command line in it parses with its command's own
parser and names input files that exist; the examples that take under a minute are run."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, SHARED_DATA

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = {"mt-encode": "encode", "mt-coverage": "coverage", "mt-train": "train", "mt-predict": "predict",
            "mt-attend": "attend"}
#: Blocks run by test_quick_examples_run_as_written, by their first command; the others take minutes
#: (the chr19 genome scan: about 4 min on 2 cores; the explicit pipeline, whose toy training runs
#: about 1 min of CPU) or install software (pip, pytest).
QUICK = ("mt-predict examples/hairpins.fa -o calls.tsv --labels examples/labels.tsv",)


def code_blocks(text: str) -> list[tuple[str, list[str]]]:
    """``(language, command lines)`` of every fenced bash or console block; continuations joined,
    shell comments dropped, console blocks reduced to their ``$`` lines."""
    blocks = []
    for language, body in re.findall(r"```(bash|console)\n(.*?)```", text, flags=re.S):
        joined = body.replace("\\\n", " ")
        lines = [line.strip() for line in joined.splitlines() if line.strip()]
        if language == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        lines = [re.sub(r"\s+#.*$", "", line) for line in lines]
        blocks.append((language, [re.sub(r"\s+", " ", line) for line in lines]))
    return blocks


def _expand(line: str, variables: dict[str, str]) -> str:
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        line = line.replace(f"${name}", value)
    return line


def example_commands() -> list[str]:
    """Every mt-* command of the README, with its shell variables expanded (a loop's own variables,
    unknown here, stay as ``$name``)."""
    commands, variables = [], {}
    for _, lines in code_blocks(README):
        for line in lines:
            words = line.split()
            if words and all(re.fullmatch(r"[A-Z]+=\S+", word) for word in words):
                variables.update(_expand(word, variables).split("=", 1) for word in words)
                continue
            for part in re.split(r"\s*(?:&&|;|\|)\s*", line):
                part = re.sub(r"^(?:do|then)\s+", "", part.strip())
                if part.split(" ", 1)[0] in COMMANDS:
                    commands.append(_expand(part, variables))
    return commands


def test_readme_has_the_examples():
    commands = example_commands()
    assert len(commands) >= 7 and all(quick in commands for quick in QUICK)


@pytest.mark.parametrize("line", example_commands())
def test_every_example_parses_and_names_existing_inputs(line, shared_data):
    import importlib

    words = [re.sub(r"\$\w+", "piece_01", word) for word in shlex.split(line)]  # a loop's variables
    module = importlib.import_module(f"mirtron_tools.cli.{COMMANDS[words[0]]}")
    try:
        args = module.build_parser().parse_args(words[1:])
    except SystemExit as stop:  # argparse: an unknown option or a bad value
        pytest.fail(f"README example does not parse ({stop.code}): {line}")
    earlier = example_commands()[:example_commands().index(line)]
    made = {word for command in earlier for word in shlex.split(command)}  # outputs of earlier examples
    for name in INPUT_OPTIONS:
        values = getattr(args, name, None)
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or value in made or name == "model" and "." not in value \
                    or "piece_01" in value or "*" in value:  # a loop's or a glob's files
                continue  # not given, made by an earlier example, or a bundled model's name
            path = Path(value.replace("../shared/data", str(SHARED_DATA)))
            assert (ROOT / path).exists(), f"README example reads {value}, which does not exist: {line}"


#: Options (argparse dests) that name input files.
INPUT_OPTIONS = ("input", "encoded", "alignments", "positive", "negative", "labels", "coverage", "genome",
                 "annotation", "known", "model", "init_model")


@pytest.mark.parametrize("first", QUICK)
def test_quick_examples_run_as_written(first, tmp_path, shared_data):
    """Each quick block runs in a scratch folder that has the checkout's examples/ and, as ../shared/data,
    the real data (so nothing is written into the checkout)."""
    block = next(lines for _, lines in code_blocks(README) if lines and lines[0] == first)
    (tmp_path / "examples").symlink_to(EXAMPLES)
    script = "set -euo pipefail\n" + "\n".join(line.replace("../shared/data", str(SHARED_DATA)) for line in block)
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    if first.startswith("mt-predict examples/hairpins.fa"):  # the worked example, as the README shows it
        shown = README.split("$ head -4 calls.tsv\n", 1)[1].split("```", 1)[0]
        assert (tmp_path / "calls.tsv").read_text().startswith(shown)
        assert "evaluation on 17 labelled hairpins: AUC 1.000, AUPR 1.000, F1 1.000, MCC 1.000" in result.stderr
