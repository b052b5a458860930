"""Argument types and error output shared by the photolab-cli sub-command modules."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Callable

ERROR_PREFIX = "photolab-cli: error:"


def fail(message) -> int:
    """Print ``message`` as a one-line CLI error on stderr; return the exit status 1."""
    print(f"{ERROR_PREFIX} {message}", file=sys.stderr)
    return 1


def whole_number(low: int, high: int | None = None, *, multiple_of: int = 1,
                 what: str = "") -> Callable[[str], int]:
    """An argparse type accepting whole numbers in ``[low, high]`` (no upper bound when ``high`` is None) that
    are multiples of ``multiple_of``; ``what`` names the value in the error message."""
    label = f"{what} " if what else ""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{label}must be {bound}, got {value}")
        if value % multiple_of:
            raise argparse.ArgumentTypeError(f"{label}must be a multiple of {multiple_of}, got {value}")
        return value
    return parse


def number(low: float, high: float, *, what: str = "", example: str = "") -> Callable[[str], float]:
    """An argparse type accepting finite numbers in ``[low, high]``; ``what`` names the value and ``example``
    shows a valid one in the error messages."""
    label = f"{what} " if what else ""
    expected = f"a number such as {example}" if example else "a number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{label}must be between {low:g} and {high:g}, got {text}")
        return value
    return parse


def run_commands(add_commands: Callable, description: str, argv: list[str] | None = None) -> int:
    """Parse ``argv`` with only the sub-commands that ``add_commands`` registers and run the chosen one (a
    sub-command module used on its own, ``python -m photolab.cli_merge ...``)."""
    parser = argparse.ArgumentParser(prog="photolab-cli", description=description)
    add_commands(parser.add_subparsers(required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    return args.command(args, parser)


jpeg_quality = whole_number(1, 100, what="quality")
"""The ``--quality`` type of every command that writes JPEG/WebP."""
