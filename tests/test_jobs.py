import threading

import pytest

from photolab.core.errors import CorruptFileError
from photolab.jobs import Job, JobState


def test_job_reports_progress_and_result():
    seen = []

    def work(context, n):
        for i in range(n):
            context.progress(i / n, f"step {i}")
        return n * 2

    job = Job(work, 4, title="double")
    job.on_progress(lambda fraction, message: seen.append((fraction, message)))
    assert job.run() == 8
    assert job.state is JobState.FINISHED
    assert [f for f, _ in seen] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert seen[1][1] == "step 1"


def test_subtask_maps_progress_into_its_range():
    seen = []

    def work(context):
        context.subtask(0.5, 1.0).progress(0.5)

    job = Job(work)
    job.on_progress(lambda fraction, message: seen.append(fraction))
    job.run()
    assert seen[0] == 0.75


def test_cancel_from_another_thread_stops_the_job():
    started = threading.Event()

    def work(context):
        started.set()
        while True:
            context.progress(0.1)

    job = Job(work)
    thread = threading.Thread(target=job.run)
    thread.start()
    assert started.wait(5)
    job.cancel()
    thread.join(5)
    assert job.state is JobState.CANCELLED
    assert job.result is None


def test_errors_become_messages_not_exceptions():
    def fails(context):
        raise CorruptFileError("a.cr2: the file is truncated")

    def crashes(context):
        raise ZeroDivisionError("division by zero")

    job = Job(fails)
    job.run()
    assert job.state is JobState.FAILED
    assert job.error_message == "a.cr2: the file is truncated"

    job = Job(crashes, title="Export")
    job.run()
    assert job.state is JobState.FAILED
    assert job.error_message == "Export failed: ZeroDivisionError: division by zero"
    assert "Traceback" in job.error_details


def test_a_library_calling_sys_exit_fails_the_job_and_ctrl_c_still_stops():
    def exits(context):
        raise SystemExit(3)

    job = Job(exits, title="Reading x.png")
    job.run()
    assert job.state is JobState.FAILED and job.error_message == "Reading x.png failed: SystemExit: 3"

    def interrupted(context):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Job(interrupted).run()
