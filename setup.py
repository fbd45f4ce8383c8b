"""Build hook: a man page for every ``mt-*`` console script, made at build time.

argparse-manpage renders each page from the command's own ``build_parser()``, so a page cannot
drift from its command. The list of pages follows ``[project.scripts]`` in pyproject.toml: a new
command gets its page without editing this file. Pages are written to build/man/ and installed
under ``<prefix>/share/man/man1`` (wheel data), so ``man mt-encode`` works after
``pip install .`` or ``conda install``. An editable install (``pip install -e .``) installs no
pages; ``python setup.py build_manpages`` writes them to build/man/ there.

Everything else about the package lives in pyproject.toml (PEP 621); this file is only the hook.
"""
from __future__ import annotations

import ast
import os
import shutil
import sys
from pathlib import Path

if sys.version_info < (3, 11):  # before tomllib fails with a traceback that does not say why
    sys.exit(f"mirtron_tools needs Python >= 3.11 (pyproject.toml, requires-python), not {sys.version.split()[0]}")

import tomllib  # noqa: E402

HERE = Path(__file__).resolve().parent
MAN_FOLDER = "build/man"
MAN_INSTALL_FOLDER = "share/man/man1"


def console_scripts(pyproject: Path = HERE / "pyproject.toml") -> dict[str, str]:
    """``{command name: module}`` of the mt-* console scripts declared in pyproject.toml."""
    scripts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]
    return {name: target.split(":")[0] for name, target in scripts.items() if name.startswith("mt-")}


def summary(module: str) -> str:
    """The NAME line of a page: the command module's docstring, first line, without "mt-x: "."""
    source = HERE.joinpath(*module.split(".")).with_suffix(".py").read_text(encoding="utf-8")
    first_line = (ast.get_docstring(ast.parse(source)) or "").strip().splitlines()[0]
    return first_line.partition(": ")[2].replace('"', "'") or first_line


def manpage_specs(pyproject: Path = HERE / "pyproject.toml") -> str:
    """argparse-manpage's ``manpages`` option: one ``file:module=...:function=...`` line per command."""
    return "\n".join(f'{MAN_FOLDER}/{name}.1:module={module}:function=build_parser:prog={name}'
                      f':description="{summary(module)}":manual_section=1:manual_title=mirtron_tools manual'
                      for name, module in sorted(console_scripts(pyproject).items()))


EPILOG_TITLE = "OUTPUTS AND EXAMPLES"
PAGE_WIDTH = 80  # columns of the terminal a page should fit; the epilogs' lines are at most 78


def preformat_epilog(page: str) -> str:
    """A page whose epilog (argparse-manpage's ``.SH COMMENTS``) keeps its lines as written.

    argparse-manpage writes the epilog as filled text, so man reflows it at 80 columns and the
    example commands and output tables come out broken. Here the section is titled
    ``OUTPUTS AND EXAMPLES`` and wrapped in ``.nf``/``.fi`` (no filling), indented as far as the
    longest line allows within PAGE_WIDTH (the usual 7 columns at most). Anywhere in the page, a text
    line that begins with a quote (e.g. a description line ``'chr1:100-160:+' ...``) would be read as
    a roff request and vanish: ``\\&`` keeps it text.
    """
    lines = ["\\&" + line if line.startswith("'") else line for line in page.split("\n")]
    try:
        start = lines.index(".SH COMMENTS")
    except ValueError:
        return "\n".join(lines)
    end = next((index for index in range(start + 1, len(lines)) if lines[index].startswith(".SH ")), len(lines))
    body = lines[start + 1:end]
    while body and not body[-1].strip():
        body.pop()
    body = ["\\&" + line if line.startswith(".") else line for line in body]  # text, not a request
    longest = max((len(line.replace("\\&", "").replace("\\-", "-").replace("\\\\", "\\")) for line in body),
                  default=0)
    indent = max(0, min(7, PAGE_WIDTH - longest))
    block = [f".SH {EPILOG_TITLE}", ".nf", f".in {indent}n", *body, ".in", ".fi"]
    return "\n".join(lines[:start] + block + ([""] if end < len(lines) else []) + lines[end:])


if __name__ == "__main__":
    from build_manpages import build_manpages, get_build_py_cmd
    from setuptools import setup
    from setuptools.command.build_py import build_py
    from setuptools.command.install import install

    # The parsers are imported from this source tree, which PEP 517 back ends do not put on sys.path.
    sys.path.insert(0, str(HERE))

    class build_manpages_preformatted(build_manpages):
        """argparse-manpage's pages, with the epilog kept as written (``preformat_epilog``)."""

        def run(self) -> None:
            super().run()
            for name in sorted(console_scripts()):
                page = HERE / MAN_FOLDER / f"{name}.1"
                if page.is_file():
                    page.write_text(preformat_epilog(page.read_text(encoding="utf-8")), encoding="utf-8")

    class install_with_manpages(install):
        """``install`` (also run inside bdist_wheel) plus the generated pages under share/man/man1."""

        def run(self) -> None:
            super().run()
            folder = os.path.join(self.install_data, MAN_INSTALL_FOLDER)
            os.makedirs(folder, exist_ok=True)
            for name in sorted(console_scripts()):
                page = HERE / MAN_FOLDER / f"{name}.1"
                if not page.is_file():  # build_py makes them; a skipped build is a packaging bug
                    raise SystemExit(f"setup.py: man page {page} was not built")
                shutil.copy(page, folder)

    setup(
        cmdclass={"build_manpages": build_manpages_preformatted, "build_py": get_build_py_cmd(build_py),
                  "install": install_with_manpages},
        options={"build_manpages": {"manpages": manpage_specs()}},
    )
