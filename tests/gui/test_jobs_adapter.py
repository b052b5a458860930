"""photolab.gui.jobs: jobs run on worker threads; their signals arrive in the GUI thread."""

import threading

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from photolab.core.errors import CorruptFileError
from photolab.gui.jobs import BACKGROUND, INTERACTIVE, JobRunner
from photolab.jobs import Job, JobState


def _in_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


@pytest.fixture
def runner(qtbot):
    jobs = JobRunner()
    yield jobs
    jobs.cancel_all()
    assert jobs.wait_for_done(5000)


def test_result_and_progress_arrive_in_the_gui_thread(qtbot, runner):
    worker_threads, seen = [], []

    def work(context, n):
        worker_threads.append(threading.current_thread())
        for i in range(n):
            context.progress(i / n, f"step {i}")
        return n * 2

    handle = runner.submit(Job(work, 5, title="double"))
    handle.progress.connect(lambda fraction, message: seen.append(("progress", _in_gui_thread())))
    handle.finished.connect(lambda result: seen.append(("finished", result, _in_gui_thread())))
    with qtbot.waitSignal(handle.ended, timeout=5000):
        pass
    assert worker_threads and worker_threads[0] is not threading.main_thread()
    assert ("finished", 10, True) in seen
    assert all(entry[-1] is True for entry in seen)
    assert seen[-1][0] == "finished"  # no progress after the outcome


def test_failure_is_relayed_with_the_users_message(qtbot, runner):
    def work(context):
        raise CorruptFileError("broken.jpg: the file is truncated")

    handle = runner.submit(Job(work, title="read"))
    with qtbot.waitSignal(handle.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["broken.jpg: the file is truncated"]
    assert handle.job.state is JobState.FAILED


def test_cancel_stops_a_running_job_deterministically(qtbot, runner):
    started, release = threading.Event(), threading.Event()

    def work(context):
        started.set()
        release.wait(5)
        context.check_cancelled()
        return "finished anyway"

    handle = runner.submit(Job(work, title="gated"))
    assert started.wait(5)
    handle.cancel()
    release.set()
    finished = []
    handle.finished.connect(finished.append)
    with qtbot.waitSignal(handle.cancelled, timeout=5000):
        pass
    assert finished == [] and handle.job.state is JobState.CANCELLED


def test_a_long_background_job_does_not_delay_interactive_work(qtbot, runner):
    release = threading.Event()
    slow = runner.submit(Job(lambda context: release.wait(5), title="slow"), lane=BACKGROUND)
    quick = runner.submit(Job(lambda context: "quick", title="quick"), lane=INTERACTIVE)
    with qtbot.waitSignal(quick.finished, timeout=5000) as blocker:
        pass
    assert blocker.args == ["quick"]
    assert len(runner.active_jobs()) == 1 and not slow.is_done
    release.set()
    with qtbot.waitSignal(slow.ended, timeout=5000):
        pass
    assert runner.active_jobs() == []


def test_several_jobs_run_at_once(qtbot, runner):
    barrier = threading.Barrier(2, timeout=5)
    handles = [runner.submit(Job(lambda context: barrier.wait(), title=f"job {i}")) for i in range(2)]
    qtbot.waitUntil(lambda: all(h.is_done for h in handles), timeout=5000)
    assert all(h.job.state is JobState.FINISHED for h in handles)  # both were waiting at the barrier together


def test_runner_reports_started_and_ended_jobs_for_the_status_bar(qtbot, runner):
    started, ended = [], []
    runner.job_started.connect(started.append)
    runner.job_ended.connect(ended.append)
    handle = runner.submit(Job(lambda context: None, title="visible"))
    hidden = runner.submit(Job(lambda context: None, title="hidden"), visible=False)
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=5000)
    assert started == [handle, hidden]
    assert [h.visible for h in started] == [True, False]
