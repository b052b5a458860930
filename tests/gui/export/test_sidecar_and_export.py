"""Edits saved beside the photo and restored on reopen; export with progress, cancel and errors."""

import hashlib
import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from photolab.core import io
from photolab.core.develop.exposure import ExposureParams
from photolab.core.recipe import Recipe, sidecar_path
from photolab.gui.document import Document
from photolab.gui.export.dialog import ExportDialog, ExportRequest, default_export_path

from ..conftest import open_and_wait, wait_until_shown


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_edits_are_saved_to_the_sidecar_and_restored_on_reopen(qtbot, window, dng_photo, png_photo):
    original_bytes = digest(dng_photo)
    open_and_wait(qtbot, window, dng_photo)
    window.develop.sliders["exposure.ev"].spin.setValue(0.75)
    window.action("rotate_left").trigger()
    sidecar = sidecar_path(dng_photo)
    qtbot.waitUntil(sidecar.exists, timeout=5000)  # saved shortly after the edit, without closing
    edited = window.document.recipe
    open_and_wait(qtbot, window, png_photo)  # switching photos saves too
    assert Recipe.from_dict(json.loads(sidecar.read_text())) == edited
    assert not sidecar_path(png_photo).exists()  # no edits, no sidecar
    open_and_wait(qtbot, window, dng_photo)
    assert window.document.recipe == edited
    assert window.develop.sliders["exposure.ev"].value() == 0.75
    assert window.viewer.displayed.image.height() > window.viewer.displayed.image.width()  # still rotated
    assert digest(dng_photo) == original_bytes  # the original is only ever read


def test_invalid_sidecar_is_reported_and_only_overwritten_when_the_user_agrees(qtbot, window, png_photo,
                                                                               recorded_dialogs):
    sidecar = sidecar_path(png_photo)
    sidecar.write_text('{"schema": "photolab.recipe", "version": 99, "operations": []}')
    open_and_wait(qtbot, window, png_photo)
    assert len(recorded_dialogs.warnings) == 1 and "newer PhotoLab" in recorded_dialogs.warnings[0]
    assert window.document.recipe == Recipe()

    recorded_dialogs.answers = [False]
    window.develop.sliders["exposure.ev"].spin.setValue(0.5)
    qtbot.waitUntil(lambda: len(recorded_dialogs.questions) == 1, timeout=5000)
    assert '"version": 99' in sidecar.read_text()  # kept, as the user said
    window.develop.sliders["exposure.ev"].spin.setValue(0.6)
    window.document.save_sidecar()
    assert len(recorded_dialogs.questions) == 1  # asked once per photo

    recorded_dialogs.answers = [True]
    window.open_path(png_photo)  # reopen: asked again, and this time the user agrees
    qtbot.waitUntil(lambda: window.document is not None and window.document.recipe == Recipe(), timeout=5000)
    window.develop.sliders["exposure.ev"].spin.setValue(0.25)
    qtbot.waitUntil(lambda: len(recorded_dialogs.questions) == 2, timeout=5000)
    assert Recipe.from_dict(json.loads(sidecar.read_text())).get("exposure") == ExposureParams(ev=0.25)


def test_document_opens_preview_then_full_photo(qtbot, dng_photo):
    from photolab.gui.jobs import JobRunner

    runner = JobRunner()
    document = Document(dng_photo, runner)
    changes = []
    document.photo_changed.connect(lambda: changes.append(document.is_fully_loaded))
    with qtbot.waitSignal(document.fully_loaded, timeout=10000):
        document.load()
    assert changes[-1] is True and document.full_photo.width == 128
    assert document.proxy is document.full_photo  # small enough to be its own proxy
    assert document.full_size == (128, 96) and document.proxy_scale == 1.0
    assert runner.wait_for_done(5000)


def test_export_png16_writes_a_16_bit_file_beside_the_original(qtbot, window, dng_photo):
    open_and_wait(qtbot, window, dng_photo)
    window.develop.sliders["exposure.ev"].spin.setValue(0.5)
    target = default_export_path(dng_photo, "png16")
    assert target == dng_photo.with_suffix(".png")
    with qtbot.waitSignal(window.exports.finished, timeout=15000) as blocker:
        window.exports.start(ExportRequest(target, "png16"))
    assert blocker.args == [target] and str(target) in window.statusBar().currentMessage()
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint16 and written.shape == (96, 128, 3)
    eight_bit = wait_until_shown(qtbot, window)
    assert np.abs(written[..., ::-1] / 257.0 - eight_bit).max() < 1.5  # what the preview showed


@pytest.mark.parametrize("file_format, dtype", [("jpg", np.uint8), ("png", np.uint8), ("tiff16", np.uint16)])
def test_export_formats(qtbot, window, png_photo, file_format, dtype):
    open_and_wait(qtbot, window, png_photo)
    target = default_export_path(png_photo, file_format)
    assert target != png_photo
    with qtbot.waitSignal(window.exports.finished, timeout=15000):
        window.exports.start(ExportRequest(target, file_format, 90))
    written = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)
    assert written.dtype == dtype and written.shape[:2] == (64, 96)


def test_default_target_is_never_the_original(tmp_path):
    original = tmp_path / "IMG_0001.jpg"
    assert default_export_path(original, "jpg") == tmp_path / "IMG_0001-edited.jpg"
    assert default_export_path(tmp_path / "IMG_0001.JPG", "jpg") == tmp_path / "IMG_0001-edited.jpg"
    assert default_export_path(tmp_path / "IMG_0001.CR2", "tiff16") == tmp_path / "IMG_0001.tif"


