"""The layering rules of ../shared/DESIGN.md: core and models never import Qt, core never imports models (not
even inside a function or through importlib/``__import__``), and no photolab modules import each other in a
cycle (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "photolab"
QT_PACKAGES = ("PySide6", "PyQt5", "PyQt6", "shiboken6")

def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in ROOT.rglob("*.py")}


def imported_names(source: Path) -> list[tuple[str, int]]:
    """Every module ``source`` imports, anywhere in it (module level, functions, ``importlib.import_module`` and
    ``__import__`` with a literal name), with the line; ``from a import b`` gives ``a.b`` (the graph reads it as
    ``a`` when ``b`` is not a module)."""
    tree = ast.parse(source.read_text())
    package = module_name(source) if source.name == "__init__.py" else module_name(source).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.args[0].value, node.lineno))
    return found


def test_qt_free_layers_do_not_import_qt():
    offenders = []
    for layer in ("core", "models"):
        for source in (ROOT / layer).rglob("*.py"):
            offenders += [f"{source.relative_to(ROOT)}:{line}: {name}" for name, line in imported_names(source)
                          if name.split(".")[0] in QT_PACKAGES]
    assert offenders == []


def test_core_never_imports_models():
    offenders = [f"{source.relative_to(ROOT)}:{line}: {name}"
                 for source in (ROOT / "core").rglob("*.py") for name, line in imported_names(source)
                 if name == "photolab.models" or name.startswith("photolab.models.")]
    assert offenders == []


def test_core_and_models_do_not_import_the_front_ends():
    front_ends = ("photolab.gui", "photolab.cli", "photolab.services")
    offenders = [f"{source.relative_to(ROOT)}:{line}: {name}"
                 for layer in ("core", "models") for source in (ROOT / layer).rglob("*.py")
                 for name, line in imported_names(source)
                 if any(name == front or name.startswith(front + ".") for front in front_ends)]
    assert offenders == []


def import_graph() -> dict[str, set[str]]:
    """photolab module -> the photolab modules it imports (a name that is not a module counts as its package)."""
    modules = sources()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported, _line in imported_names(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported.startswith("photolab"):
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), as a closed path."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(set(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_in(graph, component) for component in components]


def cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A closed path through ``component`` (a strongly connected set), found by breadth-first search."""
    start = min(component)
    paths = {target: [start, target] for target in graph[start] if target in component}
    queue = list(paths)
    while start not in paths:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target in component and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    return paths[start]


def test_the_cycle_finder_reports_the_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_photolab_modules():
    graph = import_graph()
    assert any(module.startswith("photolab.gui.") for module in graph)  # the gui is read too
    cycles = find_cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)
