"""The on-canvas crop tool: hit-testing, dragging, and the window's crop edits (one drag, one undo step)."""

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt

from photolab.core.develop.geometry import CropParams
from photolab.gui.viewer.crop_overlay import MIN_SIZE, dragged, hit_test

from ..conftest import open_and_wait, wait_until_shown

IMAGE = QRectF(100, 50, 400, 300)  # where the photo lies in the widget
CROP = (0.25, 0.2, 0.75, 0.8)  # widget rect: x 200..400, y 110..290


@pytest.mark.parametrize("point, part", [((200, 200), "left"), ((400, 200), "right"), ((300, 110), "top"),
                                         ((300, 290), "bottom"), ((200, 110), "top-left"),
                                         ((401, 289), "bottom-right"), ((300, 200), "move"), ((120, 60), None)])
def test_hit_test(point, part):
    assert hit_test(CROP, IMAGE, QPointF(*point)) == part


def test_dragging_edges_and_moving_stays_inside_the_photo():
    assert dragged(CROP, "right", 0.1, 0.3) == pytest.approx((0.25, 0.2, 0.85, 0.8))
    assert dragged(CROP, "top-left", -1.0, -1.0) == pytest.approx((0.0, 0.0, 0.75, 0.8))
    assert dragged(CROP, "left", 0.9, 0.0) == pytest.approx((0.75 - MIN_SIZE, 0.2, 0.75, 0.8))
    assert dragged(CROP, "move", 0.5, -0.5) == pytest.approx((0.5, 0.0, 1.0, 0.6))


def test_crop_tool_drag_on_the_photo(qtbot, window, dng_photo):
    open_and_wait(qtbot, window, dng_photo)
    window.action("crop").trigger()
    assert window.develop.crop.tool_button.isChecked() and window.viewer.crop_overlay == (0.0, 0.0, 1.0, 1.0)
    rect = window.viewer.image_rect()
    start = QPoint(round(rect.right()) - 1, round(rect.center().y()))
    end = QPoint(round(rect.left() + rect.width() / 2), start.y())
    qtbot.mousePress(window.viewer, Qt.MouseButton.LeftButton, pos=start)
    for fraction in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(window.viewer, QPoint(round(start.x() + (end.x() - start.x()) * fraction), start.y()))
    qtbot.mouseRelease(window.viewer, Qt.MouseButton.LeftButton, pos=end)
    crop = window.document.recipe.get("crop")
    assert crop.right == pytest.approx(0.5, abs=0.02) and (crop.left, crop.top, crop.bottom) == (0.0, 0.0, 1.0)
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == "Crop"
    assert window.develop.crop.edges["right"].value() == pytest.approx(crop.right * 100, abs=0.05)
    uncropped = wait_until_shown(qtbot, window, window.document.recipe.with_enabled("crop", False))
    assert uncropped.shape[1] == 128  # the whole photo while cropping

    window.action("crop").trigger()  # done: the crop applies
    assert window.viewer.crop_overlay is None
    cropped = wait_until_shown(qtbot, window)
    assert cropped.shape[1] == pytest.approx(64, abs=3) and cropped.shape[0] == 96
    window.undo_stack.undo()
    assert window.document.recipe.get("crop") == CropParams()
    assert wait_until_shown(qtbot, window).shape[1] == 128
