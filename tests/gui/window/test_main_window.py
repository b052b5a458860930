"""The real window on the real pipeline: open a DNG, edit, undo/redo, reset, before/after, zoom, drop,
recent files, errors."""


import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence

from photolab.core.develop.exposure import ExposureParams
from photolab.core.recipe import Recipe
from photolab.gui.widgets import dialogs
from photolab.gui.window.menus import fill_recent_menu

from ..conftest import open_and_wait, wait_until_shown


def drag_slider(slider, positions):
    """What a mouse drag on the handle does: press, move through positions, release."""
    slider.setSliderDown(True)
    slider.sliderPressed.emit()
    for position in positions:
        slider.setValue(position)
    slider.setSliderDown(False)
    slider.sliderReleased.emit()


def test_open_dng_shows_photo_metadata_and_histogram(qtbot, window, dng_photo, recorded_dialogs):
    pixels = open_and_wait(qtbot, window, dng_photo)
    assert pixels.shape[2] == 3 and pixels.mean() > 20
    assert window.windowTitle().startswith("scene.dng")
    info = {row: label.text() for row, label in window.info.values.items()}
    assert info["Camera"] == "Canon EOS 5D Mark II" and info["ISO"] == "ISO 200"
    assert info["Shutter"] == "1/250 s" and info["Aperture"] == "f/2.8" and info["Focal length"] == "50 mm"
    assert info["Size"].startswith("128 × 96")
    assert window.histogram.counts is not None and window.histogram.counts.sum() > 0
    assert window.action("export").isEnabled()
    kelvin, tint = window.document.as_shot_white  # the sliders start at the camera's white balance
    assert 2000 < kelvin < 50000 and window.develop.temperature.value() == pytest.approx(kelvin, abs=25)
    assert window.develop.tint.value() == pytest.approx(tint, abs=0.5)
    assert recorded_dialogs.errors == [] and recorded_dialogs.warnings == []


def test_exposure_drag_changes_preview_and_undo_redo_restore_it(qtbot, window, dng_photo):
    original = open_and_wait(qtbot, window, dng_photo)
    drag_slider(window.develop.sliders["exposure.ev"].slider, [510, 530, 550, 600])  # ... up to +1 EV
    assert window.document.recipe.get("exposure") == ExposureParams(ev=1.0)
    assert window.undo_stack.count() == 1  # one drag, one undo step
    assert window.undo_stack.undoText() == "Exposure"
    brighter = wait_until_shown(qtbot, window)
    assert brighter.mean() > original.mean() + 15

    window.action("undo").trigger()
    assert window.document.recipe == Recipe()
    assert window.develop.sliders["exposure.ev"].value() == 0.0
    np.testing.assert_array_equal(wait_until_shown(qtbot, window), original)

    window.action("redo").trigger()
    assert window.document.recipe.get("exposure") == ExposureParams(ev=1.0)
    np.testing.assert_array_equal(wait_until_shown(qtbot, window), brighter)


def test_reset_all_edits_is_undoable(qtbot, window, dng_photo):
    original = open_and_wait(qtbot, window, dng_photo)
    window.develop.sliders["contrast.amount"].spin.setValue(40)
    window.develop.sliders["saturation.vibrance"].spin.setValue(-30)
    edited = wait_until_shown(qtbot, window)
    assert not np.array_equal(edited, original)
    window.action("reset").trigger()
    assert window.document.recipe == Recipe() and window.undo_stack.undoText() == "Reset all edits"
    np.testing.assert_array_equal(wait_until_shown(qtbot, window), original)
    window.undo_stack.undo()
    assert window.document.recipe.get("contrast").amount == 40
    np.testing.assert_array_equal(wait_until_shown(qtbot, window), edited)


def test_before_after_toggle(qtbot, window, dng_photo):
    original = open_and_wait(qtbot, window, dng_photo)
    window.develop.sliders["exposure.ev"].spin.setValue(-1.0)
    darker = wait_until_shown(qtbot, window)
    assert QKeySequence("\\") in window.action("before").shortcuts()
    window.action("before").trigger()
    np.testing.assert_array_equal(wait_until_shown(qtbot, window, before=True), original)
    assert window.viewer.overlay_text == "Before"
    window.action("before").trigger()
    np.testing.assert_array_equal(wait_until_shown(qtbot, window), darker)
    assert window.viewer.overlay_text == ""


