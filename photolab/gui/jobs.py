"""Run photolab.jobs.Job on a QThreadPool and relay its progress and outcome as Qt signals.

A job's callbacks arrive on a worker thread. Each ``JobHandle`` lives in the GUI thread and owns a small
relay object whose signals are connected to the handle with queued connections, so every public signal
of a handle (``progress``, ``finished``, ``failed``, ``cancelled``, ``ended``) is emitted in the GUI thread.

Jobs run in named lanes, each with its own pool, so a long export never delays an interactive preview:
``interactive`` (one thread: preview renders, eyedropper), ``loupe`` (one thread: the loupe's 100 % crops,
which follow the cursor even while a preview is being denoised), ``thumbnails`` (two threads: the filmstrip's
thumbnails, so a folder of hundreds never queues ahead of opening a photo) and ``background`` (open, full
renders, export).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal, Slot

from photolab.jobs import Job, JobState

INTERACTIVE = "interactive"
LOUPE = "loupe"
THUMBNAILS = "thumbnails"
BACKGROUND = "background"
_PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second per job


class _Relay(QObject):
    """Emitted from the worker thread; delivered to the handle in the GUI thread (queued)."""

    progressed = Signal(float, str)
    done = Signal()


class JobHandle(QObject):
    """The GUI-thread face of one running job."""

    progress = Signal(float, str)  # fraction 0..1, message
    finished = Signal(object)  # the job's result
    failed = Signal(str)  # a message for a person (job.error holds the exception)
    cancelled = Signal()
    ended = Signal(object)  # always last, with this handle, whatever the outcome

    def __init__(self, job: Job, *, visible: bool, ask_before_quit: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.visible = visible  # shown in the status bar (with a Cancel button)
        self.ask_before_quit = ask_before_quit  # quitting while it runs would throw its work away
        self.fraction = 0.0
        self.message = ""
        self._relay = _Relay(self)
        self._relay.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._relay.done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._last_report = 0.0
        self._done = threading.Event()  # the outcome has been relayed (GUI thread)
        self._worker_done = threading.Event()  # the work function has returned (worker thread)
        job.on_progress(self._report_from_worker)

    @property
    def title(self) -> str:
        return self.job.title

    @property
    def is_done(self) -> bool:
        """True once the job's outcome has been relayed (all signals emitted)."""
        return self.job.state not in (JobState.PENDING, JobState.RUNNING) and self._done.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next cancellation point (a job not yet started never runs)."""
        self.job.cancel()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the work itself has ended (its signals still arrive later, through the event
        loop); for the rare places that must not go on while the job runs. True if it ended."""
        return self._worker_done.wait(timeout_s)

    # --- worker thread -------------------------------------------------------------------------------
    def _report_from_worker(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_report < _PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        self._relay.progressed.emit(fraction, message)

    def _run_in_worker(self) -> None:
        _yield_to_the_gui_thread()
        try:
            self.job.run()
        except BaseException as error:  # noqa: BLE001 - Job.run lets SystemExit & co. through; in Qt's pool they
            # would end the whole program (a reader that calls sys.exit, say): the job failed, like any other
            self.job.error, self.job.error_details = error, traceback.format_exc()
            self.job.state = JobState.FAILED
        finally:
            self._worker_done.set()
            self._relay.done.emit()

    # --- GUI thread ----------------------------------------------------------------------------------
    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self._done.is_set():
            return
        self.fraction, self.message = fraction, message
        self.progress.emit(fraction, message)

    @Slot()
    def _on_done(self) -> None:
        self._done.set()
        state = self.job.state
        if state is JobState.FINISHED:
            self.finished.emit(self.job.result)
        elif state is JobState.CANCELLED:
            self.cancelled.emit()
        else:
            self.failed.emit(self.job.error_message)
        self.ended.emit(self)


_WORKER_NICENESS = 10
_worker_state = threading.local()


def _yield_to_the_gui_thread() -> None:
    """Give this worker thread (and the threads it starts: LibRaw's OpenMP team, band workers) a lower CPU
    priority than the GUI thread, so that on a machine with few cores a busy job never delays the event
    loop. Linux only (per-thread nice values); elsewhere the scheduler is left alone."""
    if getattr(_worker_state, "niced", False):
        return
    _worker_state.niced = True
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WORKER_NICENESS)


class JobRunner(QObject):
    """Starts jobs on per-lane thread pools and keeps track of the running ones."""

    job_started = Signal(object)  # JobHandle
    job_ended = Signal(object)  # JobHandle

    def __init__(self, parent: QObject | None = None, *, background_threads: int | None = None) -> None:
        super().__init__(parent)
        self._pools: dict[str, QThreadPool] = {
            INTERACTIVE: QThreadPool(self),
            LOUPE: QThreadPool(self),
            THUMBNAILS: QThreadPool(self),
            BACKGROUND: QThreadPool(self),
        }
        self._pools[INTERACTIVE].setMaxThreadCount(1)
        self._pools[LOUPE].setMaxThreadCount(1)
        self._pools[THUMBNAILS].setMaxThreadCount(2)
        cores = QThreadPool.globalInstance().maxThreadCount()
        self._pools[BACKGROUND].setMaxThreadCount(background_threads or max(2, cores))
        self._active: list[JobHandle] = []
        self._ended: list[JobHandle] = []  # released on the next event-loop turn, outside their own slots

    def submit(self, job: Job, *, lane: str = BACKGROUND, visible: bool = True,
               ask_before_quit: bool = True) -> JobHandle:
        """Start ``job`` on the lane's pool; returns its handle (signals arrive in the GUI thread).

        A visible job is work the user asked for, so quitting while it runs asks first (see
        :meth:`unfinished_work`); ``ask_before_quit=False`` exempts visible jobs that only make a view again
        (opening, rendering)."""
        # No Qt parent: a handle lives as long as someone (the runner while it runs, or the caller) holds it.
        handle = JobHandle(job, visible=visible, ask_before_quit=visible and ask_before_quit)
        handle.ended.connect(self._forget)
        self._active.append(handle)
        self.job_started.emit(handle)
        self._pools[lane].start(handle._run_in_worker)
        return handle

    def active_jobs(self, *, visible_only: bool = False) -> list[JobHandle]:
        """Handles whose outcome has not been relayed yet, oldest first."""
        return [h for h in self._active if h.visible or not visible_only]

    def unfinished_work(self) -> list[JobHandle]:
        """The running or queued jobs that quitting would throw away (``ask_before_quit``), oldest first."""
        return [h for h in self._active if h.ask_before_quit]

    def cancel_all(self) -> None:
        """Ask every running or queued job to stop."""
        for handle in self._active:
            handle.cancel()

    def wait_for_done(self, timeout_ms: int = -1) -> bool:
        """Block until the pools are idle (used when closing); True if they are."""
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        for pool in self._pools.values():
            remaining = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not pool.waitForDone(remaining):
                return False
        return True

    @Slot(object)
    def _forget(self, handle: Any) -> None:
        if handle in self._active:
            self._active.remove(handle)
        self.job_ended.emit(handle)
        self._ended.append(handle)
        QTimer.singleShot(0, self._ended.clear)
