"""Wizard pages that run one background Job at a time (status line, progress bar, cancel, completeChanged when
the Job ends): the check before a training run (with its time budget), the training run (live loss curve, Cancel
button) with its loss plot, and the last page that saves the result under a name. The Learn a Look and Adapt
Denoiser wizards subclass these; a page's wizard has ``runner`` (a JobRunner), ``data`` and ``problem`` (for
:class:`TrainingCheckPage`), ``outcome`` (for :class:`TrainingPage`) and ``saved`` (for :class:`SavePage`)."""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QBoxLayout, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QSizePolicy, QVBoxLayout, QWidget, QWizardPage)

from photolab.gui.jobs import JobHandle
from photolab.jobs import Job


def selectable_label(text: str = "") -> QLabel:
    """A word-wrapped label whose text can be selected with the mouse."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class StepRelay(QObject):
    """Carries each optimisation step's loss from the training thread to the GUI thread (queued)."""

    step = Signal(int, float)


class LossPlot(QWidget):
    """The training loss per step (log scale), raw and smoothed, painted with QPainter. Step 1 starts a new
    curve: a job that learns several times (cross-validation runs, then the final one) shows the current run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.losses: list[float] = []
        self.setMinimumSize(360, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(560, 220)

    def add(self, step: int, loss: float) -> None:
        if step == 1:
            self.losses = []
        if math.isfinite(loss) and loss > 0:
            self.losses.append(loss)
            self.update()

    def smoothed(self, window: int = 25) -> list[float]:
        """A running mean of the last ``window`` losses."""
        values, out, total = self.losses, [], 0.0
        for index, value in enumerate(values):
            total += value
            if index >= window:
                total -= values[index - window]
            out.append(total / min(index + 1, window))
        return out

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        text = self.palette().text().color()
        box = self.rect().adjusted(52, 10, -10, -24)
        painter.setPen(QPen(text, 1))
        painter.drawRect(box)
        painter.drawText(box.left(), box.bottom() + 18, "step 1")
        if not self.losses:
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "the loss appears here as the model learns")
            painter.end()
            return
        painter.drawText(box.right() - 80, box.bottom() + 18, f"step {len(self.losses)}")
        logs = [math.log10(v) for v in self.losses]
        low, high = min(logs), max(logs)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        painter.drawText(2, box.top() + 10, f"{10 ** high:.1e}")
        painter.drawText(2, box.bottom(), f"{10 ** low:.1e}")
        count = max(2, len(logs))

        def point(index: int, value: float) -> QPointF:
            return QPointF(box.left() + box.width() * index / (count - 1),
                           box.bottom() - box.height() * (math.log10(value) - low) / (high - low))

        for values, colour, width in ((self.losses, self.palette().mid().color(), 1),
                                      (self.smoothed(), self.palette().highlight().color(), 2)):
            path = QPainterPath(point(0, values[0]))
            for index, value in enumerate(values[1:], 1):
                path.lineTo(point(index, value))
            painter.setPen(QPen(colour, width))
            painter.drawPath(path)
        painter.end()


class JobPage(QWizardPage):
    """A page with ``status`` and ``progress`` that runs one Job at a time (:meth:`start`); complete once no Job
    runs and :meth:`ready` says so. Subclasses define ``_on_finished(result)`` and ``ready()``."""

    def __init__(self, wizard, title: str) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(title)
        self.handle: JobHandle | None = None
        self.status = selectable_label()
        self.progress = QProgressBar()

    def start(self, job: Job) -> JobHandle:
        """Submit ``job`` to the wizard's runner, wired to this page's status, progress and completeness."""
        handle = self.handle = self._wizard.runner.submit(job)
        handle.progress.connect(self._on_progress)
        handle.finished.connect(self._on_finished)
        handle.failed.connect(self._on_failed)
        handle.ended.connect(self._on_ended)
        return handle

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self.status.setText(message)

    def _on_finished(self, result) -> None:
        raise NotImplementedError

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"<b>Failed:</b> {message}")

    def _on_ended(self, _handle) -> None:
        self.handle = None
        self.completeChanged.emit()

    def cancel(self) -> None:
        """Stop the running Job, if any."""
        if self.handle is not None:
            self.handle.cancel()

    def ready(self) -> bool:
        """Whether the finished work lets the wizard go on."""
        raise NotImplementedError

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        return self.handle is None and self.ready()


class TrainingCheckPage(JobPage):
    """The check before a training run: complete once the check Job set the wizard's ``data``; a failure is the
    wizard's ``problem``, shown as "Cannot ``verb``: …"; ``budget`` is the "``Verb`` for:" row with the
    ``minutes`` the run may take, for the subclass to place."""

    def __init__(self, wizard, title: str, verb: str) -> None:
        super().__init__(wizard, title)
        self._verb = verb
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.05, 120.0)
        self.minutes.setDecimals(2)
        self.minutes.setValue(5.0)
        self.minutes.setSuffix(" min")
        self.budget = QFormLayout()
        self.budget.addRow(f"{verb.capitalize()} for:", self.minutes)

    def _on_failed(self, message: str) -> None:
        self._wizard.problem = message
        self.status.setText(f"<b>Cannot {self._verb}:</b> {message}")

    def ready(self) -> bool:
        return self._wizard.data is not None


class TrainingPage(JobPage):
    """A training run: status, progress, the live loss curve (fed through ``relay``) and a Cancel button;
    complete once the run ended with the wizard's ``outcome`` set. Subclasses define :meth:`job`."""

    def __init__(self, wizard, title: str, subtitle: str, cancel_text: str) -> None:
        super().__init__(wizard, title)
        self.setSubTitle(subtitle)
        self.plot = LossPlot()
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.clicked.connect(self.cancel)
        self.relay = StepRelay(self)  # each step's loss, from the training thread to the GUI thread
        self.relay.step.connect(self.plot.add, Qt.ConnectionType.QueuedConnection)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.plot, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)

    def job(self) -> Job:
        """The training Job, reporting each step's loss through ``self.relay``."""
        raise NotImplementedError

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        self.cancel()
        self._wizard.outcome = None
        self.plot.losses = []
        self.plot.update()
        job = self.job()
        self.cancel_button.setEnabled(True)
        self.status.setText("Starting …")
        self.start(job).cancelled.connect(lambda: self.status.setText("Cancelled: nothing was saved."))

    def _on_ended(self, handle) -> None:
        self.cancel_button.setEnabled(False)
        super()._on_ended(handle)

    def ready(self) -> bool:
        return self._wizard.outcome is not None


