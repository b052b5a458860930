"""The fine-tuning wizard's training page and its live curves, drawn with QPainter (loss and accuracy, train
and validation).

Two charts side by side share the epoch axis (1 .. the planned number of epochs, so the x scale does not jump
as epochs arrive). Train is drawn solid, validation dashed; the best epoch (lowest validation loss) is marked.

Why not pyqtgraph (weighed for issue 15): a run has tens of epochs, so zoom and pan add nothing, while the
package is not installed, not in packaging/constraints.txt nor the bundle; the two painted charts (about 100
lines) stay smaller than the plot setup, styling and best-epoch marker would be with it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy, QVBoxLayout, QWidget,
                               QWizardPage)

from photolab.gui.finetune.work import EpochRelay, train_work
from photolab.jobs import Job

TRAIN_COLOUR = QColor(52, 120, 220)
VAL_COLOUR = QColor(230, 120, 30)


class TrainingCurves(QWidget):
    """Loss and accuracy per epoch for train and validation; feed it with :meth:`add_epoch`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epochs: list = []  # EpochMetrics, in order
        self.planned = 1
        self.setMinimumSize(420, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        """Room for two readable charts."""
        return QSize(640, 240)

    def reset(self, planned_epochs: int) -> None:
        """Forget the curves; the x axis will span ``planned_epochs``."""
        self.epochs, self.planned = [], max(1, int(planned_epochs))
        self.update()

    def add_epoch(self, metrics) -> None:
        """Append one epoch's :class:`~photolab.models.training.training.EpochMetrics` and repaint."""
        self.epochs.append(metrics)
        self.planned = max(self.planned, metrics.epoch)
        self.update()

    def best_epoch(self) -> int:
        """The epoch with the lowest validation loss (0 when none yet)."""
        finite = [m for m in self.epochs if math.isfinite(m.val_loss)]
        return min(finite, key=lambda m: m.val_loss).epoch if finite else 0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Draw both charts."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().base())
        half = self.width() / 2
        losses = [v for m in self.epochs for v in (m.train_loss, m.val_loss) if math.isfinite(v)]
        top = max(losses) * 1.1 if losses else 1.0
        self._chart(painter, QRectF(0, 0, half, self.height()), "Loss", ("train_loss", "val_loss"), 0.0, top,
                    lambda v: f"{v:.2f}")
        self._chart(painter, QRectF(half, 0, half, self.height()), "Accuracy", ("train_accuracy", "val_accuracy"),
                    0.0, 1.0, lambda v: f"{v:.0%}")
        painter.end()

    def _chart(self, painter: QPainter, box: QRectF, title: str, fields: tuple[str, str], low: float,
               high: float, label) -> None:
        text = self.palette().text().color()
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        plot = box.adjusted(44, 22, -12, -26)
        painter.setPen(QPen(text))
        painter.drawText(QRectF(box.left(), box.top() + 2, box.width(), 18), Qt.AlignmentFlag.AlignHCenter, title)
        grid = QColor(text)
        grid.setAlpha(50)
        for step in range(5):
            value = low + (high - low) * step / 4
            y = plot.bottom() - plot.height() * step / 4
            painter.setPen(QPen(grid, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(QPen(text))
            painter.drawText(QRectF(box.left(), y - 8, 40, 16), Qt.AlignmentFlag.AlignRight, label(value))
        ticks = sorted({1, self.planned} | {e for e in range(1, self.planned + 1) if e % max(1, self.planned // 5) == 0})
        for epoch in ticks:
            x = self._x(plot, epoch)
            painter.drawText(QRectF(x - 15, plot.bottom() + 4, 30, 16), Qt.AlignmentFlag.AlignHCenter, str(epoch))
        painter.drawText(QRectF(plot.left(), plot.bottom() + 12, plot.width(), 14), Qt.AlignmentFlag.AlignRight,
                         "epoch")
        best = self.best_epoch()
        if best:
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(self._x(plot, best), plot.top()), QPointF(self._x(plot, best), plot.bottom()))
        for name, colour, style in ((fields[0], TRAIN_COLOUR, Qt.PenStyle.SolidLine),
                                    (fields[1], VAL_COLOUR, Qt.PenStyle.DashLine)):
            points = [QPointF(self._x(plot, m.epoch), self._y(plot, getattr(m, name), low, high))
                      for m in self.epochs if math.isfinite(getattr(m, name))]
            painter.setPen(QPen(colour, 2, style))
            if len(points) > 1:
                path = QPainterPath(points[0])
                for point in points[1:]:
                    path.lineTo(point)
                painter.drawPath(path)
            painter.setBrush(colour)
            for point in points:
                painter.drawEllipse(point, 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        for row, (text_label, colour, style) in enumerate((("train", TRAIN_COLOUR, Qt.PenStyle.SolidLine),
                                                            ("validation", VAL_COLOUR, Qt.PenStyle.DashLine))):
            y = plot.top() + 8 + 14 * row
            painter.setPen(QPen(colour, 2, style))
            painter.drawLine(QPointF(plot.right() - 90, y), QPointF(plot.right() - 70, y))
            painter.setPen(QPen(text))
            painter.drawText(QPointF(plot.right() - 66, y + 4), text_label)

    def _x(self, plot: QRectF, epoch: float) -> float:
        if self.planned <= 1:
            return plot.center().x()
        return plot.left() + plot.width() * (epoch - 1) / (self.planned - 1)

    @staticmethod
    def _y(plot: QRectF, value: float, low: float, high: float) -> float:
        fraction = (min(max(value, low), high) - low) / max(1e-12, high - low)
        return plot.bottom() - plot.height() * fraction


class TrainingPage(QWizardPage):
    """5. Training: live curves, epoch progress and ETA; Cancel keeps the best epoch so far."""

    def __init__(self, wizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Training")
        self.handle = None
        self.relay = None
        self.started = 0.0
        self.curves = TrainingCurves()
        self.progress = QProgressBar()
        self.status = _wrapped("")
        self.cancel_button = QPushButton("Cancel Training")
        self.cancel_button.clicked.connect(self.cancel)
        self.again_button = QPushButton("Train Again")
        self.again_button.clicked.connect(self.start)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.again_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    @property
    def running(self) -> bool:
        """A training job runs."""
        return self.handle is not None

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Start training as soon as the page shows."""
        self.start()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt's name
        """Going Back stops the run."""
        self.cancel()

    def start(self) -> None:
        """Train with the wizard's settings (a Job on the background lane)."""
        self.cancel()
        wizard = self._wizard
        wizard.outcome = None
        settings = wizard.settings()
        self.curves.reset(settings.epochs)
        self.curves.setVisible(settings.strategy != "auto")  # auto trains no epochs: its candidates are scored
        if self.relay is not None:  # epochs of an earlier, cancelled run are not drawn any more
            self.relay.epoch.disconnect(self.curves.add_epoch)
        relay = self.relay = EpochRelay(self)
        relay.epoch.connect(self.curves.add_epoch, Qt.ConnectionType.QueuedConnection)
        job = Job(train_work, wizard.manager(), wizard.report, settings, relay.epoch.emit,
                  title=f"Training on {Path(wizard.folder()).name}")
        handle = self.handle = wizard.submit(job)
        self.started = time.monotonic()
        handle.progress.connect(lambda f, m: self._on_progress(handle, f, m))
        handle.finished.connect(lambda result: self._on_finished(handle, result))
        handle.failed.connect(lambda message: self._on_ended(handle, f"Training failed: {message}\nNothing was "
                                                                     f"saved."))
        handle.cancelled.connect(lambda: self._on_ended(handle, "Cancelled before the first epoch ended: there is "
                                                                "nothing to keep, and nothing was saved."))
        self.progress.setValue(0)
        self.status.setText("Loading images …")
        self.cancel_button.setEnabled(True)
        self.again_button.hide()
        self.completeChanged.emit()

    def cancel(self) -> None:
        """Stop the run at its next batch; the best epoch so far is kept (if one has ended)."""
        if self.handle is not None:
            self.handle.cancel()
            self.status.setText("Stopping …")
            self.cancel_button.setEnabled(False)

    def _on_progress(self, handle, fraction: float, message: str) -> None:
        if handle is not self.handle:
            return
        self.progress.setValue(int(fraction * 1000) // 10)
        elapsed = time.monotonic() - self.started
        eta = f" — about {elapsed * (1 - fraction) / fraction:.0f} s left" if fraction > 0.05 else ""
        self.status.setText(f"{message}{eta}")

    def _on_ended(self, handle, message: str) -> None:
        if handle is not self.handle:
            return
        self.handle = None
        self.status.setText(message)
        self.cancel_button.setEnabled(False)
        self.again_button.show()
        self.completeChanged.emit()

    def _on_finished(self, handle, result) -> None:
        if handle is not self.handle:
            return
        self._wizard.outcome, self._wizard.wrong_thumbnails = result
        outcome = self._wizard.outcome
        self.curves.epochs = list(outcome.result.history)
        self.curves.update()
        if outcome.result.history:
            done = (f"{outcome.result.stop_reason.capitalize()}. Validation accuracy "
                    f"{outcome.result.metrics.accuracy:.1%} (best epoch {outcome.result.best_epoch}).")
        else:
            done = f"{outcome.result.stop_reason.capitalize()}."
        self._on_ended(handle, f"{done} Nothing is saved until you save on the next page.")
        self.progress.setValue(100)

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        """A run has produced a model."""
        return self.handle is None and self._wizard.outcome is not None


def _wrapped(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label
