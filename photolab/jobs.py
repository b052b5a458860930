"""Jobs: every long computation, with progress, cancel, and a result or an error.

A job wraps a function ``work(context, *args)``. The function reports progress with
``context.progress(fraction, message)`` and calls ``context.check_cancelled()`` at safe points (the
progress call does that too). The CLI runs a job inline (``job.run()``); the GUI runs the same job on a
thread pool and turns its callbacks into Qt signals (``photolab.gui.jobs``).
"""

from __future__ import annotations

import enum
import threading
import traceback
from typing import Any, Callable

from photolab.core.errors import PhotoLabError


class JobCancelled(Exception):
    """Raised inside a job's work function when the job was cancelled; the job ends as CANCELLED."""


class JobState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


ProgressCallback = Callable[[float, str], None]


class JobContext:
    """Handed to a job's work function: report progress, check for cancellation, split into sub-steps."""

    def __init__(self, job: "Job", start: float = 0.0, span: float = 1.0) -> None:
        self._job = job
        self._start = start
        self._span = span

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_requested

    def check_cancelled(self) -> None:
        """Raise JobCancelled if someone asked the job to stop."""
        if self._job.cancel_requested:
            raise JobCancelled()

    def progress(self, fraction: float, message: str = "") -> None:
        """Report that ``fraction`` (0..1) of this (sub-)step is done; also a cancellation point."""
        self.check_cancelled()
        fraction = min(max(float(fraction), 0.0), 1.0)
        self._job._report(self._start + self._span * fraction, message)

    def subtask(self, start: float, end: float) -> "JobContext":
        """A context whose 0..1 maps onto [start, end] of this one (for steps of a bigger job)."""
        return JobContext(self._job, self._start + self._span * start, self._span * (end - start))


class Job:
    """One unit of long work. Thread-safe: ``cancel()`` may be called from any thread while it runs."""

    def __init__(self, work: Callable[..., Any], *args: Any, title: str = "", **kwargs: Any) -> None:
        self.title = title or getattr(work, "__name__", "job")
        self._work = work
        self._args = args
        self._kwargs = kwargs
        self._cancel = threading.Event()
        self._progress_listeners: list[ProgressCallback] = []
        self.state = JobState.PENDING
        self.result: Any = None
        self.error: BaseException | None = None
        self.error_details: str = ""
        self.fraction = 0.0
        self.message = ""

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop at its next cancellation point."""
        self._cancel.set()

    def on_progress(self, callback: ProgressCallback) -> None:
        """Call ``callback(fraction, message)`` on every progress report (from the job's thread)."""
        self._progress_listeners.append(callback)

    def _report(self, fraction: float, message: str) -> None:
        self.fraction = fraction
        if message:
            self.message = message
        for listener in self._progress_listeners:
            listener(fraction, self.message)

    def run(self) -> Any:
        """Run the work in the calling thread. Never raises: the outcome is in ``state``, ``result``, ``error``.

        Returns the result (``None`` when the job failed or was cancelled).
        """
        self.state = JobState.RUNNING
        try:
            if self.cancel_requested:
                raise JobCancelled()
            self.result = self._work(JobContext(self), *self._args, **self._kwargs)
            self.state = JobState.FINISHED
            self._report(1.0, self.message)
        except JobCancelled:
            self.state = JobState.CANCELLED
        except KeyboardInterrupt:
            raise  # Ctrl+C stops the program, not just the job
        except BaseException as exc:  # noqa: BLE001 - a job turns every failure (SystemExit too) into an error
            self.error = exc
            self.error_details = traceback.format_exc()
            self.state = JobState.FAILED
        return self.result

    @property
    def error_message(self) -> str:
        """A message for a person: our own errors verbatim, anything else prefixed with what failed."""
        return "" if self.error is None else describe_error(self.error, self.title)


def describe_error(error: BaseException, title: str) -> str:
    """A one-line message for a person: PhotoLab's own errors verbatim, anything else prefixed with what
    failed (``title``), the exception's type and its first line."""
    if isinstance(error, PhotoLabError):
        text = str(error)
    elif isinstance(error, MemoryError):
        text = f"{title}: not enough memory"
    else:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        text = f"{title} failed: {type(error).__name__}" + (f": {detail}" if detail else "")
    return " ".join(text.split())
