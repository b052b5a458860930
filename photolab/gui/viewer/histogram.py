"""RGB histogram of the rendered preview: overlapping translucent channels, like Lightroom's."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

CHANNEL_COLORS = (QColor(230, 60, 60, 150), QColor(60, 200, 60, 150), QColor(70, 110, 240, 150))


def histogram_heights(counts: np.ndarray, *, logarithmic: bool) -> np.ndarray:
    """(3, 256) counts -> (3, 256) heights in 0..1, scaled together so channels compare.

    The scale ignores the two end bins (a clipped sky would flatten everything else); log1p scaling
    shows the faint tails.
    """
    values = np.log1p(counts) if logarithmic else counts.astype(np.float64)
    peak = values[:, 1:-1].max() if values.shape[1] > 2 else values.max()
    if peak <= 0:
        peak = max(values.max(), 1.0)
    return np.clip(values / peak, 0.0, 1.0)


def clipped_fractions(counts: np.ndarray) -> tuple[float, float]:
    """Share of pixel values at 0 and at 255 (any channel), for the clipping readout."""
    total = max(float(counts[0].sum()), 1.0)
    return float(counts[:, 0].max()) / total, float(counts[:, -1].max()) / total


class HistogramWidget(QWidget):
    """Paints the (3, 256) histogram it is given; right-click toggles logarithmic scaling."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(110)
        self._counts: np.ndarray | None = None
        self.logarithmic = False
        toggle = QAction("Logarithmic scale", self, checkable=True)
        toggle.toggled.connect(self.set_logarithmic)
        self.addAction(toggle)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.setToolTip("RGB histogram of the preview (right-click: logarithmic scale)")

    @property
    def counts(self) -> np.ndarray | None:
        return self._counts

    def set_counts(self, counts: np.ndarray | None) -> None:
        """Show a new histogram ((3, 256) counts), or nothing."""
        self._counts = None if counts is None else np.asarray(counts, dtype=np.float64)
        self.update()

    def set_logarithmic(self, on: bool) -> None:
        self.logarithmic = on
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(280, 120)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.fillRect(area, QColor(28, 28, 28))
        painter.setPen(QPen(QColor(60, 60, 60), 1))
        for quarter in (0.25, 0.5, 0.75):
            x = area.left() + area.width() * quarter
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        if self._counts is None:
            return
        heights = histogram_heights(self._counts, logarithmic=self.logarithmic)
        xs = area.left() + np.arange(256) * (area.width() / 255.0)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Plus)
        painter.setPen(Qt.PenStyle.NoPen)
        for channel, color in enumerate(CHANNEL_COLORS):
            ys = area.bottom() - heights[channel] * (area.height() - 4)
            points = [QPointF(area.left(), area.bottom())] + [QPointF(x, y) for x, y in zip(xs, ys)]
            points.append(QPointF(area.right(), area.bottom()))
            path = QPainterPath()
            path.addPolygon(QPolygonF(points))
            painter.fillPath(path, color)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        shadows, highlights = clipped_fractions(self._counts)
        painter.setPen(QColor(170, 170, 170))
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() - 1.5, 6.0))
        painter.setFont(font)
        text_area = area.adjusted(4, 2, -4, -2)
        painter.drawText(text_area, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, f"{shadows:.1%}")
        painter.drawText(text_area, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{highlights:.1%}")
