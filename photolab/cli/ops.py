"""photolab-cli ops: the develop operations in pipeline order, with their versions and parameters.

    photolab-cli ops [--json]

What a recipe (sidecar) may set, read from the operations themselves: every parameter's name, type,
default, range, step, unit and label, as the Develop panel's sliders and the validation see them.
"""

from __future__ import annotations

import json

from photolab.core.develop import OPERATIONS

COLUMNS = ("OPERATION", "VERSION", "PARAMETER", "TYPE", "DEFAULT", "RANGE", "STEP", "UNIT", "LABEL")


def add_ops_commands(subparsers) -> None:
    """Register ``ops`` on photolab-cli's sub-parsers."""
    ops = subparsers.add_parser("ops", help="list the develop operations and their parameters")
    ops.add_argument("--json", action="store_true", help="print them as JSON")
    ops.set_defaults(command=_ops)


def operations_table() -> list[tuple[str, ...]]:
    """One row per parameter (the operation and its version on its first row only), under COLUMNS."""
    rows = []
    for op in OPERATIONS:
        described = op.describe()
        for index, parameter in enumerate(described["parameters"]):
            first = index == 0
            rows.append((
                op.name if first else "",
                str(op.version) if first else "",
                parameter["name"],
                parameter["type"],
                json.dumps(parameter["default"]),
                _range_text(parameter),
                "" if parameter["step"] is None else f"{parameter['step']:g}",
                parameter["unit"],
                parameter["label"],
            ))
    return rows


def _range_text(parameter: dict) -> str:
    if "choices" in parameter:
        return " | ".join(parameter["choices"])
    if parameter["range"] is None:
        return ""
    low, high = parameter["range"]
    return f"{low:g} .. {high:g}"


def _ops(args, parser) -> int:
    if args.json:
        print(json.dumps({"operations": [op.describe() for op in OPERATIONS]}, indent=2))
        return 0
    rows = [COLUMNS, *operations_table()]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
