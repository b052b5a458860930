"""The status-bar job indicator: the newest visible job's title, a progress bar and a Cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from photolab.gui.jobs import JobHandle, JobRunner


class JobStatus(QWidget):
    """Hidden while no visible job runs; with several, shows the newest and how many others run."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton(text="Cancel")
        self.cancel_button.setToolTip("Stop this job")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._jobs: list[JobHandle] = []
        runner.job_started.connect(self._on_started)
        runner.job_ended.connect(self._on_ended)
        self.cancel_button.clicked.connect(self.cancel_current)
        self.setVisible(False)

    @property
    def current(self) -> JobHandle | None:
        return self._jobs[-1] if self._jobs else None

    def cancel_current(self) -> None:
        """Cancel the job being shown."""
        if self.current is not None:
            self.current.cancel()
            self.label.setText(f"Cancelling {self.current.title}…")

    def _on_started(self, handle: JobHandle) -> None:
        if not handle.visible:
            return
        self._jobs.append(handle)
        handle.progress.connect(self._refresh)
        self._refresh()

    def _on_ended(self, handle: JobHandle) -> None:
        if handle in self._jobs:
            self._jobs.remove(handle)
            self._refresh()

    def _refresh(self, *progress) -> None:
        handle = self.current
        self.setVisible(handle is not None)
        if handle is None:
            return
        others = len(self._jobs) - 1
        text = handle.title + (f": {handle.message}" if handle.message else "")
        if others:
            text += f"  (+{others} more)"
        self.label.setText(text)
        self.bar.setValue(round(handle.fraction * 1000))