class SavePage(QWizardPage):
    """A last page that saves the wizard's result under a name: ``name_edit``, ``save_button`` (enabled while the
    name is a valid model name) and ``status``. Subclasses define :meth:`save_job` and :meth:`saved_text`, and
    place the rows with :meth:`add_save_rows`."""

    def __init__(self, wizard, title: str, button_text: str, name: str = "") -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(title)
        self.name_edit = QLineEdit(name)
        self.name_edit.textChanged.connect(self._check_name)
        self.save_button = QPushButton(button_text)
        self.save_button.clicked.connect(self.save)
        self.status = selectable_label()

    def add_save_rows(self, layout: QBoxLayout) -> None:
        """Add the Name field, then the status line with the save button, to ``layout``."""
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.save_button)
        layout.addLayout(row)

    def _check_name(self) -> None:
        from photolab.models.store.card import ModelCardError, check_model_name

        try:
            check_model_name(self.name_edit.text())
            self.save_button.setEnabled(True)
            self.status.setText("")
        except ModelCardError as exc:
            self.save_button.setEnabled(False)
            self.status.setText(str(exc))

    def save_job(self, name: str) -> Job:
        """The Job that saves the result as ``name``."""
        raise NotImplementedError

    def saved_text(self, name: str) -> str:
        """The status once saved as ``name``: where to find it."""
        raise NotImplementedError

    def save(self) -> None:
        """Save under the typed name (a Job); the wizard's ``saved`` is the Job's result."""
        name = self.name_edit.text()
        handle = self._wizard.runner.submit(self.save_job(name))
        self.save_button.setEnabled(False)
        self.status.setText(f"Saving {name} …")
        handle.finished.connect(lambda result: self._on_saved(name, result))
        handle.failed.connect(self._on_failed)

    def _on_saved(self, name: str, result) -> None:
        self._wizard.saved = result
        self.status.setText(self.saved_text(name))

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"Not saved: {message}")
        self.save_button.setEnabled(True)
