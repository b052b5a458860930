"""The Classify panel: the chosen model's most probable classes for the current photo, as edited.

Whenever the photo, its edit or the model changes, the panel waits for the edits to settle (debounced) and
asks its inference channel to classify ``render(proxy, recipe)`` in a job; answers about an older photo,
edit or model are dropped (see :mod:`photolab.gui.models.service`). While the panel is hidden (a tab behind
Develop) nothing runs: it catches up when shown. Without any model it says so and offers the Model Manager.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QStackedWidget,
                               QVBoxLayout, QWidget)

from photolab.core.recipe import Recipe
from photolab.gui.models.service import CurrentPhoto, ModelSelector, ModelService, PhotoSnapshot

DEBOUNCE_MS = 300
DEFAULT_TOP_K = 5
NO_MODEL_TEXT = ("No classifier is installed.\n\nImport a weights file (safetensors, or a weights-only .pth) or "
                 "download a pretrained SE-ResNet in the Model Manager.")


@dataclass(frozen=True)
class Classification:
    """The top classes of one photo as edited, and what produced them."""

    model: str
    photo: str
    recipe: Recipe
    top: list[tuple[str, float]]  # (label, probability), most probable first


def classify_snapshot(context, loaded, snapshot: PhotoSnapshot, top_k: int) -> Classification:
    """Job work: render the snapshot and classify it with ``loaded``."""
    from photolab.models.inference import classify

    photo = snapshot.render()
    context.check_cancelled()
    return Classification(loaded.name, snapshot.name, snapshot.recipe, classify(loaded, photo, top_k))


class ProbabilityBars(QWidget):
    """One row per class: its label, a bar as long as its probability, and the percentage."""

    ROW = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        """Show ``rows`` = [(label, probability), ...]."""
        self.rows = list(rows)
        self.setFixedHeight(max(1, len(self.rows)) * self.ROW + 4)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(280, max(1, len(self.rows)) * self.ROW + 4)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = painter.fontMetrics()
        label_width = min(max((metrics.horizontalAdvance(label) for label, _ in self.rows), default=0) + 8,
                          self.width() // 2)
        bar_left, bar_right = label_width, self.width() - 52
        for index, (label, probability) in enumerate(self.rows):
            top = 2 + index * self.ROW
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(QRectF(0, top, label_width - 6, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                             metrics.elidedText(label, Qt.TextElideMode.ElideRight, label_width - 6))
            track = QRectF(bar_left, top + 5, max(bar_right - bar_left, 1), self.ROW - 10)
            painter.fillRect(track, QColor(45, 45, 45))
            painter.fillRect(QRectF(track.left(), track.top(), track.width() * probability, track.height()),
                             QColor(86, 180, 233) if index == 0 else QColor(70, 110, 150))
            painter.drawText(QRectF(bar_right, top, 50, self.ROW),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{probability:.1%}")


class ClassifyPanel(QWidget):
    """Model selector, the top-k classes with probability bars, and a no-model page."""

    manage_requested = Signal()  # "Open Model Manager…" was pressed
    classified = Signal(object)  # a Classification now on screen

    def __init__(self, service: ModelService, photo: CurrentPhoto, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service, self._photo = service, photo
        self.result: Classification | None = None
        self._dirty = True
        self.channel = service.channel(self, title="Classifying")
        self.selector = ModelSelector(service)
        self.top_k = QSpinBox(minimum=1, maximum=10, value=DEFAULT_TOP_K, prefix="Top ")
        self.bars = ProbabilityBars()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #9a9a9a")
        self.message = QLabel(NO_MODEL_TEXT)
        self.message.setWordWrap(True)
        self.manage_button = QPushButton("Open Model Manager…")
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.bars)
        results_layout.addWidget(self.caption)
        results_layout.addStretch(1)
        no_model = QWidget()
        no_model_layout = QVBoxLayout(no_model)
        no_model_layout.setContentsMargins(0, 0, 0, 0)
        no_model_layout.addWidget(self.message)
        no_model_layout.addWidget(self.manage_button, 0, Qt.AlignmentFlag.AlignLeft)
        no_model_layout.addStretch(1)
        self.pages = QStackedWidget()
        self.pages.addWidget(results)
        self.pages.addWidget(no_model)
        header = QHBoxLayout()
        header.addWidget(self.selector, 1)
        header.addWidget(self.top_k)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.classify_now)
        self.manage_button.clicked.connect(self.manage_requested)
        photo.changed.connect(self.schedule)
        service.current_changed.connect(lambda name: self.schedule(immediately=True))
        service.models_changed.connect(self._on_models_changed)
        service.manager_failed.connect(lambda message: self._show_caption(f"Models unavailable: {message}", True))
        self.top_k.valueChanged.connect(lambda value: self.schedule(immediately=True))
        self.channel.result_ready.connect(self._show_result)
        self.channel.failed.connect(self._show_failure)
        self._update_page()

    @property
    def has_model(self) -> bool:
        """Whether a model is chosen (False while none is installed or the list is not known yet)."""
        return self._service.current_entry() is not None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._service.start()
        if self._dirty:
            self.schedule(immediately=True)

    def schedule(self, *args, immediately: bool = False) -> None:
        """The photo, edit or model changed: classify again once the edits settle (only while shown)."""
        self._dirty = True
        self.channel.invalidate()  # whatever runs now answers an outdated question
        if not self.isVisible():
            return
        self._timer.start(0 if immediately else DEBOUNCE_MS)

    def classify_now(self) -> None:
        """Start classifying the current photo as edited (the answer arrives in ``classified``)."""
        self._timer.stop()
        self._update_page()
        snapshot = self._photo.snapshot()
        if snapshot is None or not self.has_model:
            self.bars.set_rows([])
            self.result = None
            if self._service.is_ready:
                self._dirty = False
            self._show_caption("Open a photo to classify it." if self.has_model else "")
            return
        self._dirty = False
        self.channel.request(classify_snapshot, snapshot, self.top_k.value(), title="Classifying")
        self._show_caption(f"Classifying {snapshot.name}…")

    def _update_page(self) -> None:
        ready = self._service.is_ready
        self.pages.setCurrentIndex(1 if ready and not self._service.classifiers() else 0)
        if not ready:
            self._show_caption("Loading models…")

    def _on_models_changed(self) -> None:
        self._update_page()
        if self._dirty or self.result is None or self.result.model != self._service.current_name():
            self.schedule(immediately=True)

    def _show_result(self, result: Classification) -> None:
        self.result = result
        self.bars.set_rows(result.top)
        self._show_caption(f"{result.model} on {result.photo}, as edited")
        self.classified.emit(result)

    def _show_failure(self, message: str) -> None:
        self.result = None
        self.bars.set_rows([])
        self._show_caption(message, error=True)

    def _show_caption(self, text: str, error: bool = False) -> None:
        self.caption.setText(text)
        self.caption.setStyleSheet("color: #e07070" if error else "color: #9a9a9a")