def test_rotation_turns_the_preview(qtbot, window, dng_photo):
    open_and_wait(qtbot, window, dng_photo)
    window.action("rotate_right").trigger()
    rotated = wait_until_shown(qtbot, window)
    assert rotated.shape[:2] == (128, 96)
    assert window.viewer.displayed.scene_size == pytest.approx((96, 128), abs=1)


def test_eyedropper_on_the_grey_patch_neutralises_it(qtbot, window, dng_photo):
    open_and_wait(qtbot, window, dng_photo)
    window.develop.temperature.spin.setValue(3000)  # a strong blue cast
    cast = wait_until_shown(qtbot, window)
    patch = (slice(24, 40), slice(24, 36))  # inside the scene's neutral grey patch
    assert cast[patch].mean(axis=(0, 1))[2] > cast[patch].mean(axis=(0, 1))[0] + 20
    window.develop.eyedropper.setChecked(True)
    assert window.action("pick").isChecked()
    rect = window.viewer.image_rect()
    point = QPoint(round(rect.left() + rect.width() * 30 / 128), round(rect.top() + rect.height() * 32 / 96))
    qtbot.mouseClick(window.viewer, Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: window.document.recipe.get("white_balance").mode == "custom", timeout=5000)
    assert not window.develop.eyedropper.isChecked()
    assert window.develop.wb_mode.currentText() == "Custom"
    red, green, blue = wait_until_shown(qtbot, window)[patch].mean(axis=(0, 1))
    assert abs(red - blue) < 4 and abs(green - blue) < 4
    window.undo_stack.undo()
    assert window.document.recipe.get("white_balance").mode == "kelvin"


def test_zoom_actions_and_wheel(qtbot, window, dng_photo):
    open_and_wait(qtbot, window, dng_photo)
    viewer = window.viewer
    assert viewer.is_fit and window.zoom_label.text().startswith("Fit")
    window.action("actual").trigger()
    assert viewer.zoom == pytest.approx(1.0) and window.zoom_label.text() == "100 %"
    window.action("zoom_in").trigger()
    assert viewer.zoom == pytest.approx(1.25)
    window.action("fit").trigger()
    assert viewer.is_fit and viewer.zoom == pytest.approx(1.0)  # a small photo: never enlarged
    assert window.zoom_label.text() == "Fit (100 %)"


def test_open_corrupt_file_shows_error_and_keeps_the_current_photo(qtbot, window, dng_photo, tmp_path,
                                                                   recorded_dialogs):
    open_and_wait(qtbot, window, dng_photo)
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200)
    window.open_path(corrupt)
    qtbot.waitUntil(lambda: bool(recorded_dialogs.errors), timeout=10000)
    assert "broken.jpg" in recorded_dialogs.errors[0]
    assert len(recorded_dialogs.errors) == 1
    assert window.document.path == dng_photo and window.viewer.has_image
    window.develop.sliders["exposure.ev"].spin.setValue(0.5)  # still usable
    wait_until_shown(qtbot, window)


def test_unsupported_and_missing_files_are_reported(qtbot, window, tmp_path, recorded_dialogs):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    window.open_path(text)
    qtbot.waitUntil(lambda: len(recorded_dialogs.errors) == 1, timeout=10000)
    window.open_path(tmp_path / "gone.png")
    qtbot.waitUntil(lambda: len(recorded_dialogs.errors) == 2, timeout=10000)
    assert "notes.txt" in recorded_dialogs.errors[0] and "gone.png" in recorded_dialogs.errors[1]
    assert window.document is None and not window.action("export").isEnabled()


def test_open_action_uses_the_file_dialog_with_supported_extensions(qtbot, window, png_photo, recorded_dialogs):
    name_filter = dialogs.open_file_filter()
    assert "*.dng" in name_filter and "*.jpg" in name_filter and "*.CR2" in name_filter
    assert window.action("open").shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    recorded_dialogs.open_path = str(png_photo)
    window.action("open").trigger()
    qtbot.waitUntil(lambda: window.document is not None and window.document.is_fully_loaded, timeout=10000)
    assert window.document.path == png_photo


