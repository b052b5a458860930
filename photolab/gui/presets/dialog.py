"""The dialog that chooses which operations to copy or to save as a preset: one checkbox per edited
operation, grouped, with Select All / None, and (for a preset) a name."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.presets import PresetError, check_name
from photolab.core.recipe import Recipe, copy_settings, default_copy_selection, \
    edited_operations

GROUPS = (("Geometry", ("lens_correction", "orient", "straighten", "crop")),
          ("Light and colour", ("white_balance", "exposure", "highlights", "shadows", "contrast", "saturation", "hsl",
                                "tone_curve")),
          ("Detail and effects", ("denoise", "sharpen", "vignette", "look")))


class ChooseOperationsDialog(QDialog):
    """Check the operations to take from ``recipe`` (geometry unchecked at first); with ``ask_name`` it also
    asks for a preset name."""

    def __init__(self, recipe: Recipe, title: str, parent: QWidget | None = None, *, ask_name: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.recipe = recipe
        self.checkboxes: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        self.name = QLineEdit()
        if ask_name:
            form = QFormLayout()
            form.addRow("Preset name:", self.name)
            layout.addLayout(form)
        edited, chosen = edited_operations(recipe), set(default_copy_selection(recipe))
        if not edited:
            layout.addWidget(QLabel("This photo has no edits."))
        for group_title, names in GROUPS:
            names = [name for name in names if name in edited]
            if not names:
                continue
            group = QGroupBox(group_title)
            group_layout = QVBoxLayout(group)
            for name in names:
                box = QCheckBox(OPERATIONS_BY_NAME[name].label + (" (off)" if name in recipe.disabled else ""))
                box.setChecked(name in chosen)
                box.toggled.connect(self._update_ok)
                self.checkboxes[name] = box
                group_layout.addWidget(box)
            layout.addWidget(group)
        buttons_row = QHBoxLayout()
        for text, checked in (("Select &All", True), ("Select &None", False)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, c=checked: self.select_all(c))
            buttons_row.addWidget(button)
        buttons_row.addStretch(1)
        layout.addLayout(buttons_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._ask_name = ask_name
        self.name.textChanged.connect(self._update_ok)
        self._update_ok()

    def select_all(self, checked: bool) -> None:
        for box in self.checkboxes.values():
            box.setChecked(checked)

    def chosen(self) -> list[str]:
        return [name for name, box in self.checkboxes.items() if box.isChecked()]

    def settings(self):
        """The chosen operations' settings (``photolab.core.recipe.CopiedSettings``)."""
        return copy_settings(self.recipe, self.chosen())

    def preset_name(self) -> str:
        return self.name.text().strip()

    def name_problem(self) -> str:
        """Why the typed name cannot be a preset's ('' when it can)."""
        try:
            check_name(self.preset_name())
        except PresetError as exc:
            return str(exc)
        return ""

    def _update_ok(self) -> None:
        ok = bool(self.chosen()) and not (self._ask_name and self.name_problem())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
        self.name.setToolTip(self.name_problem() if self._ask_name and self.preset_name() else "")