def test_export_dialog_refuses_the_original_and_remembers_settings(qtbot, settings, png_photo, recorded_dialogs):
    dialog = ExportDialog(png_photo, settings)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("png16"))
    assert dialog.path.text() == str(png_photo.with_name("scene-edited.png"))
    dialog.path.setText(str(png_photo))
    dialog.accept()
    assert "never overwrites originals" in recorded_dialogs.errors[-1] and dialog.result() == 0
    dialog.format.setCurrentIndex(dialog.format.findData("jpg"))
    assert not dialog.quality.isEnabled() is False
    dialog.quality.setValue(80)
    dialog.path.setText(str(png_photo.with_name("out.jpg")))
    dialog.accept()
    assert dialog.result() == 1
    assert dialog.request() == ExportRequest(png_photo.with_name("out.jpg"), "jpg", 80)
    again = ExportDialog(png_photo, settings)
    qtbot.addWidget(again)
    assert again.file_format == "jpg" and again.quality.value() == 80


def test_export_action_runs_the_dialog_then_the_job(qtbot, window, png_photo, monkeypatch, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    monkeypatch.setattr(window, "exec_dialog", lambda dialog: True)
    with qtbot.waitSignal(window.exports.finished, timeout=15000) as blocker:
        window.action("export").trigger()
    target = blocker.args[0]
    assert target.exists() and target != png_photo
    first_export = target.read_bytes()
    for number in (1, 2):  # the same target again: numbered, never replaced, nothing asked
        with qtbot.waitSignal(window.exports.finished, timeout=15000) as blocker:
            window.action("export_again").trigger()
        assert blocker.args == [target.with_name(f"{target.stem}-{number}{target.suffix}")]
        assert blocker.args[0].exists() and str(blocker.args[0]) in window.statusBar().currentMessage()
    assert target.read_bytes() == first_export and recorded_dialogs.questions == []


def test_cancel_a_running_export_from_the_status_bar(qtbot, window, png_photo, monkeypatch):
    open_and_wait(qtbot, window, png_photo)
    entered, release = threading.Event(), threading.Event()
    real_export = io.export_photo

    def gated_export(*args, context=None, **kwargs):
        entered.set()
        release.wait(10)  # the job is now "running" until the test lets it go
        return real_export(*args, context=context, **kwargs)

    monkeypatch.setattr(io, "export_photo", gated_export)
    target = png_photo.with_name("cancelled.png")
    handle = window.exports.start(ExportRequest(target, "png"))
    assert entered.wait(5)
    qtbot.waitUntil(lambda: window.job_status.isVisible(), timeout=5000)
    assert window.job_status.current is handle and "Exporting cancelled.png" in window.job_status.label.text()
    window.job_status.cancel_button.click()
    release.set()
    with qtbot.waitSignal(handle.cancelled, timeout=10000):
        pass
    assert not target.exists() and list(png_photo.parent.glob("*.part*")) == []
    qtbot.waitUntil(lambda: not window.job_status.isVisible(), timeout=5000)
    assert window.statusBar().currentMessage() == "Export cancelled"


def test_export_failure_becomes_an_error_dialog(qtbot, window, png_photo, tmp_path, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    handle = window.exports.start(ExportRequest(tmp_path / "missing-folder" / "out.jpg", "jpg"))
    with qtbot.waitSignal(handle.failed, timeout=10000):
        pass
    assert "missing-folder" in recorded_dialogs.errors[-1]


def test_closing_writes_the_newest_edit_even_while_a_background_save_runs(qtbot, png_photo):
    from photolab.gui.jobs import JobRunner

    runner = JobRunner()
    document = Document(png_photo, runner)
    with qtbot.waitSignal(document.fully_loaded, timeout=10000):
        document.load()
    first = Recipe().with_params("exposure", ExposureParams(ev=0.5))
    newest = Recipe().with_params("exposure", ExposureParams(ev=-0.5))
    document.set_recipe(first)
    document._save_in_background()  # what the debounce timer does
    document.set_recipe(newest)
    document.close()  # waits for the background write, then writes the newest recipe
    assert Recipe.from_dict(json.loads(sidecar_path(png_photo).read_text())).get("exposure") == newest.get("exposure")
    qtbot.waitUntil(lambda: runner.active_jobs() == [], timeout=5000)  # the older save's outcome arrives late
    assert document.saved_recipe == newest and not document.has_unsaved_edits
    assert Recipe.from_dict(json.loads(sidecar_path(png_photo).read_text())).get("exposure") == newest.get("exposure")


def test_closing_during_an_export_asks_first(qtbot, window, png_photo, monkeypatch, recorded_dialogs):
    open_and_wait(qtbot, window, png_photo)
    entered, release = threading.Event(), threading.Event()
    real_export = io.export_photo

    def gated_export(*args, **kwargs):
        entered.set()
        release.wait(10)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(io, "export_photo", gated_export)
    target = png_photo.with_name("during-close.jpg")
    handle = window.exports.start(ExportRequest(target, "jpg"))
    assert entered.wait(5)
    recorded_dialogs.answers = [False]
    window.close()
    assert "Exporting during-close.jpg is still running" in recorded_dialogs.questions[-1]
    assert window.isVisible() and window.document is not None  # the user chose to stay
    recorded_dialogs.answers = [True]
    threading.Timer(0.2, release.set).start()  # the export reaches its next cancellation point
    window.close()  # cancels the export and waits for it
    assert not window.isVisible() and handle.job.cancel_requested
    qtbot.waitUntil(lambda: handle.is_done, timeout=5000)
    assert handle.job.state.value == "cancelled" and not target.exists()
