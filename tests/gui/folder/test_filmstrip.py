"""The folder workflow in the window: Open Folder and the filmstrip, arrow keys, rating and reject keys stored
in the sidecars, the rating filter, batch export (with its error list and cancel) and pasting onto several
photos."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from photolab.core.develop.exposure import ExposureParams
from photolab.core.rating import Rating, read_rating, set_rating
from photolab.core.recipe import Recipe, load_sidecar, sidecar_path
from photolab.gui.folder.filmstrip import FILTERS

NAMES = ("a.png", "b.png", "c.png", "d.png")


@pytest.fixture(autouse=True)
def user_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(autouse=True)
def idle_at_the_end(request):
    """No classifier runs on the photos (the Classify panel works only while shown), and no job is left running
    after a test: the closed window is only deleted at the next test's event loop, and a worker thread still
    running Python when the interpreter exits aborts it."""
    window = request.getfixturevalue("window") if "window" in request.fixturenames else None
    if window is not None:
        window.classify_dock.hide()
    yield
    if window is not None:  # before the window fixture closes it, while dialogs are still recorded
        window.runner.cancel_all()
        window.runner.wait_for_done(20000)
        for _ in range(3):  # the jobs' queued outcomes arrive now, not in the next test
            QCoreApplication.processEvents()


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "shoot"
    folder.mkdir()
    for index, name in enumerate(NAMES):
        image = np.full((40, 60, 3), 60 + 40 * index, np.uint8)
        cv2.imwrite(str(folder / name), image)
    return folder


def opened(qtbot, window, folder):
    window.activateWindow()
    assert window.folder.open_folder(folder)
    strip = window.folder.filmstrip
    qtbot.waitUntil(lambda: strip.model.all_loaded and not strip.loader.is_loading, timeout=15000)
    return strip


def wait_for_document(qtbot, window, path):
    qtbot.waitUntil(lambda: window.document is not None and window.document.path == path
                    and window.document.is_fully_loaded, timeout=15000)


def wait_for_ratings(qtbot, window):
    qtbot.waitUntil(lambda: not window.folder.rating_jobs, timeout=10000)


def test_a_folder_fills_the_filmstrip_and_the_arrow_keys_move_through_it(qtbot, window, folder):
    strip = opened(qtbot, window, folder)
    assert window.folder.dock.isVisible()
    assert [entry.path.name for entry in strip.model.entries] == list(NAMES)
    assert all(entry.thumbnail is not None and entry.thumbnail.width() == 60 for entry in strip.model.entries)
    wait_for_document(qtbot, window, folder / "a.png")
    strip.view.setFocus()
    qtbot.keyClick(strip.view, Qt.Key.Key_Right)
    qtbot.keyClick(strip.view, Qt.Key.Key_Right)
    assert strip.current_path() == folder / "c.png"
    wait_for_document(qtbot, window, folder / "c.png")
    qtbot.keyClick(strip.view, Qt.Key.Key_Left)
    wait_for_document(qtbot, window, folder / "b.png")
    window.action("next_photo").trigger()
    assert strip.current_path() == folder / "c.png"


def test_file_open_folder_asks_for_the_folder(qtbot, window, folder, monkeypatch):
    from photolab.gui.widgets import dialogs

    asked = []
    monkeypatch.setattr(dialogs, "get_folder_path", lambda parent, title, start: asked.append(start) or str(folder))
    window.action("open_folder").trigger()
    assert window.folder.filmstrip.model.folder == folder
    wait_for_document(qtbot, window, folder / "a.png")
    window.action("open_folder").trigger()
    assert asked[-1] == str(folder)  # starts where the last folder was


def test_an_empty_or_missing_folder_is_reported(qtbot, window, tmp_path, recorded_dialogs):
    (tmp_path / "empty").mkdir()
    assert not window.folder.open_folder(tmp_path / "empty")
    assert not window.folder.open_folder(tmp_path / "missing")
    assert "holds no photos" in recorded_dialogs.infos[0] and "no such folder" in recorded_dialogs.errors[0]
    assert not window.folder.dock.isVisible()


def test_rating_and_reject_keys_are_stored_in_the_sidecar_and_survive_a_reload(qtbot, window, folder):
    strip = opened(qtbot, window, folder)
    wait_for_document(qtbot, window, folder / "a.png")
    strip.view.setFocus()
    qtbot.keyClick(strip.view, Qt.Key.Key_3)
    wait_for_ratings(qtbot, window)
    assert read_rating(folder / "a.png") == Rating(3)
    qtbot.keyClick(strip.view, Qt.Key.Key_Right)
    qtbot.keyClick(strip.view, Qt.Key.Key_X)
    wait_for_ratings(qtbot, window)
    assert read_rating(folder / "b.png") == Rating(0, True)
    qtbot.keyClick(strip.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)  # select all
    assert len(strip.selected_paths()) == 4
    qtbot.keyClick(strip.view, Qt.Key.Key_5)
    wait_for_ratings(qtbot, window)
    assert [read_rating(folder / name).stars for name in NAMES] == [5, 5, 5, 5]
    qtbot.keyClick(strip.view, Qt.Key.Key_X)  # not all rejected: rejects all
    wait_for_ratings(qtbot, window)
    qtbot.keyClick(strip.view, Qt.Key.Key_X)  # all rejected: un-rejects all
    wait_for_ratings(qtbot, window)
    assert [read_rating(folder / name) for name in NAMES] == [Rating(5)] * 4
    qtbot.keyClick(strip.view, Qt.Key.Key_0)
    strip.select_path(folder / "d.png")
    qtbot.keyClick(strip.view, Qt.Key.Key_X)
    wait_for_ratings(qtbot, window)
    strip = opened(qtbot, window, folder)  # read again from the sidecars
    assert [entry.rating for entry in strip.model.entries] == [Rating(0)] * 3 + [Rating(0, True)]


def test_the_open_photos_edits_and_its_rating_do_not_overwrite_each_other(qtbot, window, folder):
    opened(qtbot, window, folder)
    wait_for_document(qtbot, window, folder / "a.png")
    edited = Recipe().with_params("exposure", ExposureParams(ev=0.7))
    window.apply_edit(edited, "edit")
    window.folder.rate(stars=4)
    wait_for_ratings(qtbot, window)
    window.document.save_sidecar()
    assert load_sidecar(folder / "a.png")[0] == edited and read_rating(folder / "a.png") == Rating(4)


def test_the_filter_shows_only_the_photos_with_that_rating(qtbot, window, folder):
    set_rating(folder / "a.png", stars=4)
    set_rating(folder / "b.png", stars=2)
    set_rating(folder / "c.png", stars=5, rejected=True)
    strip = opened(qtbot, window, folder)
    labels = [label for label, _, _ in FILTERS]
    strip.set_filter(labels.index("★★★ or more"))
    assert strip.paths_shown() == [folder / "a.png"]
    assert strip.count.text() == "1 of 4 shown"
    strip.set_filter(labels.index("Rejected only"))
    assert strip.paths_shown() == [folder / "c.png"]
    strip.set_filter(labels.index("Hide rejected"))
    assert strip.paths_shown() == [folder / name for name in ("a.png", "b.png", "d.png")]
    strip.select_path(folder / "b.png")
    strip.view.setFocus()
    qtbot.keyClick(strip.view, Qt.Key.Key_X)  # a photo rejected now leaves the filtered strip
    assert folder / "b.png" not in strip.paths_shown()
    strip.set_filter(labels.index("All photos"))
    assert len(strip.paths_shown()) == 4


def test_export_selected_writes_every_photo_and_lists_the_ones_that_failed(qtbot, window, folder, settings,
                                                                          recorded_dialogs):
    (folder / "e_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    settings.setValue("export/format", "png")
    settings.setValue("export/name_template", "{name}_out")
    strip = opened(qtbot, window, folder)
    assert strip.model.entries[-1].error and strip.model.entries[-1].thumbnail is None
    strip.select_all()
    with qtbot.waitSignal(window.folder.batch_ended, timeout=60000):
        window.action("export_selected").trigger()
    for name in NAMES:
        assert cv2.imread(str(folder / name.replace(".png", "_out.png"))) is not None
    assert not (folder / "e_broken_out.png").exists()
    assert len(recorded_dialogs.warnings) == 1
    assert "4 of 5 photos exported" in recorded_dialogs.warnings[0] and "e_broken.png" in recorded_dialogs.warnings[0]


def test_cancelling_an_export_leaves_no_partial_file(qtbot, window, folder, monkeypatch):
    from photolab.core import export

    writing = threading.Event()
    cancelled = threading.Event()
    real_writer = export._WRITERS["jpg"]

    def writer_waiting_for_cancel(path, encoded, output):
        real_writer(path, encoded, output)  # the temporary file is whole; the user cancels now
        writing.set()
        cancelled.wait(20)

    monkeypatch.setitem(export._WRITERS, "jpg", writer_waiting_for_cancel)
    strip = opened(qtbot, window, folder)
    strip.select_all()
    before = sorted(path.name for path in folder.iterdir())
    handle = window.folder.export_selected()
    qtbot.waitUntil(writing.is_set, timeout=20000)
    assert any(".part" in path.name for path in folder.iterdir())
    qtbot.waitUntil(lambda: window.job_status.current is handle, timeout=5000)
    with qtbot.waitSignal(window.folder.batch_ended, timeout=20000):
        window.job_status.cancel_current()
        cancelled.set()
    assert sorted(path.name for path in folder.iterdir()) == before
    assert "cancelled" in window.statusBar().currentMessage()


def test_paste_and_presets_apply_to_every_selected_photo(qtbot, window, folder, monkeypatch, recorded_dialogs):
    strip = opened(qtbot, window, folder)
    wait_for_document(qtbot, window, folder / "a.png")
    set_rating(folder / "c.png", stars=2)
    window.apply_edit(Recipe().with_params("exposure", ExposureParams(ev=0.8)), "edit")
    monkeypatch.setattr(window, "exec_dialog", lambda dialog: True)
    window.action("copy_settings").trigger()
    strip.select_all()
    sidecar_path(folder / "d.png").write_text("{damaged")
    with qtbot.waitSignal(window.folder.batch_ended, timeout=20000):
        window.action("paste_settings").trigger()
    for name in ("b.png", "c.png"):
        assert load_sidecar(folder / name)[0].get("exposure") == ExposureParams(ev=0.8)
    assert read_rating(folder / "c.png") == Rating(2)
    assert sidecar_path(folder / "d.png").read_text() == "{damaged"
    assert "d.png" in recorded_dialogs.warnings[0]
    # a preset onto the selection: the open photo as one undo step, the others' sidecars
    window.apply_edit(Recipe().with_params("exposure", ExposureParams(ev=-1.0)), "edit")
    window.presets.copy_settings()
    from photolab.core.presets import save_preset

    save_preset("Dark", window.presets.copied)
    window.apply_edit(Recipe(), "reset")
    strip.select_all()
    with qtbot.waitSignal(window.folder.batch_ended, timeout=20000):
        window.presets.apply_preset("Dark")
    assert window.undo_stack.undoText() == "Apply preset Dark"
    window.document.save_sidecar()
    for name in ("a.png", "b.png", "c.png"):
        data = json.loads(sidecar_path(folder / name).read_text())
        exposure = next(entry for entry in data["operations"] if entry["op"] == "exposure")
        assert exposure["params"]["ev"] == -1.0


def test_photolab_folder_opens_the_folder(qtbot, folder, monkeypatch, tmp_path, recorded_dialogs):
    from PySide6.QtCore import QSettings

    from photolab.gui import app

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    windows = []
    real_launch = app.launch
    monkeypatch.setattr(app, "launch", lambda paths: windows.append(real_launch(paths)) or windows[-1])
    monkeypatch.setattr(QApplication, "exec", staticmethod(lambda: 0))
    hooks = (sys.excepthook, threading.excepthook)
    try:
        assert app.main([str(folder)]) == 0
    finally:
        sys.excepthook, threading.excepthook = hooks
    window = windows[0]
    qtbot.addWidget(window)
    window.classify_dock.hide()  # no classifier on the photo (see idle_at_the_end)
    assert QCoreApplication.applicationName() == "PhotoLab"
    assert window.folder.filmstrip.model.folder == folder
    wait_for_document(qtbot, window, folder / "a.png")
    window.close()
    window.runner.cancel_all()
    window.runner.wait_for_done(20000)


def test_a_photo_opened_from_elsewhere_is_the_one_rated(qtbot, window, folder, tmp_path):
    strip = opened(qtbot, window, folder)
    wait_for_document(qtbot, window, folder / "a.png")
    outside = tmp_path / "outside.png"
    cv2.imwrite(str(outside), np.full((20, 30, 3), 128, np.uint8))
    window.open_path(outside)
    wait_for_document(qtbot, window, outside)
    assert strip.selected_paths() == [] and window.folder.targets() == [outside]
    window.action("rate_2").trigger()
    wait_for_ratings(qtbot, window)
    assert read_rating(outside) == Rating(2) and read_rating(folder / "a.png") == Rating(0)
    assert window.document.path == outside  # clearing the strip opened nothing


def test_the_photos_on_screen_load_first(qtbot, window, folder):
    from photolab.gui.folder.model import ThumbnailLoader

    strip = opened(qtbot, window, folder)
    loader = ThumbnailLoader(strip.model, window.runner)
    loader._pending = [0, 1, 2, 3][::-1]  # as start() queues them: row 0 popped first
    loader.prioritize([2, 3, 9])
    assert [loader._pending.pop() for _ in range(4)] == [2, 3, 0, 1]


def test_a_rating_that_cannot_be_saved_is_reported_and_not_shown(qtbot, window, folder, recorded_dialogs):
    set_rating(folder / "b.png", stars=2)
    strip = opened(qtbot, window, folder)
    sidecar_path(folder / "b.png").write_text("{damaged")
    strip.select_path(folder / "b.png")
    wait_for_document(qtbot, window, folder / "b.png")
    assert "b.png.photolab.json" in recorded_dialogs.warnings.pop()  # its edits cannot be read
    window.action("rate_5").trigger()
    assert strip.model.entries[1].rating == Rating(5)  # shown at once ...
    wait_for_ratings(qtbot, window)
    assert strip.model.entries[1].rating == Rating(2)  # ... and taken back when the write failed
    assert "b.png" in recorded_dialogs.warnings[0] and sidecar_path(folder / "b.png").read_text() == "{damaged"
