"""photolab/core and photolab/models must never import Qt (../shared/DESIGN.md)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "photolab"


def test_qt_free_layers_do_not_import_qt():
    offenders = []
    for layer in ("core", "models"):
        for source in (ROOT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [f"{source.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6")]
    assert offenders == []
