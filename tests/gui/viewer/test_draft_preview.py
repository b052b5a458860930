"""Draft previews while a slider is dragged: smaller renders in the same place, the full preview on release."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QMouseEvent

from photolab.core.develop.sharpen import SharpenParams
from photolab.core.develop.straighten import StraightenParams
from photolab.gui.viewer import rendering
from photolab.gui.viewer.rendering import DRAFT_SCALES, draft_scale, render_for_display
from tests.gui.conftest import image_array, open_and_wait, scene_image
from tests.gui.develop.test_new_operations import press

WIDTH, HEIGHT = 900, 600


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "scene.png"
    cv2.imwrite(str(path), cv2.resize(scene_image(), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR))
    return path


def record(window) -> list:
    """Every render the window shows, in order, with the viewer's photo rectangle at that moment."""
    shown = []
    window.preview_shown.connect(lambda rendered: shown.append((rendered, window.viewer.image_rect())))
    return shown


def test_draft_size_fits_the_budget_from_the_measured_cost():
    pixels = 1600 * 1067
    assert draft_scale(None, pixels) == 0.5  # nothing measured yet
    assert draft_scale(0.05 / pixels, pixels, budget=0.07) == 1.0  # the full preview is fast enough
    assert draft_scale(0.28 / pixels, pixels, budget=0.07) == 0.5  # 4x too slow: half the side
    assert draft_scale(0.9 / pixels, pixels, budget=0.07) == 0.25
    assert draft_scale(100.0 / pixels, pixels, budget=0.07) == DRAFT_SCALES[-1]  # never smaller than that


def test_dragging_a_slider_shows_drafts_in_place_and_the_full_preview_on_release(window, qtbot, photo_path,
                                                                                monkeypatch):
    monkeypatch.setattr(rendering, "DRAFT_BUDGET_S", 1e-6)  # any preview is too slow: the smallest drafts
    window.renderer._settle.setInterval(60_000)  # only the release ends the drafts here
    open_and_wait(qtbot, window, photo_path)
    document, viewer = window.document, window.viewer
    edit = (document.recipe.with_params("sharpen", SharpenParams(amount=80.0, radius=2.0))
            .with_params("straighten", StraightenParams(2.0)))  # its crop keeps pixels, not fractions, clear
    window.apply_edit(edit, "Sharpen and straighten")
    qtbot.waitUntil(lambda: viewer.displayed.recipe == document.recipe and not viewer.displayed.draft
                    and viewer.displayed.source is document.proxy, timeout=10000)
    full_scene, full_rect = viewer.displayed.scene_size, viewer.image_rect()
    shown = record(window)

    slider = window.develop.sliders["exposure.ev"].slider
    slider.setSliderDown(True)  # sliderPressed
    assert window.renderer.draft_size == DRAFT_SCALES[-1]
    for step in (1, 2, 3):
        slider.setValue(slider.value() + 15 * step)  # valueChanged, as a drag does
        qtbot.wait(20)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1][0].recipe == document.recipe, timeout=10000)
    drafts = [(rendered, rect) for rendered, rect in shown if rendered.draft]
    assert drafts and all(rendered.draft for rendered, _ in shown)
    expected_width = round(document.proxy.width * DRAFT_SCALES[-1])
    for rendered, rect in drafts:
        assert abs(rendered.source.width - expected_width) <= 1  # the shrunk proxy it was rendered from
        assert rendered.scene_size == pytest.approx(full_scene)  # the same place on screen: nothing jumps
        assert rect == full_rect
        # Pixel-sized parameters (the sharpening radius) follow the draft's own scale.
        assert rendered.source.scale == pytest.approx(document.proxy.scale * rendered.source.width
                                                      / document.proxy.width)
    assert not viewer.wants_full_resolution  # a draft is not a soft proxy to replace at full resolution
    assert all(entry[0] is document.proxy for entry in window.renderer.proxy_stages._entries)  # not mixed

    slider.setSliderDown(False)  # sliderReleased: the full preview replaces the draft
    qtbot.waitUntil(lambda: not viewer.displayed.draft and viewer.displayed.recipe == document.recipe
                    and viewer.displayed.source is document.proxy, timeout=10000)
    final = viewer.displayed
    assert final.scene_size == pytest.approx(full_scene) and viewer.image_rect() == full_rect
    # The draft comes enlarged to the full preview's fitted size, which the viewer draws 1:1 at fit zoom.
    assert final.fitted is not None
    for rendered, _ in drafts:
        assert rendered.fitted.size() == final.fitted.size()
    image, _, _, _ = render_for_display(document.proxy, document.recipe, histogram=False)
    np.testing.assert_array_equal(image_array(final.image), image_array(image))


def test_a_drag_held_still_gets_the_full_preview_and_keys_do_not_draft(window, qtbot, photo_path, monkeypatch):
    monkeypatch.setattr(rendering, "DRAFT_BUDGET_S", 1e-6)
    open_and_wait(qtbot, window, photo_path)
    document, viewer = window.document, window.viewer
    shown = record(window)
    slider = window.develop.sliders["exposure.ev"].slider
    slider.setSliderDown(True)
    slider.setValue(slider.value() + 20)
    # Held still: DRAFT_SETTLE_MS later the full preview comes, the handle still down.
    qtbot.waitUntil(lambda: not viewer.displayed.draft and viewer.displayed.recipe == document.recipe
                    and viewer.displayed.source is document.proxy, timeout=10000)
    assert slider.isSliderDown() and any(rendered.draft for rendered, _ in shown)
    slider.setSliderDown(False)

    shown.clear()
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)  # a key step is not a drag: full previews only
    qtbot.waitUntil(lambda: viewer.displayed.recipe == document.recipe and viewer.displayed.source
                    is document.proxy, timeout=10000)
    assert shown and not any(rendered.draft for rendered, _ in shown)


def test_the_panel_says_when_a_slider_or_curve_point_is_held(panel, qtbot):
    states = []
    panel.dragging.connect(states.append)
    slider = panel.sliders["straighten.angle"].slider
    slider.setSliderDown(True)
    slider.setSliderDown(False)
    canvas = panel.curve.canvas
    middle = canvas.to_widget(0.5, 0.5)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(middle.x()), round(middle.y())))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(middle.x()), round(middle.y())))
    assert states == [True, False, True, False]


def test_dragging_a_curve_point_drafts_too(window, qtbot, photo_path, monkeypatch):
    monkeypatch.setattr(rendering, "DRAFT_BUDGET_S", 1e-6)
    window.renderer._settle.setInterval(60_000)  # only the release ends the drafts here
    open_and_wait(qtbot, window, photo_path)
    document, viewer = window.document, window.viewer
    canvas = window.develop.curve.canvas
    shown = record(window)
    press(canvas, QMouseEvent.Type.MouseButtonPress, canvas.to_widget(0.5, 0.5))  # a point added and grabbed
    press(canvas, QMouseEvent.Type.MouseMove, canvas.to_widget(0.5, 0.7))
    qtbot.waitUntil(lambda: bool(shown) and shown[-1][0].recipe == document.recipe, timeout=10000)
    assert shown[-1][0].draft
    press(canvas, QMouseEvent.Type.MouseButtonRelease, canvas.to_widget(0.5, 0.7), Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: not viewer.displayed.draft and viewer.displayed.recipe == document.recipe
                    and viewer.displayed.source is document.proxy, timeout=10000)
