"""No import cycles inside photolab.gui, counting the imports inside functions too (they only hide a cycle), and
no feature reaching up to the window."""

from __future__ import annotations

import ast
from pathlib import Path

import photolab.gui

GUI = Path(photolab.gui.__file__).parent


def module_name(path: Path) -> str:
    parts = ("photolab", "gui", *path.relative_to(GUI).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gui_imports() -> dict[str, set[str]]:
    """Each photolab.gui module -> the photolab.gui modules it imports anywhere in its body."""
    modules = {module_name(path): path for path in GUI.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle (as a path that ends where it starts), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []


def test_the_gui_has_no_import_cycles():
    graph = gui_imports()
    assert len(graph) > 40  # every module was read
    assert find_cycle(graph) == []


def test_a_cycle_through_a_function_level_import_is_found():
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]


def test_only_the_entry_point_imports_the_window():
    importers = {module for module, targets in gui_imports().items()
                 if any(t.startswith("photolab.gui.window") for t in targets)}
    assert {m for m in importers if not m.startswith("photolab.gui.window")} == {"photolab.gui.app"}
