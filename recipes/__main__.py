"""python -m recipes NAME: rebuild a bundled model (see recipes/__init__.py)."""
from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

from . import RECIPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes", description=__doc__)
    parser.add_argument("name", choices=[*RECIPES, "priors"], help="the bundled model to rebuild (priors: record "
                        "the prior fields in the hairpin models' manifests)")
    parser.add_argument("--output", type=Path, help="model file to write (default: the bundled model's file)")
    parser.add_argument("--threads", type=int, default=2, help="(default: %(default)s)")
    parser.add_argument("--work", type=Path, help="genome: folder that keeps the intron genome, its scan and the "
                        "features between runs (default: recipes/out/genome)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"{args.name}: %(message)s")
    if args.name == "priors":
        from .priors import record

        record()
        return 0
    recipe = importlib.import_module(f"{__package__}.{RECIPES[args.name]}")
    options = {"threads": args.threads, **({"output": args.output} if args.output else {}),
               **({"work": args.work} if args.work and args.name in ("genome", "reads") else {})}
    manifest = recipe.build(**options)
    print(f"{args.name}: threshold {manifest['threshold']:.4f}, metrics {manifest['metrics']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
