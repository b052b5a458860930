"""Lens correction controls: on/off, which corrections, the lens (from the photo's metadata or chosen by name),
and a status line that says which lensfun profile is used or why there is none."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from photolab.core.develop.lens import LensParams, lens_names, metadata_profile_status
from photolab.core.recipe import Recipe

FROM_METADATA = "The photo's lens"
PARTS = (("distortion", "Distortion"), ("tca", "Chromatic aberration"), ("vignetting", "Vignetting"))


class LensComboBox(QComboBox):
    """The lens choice; lensfun's thousand lens names are loaded the first time the list opens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.addItem(FROM_METADATA)
        self._loaded = False

    def load_names(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        current = self.currentText()
        self.blockSignals(True)
        try:
            self.clear()
            self.addItem(FROM_METADATA)
            self.addItems(lens_names())
            self.setCurrentIndex(max(0, self.findText(current)))
        finally:
            self.blockSignals(False)

    def show_lens(self, name: str) -> None:
        """Select ``name`` ("" = the photo's own) without emitting, adding it if the list lacks it."""
        self.blockSignals(True)
        try:
            text = name or FROM_METADATA
            if self.findText(text) < 0:
                self.addItem(text)
            self.setCurrentIndex(self.findText(text))
        finally:
            self.blockSignals(False)

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.load_names()
        super().showPopup()


class LensControls(QWidget):
    """Emits ``edit_requested(recipe, text, merge_key)`` like the rest of the develop panel."""

    edit_requested = Signal(object, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe = Recipe()
        self._metadata = None
        self._updating = False
        self.enabled = QCheckBox("Correct the lens (lensfun)")
        self.parts = {name: QCheckBox(label) for name, label in PARTS}
        self.lens = LensComboBox()
        self.lens.setToolTip("The lens whose lensfun profile corrects the photo")
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.enabled)
        row = QHBoxLayout()
        for box in self.parts.values():
            row.addWidget(box)
        layout.addLayout(row)
        lens_row = QHBoxLayout()
        lens_row.addWidget(QLabel("Lens"))
        lens_row.addWidget(self.lens, 1)
        layout.addLayout(lens_row)
        layout.addWidget(self.status)
        self.enabled.toggled.connect(lambda on: self._edit(enabled=on, text="Lens correction on" if on
                                                           else "Lens correction off"))
        for name, box in self.parts.items():
            box.toggled.connect(lambda on, field=name: self._edit(**{field: on}, text="Lens correction"))
        self.lens.activated.connect(self._on_lens)
        self._show()

    def set_metadata(self, metadata) -> None:
        """The photo's metadata (camera, lens, focal length), for the status line; None without a photo."""
        self._metadata = metadata
        self._show()

    def set_recipe(self, recipe: Recipe) -> None:
        """Show the lens correction of ``recipe`` (no edit is emitted)."""
        self._recipe = recipe
        self._show()

    def _params(self) -> LensParams:
        return self._recipe.get("lens_correction")

    def _show(self) -> None:
        params = self._params()
        self._updating = True
        try:
            self.enabled.setChecked(params.enabled)
            for name, box in self.parts.items():
                box.setChecked(getattr(params, name))
                box.setEnabled(params.enabled)
            self.lens.show_lens(params.lens)
            self.lens.setEnabled(params.enabled)
        finally:
            self._updating = False
        if self._metadata is None:
            self.status.setText("")
        elif not params.enabled:
            self.status.setText("Off")
        else:
            self.status.setText(metadata_profile_status(self._metadata, params))

    def _on_lens(self, index: int) -> None:
        name = "" if index <= 0 else self.lens.itemText(index)
        self._edit(lens=name, text="Choose the lens")

    def _edit(self, *, text: str, **changes) -> None:
        if self._updating:
            return
        params = dataclasses.replace(self._params(), **changes)
        if params != self._params():
            self.edit_requested.emit(self._recipe.with_params("lens_correction", params), text, "")