def test_recent_files_remember_and_drop_missing_entries(qtbot, window, png_photo, dng_photo, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    open_and_wait(qtbot, window, dng_photo)
    assert window.recent.paths() == [str(dng_photo.resolve()), str(png_photo.resolve())]
    fill_recent_menu(window)
    labels = [action.text() for action in window.menu("recent").actions() if action.data()]
    folder = png_photo.parent.name
    assert labels == [f"&1  scene.dng — {folder}", f"&2  scene.png — {folder}"]
    png_photo.unlink()
    window.open_recent(str(png_photo.resolve()))
    assert "no longer exists" in recorded_dialogs.infos[-1]
    assert window.recent.paths() == [str(dng_photo.resolve())]
    for index in range(12):
        window.recent.add(f"/photos/{index}.jpg")
    assert len(window.recent.paths()) == 10 and window.recent.paths()[0] == "/photos/11.jpg"
    fill_recent_menu(window)  # the menu prunes entries that vanished, with a status message
    assert window.recent.paths() == [] and "no longer found" in window.statusBar().currentMessage()


def test_open_recent_tells_files_of_the_same_name_apart(window, tmp_path):
    paths = [tmp_path / "a" / "2024" / "scene.png", tmp_path / "b" / "2024" / "scene.png",
             tmp_path / "c" / "Q&A.png"]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        window.recent.add(path)
    fill_recent_menu(window)
    entries = [action for action in window.menu("recent").actions() if action.data()]
    assert [action.text() for action in entries] == ["&1  Q&&A.png — c", "&2  scene.png — b/2024",
                                                     "&3  scene.png — a/2024"]
    assert [action.toolTip() for action in entries] == [str(p.resolve()) for p in reversed(paths)]
    assert entries[1].statusTip() == str(paths[1].resolve())


def test_dropping_a_photo_opens_it(qtbot, window, png_photo, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(png_photo))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == png_photo, timeout=10000)

    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    refused = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, other, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(refused)
    assert not refused.isAccepted()


def test_standard_shortcuts(window):
    assert window.action("undo").shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert QKeySequence("Ctrl+Shift+E") in window.action("export").shortcuts()
    assert QKeySequence("Ctrl+E") in window.action("export_again").shortcuts()
    assert window.action("quit").shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    assert not window.action("reset").isEnabled()  # no photo yet


def test_opening_another_photo_before_the_first_shows_keeps_only_the_last(qtbot, window, png_photo, dng_photo,
                                                                        recorded_dialogs):
    window.open_path(dng_photo)
    window.open_path(png_photo)  # at once, before the DNG could be shown
    qtbot.waitUntil(lambda: window.document is not None and window.document.is_fully_loaded, timeout=10000)
    wait_until_shown(qtbot, window)
    qtbot.wait(200)  # whatever the abandoned DNG still delivers must not replace it
    assert window.document.path == png_photo and window.windowTitle().startswith("scene.png")
    assert recorded_dialogs.errors == []


def test_redo_answers_ctrl_shift_z_and_ctrl_y(qtbot, window, png_photo):
    open_and_wait(qtbot, window, png_photo)
    window.develop.sliders["contrast.amount"].spin.setValue(40)
    window.develop.sliders["saturation.vibrance"].spin.setValue(-20)
    window.undo_stack.undo()
    window.undo_stack.undo()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    control = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(window.viewer, Qt.Key.Key_Z, control | Qt.KeyboardModifier.ShiftModifier)
    assert window.undo_stack.index() == 1
    qtbot.keyClick(window.viewer, Qt.Key.Key_Y, control)
    assert window.undo_stack.index() == 2


def test_no_key_is_bound_twice(window):
    bound = [sequence.toString() for action in window.findChildren(QAction) for sequence in action.shortcuts()
             if not sequence.isEmpty()]
    assert bound and len(bound) == len(set(bound)), sorted(key for key in bound if bound.count(key) > 1)


def test_open_dialog_starts_in_the_last_used_folder(qtbot, window, settings, png_photo, tmp_path, monkeypatch):
    from photolab.gui.widgets import dialogs
    from photolab.gui.window.main_window import MainWindow

    asked = []
    chosen = tmp_path / "elsewhere" / "other.png"
    chosen.parent.mkdir()
    chosen.write_bytes(png_photo.read_bytes())
    monkeypatch.setattr(dialogs, "get_open_path", lambda parent, title, folder, name_filter: asked.append(folder)
                        or str(chosen))
    open_and_wait(qtbot, window, png_photo)  # from the command line, say: no folder remembered yet
    window.choose_and_open()
    assert asked == [str(png_photo.parent)]  # first use: the current photo's folder
    qtbot.waitUntil(lambda: window.document.path == chosen and window.document.is_fully_loaded, timeout=10000)
    later = MainWindow(settings)  # the next session, with no photo open
    qtbot.addWidget(later)
    later.choose_and_open()
    assert asked[-1] == str(chosen.parent)
    later.close()
