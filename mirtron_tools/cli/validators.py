"""Option value types shared by the commands (argparse ``type=`` callables): a bad value is a usage error
naming the option, as argparse reports it."""
from __future__ import annotations

import argparse
import math
from typing import Callable


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def probability(text: str) -> float:
    """A probability or share in [0, 1]."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def rate(text: str) -> float:
    """A rate in [0, 1) (dropout: 1 would drop every unit)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
    return value


def fraction(text: str) -> float:
    """A fraction strictly between 0 and 1 (a held-out share that leaves data on both sides)."""
    value = _number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1, not {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def set_type(parser: argparse.ArgumentParser, dest: str, kind: Callable[[str], object]) -> None:
    """Give an option added elsewhere (a shared option group) a stricter parse-time type."""
    for action in parser._actions:
        if action.dest == dest:
            action.type = kind
            return
    raise KeyError(dest)
