"""The Develop panel: edits become recipes, one slider drag is one merge key, resets, crop geometry."""

import pytest
from PySide6.QtCore import Qt

from photolab.core.develop.exposure import ExposureParams
from photolab.core.develop.geometry import CropParams, OrientParams, rotate_crop
from photolab.core.recipe import Recipe


def collect(panel):
    edits = []
    panel.edit_requested.connect(lambda recipe, text, key: edits.append((recipe, text, key)))
    return edits


def test_a_slider_drag_is_one_merge_key(panel):
    edits = collect(panel)
    slider = panel.sliders["exposure.ev"].slider
    slider.setSliderDown(True)  # what pressing the handle does
    for position in (520, 540, 560):
        slider.setValue(position)
    slider.setSliderDown(False)
    slider.sliderReleased.emit()
    slider.setSliderDown(True)
    slider.setValue(600)
    assert [recipe.get("exposure").ev for recipe, _, _ in edits] == [0.2, 0.4, 0.6, 1.0]
    keys = [key for _, _, key in edits]
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert edits[0][1] == "Exposure"


def test_typed_values_are_edits_and_set_recipe_is_not(panel):
    edits = collect(panel)
    panel.set_recipe(Recipe().with_params("exposure", ExposureParams(ev=-1.25)))
    assert edits == [] and panel.sliders["exposure.ev"].value() == -1.25
    panel.sliders["exposure.ev"].spin.setValue(0.5)
    assert edits[-1][0].get("exposure") == ExposureParams(ev=0.5)


def test_double_clicking_a_label_resets_that_slider(panel, qtbot):
    panel.set_recipe(Recipe().with_params("exposure", ExposureParams(ev=2.0)))
    edits = collect(panel)
    qtbot.mouseDClick(panel.sliders["exposure.ev"].label, Qt.MouseButton.LeftButton)
    assert edits[-1][0].get("exposure") == ExposureParams(ev=0.0)


def test_rotate_button_turns_photo_and_crop(panel):
    crop = CropParams(left=0.1, top=0.2, right=0.5, bottom=0.9)
    panel.set_recipe(Recipe().with_params("crop", crop))
    edits = collect(panel)
    panel.crop.rotate_right.click()
    recipe, text, _ = edits[-1]
    assert recipe.get("orient") == OrientParams(quarter_turns=1)
    assert recipe.get("crop") == rotate_crop(crop, True) and text == "Rotate right"
    panel.set_recipe(recipe)
    panel.crop.rotate_left.click()
    assert edits[-1][0].get("orient") == OrientParams(quarter_turns=0)


def test_aspect_presets_crop_the_largest_centred_rectangle(panel):
    panel.set_photo((300, 200))
    edits = collect(panel)
    panel.crop.aspect.activated.emit(panel.crop.aspect.findText("1 : 1"))
    crop = edits[-1][0].get("crop")
    assert (crop.left, crop.right) == pytest.approx((1 / 6, 5 / 6))


def test_crop_edges_keep_a_minimum_size(panel):
    panel.set_recipe(Recipe().with_params("crop", CropParams(left=0.2, right=0.6)))
    edits = collect(panel)
    panel.crop.edges["left"].setValue(90.0)
    crop = edits[-1][0].get("crop")
    assert crop.left == pytest.approx(0.59) and crop.right == pytest.approx(0.6)
    assert panel.crop.edges["left"].value() == pytest.approx(59.0)


def turn_wheel_over(window, widget, notches: int = -1) -> None:
    """A real (spontaneous) wheel turn at ``widget``'s centre, as the mouse gives it."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtTest import QTest

    centre = widget.mapTo(window, widget.rect().center())
    QTest.wheelEvent(window.windowHandle(), QPointF(centre), QPoint(0, 120 * notches))


def test_the_wheel_scrolls_the_panel_until_a_control_is_clicked(qtbot, window, png_photo):
    from ..conftest import open_and_wait

    open_and_wait(qtbot, window, png_photo)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    bar = window.side_dock.widget().verticalScrollBar()
    assert bar.maximum() > 0
    exposure = window.develop.sliders["exposure.ev"]
    recipe = window.document.recipe
    for control in (exposure.slider, exposure.spin, window.develop.wb_mode):
        bar.setValue(0)
        turn_wheel_over(window, control)
        assert bar.value() > 0, control  # the panel scrolled ...
        assert window.document.recipe == recipe  # ... and nothing changed
    bar.setValue(0)
    exposure.slider.setFocus(Qt.FocusReason.MouseFocusReason)  # what a click on it does
    turn_wheel_over(window, exposure.slider)
    assert bar.value() == 0 and window.document.recipe.get("exposure").ev != 0.0


def test_the_sliders_take_range_step_unit_and_label_from_the_parameter_metadata(panel):
    from photolab.core.develop import OPERATIONS_BY_NAME
    from photolab.core.develop.params import param_spec

    sliders = {**panel.sliders, "white_balance.temperature": panel.temperature, "white_balance.tint": panel.tint,
               "denoise.sigma": panel.denoise.strength}
    for key, slider in sliders.items():
        operation, field = key.split(".")
        spec = param_spec(OPERATIONS_BY_NAME[operation].params_type, field)
        assert slider.label.text() == spec.label
        assert (slider.spin.minimum(), slider.spin.maximum()) == spec.range
        assert slider.spin.singleStep() == spec.step and slider.spin.decimals() == spec.decimals
        assert slider.spin.suffix() == (f" {spec.unit}" if spec.unit else "")


def test_a_value_beyond_the_sliders_travel_can_be_typed_and_shown(panel):
    edits = collect(panel)
    exposure = panel.sliders["exposure.ev"]
    exposure.spin.setValue(7.5)  # the slider travels -5..5 EV, the parameter takes -10..10
    assert edits[-1][0].get("exposure") == ExposureParams(ev=7.5)
    assert exposure.slider.value() == exposure.slider.maximum()
    panel.set_recipe(Recipe().with_params("exposure", ExposureParams(ev=-9.0)))
    assert exposure.value() == -9.0 and exposure.slider.value() == 0
    panel.temperature.spin.setValue(1600)  # below the slider's 2000 K, within the parameter's 1500 K
    assert edits[-1][0].get("white_balance").temperature == 1600.0


def test_the_crop_edges_show_the_parameters_range_and_step_in_percent(panel):
    for name, spin in panel.crop.edges.items():
        assert (spin.minimum(), spin.maximum(), spin.singleStep(), spin.decimals()) == (0.0, 100.0, 0.5, 1)
