"""The window's command API: menus by id, actions by name, placement, and jobs the quit check asks about."""

import threading

import pytest
from PySide6.QtGui import QAction

from photolab.gui.jobs import JobRunner
from photolab.gui.window.main_window import quit_question
from photolab.jobs import Job


def entries(menu) -> list[str]:
    """A menu's entries as shown ('-' for a separator), without the mnemonic ampersands."""
    return ["-" if action.isSeparator() else action.text().replace("&", "") for action in menu.actions()]


def test_every_feature_is_in_its_menu_in_order(window):
    assert entries(window.menu("file")) == ["Open…", "Open Folder…", "Open Recent", "Merge to HDR…", "Merge Burst…",
                                            "-", "Export…", "Export with Previous Settings", "Export Selected Photos",
                                            "-", "Quit"]
    assert entries(window.menu("models")) == ["Attention View", "Model Manager…", "Train Classifier…",
                                              "Adapt Denoiser to My Camera…", "Learn a Look…", "-",
                                              "Classify"]
    view = entries(window.menu("view"))
    assert view[:8] == ["Zoom to Fit", "Zoom to Fill", "50 %", "100 %", "200 %", "Zoom In", "Zoom Out",
                        "Toggle Fit / 100 %"]
    assert view[view.index("Before / After"):] == ["Before / After", "Split Before / After", "Clipping Warnings", "-",
                                                   "Navigator", "Loupe", "Develop", "Filmstrip"]
    assert entries(window.menu("photo"))[:2] == ["Crop Tool", "Level Tool"]
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&Photo", "&View", "&Models", "&Help"]


def test_actions_are_found_by_name_and_placed_after_or_before_others(window):
    assert window.action("merge_hdr").text() == "Merge to &HDR…"
    first, last = QAction("First", window), QAction("Last", window)
    window.add_action("help", "last", last)
    window.add_action("help", "first", first, before="about")
    assert window.menu("help").actions() == [first, window.action("about"), last]
    with pytest.raises(ValueError):
        window.add_action("help", "first", QAction("Again", window))
    with pytest.raises(KeyError):
        window.add_action("no such menu", "x", QAction("X", window))
    with pytest.raises(KeyError):
        window.action("no such action")


def test_a_tracked_job_on_another_runner_is_asked_about_and_cancelled_on_quit(qtbot, window, recorded_dialogs):
    started = threading.Event()

    def work(context):
        started.set()
        while True:
            context.check_cancelled()
            threading.Event().wait(0.01)

    other = JobRunner(window)
    handle = window.track_job(other.submit(Job(work, title="Counting")), "Counting the stars")
    assert started.wait(5)
    window.close()
    assert recorded_dialogs.questions == ["Counting the stars is still running. Quit and cancel it?"]
    assert window.isVisible()  # the answer was no
    recorded_dialogs.answers = [True]
    window.close()
    assert not window.isVisible()
    qtbot.waitUntil(lambda: handle.is_done, timeout=5000)
    assert handle.job.state.value == "cancelled"


def test_quit_question_lists_every_job():
    assert quit_question(["Exporting a.jpg", "Merging 3 brackets to HDR"]) == (
        "2 jobs are still running:\n• Exporting a.jpg\n• Merging 3 brackets to HDR\n\nQuit and cancel them?")
