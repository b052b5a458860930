"""The image viewer: fit, 100 %, wheel zoom around the cursor, panning, eyedropper coordinates."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from photolab.core.recipe import Recipe
from photolab.gui.viewer.image_viewer import FIT_MARGIN, ImageViewer
from photolab.gui.viewer.rendering import RenderedImage, to_qimage

FIT = (400 - 2 * FIT_MARGIN) / 1600  # a 1600 x 800 photo in the 400 x 300 viewer


def rendered(width, height, *, scale=1.0, full=False, recipe=Recipe()):
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = 200
    return RenderedImage(to_qimage(pixels), None, recipe, False, full, (width / scale, height / scale), 1, 0.0, None)


@pytest.fixture
def viewer(qtbot):
    widget = ImageViewer()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def wheel(viewer, position: QPointF, notches: int):
    event = QWheelEvent(position, viewer.mapToGlobal(position), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    viewer.wheelEvent(event)


def test_fit_shows_the_whole_photo_centred(viewer):
    viewer.set_rendered(rendered(400, 200, scale=0.25))  # a 1600 x 800 photo shown through a 400 px proxy
    assert viewer.is_fit
    assert viewer.zoom == pytest.approx(FIT)
    rect = viewer.image_rect()
    assert rect.width() == pytest.approx(400 - 2 * FIT_MARGIN)
    assert rect.center().x() == pytest.approx(200) and rect.center().y() == pytest.approx(150)


def test_fit_never_enlarges_a_small_photo(viewer):
    for width, height in ((1, 1), (120, 80)):
        viewer.set_rendered(rendered(width, height))
        viewer.zoom_to_fit()
        assert viewer.is_fit and viewer.zoom == pytest.approx(1.0)
        assert viewer.image_rect().width() == pytest.approx(width)
        assert viewer.image_rect().center().x() == pytest.approx(200)


def test_100_percent_and_back_to_fit(viewer):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    viewer.zoom_to_actual()
    assert viewer.zoom == pytest.approx(1.0) and not viewer.is_fit
    assert viewer.image_rect().width() == pytest.approx(1600)
    viewer.zoom_to_fit()
    assert viewer.zoom == pytest.approx(FIT)


def test_wheel_zooms_around_the_cursor(viewer):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    cursor = QPointF(300, 120)
    under_cursor = viewer.widget_to_scene(cursor)
    wheel(viewer, cursor, 3)
    assert viewer.zoom == pytest.approx(FIT * 1.25 ** 3)
    after = viewer.widget_to_scene(cursor)
    assert after.x() == pytest.approx(under_cursor.x(), abs=0.5)
    assert after.y() == pytest.approx(under_cursor.y(), abs=0.5)
    wheel(viewer, cursor, -3)
    assert viewer.zoom == pytest.approx(FIT)


def test_drag_pans_and_stops_at_the_photo_edges(viewer, qtbot):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    viewer.zoom_to_actual()
    centre = viewer.widget_to_scene(QPointF(200, 150))
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(viewer, QPoint(150, 130))
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=QPoint(150, 130))
    moved = viewer.widget_to_scene(QPointF(200, 150))
    assert moved.x() == pytest.approx(centre.x() + 50) and moved.y() == pytest.approx(centre.y() + 20)
    viewer.pan_by(-100000, -100000)  # far past the bottom-right corner
    assert viewer.image_rect().right() == pytest.approx(viewer.width())
    assert viewer.image_rect().bottom() == pytest.approx(viewer.height())


def test_full_resolution_is_wanted_when_zoomed_in(viewer, qtbot):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    with qtbot.waitSignal(viewer.full_resolution_wanted) as blocker:
        viewer.zoom_to_actual()
    assert blocker.args == [True]
    with qtbot.waitSignal(viewer.full_resolution_wanted) as blocker:
        viewer.zoom_to_fit()
    assert blocker.args == [False]


def test_full_resolution_render_is_shown_until_the_recipe_changes(viewer):
    edited = Recipe().with_params("exposure", type(Recipe().get("exposure"))(ev=1.0))
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    viewer.set_rendered(rendered(1600, 800, full=True))
    assert viewer.displayed.full_resolution
    viewer.set_rendered(rendered(400, 200, scale=0.25, recipe=edited))
    assert not viewer.displayed.full_resolution and viewer.displayed.recipe == edited


def test_eyedropper_click_reports_normalised_position(viewer, qtbot):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    viewer.set_pick_mode(True)
    rect = viewer.image_rect()
    point = QPoint(round(rect.left() + rect.width() * 0.25), round(rect.top() + rect.height() * 0.75))
    with qtbot.waitSignal(viewer.picked) as blocker:
        qtbot.mouseClick(viewer, Qt.MouseButton.LeftButton, pos=point)
    u, v = blocker.args
    assert u == pytest.approx(0.25, abs=0.01) and v == pytest.approx(0.75, abs=0.01)


def test_paints_the_visible_part(viewer):
    viewer.set_rendered(rendered(400, 200, scale=0.25))
    viewer.zoom_to_actual()
    viewer.pan_by(100000, 0)  # the left edge: the bright half of the test image
    grabbed = viewer.grab().toImage()
    assert grabbed.pixelColor(10, 150).red() == 200


def test_to_qimage_keeps_every_pixel():
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3) * 2
    image = to_qimage(pixels)
    assert (image.width(), image.height()) == (7, 5)
    for x, y in ((0, 0), (6, 4), (3, 2)):
        colour = image.pixelColor(x, y)
        assert (colour.red(), colour.green(), colour.blue()) == tuple(pixels[y, x])


def test_to_qimage_is_the_guis_only_numpy_to_qimage_conversion():
    from pathlib import Path

    import photolab.gui

    folder = Path(photolab.gui.__file__).parent
    makers = [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*.py"))
              if "QImage(" in path.read_text()]
    assert makers == ["viewer/rendering.py"]
    strided = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)[:, ::-1]  # e.g. a thumbnail's slice
    assert to_qimage(strided).pixelColor(0, 0).red() == strided[0, 0, 0] == 6


def test_the_workers_fitted_copy_is_drawn_at_fit_zoom(viewer):
    import dataclasses

    from photolab.gui.viewer.rendering import fitted_size

    width, height = fitted_size(800, 400, viewer.fit_area())
    assert (width, height) == (400 - 2 * FIT_MARGIN, (400 - 2 * FIT_MARGIN) // 2)
    green = np.zeros((height, width, 3), np.uint8)
    green[..., 1] = 255
    base = rendered(800, 400, scale=0.5)
    viewer.set_rendered(dataclasses.replace(base, fitted=to_qimage(green)))
    centre = viewer.image_rect().center().toPoint()
    assert viewer.grab().toImage().pixelColor(centre).green() == 255  # the pre-shrunk copy, drawn 1:1
    viewer.zoom_to_actual()
    assert viewer.grab().toImage().pixelColor(viewer.rect().center()).green() != 255  # zoomed: the render itself


def test_clipping_warnings_paint_clipped_highlights_red_and_crushed_shadows_blue(viewer):
    from photolab.gui.viewer.rendering import clipping_overlay

    pixels = np.full((100, 200, 3), 128, np.uint8)
    pixels[:, :50] = (255, 200, 100)  # red clipped
    pixels[:, 150:] = (0, 20, 40)  # red crushed
    overlay = clipping_overlay(to_qimage(pixels))
    assert overlay.pixelColor(10, 50).red() > 200 and overlay.pixelColor(10, 50).alpha() == 255
    assert overlay.pixelColor(160, 50).blue() > 200 and overlay.pixelColor(160, 50).alpha() == 255
    assert overlay.pixelColor(100, 50).alpha() == 0  # mid-tones untouched

    viewer.set_rendered(RenderedImage(to_qimage(pixels), None, Recipe(), False, True, (200, 100), 1, 0.0, None))
    centre = viewer.image_rect().center()
    left = viewer.scene_to_widget(QPointF(20, 50)).toPoint()
    before = viewer.grab().toImage().pixelColor(left)
    viewer.set_show_clipping(True)
    after = viewer.grab().toImage().pixelColor(left)
    assert (before.red(), before.green()) == (255, 200) and (after.red(), after.green(), after.blue()) == (255, 40, 40)
    assert viewer.grab().toImage().pixelColor(centre.toPoint()).red() == 128  # mid-tones as they are


def test_j_toggles_the_clipping_warnings(window):
    action = window.action("clipping")
    assert action.shortcut().toString() == "J" and action.isCheckable()
    action.trigger()
    assert window.viewer.show_clipping
    action.trigger()
    assert not window.viewer.show_clipping
