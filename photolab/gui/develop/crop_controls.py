"""Crop and rotate controls: quarter turns, an aspect-ratio preset and the four crop edges."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QToolButton, QVBoxLayout, QWidget)

from photolab.core.develop.geometry import CropParams, centred_crop_for_aspect, rotate_crop
from photolab.core.develop.params import param_specs
from photolab.core.recipe import Recipe

ASPECT_PRESETS = (("Free", None), ("Original", "original"), ("1 : 1", 1.0), ("5 : 4", 5 / 4), ("4 : 3", 4 / 3),
                  ("3 : 2", 3 / 2), ("16 : 9", 16 / 9))
MIN_CROP = 0.01  # the smallest crop side, as a fraction of the photo


class CropControls(QWidget):
    """Emits ``edit_requested(recipe, text, merge_key)`` like the rest of the develop panel."""

    edit_requested = Signal(object, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe = Recipe()
        self._size: tuple[int, int] | None = None  # the photo's upright size before orientation
        self._updating = False

        self.rotate_left = QToolButton(text="⟲ Left")
        self.rotate_left.setToolTip("Rotate 90° counter-clockwise (Ctrl+[)")
        self.rotate_right = QToolButton(text="Right ⟳")
        self.rotate_right.setToolTip("Rotate 90° clockwise (Ctrl+])")
        self.aspect = QComboBox()
        for label, _ in ASPECT_PRESETS:
            self.aspect.addItem(label)
        self.aspect.setToolTip("Crop to an aspect ratio, centred")
        self.reset_button = QPushButton("Reset crop")
        self.tool_button = QToolButton(text="Crop on photo", checkable=True)
        self.tool_button.setToolTip("Drag the crop rectangle on the photo (R; Enter when done)")
        self.edges: dict[str, QDoubleSpinBox] = {}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for index, (name, spec) in enumerate(param_specs(CropParams).items()):
            spin = QDoubleSpinBox()  # the edge in percent of the photo (the parameter is a fraction)
            spin.setRange(*(100.0 * limit for limit in spec.range))
            spin.setDecimals(max(0, spec.decimals - 2))
            spin.setSingleStep(100.0 * spec.step)
            spin.setSuffix(" %")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda value, edge=name: self._on_edge(edge, value))
            self.edges[name] = spin
            grid.addWidget(QLabel(spec.label), index // 2, (index % 2) * 2)
            grid.addWidget(spin, index // 2, (index % 2) * 2 + 1)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(QLabel("Rotate"))
        buttons.addWidget(self.rotate_left)
        buttons.addWidget(self.rotate_right)
        buttons.addStretch(1)
        buttons.addWidget(self.tool_button)
        aspect_row = QHBoxLayout()
        aspect_row.setContentsMargins(0, 0, 0, 0)
        aspect_row.addWidget(QLabel("Aspect"))
        aspect_row.addWidget(self.aspect, 1)
        aspect_row.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addLayout(aspect_row)
        layout.addLayout(grid)

        self.rotate_left.clicked.connect(lambda: self.rotate(clockwise=False))
        self.rotate_right.clicked.connect(lambda: self.rotate(clockwise=True))
        self.aspect.activated.connect(self._on_aspect)
        self.reset_button.clicked.connect(self.reset_crop)

    def set_photo_size(self, size: tuple[int, int] | None) -> None:
        """The upright photo's (width, height), for the aspect presets."""
        self._size = size

    def set_recipe(self, recipe: Recipe) -> None:
        """Show the crop of ``recipe`` (no edit is emitted)."""
        self._recipe = recipe
        crop = recipe.get("crop")
        self._updating = True
        try:
            for name, spin in self.edges.items():
                spin.setValue(getattr(crop, name) * 100.0)
        finally:
            self._updating = False

    # --- edits ------------------------------------------------------------------------------------
    def rotate(self, *, clockwise: bool) -> None:
        """Turn the photo a quarter turn; the crop rectangle turns with it."""
        orient = self._recipe.get("orient")
        turns = (orient.quarter_turns + (1 if clockwise else 3)) % 4
        recipe = self._recipe.with_params("orient", dataclasses.replace(orient, quarter_turns=turns))
        recipe = recipe.with_params("crop", rotate_crop(self._recipe.get("crop"), clockwise))
        self.edit_requested.emit(recipe, "Rotate right" if clockwise else "Rotate left", "")

    def reset_crop(self) -> None:
        default = type(self._recipe.get("crop"))()
        if self._recipe.get("crop") != default:
            self.aspect.setCurrentIndex(0)
            self.edit_requested.emit(self._recipe.with_params("crop", default), "Reset crop", "")

    def oriented_size(self) -> tuple[int, int] | None:
        if self._size is None:
            return None
        width, height = self._size
        return (height, width) if self._recipe.get("orient").quarter_turns % 2 else (width, height)

    def _on_aspect(self, index: int) -> None:
        aspect = ASPECT_PRESETS[index][1]
        size = self.oriented_size()
        if aspect is None or size is None:
            return
        width, height = size
        if aspect == "original":
            aspect = max(width, height) / min(width, height)
        left, top, right, bottom = centred_crop_for_aspect(width, height, aspect)
        crop = dataclasses.replace(self._recipe.get("crop"), left=left, top=top, right=right, bottom=bottom)
        self.edit_requested.emit(self._recipe.with_params("crop", crop), f"Crop {ASPECT_PRESETS[index][0]}", "")

    def _on_edge(self, edge: str, percent: float) -> None:
        if self._updating:
            return
        crop = self._recipe.get("crop")
        value = percent / 100.0
        # Keep at least MIN_CROP between opposite edges by limiting the edge being edited.
        if edge == "left":
            value = min(value, crop.right - MIN_CROP)
        elif edge == "right":
            value = max(value, crop.left + MIN_CROP)
        elif edge == "top":
            value = min(value, crop.bottom - MIN_CROP)
        else:
            value = max(value, crop.top + MIN_CROP)
        value = min(max(value, 0.0), 1.0)
        self.aspect.setCurrentIndex(0)
        recipe = self._recipe.with_params("crop", dataclasses.replace(crop, **{edge: value}))
        self.edit_requested.emit(recipe, "Crop", "")
        if abs(value * 100.0 - percent) > 1e-6:  # the edge was limited: show where it ended up
            self.set_recipe(recipe)
