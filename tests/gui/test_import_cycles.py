"""No import cycles inside photolab.gui, counting the imports inside functions too (they only hide a cycle), and
no feature reaching up to the window. The graph and the cycle finder are tests/test_layering.py's, which checks the
whole package the same way."""

from __future__ import annotations

from tests.test_layering import find_cycles, import_graph


def gui_imports() -> dict[str, set[str]]:
    """Each photolab.gui module -> the photolab.gui modules it imports anywhere in its body."""
    def in_gui(module: str) -> bool:
        return module == "photolab.gui" or module.startswith("photolab.gui.")

    return {module: {target for target in targets if in_gui(target)}
            for module, targets in import_graph().items() if in_gui(module)}


def test_the_gui_has_no_import_cycles():
    graph = gui_imports()
    assert len(graph) > 40  # every module was read
    assert find_cycles(graph) == []


def test_only_the_entry_point_imports_the_window():
    importers = {module for module, targets in gui_imports().items()
                 if any(t.startswith("photolab.gui.window") for t in targets)}
    assert {m for m in importers if not m.startswith("photolab.gui.window")} == {"photolab.gui.app"}
