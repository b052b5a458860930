"""Viewing in the window: split before/after with a draggable divider, the zoom menu, the navigator."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from photolab.core.develop.exposure import ExposureParams
from photolab.core.recipe import Recipe
from tests.gui.conftest import open_and_wait, wait_until_shown

GREY = 90  # the test photo's 8-bit value; +1 EV makes it clearly brighter
WIDTH, HEIGHT = 1200, 900  # larger than the viewer: fit is below 100 %


@pytest.fixture
def grey_photo(tmp_path):
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((HEIGHT, WIDTH, 3), GREY, np.uint8))
    return path


def brighter(window, qtbot, ev=1.0):
    recipe = Recipe().with_params("exposure", ExposureParams(ev=ev))
    window.apply_edit(recipe, "Exposure")
    wait_until_shown(qtbot, window, recipe)
    return recipe


def pixel(window, x: float) -> int:
    """The red value the viewer shows at widget x, in the photo's middle row."""
    viewer = window.viewer
    y = round(viewer.image_rect().center().y())
    return viewer.grab().toImage().pixelColor(round(x), y).red()


def test_split_view_shows_before_left_and_after_right_of_a_draggable_divider(window, qtbot, grey_photo):
    open_and_wait(qtbot, window, grey_photo)
    brighter(window, qtbot)
    viewer = window.viewer
    window.action("split").trigger()
    assert window.split_view.active and viewer.split == pytest.approx(0.5)
    qtbot.waitUntil(lambda: viewer.displayed_before is not None
                    and viewer.displayed_before.recipe == Recipe(), timeout=10000)
    rect = viewer.image_rect()
    divider = viewer.split * viewer.width()
    assert rect.left() < divider - 20 and divider + 20 < rect.right()
    before, after = pixel(window, divider - 15), pixel(window, divider + 15)
    assert abs(before - GREY) <= 2 and after > GREY + 25  # unedited left, +1 EV right

    # Drag the divider to 80 % of the width: the part between now shows "before".
    y = round(rect.center().y())
    target = round(viewer.width() * 0.8)
    with qtbot.waitSignal(viewer.split_changed):
        qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=QPoint(round(divider), y))
        qtbot.mouseMove(viewer, QPoint(target, y))
        qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=QPoint(target, y))
    assert viewer.split == pytest.approx(target / viewer.width(), abs=0.01)
    assert abs(pixel(window, divider + 15) - GREY) <= 2  # was "after", now left of the divider
    assert pixel(window, min(target + 15, rect.right() - 2)) > GREY + 25
    assert not viewer.is_fit or viewer.image_rect() == rect  # dragging the divider does not pan

    # The Before / After toggle and split view exclude each other; split off shows the edit everywhere.
    window.action("before").trigger()
    assert not window.split_view.active and viewer.split is None
    window.action("before").trigger()
    window.action("split").trigger()
    window.action("split").trigger()
    assert viewer.split is None and pixel(window, divider - 15) > GREY + 25


def test_split_view_before_follows_geometry_edits_only(window, qtbot, grey_photo):
    open_and_wait(qtbot, window, grey_photo)
    window.action("split").trigger()
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.displayed_before is not None, timeout=10000)
    first = viewer.displayed_before
    brighter(window, qtbot, 0.5)
    assert viewer.displayed_before is first  # a tone edit does not render "before" again
    turned = window.document.recipe.with_params("orient", type(Recipe().get("orient"))(quarter_turns=1))
    window.apply_edit(turned, "Rotate")
    qtbot.waitUntil(lambda: viewer.displayed_before is not first
                    and viewer.displayed_before.scene_size == (HEIGHT, WIDTH), timeout=10000)


@pytest.mark.parametrize("name,expected", [
    ("fit", lambda v: v.fit_zoom()),
    ("fill", lambda v: max(v.width() / WIDTH, v.height() / HEIGHT)),
    ("zoom_50", lambda v: 0.5), ("actual", lambda v: 1.0), ("zoom_200", lambda v: 2.0)])
