"""The Classify panel on the real window and pipeline: top-k of the edited photo, updates, stale answers, no model."""

import threading

from photolab.core.develop.exposure import ExposureParams
from photolab.core.render import render
from photolab.gui.classify.panel import NO_MODEL_TEXT
from photolab.gui.jobs import JobRunner
from photolab.gui.models.service import ModelService

from ..conftest import open_and_wait
from ..model_store import CLASSES, MODEL, empty_manager, make_window, manager, seeded_store, weights_file  # noqa: F401


def expected_top(manager, document, top_k=5):
    from photolab.models.inference import classify

    return classify(manager.load(MODEL), render(document.proxy, document.recipe), top_k)


def wait_for_result(qtbot, panel, recipe):
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.recipe == recipe, timeout=15000)
    return panel.result


def test_shows_top_k_of_the_photo_and_follows_an_edit(qtbot, settings, recorded_dialogs, manager, png_photo):
    window = make_window(qtbot, settings, manager)
    open_and_wait(qtbot, window, png_photo)
    panel = window.classify
    assert panel.result is None and not panel.channel.busy  # behind the Develop tab: nothing runs
    window.classify_dock.raise_()
    qtbot.waitUntil(panel.isVisible)
    document = window.document
    result = wait_for_result(qtbot, panel, document.recipe)
    before = expected_top(manager, document)
    assert result.model == MODEL and result.photo == "scene.png"
    assert result.top == before and [label for label, _ in result.top] != []
    assert sorted(label for label, _ in result.top) == sorted(CLASSES)
    assert panel.bars.rows == before and abs(sum(p for _, p in before) - 1) < 1e-6
    assert panel.selector.currentText() == MODEL and panel.pages.currentIndex() == 0

    window.apply_edit(document.recipe.with_params("exposure", ExposureParams(ev=2.5)), "Exposure")
    edited = wait_for_result(qtbot, panel, document.recipe)
    after = expected_top(manager, document)
    assert edited.top == after and panel.bars.rows == after
    assert after != before  # a brighter photo changes the probabilities

    panel.top_k.setValue(2)
    qtbot.waitUntil(lambda: len(panel.bars.rows) == 2, timeout=15000)
    assert panel.bars.rows == expected_top(manager, document, 2)
    assert recorded_dialogs.errors == []


def test_without_a_model_it_says_so_and_opens_the_model_manager(qtbot, settings, recorded_dialogs, empty_manager,
                                                               png_photo):
    window = make_window(qtbot, settings, empty_manager)
    open_and_wait(qtbot, window, png_photo)
    window.classify_dock.raise_()
    panel = window.classify
    qtbot.waitUntil(panel.isVisible)
    assert panel.pages.currentIndex() == 1 and panel.message.text() == NO_MODEL_TEXT
    assert panel.message.isVisible() and panel.manage_button.isVisible()
    assert panel.selector.currentText() == "No model installed" and not panel.selector.isEnabled()
    assert not panel.channel.busy and panel.result is None
    panel.manage_button.click()
    dialog = window.model_manager_dialog
    assert dialog is not None and dialog.isVisible() and dialog.names() == []
    dialog.close()


def test_a_stale_answer_is_dropped(qtbot, manager, settings):
    runner = JobRunner()
    service = ModelService(runner, settings, manager)
    channel = service.channel()
    release = threading.Event()
    answers = []
    channel.result_ready.connect(answers.append)

    def slow(context, loaded, value):
        release.wait(5)
        return value

    def fast(context, loaded, value):
        return (loaded.name, value)

    first = channel.request(slow, "old question")
    second = channel.request(fast, "new question")
    assert second == first + 1 and channel.busy
    release.set()
    qtbot.waitUntil(lambda: not channel.busy, timeout=10000)
    assert answers == [(MODEL, "new question")]

    channel.request(fast, "dropped")
    channel.invalidate()
    qtbot.waitUntil(lambda: not channel.busy, timeout=10000)
    assert answers == [(MODEL, "new question")]
    runner.wait_for_done(5000)


def test_model_choice_is_remembered(qtbot, manager, settings, weights_file):
    manager.import_file(weights_file, labels=list(CLASSES))
    service = ModelService(JobRunner(), settings, manager)
    assert [e.name for e in service.entries()] == ["garden", MODEL] and service.current_name() == "garden"
    changes = []
    service.current_changed.connect(changes.append)
    service.set_current(MODEL)
    assert changes == [MODEL]
    again = ModelService(JobRunner(), settings, manager)
    assert again.current_name() == MODEL


def test_service_creates_its_manager_in_the_background(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOLAB_DATA_DIR", str(tmp_path / "data"))
    service = ModelService(JobRunner(), settings)
    assert not service.is_ready and service.entries() == []
    service.start()
    qtbot.waitUntil(lambda: service.is_ready, timeout=20000)
    assert service.manager.data_dir == tmp_path / "data"


def test_a_photo_the_model_cannot_take_shows_why(qtbot, settings, recorded_dialogs, manager, tmp_path):
    import cv2
    import numpy as np

    path = tmp_path / "tiny.png"
    cv2.imwrite(str(path), np.full((10, 12, 3), 128, np.uint8))
    window = make_window(qtbot, settings, manager)
    open_and_wait(qtbot, window, path)
    window.classify_dock.raise_()
    panel = window.classify
    qtbot.waitUntil(lambda: "too small to classify" in panel.caption.text(), timeout=15000)
    assert panel.result is None and panel.bars.rows == [] and "e07070" in panel.caption.styleSheet()
    assert recorded_dialogs.errors == []  # shown in the panel, not as a dialog on every edit
