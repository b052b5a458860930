"""The Develop panel's Denoise section: strength, adaptive, Auto, the denoiser, and the loupe switch.

Like the other sections it shows a recipe (``set_recipe``) and turns user changes into
``edit_requested(recipe, text, merge_key)``; the window makes them undoable edits. **Auto** only asks
(``auto_requested``): the window measures the photo's noise in the background and edits the recipe.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from photolab.core.develop.denoise import DenoiseParams
from photolab.core.recipe import Recipe
from photolab.gui.widgets.sliders import slider_for

OPERATION = "denoise"
DEFAULT_MODEL_LABEL = "Default"


class DenoiseControls(QWidget):
    """Strength (sigma, 0 = off), Adaptive, Auto, the model (when there is a choice) and Loupe."""

    edit_requested = Signal(object, str, str)  # new Recipe, undo text, merge key
    auto_requested = Signal()
    loupe_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe = Recipe()
        self.strength = slider_for("denoise", "sigma")
        self.strength.setToolTip("The noise to remove: its standard deviation on the 0-255 scale (0 = off)")
        self.adaptive = QCheckBox("Adaptive")
        self.adaptive.setToolTip("Follow the photo's measured noise, which grows and shrinks with brightness, "
                                 "scaled to the strength (instead of one level everywhere)")
        self.auto_button = QToolButton(text="Auto")
        self.auto_button.setToolTip("Measure the noise of the photo at full resolution and set the strength")
        self.loupe_button = QToolButton(text="Loupe", checkable=True)
        self.loupe_button.setToolTip("Show a 100 % crop around the cursor, before and after (L)")
        self.model = QComboBox()
        self.model.setToolTip("The denoising network")
        self.model_label = QLabel("Model")
        self._model_names: list[str] = []
        self._default_model = ""

        row = QHBoxLayout()
        row.addWidget(self.adaptive, 1)
        row.addWidget(self.auto_button)
        row.addWidget(self.loupe_button)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label)
        model_row.addWidget(self.model, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.strength)
        layout.addLayout(row)
        layout.addLayout(model_row)
        self.set_models([])

        self.strength.edited.connect(self._on_strength)
        self.adaptive.clicked.connect(self._on_adaptive)
        self.model.activated.connect(self._on_model)
        self.auto_button.clicked.connect(self.auto_requested)
        self.loupe_button.toggled.connect(self.loupe_toggled)

    # --- showing -------------------------------------------------------------------------------------
    def set_models(self, names: list[str], default: str = "") -> None:
        """The installed denoisers; the selector is shown only when there is more than one to choose from
        (or the recipe names one that is not installed)."""
        self._model_names = list(names)
        self._default_model = default
        self.set_recipe(self._recipe)

    def set_recipe(self, recipe: Recipe) -> None:
        """Show ``recipe``'s denoise parameters (emits nothing)."""
        self._recipe = recipe
        params = recipe.get(OPERATION)
        self.strength.set_value(params.sigma)
        self.adaptive.setChecked(params.adaptive)
        self.model.clear()
        self.model.addItem(f"{DEFAULT_MODEL_LABEL} ({self._default_model})" if self._default_model
                           else DEFAULT_MODEL_LABEL, "")
        for name in self._model_names:
            if name != self._default_model:
                self.model.addItem(name, name)
        if params.model and self.model.findData(params.model) < 0:
            self.model.addItem(f"{params.model} (not installed)", params.model)
        self.model.setCurrentIndex(max(0, self.model.findData(params.model)))
        choice = self.model.count() > 1
        self.model.setVisible(choice)
        self.model_label.setVisible(choice)

    def set_auto_busy(self, busy: bool) -> None:
        """Auto is measuring: the button waits."""
        self.auto_button.setEnabled(not busy)
        self.auto_button.setText("Measuring…" if busy else "Auto")

    # --- edits ---------------------------------------------------------------------------------------
    def _emit(self, params: DenoiseParams, text: str, merge_key: str = "") -> None:
        self.edit_requested.emit(self._recipe.with_params(OPERATION, params), text, merge_key)

    def _on_strength(self, value: float, merge_key: str) -> None:
        self._emit(dataclasses.replace(self._recipe.get(OPERATION), sigma=value), "Denoise strength", merge_key)

    def _on_adaptive(self, checked: bool) -> None:
        self._emit(dataclasses.replace(self._recipe.get(OPERATION), adaptive=checked),
                   "Adaptive denoise" if checked else "Uniform denoise")

    def _on_model(self, index: int) -> None:
        name = self.model.itemData(index) or ""
        self._emit(dataclasses.replace(self._recipe.get(OPERATION), model=name), "Denoise model")