def test_zoom_menu_actions_set_the_scale(window, qtbot, grey_photo, name, expected):
    open_and_wait(qtbot, window, grey_photo)
    viewer = window.viewer
    window.action("zoom_200" if name == "fit" else "fit").trigger()  # start elsewhere
    menu = window.zoom_label.menu()
    action = window.action(name)
    assert action in menu.actions() and action.isEnabled()
    action.trigger()
    assert viewer.zoom == pytest.approx(expected(viewer))
    assert viewer.is_fit == (name == "fit") and viewer.fit_zoom() < 0.5
    if name == "fill":  # the photo covers the viewer, centred
        rect = viewer.image_rect()
        assert rect.left() <= 0 and rect.top() <= 0 and rect.right() >= viewer.width() - 1e-6
        assert rect.bottom() >= viewer.height() - 1e-6
        assert rect.center().x() == pytest.approx(viewer.width() / 2, abs=0.5)
    assert f"{viewer.zoom * 100:.0f} %" in window.zoom_label.text()


def test_zoom_menu_lists_the_levels_in_order(window):
    texts = [action.text().replace("&", "") for action in window.zoom_label.menu().actions()]
    assert texts == ["Zoom to Fit", "Zoom to Fill", "50 %", "100 %", "200 %"]


def test_navigator_rectangle_follows_the_view_and_dragging_it_pans(window, qtbot, grey_photo):
    window.action("navigator").trigger()
    navigator = window.navigator.view
    qtbot.waitExposed(navigator)
    open_and_wait(qtbot, window, grey_photo)
    viewer = window.viewer
    image = navigator.image_rect()
    assert image.width() / image.height() == pytest.approx(WIDTH / HEIGHT, rel=0.02)
    assert navigator.frame_rect() == image  # fitted: all of the photo is visible

    window.action("actual").trigger()  # 100 %: part of it is visible
    scale = image.width() / WIDTH
    visible = viewer.visible_scene_rect()
    frame = navigator.frame_rect()
    assert frame.width() == pytest.approx(visible.width() * scale, abs=0.01)
    assert frame.left() == pytest.approx(image.left() + visible.left() * scale, abs=0.01)
    assert frame.width() < image.width()

    viewer.pan_by(60, 40)  # the view moves: so does the rectangle
    moved = viewer.visible_scene_rect()
    assert moved.left() == pytest.approx(visible.left() - 60, abs=0.01)  # 60 widget px at 100 %
    assert navigator.frame_rect().left() == pytest.approx(image.left() + moved.left() * scale, abs=0.01)

    # Drag the rectangle 10 navigator pixels right and 5 down: the view pans 10 / scale photo pixels.
    start_centre = viewer.widget_to_scene(QPointF(viewer.width() / 2, viewer.height() / 2))
    grab = navigator.frame_rect().center().toPoint()
    qtbot.mousePress(navigator, Qt.MouseButton.LeftButton, pos=grab)
    qtbot.mouseMove(navigator, grab + QPoint(10, 5))
    qtbot.mouseRelease(navigator, Qt.MouseButton.LeftButton, pos=grab + QPoint(10, 5))
    centre = viewer.widget_to_scene(QPointF(viewer.width() / 2, viewer.height() / 2))
    expected_x = min(start_centre.x() + 10 / scale, WIDTH - viewer.width() / 2)
    expected_y = min(start_centre.y() + 5 / scale, HEIGHT - viewer.height() / 2)
    assert centre.x() == pytest.approx(expected_x, abs=1.0 / scale)
    assert centre.y() == pytest.approx(expected_y, abs=1.0 / scale)
    assert navigator.frame_rect().center().x() == pytest.approx(image.left() + centre.x() * scale, abs=0.6)

    # A click outside the rectangle centres the view there (as far as the edges allow).
    qtbot.mouseClick(navigator, Qt.MouseButton.LeftButton, pos=image.topLeft().toPoint() + QPoint(1, 1))
    assert viewer.visible_scene_rect().topLeft() == QPointF(0, 0)
