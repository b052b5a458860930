"""The level tool's line on the viewer: drawn while the user drags along a horizon or a vertical."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

MIN_LENGTH = 8.0  # widget pixels (Manhattan): a shorter drag is a click, not a line


def paint(painter: QPainter, start: QPointF, end: QPointF) -> None:
    """A dark-edged white dashed line from ``start`` to ``end`` (widget coordinates), seen on any photo."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(0, 0, 0, 160), 3))
    painter.drawLine(start, end)
    painter.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
    painter.drawLine(start, end)
    painter.restore()
