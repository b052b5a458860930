"""The Develop panel: white balance, tone, presence, tone curve, colour mixer (HSL), detail (sharpening),
vignette, denoise, a learned look, crop and rotate (with straighten).

It shows a recipe (``set_recipe``) and turns every user change into ``edit_requested(recipe, text,
merge_key)``; the window pushes that as an undo command, the document changes, and the panel is shown
the new recipe. ``dragging(bool)`` says when a slider handle or a curve point is held (the preview is then
drafted at a lower resolution).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from photolab.core.develop.hsl import BANDS
from photolab.core.recipe import Recipe
from photolab.gui.develop.curve_editor import CurveEditor
from photolab.gui.develop.lens_controls import LensControls
from photolab.gui.develop.crop_controls import CropControls
from photolab.gui.develop.denoise_controls import DenoiseControls
from photolab.gui.develop.look_controls import LookControls
from photolab.gui.widgets.sliders import ParamSlider, slider_for, wheel_only_with_focus

DAYLIGHT = (6500.0, 0.0)  # what the sliders show before a photo tells us its as-shot white

# (operation, parameter) of each slider; range, step, unit and label come from the parameter's metadata.
TONE = (("exposure", "ev"), ("contrast", "amount"), ("highlights", "amount"), ("shadows", "shadows"),
        ("shadows", "blacks"))
PRESENCE = (("saturation", "vibrance"), ("saturation", "saturation"))
DETAIL = (("sharpen", "amount"), ("sharpen", "radius"), ("sharpen", "masking"))
VIGNETTE = (("vignette", "amount"), ("vignette", "midpoint"), ("vignette", "roundness"), ("vignette", "feather"))
HSL_TABS = (("Hue", "hue"), ("Saturation", "saturation"), ("Luminance", "luminance"))
WB_MODES = (("As shot", "as_shot"), ("Auto", "auto"), ("Custom", "kelvin"))


class DevelopPanel(QWidget):
    """Sliders and buttons over one recipe."""

    edit_requested = Signal(object, str, str)  # new Recipe, undo text, merge key ("" = never merge)
    eyedropper_toggled = Signal(bool)
    dragging = Signal(bool)  # a slider's handle or a curve point is held (True) or let go (False)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recipe = Recipe()
        self._as_shot = DAYLIGHT
        self.sliders: dict[str, ParamSlider] = {}  # "operation.field" -> slider

        # White balance
        self.wb_mode = QComboBox()
        for label, _ in WB_MODES:
            self.wb_mode.addItem(label)
        self.eyedropper = QToolButton(text="Pick", checkable=True)
        self.eyedropper.setToolTip("White balance from a neutral spot: click something grey or white in the photo (W)")
        self.temperature = slider_for("white_balance", "temperature", DAYLIGHT[0], positions=1000,
                                      reset_handler=self._reset_white_balance)
        self.tint = slider_for("white_balance", "tint", reset_handler=self._reset_white_balance)
        wb_row = QHBoxLayout()
        wb_row.addWidget(QLabel("WB"))
        wb_row.addWidget(self.wb_mode, 1)
        wb_row.addWidget(self.eyedropper)
        wb_box = self._group("White balance", [wb_row, self.temperature, self.tint])
        self.wb_mode.activated.connect(self._on_wb_mode)
        self.temperature.edited.connect(lambda value, key: self._on_kelvin(temperature=value, merge_key=key))
        self.tint.edited.connect(lambda value, key: self._on_kelvin(tint=value, merge_key=key))
        self.eyedropper.toggled.connect(self.eyedropper_toggled)

        tone_box = self._group("Tone", [self._slider(*parameter) for parameter in TONE])
        presence_box = self._group("Presence", [self._slider(*parameter) for parameter in PRESENCE])
        self.curve = CurveEditor()
        self.curve.edited.connect(self._on_curve)
        curve_box = self._group("Tone curve", [self.curve])
        self.hsl_tabs = QTabWidget()
        for title, kind in HSL_TABS:
            page = QWidget()
            page_layout = QVBoxLayout(page)
            page_layout.setSpacing(2)
            for band in BANDS:
                page_layout.addWidget(self._slider("hsl", f"{band}_{kind}"))
            self.hsl_tabs.addTab(page, title)
        hsl_box = self._group("Colour mixer", [self.hsl_tabs])
        detail_box = self._group("Detail", [self._slider(*parameter) for parameter in DETAIL])
        vignette_box = self._group("Vignette", [self._slider(*parameter) for parameter in VIGNETTE])
        self.denoise = DenoiseControls()
        self.denoise.edit_requested.connect(self.edit_requested)
        denoise_box = self._group("Denoise", [self.denoise])
        self.crop = CropControls()
        self.crop.edit_requested.connect(self.edit_requested)
        self.level_button = QToolButton(text="Level", checkable=True)
        self.level_button.setToolTip("Draw a line along the horizon or a vertical on the photo: it becomes "
                                     "level (Shift+L; Esc: stop)")
        straighten_row = QHBoxLayout()
        straighten_row.addWidget(self._slider("straighten", "angle"), 1)
        straighten_row.addWidget(self.level_button)
        crop_box = self._group("Crop && rotate", [self.crop, straighten_row])
        self.lens = LensControls()
        self.lens.edit_requested.connect(self.edit_requested)
        lens_box = self._group("Lens correction", [self.lens])
        self.look = LookControls()
        self.look.edit_requested.connect(self.edit_requested)
        look_box = self._group("Look", [self.look])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for box in (wb_box, tone_box, presence_box, curve_box, hsl_box, detail_box, vignette_box, denoise_box,
                    look_box, lens_box, crop_box):
            layout.addWidget(box)
        layout.addStretch(1)
        wheel_only_with_focus(self)  # the panel scrolls under the wheel; a clicked control takes it
        for control in self.findChildren(ParamSlider):
            control.dragging.connect(self.dragging)
        self.curve.canvas.dragging.connect(self.dragging)
        self.set_recipe(self._recipe)

    # --- construction -----------------------------------------------------------------------------
    def _group(self, title: str, items) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.setSpacing(4)
        for item in items:
            layout.addLayout(item) if isinstance(item, QHBoxLayout) else layout.addWidget(item)
        return box

    def _slider(self, operation: str, field: str) -> ParamSlider:
        slider = slider_for(operation, field)
        slider.edited.connect(lambda value, merge_key: self._on_slider(operation, field, value, merge_key))
        self.sliders[slider.name] = slider
        return slider

    # --- showing a photo and a recipe ----------------------------------------------------------------
    def set_photo(self, size: tuple[int, int] | None, as_shot_white: tuple[float, float] | None = None,
                  metadata=None) -> None:
        """The photo being edited: its upright (width, height) for the crop presets, its as-shot (kelvin,
        tint), which the temperature and tint sliders show and reset to, and its metadata (the lens)."""
        self._as_shot = as_shot_white or DAYLIGHT
        self.crop.set_photo_size(size)
        self.lens.set_metadata(metadata)
        self.set_recipe(self._recipe)

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    def set_recipe(self, recipe: Recipe) -> None:
        """Show ``recipe`` in every control (emits nothing)."""
        self._recipe = recipe
        for key, slider in self.sliders.items():
            operation, field = key.split(".")
            slider.set_value(float(getattr(recipe.get(operation), field)))
        self._show_white_balance(recipe.get("white_balance"))
        self.curve.set_params(recipe.get("tone_curve"))
        self.denoise.set_recipe(recipe)
        self.crop.set_recipe(recipe)
        self.lens.set_recipe(recipe)
        self.look.set_recipe(recipe)

    def _show_white_balance(self, params) -> None:
        modes = [mode for _, mode in WB_MODES]
        self.wb_mode.setCurrentIndex(modes.index(params.mode) if params.mode in modes else len(modes) - 1)
        if params.mode == "as_shot":
            self.temperature.set_value(self._as_shot[0])
            self.tint.set_value(self._as_shot[1])
        elif params.temperature > 0:  # kelvin, or the Kelvin equivalent of a picked (custom) balance
            self.temperature.set_value(params.temperature)
            self.tint.set_value(params.tint)
        self.temperature.default, self.tint.default = self._as_shot

    def set_eyedropper_checked(self, on: bool) -> None:
        self.eyedropper.setChecked(on)

    # --- edits --------------------------------------------------------------------------------------
    def _emit(self, operation: str, params, text: str, merge_key: str = "") -> None:
        self.edit_requested.emit(self._recipe.with_params(operation, params), text, merge_key)

    def _on_slider(self, operation: str, field: str, value: float, merge_key: str) -> None:
        params = dataclasses.replace(self._recipe.get(operation), **{field: value})
        self._emit(operation, params, self.sliders[f"{operation}.{field}"].label.text(), merge_key)

    def _on_curve(self, channel: str, points, merge_key: str) -> None:
        params = dataclasses.replace(self._recipe.get("tone_curve"), **{channel: points})
        self._emit("tone_curve", params, "Tone curve", merge_key)

    def _on_kelvin(self, *, temperature: float | None = None, tint: float | None = None, merge_key: str = "") -> None:
        current = self._recipe.get("white_balance")
        params = dataclasses.replace(
            current, mode="kelvin", multipliers=None,
            temperature=self.temperature.value() if temperature is None else temperature,
            tint=self.tint.value() if tint is None else tint)
        self._emit("white_balance", params, "Temperature" if temperature is not None else "Tint", merge_key)

    def _on_wb_mode(self, index: int) -> None:
        label, mode = WB_MODES[index]
        current = self._recipe.get("white_balance")
        if mode == "kelvin":
            if current.mode in ("kelvin", "custom"):
                return  # already custom
            params = dataclasses.replace(current, mode="kelvin", multipliers=None,
                                         temperature=self.temperature.value(), tint=self.tint.value())
        else:
            params = dataclasses.replace(type(current)(), mode=mode)
        if params != current:
            self._emit("white_balance", params, f"White balance {label.lower()}")

    def _reset_white_balance(self) -> None:
        default = type(self._recipe.get("white_balance"))()
        if self._recipe.get("white_balance") != default:
            self._emit("white_balance", default, "Reset white balance")
