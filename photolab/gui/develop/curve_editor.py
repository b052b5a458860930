"""The tone curve editor: a square where the curve of one channel (Luminance, R, G or B) is drawn and edited.

Click to add a point (and drag it), drag a point to move it, double-click a point or drag it out of the
square to remove it (a curve keeps at least two points). A point stays between its neighbours, at least
``MIN_GAP`` from them, so the curve stays a function. Every change emits ``edited(channel, points,
merge_key)``; one drag carries one merge key (one undo step). The curve drawn is the one the develop step
computes (``photolab.core.develop.tone_curve.curve``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photolab.core.develop.tone_curve import CHANNELS, IDENTITY, MAX_POINTS, MIN_GAP, Points, curve

CHANNEL_LABELS = {"luminance": "Luminance", "red": "Red", "green": "Green", "blue": "Blue"}
CHANNEL_COLOURS = {"luminance": QColor(230, 230, 230), "red": QColor(235, 80, 80), "green": QColor(90, 200, 90),
                   "blue": QColor(100, 140, 255)}
GRAB_PX = 8  # how near a click must be to grab a point
REMOVE_PX = 24  # dragged this far outside the square, a point is removed
PADDING = 6


class CurveCanvas(QWidget):
    """The square with the curve; ``channel`` and ``points`` are set from outside, edits come out as signals."""

    edited = Signal(str, object, str)  # channel, points, merge key
    dragging = Signal(bool)  # a point is grabbed (True) or let go (False)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channel = "luminance"
        self.points: Points = IDENTITY
        self._drag: int | None = None  # index of the point being dragged
        self._removed = False  # the dragged point is out of the square (removed while it stays out)
        self._session = 0
        self.setMinimumSize(160, 160)
        self.setMouseTracking(False)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(220, 220)

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def set_points(self, channel: str, points: Points) -> None:
        self.channel, self.points = channel, tuple(points)
        self.update()

    # --- coordinates ------------------------------------------------------------------------------
    def _square(self) -> QRectF:
        side = min(self.width(), self.height()) - 2 * PADDING
        return QRectF(PADDING, PADDING, max(side, 1), max(side, 1))

    def to_widget(self, x: float, y: float) -> QPointF:
        square = self._square()
        return QPointF(square.left() + x * square.width(), square.bottom() - y * square.height())

    def to_curve(self, point: QPointF) -> tuple[float, float]:
        square = self._square()
        return ((point.x() - square.left()) / square.width(), (square.bottom() - point.y()) / square.height())

    def point_at(self, position: QPointF) -> int | None:
        for index, (x, y) in enumerate(self.points):
            spot = self.to_widget(x, y)
            if abs(spot.x() - position.x()) <= GRAB_PX and abs(spot.y() - position.y()) <= GRAB_PX:
                return index
        return None

    # --- edits ------------------------------------------------------------------------------------
    def merge_key(self) -> str:
        return f"tone_curve.{self.channel}#{id(self)}#{self._session}"

    def _emit(self, points: Points) -> None:
        self.points = tuple(points)
        self.update()
        self.edited.emit(self.channel, self.points, self.merge_key())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._session += 1
        position = event.position()
        index = self.point_at(position)
        if index is None:
            x, y = (min(max(v, 0.0), 1.0) for v in self.to_curve(position))
            xs = [px for px, _ in self.points]
            if len(self.points) >= MAX_POINTS or min(abs(x - px) for px in xs) < MIN_GAP:
                return
            points = sorted(self.points + ((round(x, 4), round(y, 4)),))
            index = points.index((round(x, 4), round(y, 4)))
            self._emit(tuple(points))
        self._drag, self._removed = index, False
        self._drag_points = self.points
        self.dragging.emit(True)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        points = list(self._drag_points)
        index = self._drag
        square = self._square().adjusted(-REMOVE_PX, -REMOVE_PX, REMOVE_PX, REMOVE_PX)
        if not square.contains(event.position()) and len(points) > 2:
            if not self._removed:  # dragged off: removed (until it comes back)
                self._removed = True
                self._emit(tuple(points[:index] + points[index + 1:]))
            return
        x, y = self.to_curve(event.position())
        low = points[index - 1][0] + MIN_GAP if index > 0 else 0.0
        high = points[index + 1][0] - MIN_GAP if index < len(points) - 1 else 1.0
        x = round(min(max(x, low), high), 4)
        y = round(min(max(y, 0.0), 1.0), 4)
        points[index] = (x, y)
        self._removed = False
        self._drag_points = tuple(points)
        self._emit(self._drag_points)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            self.dragging.emit(False)
        self._drag = None
        self._session += 1

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        index = self.point_at(event.position())
        if index is not None and len(self.points) > 2:
            self._session += 1
            self._drag = None
            self._emit(self.points[:index] + self.points[index + 1:])

    # --- drawing ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        square = self._square()
        painter.fillRect(square, QColor(35, 35, 35))
        painter.setPen(QPen(QColor(70, 70, 70), 1))
        for quarter in (0.25, 0.5, 0.75):
            painter.drawLine(self.to_widget(quarter, 0), self.to_widget(quarter, 1))
            painter.drawLine(self.to_widget(0, quarter), self.to_widget(1, quarter))
        painter.setPen(QPen(QColor(90, 90, 90), 1, Qt.PenStyle.DashLine))
        painter.drawLine(self.to_widget(0, 0), self.to_widget(1, 1))
        xs = np.linspace(0.0, 1.0, max(int(square.width()), 2))
        ys = np.clip(curve(self.points, xs), 0.0, 1.0)
        path = QPainterPath(self.to_widget(xs[0], ys[0]))
        for x, y in zip(xs[1:], ys[1:]):
            path.lineTo(self.to_widget(float(x), float(y)))
        colour = CHANNEL_COLOURS[self.channel]
        painter.setPen(QPen(colour, 2))
        painter.drawPath(path)
        painter.setBrush(colour)
        painter.setPen(QPen(QColor(20, 20, 20), 1))
        for x, y in self.points:
            painter.drawEllipse(self.to_widget(x, y), 4, 4)
        painter.end()


class CurveEditor(QWidget):
    """A channel selector, the canvas and a reset button, over the tone curve params of a recipe."""

    edited = Signal(str, object, str)  # channel, points, merge key

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._params = None
        self.channel = QComboBox()
        for name in CHANNELS:
            self.channel.addItem(CHANNEL_LABELS[name], name)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to a straight line (this channel)")
        self.canvas = CurveCanvas()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Channel"))
        row.addWidget(self.channel, 1)
        row.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.canvas, 1)
        self.canvas.setToolTip("Click to add a point, drag to move it, double-click or drag it off to remove it")
        self.channel.currentIndexChanged.connect(lambda _: self._show())
        self.canvas.edited.connect(self.edited)
        self.reset_button.clicked.connect(self._reset)

    def current_channel(self) -> str:
        return self.channel.currentData()

    def set_params(self, params) -> None:
        """Show the tone curve ``params`` (emits nothing)."""
        self._params = params
        if self.canvas._drag is None:  # not while a drag is under way: the drag owns the points
            self._show()

    def _show(self) -> None:
        if self._params is not None:
            self.canvas.set_points(self.current_channel(), getattr(self._params, self.current_channel()))

    def _reset(self) -> None:
        if self.canvas.points != IDENTITY:
            self.canvas._session += 1
            self.canvas._emit(IDENTITY)
