"""The on-canvas crop rectangle: hit-testing, dragging and drawing, in the viewer's coordinates.

While the crop tool is on, the viewer shows the whole (rotated, uncropped) photo and this overlay shows
the crop as a rectangle with handles; dragging an edge, a corner or the inside changes it. Rectangles
are (left, top, right, bottom) fractions of the photo, as in CropParams.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

GRAB = 9.0  # widget pixels around an edge that grab it
MIN_SIZE = 0.02  # smallest crop side, as a fraction of the photo
CURSORS = {
    "left": Qt.CursorShape.SizeHorCursor, "right": Qt.CursorShape.SizeHorCursor,
    "top": Qt.CursorShape.SizeVerCursor, "bottom": Qt.CursorShape.SizeVerCursor,
    "top-left": Qt.CursorShape.SizeFDiagCursor, "bottom-right": Qt.CursorShape.SizeFDiagCursor,
    "top-right": Qt.CursorShape.SizeBDiagCursor, "bottom-left": Qt.CursorShape.SizeBDiagCursor,
    "move": Qt.CursorShape.SizeAllCursor,
}

Rect = tuple[float, float, float, float]


def widget_rect(crop: Rect, image: QRectF) -> QRectF:
    """The crop in widget coordinates, given where the whole photo lies."""
    left, top, right, bottom = crop
    return QRectF(image.left() + left * image.width(), image.top() + top * image.height(),
                  (right - left) * image.width(), (bottom - top) * image.height())


def hit_test(crop: Rect, image: QRectF, point: QPointF) -> str | None:
    """Which part of the crop rectangle ``point`` grabs: an edge, a corner, "move" (inside) or None."""
    rect = widget_rect(crop, image)
    near_left, near_right = abs(point.x() - rect.left()) <= GRAB, abs(point.x() - rect.right()) <= GRAB
    near_top, near_bottom = abs(point.y() - rect.top()) <= GRAB, abs(point.y() - rect.bottom()) <= GRAB
    inside_x = rect.left() - GRAB <= point.x() <= rect.right() + GRAB
    inside_y = rect.top() - GRAB <= point.y() <= rect.bottom() + GRAB
    vertical = "top" if near_top else "bottom" if near_bottom else ""
    horizontal = "left" if near_left else "right" if near_right else ""
    if vertical and horizontal:
        return f"{vertical}-{horizontal}"
    if horizontal and inside_y:
        return horizontal
    if vertical and inside_x:
        return vertical
    return "move" if rect.contains(point) else None


def dragged(crop: Rect, part: str, dx: float, dy: float) -> Rect:
    """``crop`` with ``part`` moved by (dx, dy) (fractions of the photo), kept inside it and not too small."""
    left, top, right, bottom = crop
    if part == "move":
        dx = min(max(dx, -left), 1.0 - right)
        dy = min(max(dy, -top), 1.0 - bottom)
        return (left + dx, top + dy, right + dx, bottom + dy)
    if "left" in part:
        left = min(max(left + dx, 0.0), right - MIN_SIZE)
    if "right" in part:
        right = max(min(right + dx, 1.0), left + MIN_SIZE)
    if "top" in part:
        top = min(max(top + dy, 0.0), bottom - MIN_SIZE)
    if "bottom" in part:
        bottom = max(min(bottom + dy, 1.0), top + MIN_SIZE)
    return (left, top, right, bottom)


def paint(painter: QPainter, crop: Rect, image: QRectF) -> None:
    """Dim the photo outside the crop; draw its border, thirds and corner handles."""
    rect = widget_rect(crop, image)
    outside = QPainterPath()
    outside.addRect(image)
    inner = QPainterPath()
    inner.addRect(rect)
    painter.fillPath(outside.subtracted(inner), QColor(0, 0, 0, 140))
    painter.setPen(QPen(QColor(255, 255, 255, 90), 1))
    for third in (1 / 3, 2 / 3):
        x = rect.left() + rect.width() * third
        y = rect.top() + rect.height() * third
        painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
    painter.setPen(QPen(QColor(240, 240, 240), 1.5))
    painter.drawRect(rect)
    handle = 14.0
    painter.setPen(QPen(QColor(255, 255, 255), 3))
    for corner, (sx, sy) in ((rect.topLeft(), (1, 1)), (rect.topRight(), (-1, 1)),
                             (rect.bottomLeft(), (1, -1)), (rect.bottomRight(), (-1, -1))):
        painter.drawLine(corner, corner + QPointF(sx * handle, 0))
        painter.drawLine(corner, corner + QPointF(0, sy * handle))
