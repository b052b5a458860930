"""The Develop panel's tone curve editor, colour mixer, detail, vignette and straighten controls."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent

from photolab.core.develop.hsl import BANDS, HslParams
from photolab.core.develop.tone_curve import IDENTITY, ToneCurveParams
from photolab.core.recipe import Recipe


def collect(panel):
    edits = []
    panel.edit_requested.connect(lambda recipe, text, key: edits.append((recipe, text, key)))
    return edits


def test_every_new_parameter_has_a_slider_that_edits_the_recipe(panel):
    names = [f"hsl.{band}_{kind}" for band in BANDS for kind in ("hue", "saturation", "luminance")]
    names += ["sharpen.amount", "sharpen.radius", "sharpen.masking", "vignette.amount", "vignette.midpoint",
              "vignette.roundness", "vignette.feather", "straighten.angle"]
    assert set(names) <= set(panel.sliders)
    edits = collect(panel)
    panel.sliders["hsl.blue_luminance"].spin.setValue(-40.0)
    recipe, text, _ = edits[-1]
    assert recipe.get("hsl") == HslParams(blue_luminance=-40.0) and text == "Blue luminance"
    panel.sliders["straighten.angle"].spin.setValue(3.5)
    assert edits[-1][0].get("straighten").angle == 3.5


def test_set_recipe_shows_the_new_operations(panel):
    curve = ((0.0, 0.0), (0.4, 0.5), (1.0, 1.0))
    recipe = (Recipe().with_params("hsl", HslParams(green_saturation=25.0))
              .with_params("tone_curve", ToneCurveParams(luminance=curve)))
    edits = collect(panel)
    panel.set_recipe(recipe)
    assert edits == []
    assert panel.sliders["hsl.green_saturation"].value() == 25.0
    assert panel.curve.canvas.points == curve


def press(widget, kind, point: QPointF, buttons=Qt.MouseButton.LeftButton):
    event = QMouseEvent(kind, point, widget.mapToGlobal(point.toPoint()), Qt.MouseButton.LeftButton, buttons,
                        Qt.KeyboardModifier.NoModifier)
    {QMouseEvent.Type.MouseButtonPress: widget.mousePressEvent,
     QMouseEvent.Type.MouseMove: widget.mouseMoveEvent,
     QMouseEvent.Type.MouseButtonRelease: widget.mouseReleaseEvent,
     QMouseEvent.Type.MouseButtonDblClick: widget.mouseDoubleClickEvent}[kind](event)


def test_clicking_the_curve_adds_a_point_and_dragging_moves_it_in_one_undo_step(panel):
    canvas = panel.curve.canvas
    canvas.resize(206, 206)  # a 194-pixel square from (6, 6)
    edits = collect(panel)
    press(canvas, QMouseEvent.Type.MouseButtonPress, canvas.to_widget(0.5, 0.5))
    assert len(edits[-1][0].get("tone_curve").luminance) == 3
    press(canvas, QMouseEvent.Type.MouseMove, canvas.to_widget(0.5, 0.7))
    press(canvas, QMouseEvent.Type.MouseMove, canvas.to_widget(0.5, 0.75))
    press(canvas, QMouseEvent.Type.MouseButtonRelease, canvas.to_widget(0.5, 0.75), Qt.MouseButton.NoButton)
    points = edits[-1][0].get("tone_curve").luminance
    assert points[1][0] == 0.5 and abs(points[1][1] - 0.75) < 0.01
    assert len({key for _, _, key in edits}) == 1 and edits[-1][1] == "Tone curve"


def test_a_point_is_removed_by_double_click_or_by_dragging_it_off(panel):
    canvas = panel.curve.canvas
    canvas.resize(206, 206)
    three = ((0.0, 0.0), (0.5, 0.6), (1.0, 1.0))
    panel.set_recipe(Recipe().with_params("tone_curve", ToneCurveParams(luminance=three)))
    edits = collect(panel)
    press(canvas, QMouseEvent.Type.MouseButtonDblClick, canvas.to_widget(0.5, 0.6))
    assert edits[-1][0].get("tone_curve").luminance == IDENTITY
    panel.set_recipe(Recipe().with_params("tone_curve", ToneCurveParams(luminance=three)))
    press(canvas, QMouseEvent.Type.MouseButtonPress, canvas.to_widget(0.5, 0.6))
    press(canvas, QMouseEvent.Type.MouseMove, QPointF(100.0, 400.0))
    assert edits[-1][0].get("tone_curve").luminance == IDENTITY
    # the two ends always stay
    panel.set_recipe(Recipe())
    press(canvas, QMouseEvent.Type.MouseButtonDblClick, canvas.to_widget(0.0, 0.0))
    assert edits[-1][0].get("tone_curve").luminance == IDENTITY


def test_the_channel_selector_edits_that_channel(panel):
    canvas = panel.curve.canvas
    canvas.resize(206, 206)
    panel.curve.channel.setCurrentIndex(3)  # Blue
    edits = collect(panel)
    press(canvas, QMouseEvent.Type.MouseButtonPress, canvas.to_widget(0.5, 0.3))
    params = edits[-1][0].get("tone_curve")
    assert len(params.blue) == 3 and params.luminance == IDENTITY
    canvas.grab()  # paints without error
    assert QPoint(0, 0) is not None


def test_lens_correction_controls_edit_the_recipe_and_say_which_profile(panel):
    import pytest

    pytest.importorskip("lensfunpy")
    from photolab.core.develop.lens import LensParams
    from photolab.core.photo import PhotoMetadata
    from photolab.gui.develop.lens_controls import FROM_METADATA

    lens = "Canon EF 16-35mm f/2.8L II USM"
    panel.set_photo((300, 200), None, PhotoMetadata(camera_make="Canon", camera_model="Canon EOS 5D Mark II",
                                                    lens=lens, focal_length_mm=16.0))
    assert panel.lens.status.text() == "Off" and not panel.lens.lens.isEnabled()
    edits = collect(panel)
    panel.lens.enabled.setChecked(True)
    recipe, text, _ = edits[-1]
    assert recipe.get("lens_correction") == LensParams(enabled=True) and text == "Lens correction on"
    panel.set_recipe(recipe)
    assert panel.lens.status.text().startswith(lens) and panel.lens.lens.currentText() == FROM_METADATA
    panel.lens.parts["tca"].setChecked(False)
    assert edits[-1][0].get("lens_correction").tca is False
    panel.set_photo((300, 200), None, PhotoMetadata(camera_make="Canon", camera_model="Canon EOS 5D Mark II"))
    assert panel.lens.status.text().startswith("no profile for this lens")
    panel.lens.lens.load_names()
    index = panel.lens.lens.findText(lens)
    panel.lens.lens.setCurrentIndex(index)
    panel.lens.lens.activated.emit(index)
    assert edits[-1][0].get("lens_correction").lens == lens
    count = len(edits)
    panel.set_recipe(edits[-1][0])  # showing a recipe emits nothing
    assert len(edits) == count and panel.lens.lens.currentText() == lens
