"""The level tool: a line drawn on the photo sets the straighten angle that makes it level; one undo step."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from photolab.core.develop.straighten import StraightenParams
from tests.gui.conftest import open_and_wait, wait_until_shown


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "horizon.png"
    image = np.full((600, 900, 3), 150, np.uint8)
    image[300:] = 60  # a dark sea under a light sky
    cv2.imwrite(str(path), image)
    return path


def draw(qtbot, viewer, start: QPoint, end: QPoint) -> None:
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewer, (start + end) / 2)
    qtbot.mouseMove(viewer, end)
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=end)


def test_a_line_along_a_tilted_horizon_levels_it_and_undo_restores(window, qtbot, photo):
    open_and_wait(qtbot, window, photo)
    viewer = window.viewer
    window.develop.level_button.click()
    assert window.action("level").isChecked()
    centre = viewer.rect().center()
    start, end = centre + QPoint(-150, 12), centre + QPoint(150, -14)  # rising 26 px over 300 px to the right
    draw(qtbot, viewer, start, end)
    expected = -math.degrees(math.atan2(26, 300))  # turn clockwise by the rise
    assert window.document.recipe.get("straighten").angle == pytest.approx(expected, abs=1e-6)
    assert not window.action("level").isChecked() and not window.develop.level_button.isChecked()
    assert window.undo_stack.undoText() == "Level"
    assert window.develop.sliders["straighten.angle"].value() == pytest.approx(expected, abs=0.05)
    wait_until_shown(qtbot, window)

    # A second line on the straightened photo adds to the angle it already has.
    window.action("level").trigger()
    draw(qtbot, viewer, centre + QPoint(-100, 0), centre + QPoint(100, 7))  # falling 7 px over 200 px
    second = expected + math.degrees(math.atan2(7, 200))
    assert window.document.recipe.get("straighten").angle == pytest.approx(second, abs=1e-6)

    window.undo_stack.undo()
    assert window.document.recipe.get("straighten").angle == pytest.approx(expected, abs=1e-6)
    window.undo_stack.undo()
    assert window.document.recipe.get("straighten") == StraightenParams()


def test_a_near_vertical_line_is_made_plumb(window, qtbot, photo):
    open_and_wait(qtbot, window, photo)
    viewer = window.viewer
    window.action("level").trigger()
    centre = viewer.rect().center()
    draw(qtbot, viewer, centre + QPoint(-6, 100), centre + QPoint(6, -100))  # leaning right at the top
    expected = math.degrees(math.atan2(12, 200))  # turn counter-clockwise to stand it up
    assert window.document.recipe.get("straighten").angle == pytest.approx(expected, abs=1e-6)


def test_a_click_or_escape_leaves_the_recipe_alone(window, qtbot, photo):
    open_and_wait(qtbot, window, photo)
    viewer = window.viewer
    recipe = window.document.recipe
    window.action("level").trigger()
    qtbot.mouseClick(viewer, Qt.MouseButton.LeftButton, pos=viewer.rect().center())  # no line: no edit
    assert window.document.recipe == recipe and window.action("level").isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.action("level").isChecked()
    draw(qtbot, viewer, viewer.rect().center(), viewer.rect().center() + QPoint(40, 40))  # pans, does not level
    assert window.document.recipe == recipe and window.undo_stack.count() == 0
