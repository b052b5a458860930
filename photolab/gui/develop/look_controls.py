"""The Develop panel's Look section: the learned look (the installed ones, listed by a Job) and its strength.

Like the other sections it shows a recipe (``set_recipe``) and turns user changes into
``edit_requested(recipe, text, merge_key)``. Looks are learned with Models ▸ Learn a Look… or
``photolab-cli look learn``.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from photolab.core.recipe import Recipe
from photolab.gui.widgets.sliders import slider_for

OPERATION = "look"
NO_LOOK = "None"


def installed_looks(context) -> list[str]:
    """Job work: the installed looks' names (the model store imports torch: never on the GUI thread)."""
    from photolab.services import installed_look_names

    return installed_look_names()


class LookControls(QWidget):
    """The look (None or an installed one) and its strength (0-100 %)."""

    edit_requested = Signal(object, str, str)  # new Recipe, undo text, merge key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe = Recipe()
        self._names: list[str] = []
        self.look = QComboBox()
        self.look.setToolTip("A look learned from your own before/after edits (Models ▸ Learn a Look…)")
        self.strength = slider_for(OPERATION, "strength")
        self.strength.setToolTip("How much of the look: 0-100 %")
        row = QHBoxLayout()
        row.addWidget(QLabel("Look"))
        row.addWidget(self.look, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.strength)
        self.look.activated.connect(self._on_look)
        self.strength.edited.connect(self._on_strength)
        self.set_recipe(self._recipe)

    def set_looks(self, names: list[str]) -> None:
        """The installed looks."""
        self._names = list(names)
        self.set_recipe(self._recipe)

    def set_recipe(self, recipe: Recipe) -> None:
        """Show ``recipe``'s look (emits nothing)."""
        self._recipe = recipe
        params = recipe.get(OPERATION)
        self.look.clear()
        self.look.addItem(NO_LOOK, "")
        for name in self._names:
            self.look.addItem(name, name)
        if params.model and self.look.findData(params.model) < 0:
            self.look.addItem(f"{params.model} (not installed)", params.model)
        self.look.setCurrentIndex(max(0, self.look.findData(params.model)))
        self.strength.set_value(params.strength)
        self.strength.setEnabled(bool(params.model))

    def _on_look(self, index: int) -> None:
        name = self.look.itemData(index) or ""
        params = dataclasses.replace(self._recipe.get(OPERATION), model=name)
        self.edit_requested.emit(self._recipe.with_params(OPERATION, params), "Look", "")

    def _on_strength(self, value: float, merge_key: str) -> None:
        params = dataclasses.replace(self._recipe.get(OPERATION), strength=value)
        self.edit_requested.emit(self._recipe.with_params(OPERATION, params), "Look strength", merge_key)
