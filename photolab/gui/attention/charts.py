"""Painted charts of the Attention view (QPainter only; Qt Charts is not part of PySide6-Essentials).

``BarChart`` (one value per channel), ``Heatmap`` (blocks x channels, each row stretched to the full width,
its channels in any order), ``StageChart`` (a value per stage as bars, per block as a line), ``CurveChart``
(several curves over the channels of one block, with a legend) and ``ImageView`` (a QImage fitted into the
widget). Every chart answers ``tooltip_at(point)`` with what is under the mouse, shown as its tooltip.
Colour maps are 256-entry RGB lookup tables; ``cam_overlay`` lays a jet-coloured class-activation map over a
photo.

Why not pyqtgraph (weighed for issue 15): it is not installed, not in packaging/constraints.txt nor the bundle,
so it would be a new runtime dependency for charts that are small fixed summaries (a few hundred channels, one
row per block) where zoom and pan add little; the hover read-outs and PNG export it would bring are already
here (tooltips, Export Figure). Revisit if a view needs to zoom into long data.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from photolab.gui.viewer.rendering import to_qimage

BACKGROUND = QColor(28, 28, 28)
GRID = QColor(62, 62, 62)
TEXT = QColor(190, 190, 190)
SERIES_COLORS = (QColor(86, 180, 233), QColor(230, 159, 0), QColor(0, 158, 115), QColor(204, 121, 167),
                 QColor(240, 228, 66), QColor(213, 94, 0), QColor(0, 114, 178), QColor(200, 200, 200))
POSITIVE, NEGATIVE = QColor(214, 96, 77), QColor(67, 147, 195)


def _lut(anchors: list[tuple[int, int, int]]) -> np.ndarray:
    """A (256, 3) uint8 table interpolating evenly spaced RGB anchors."""
    points = np.linspace(0.0, 1.0, len(anchors))
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, points, [a[c] for a in anchors]) for c in range(3)], axis=1).round().astype(np.uint8)


VIRIDIS = _lut([(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141), (39, 173, 129),
                (92, 200, 99), (170, 220, 50), (253, 231, 37)])
DIVERGING = _lut([(5, 48, 97), (33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43),
                  (103, 0, 31)])  # blue (negative) - white (zero) - red (positive)
JET = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, ::-1].copy()


def colorize(values: np.ndarray, low: float, high: float, lut: np.ndarray) -> np.ndarray:
    """Map ``values`` linearly from [low, high] onto the lookup table: (..., 3) uint8 RGB."""
    span = (high - low) or 1.0
    index = np.clip((np.asarray(values, np.float64) - low) / span * 255.0 + 0.5, 0, 255).astype(np.intp)
    return lut[index]


def resample_row(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` (C,) shown in ``width`` pixels: the mean of the channels a pixel covers (nearest when wider)."""
    count = len(values)
    if count >= width:
        starts = (np.arange(width) * count) // width
        sums = np.add.reduceat(values.astype(np.float64), starts)
        sizes = np.diff(np.append(starts, count))
        return sums / sizes
    return values[(np.arange(width) * count) // width]


def cam_overlay(rgb8: np.ndarray, heatmap: np.ndarray, box: tuple[float, float, float, float],
                opacity: float) -> np.ndarray:
    """``rgb8`` (H, W, 3) with ``heatmap`` (h, w in [0, 1], covering ``box`` = left, top, right, bottom in
    the image's pixels) blended on top in the jet colour map with ``opacity`` (0: the photo alone)."""
    out = rgb8.copy()
    height, width = out.shape[:2]
    left, top, right, bottom = (int(round(v)) for v in box)
    if right - left < 1 or bottom - top < 1 or opacity <= 0:
        return out
    colored = JET[np.clip(heatmap * 255.0 + 0.5, 0, 255).astype(np.uint8)]
    colored = cv2.resize(colored, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR)
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
    if x1 <= x0 or y1 <= y0:
        return out
    patch = colored[y0 - top:y1 - top, x0 - left:x1 - left].astype(np.float32)
    base = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(base * (1 - opacity) + patch * opacity + 0.5, 0, 255).astype(np.uint8)
    return out


class Chart(QWidget):
    """Base: dark background, a plot rectangle inside margins, tooltips from ``tooltip_at``."""

    MARGINS = (44, 22, 10, 22)  # left, top, right, bottom

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(120)
        self.title = ""

    def sizeHint(self) -> QSize:
        return QSize(520, 200)

    def plot_rect(self) -> QRectF:
        """Where the data is drawn, in widget coordinates."""
        left, top, right, bottom = self.MARGINS
        return QRectF(self.rect()).adjusted(left, top, -right, -bottom)

    def tooltip_at(self, point: QPointF) -> str:
        """What is under ``point`` ('' for nothing)."""
        return ""

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(QPointF(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def _begin(self) -> QPainter:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        font = painter.font()
        font.setPointSizeF(max(font.pointSizeF() - 1.0, 7.0))
        painter.setFont(font)
        if self.title:
            painter.setPen(TEXT)
            painter.drawText(QRectF(self.MARGINS[0], 2, self.width() - self.MARGINS[0] - 4, self.MARGINS[1] - 2),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.title)
        return painter

    def _y_axis(self, painter: QPainter, plot: QRectF, low: float, high: float, ticks: list[float]) -> None:
        for tick in ticks:
            y = plot.bottom() - (tick - low) / ((high - low) or 1.0) * plot.height()
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(TEXT)
            painter.drawText(QRectF(0, y - 8, plot.left() - 4, 16),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{tick:g}")

    def _x_ticks(self, painter: QPainter, plot: QRectF, count: int) -> None:
        painter.setPen(TEXT)
        step = max(1, 10 ** int(np.log10(max(count, 1))) // 2)
        while count / step > 8:
            step *= 2
        for tick in range(0, count, step):
            x = plot.left() + (tick + 0.5) / count * plot.width()
            painter.drawText(QRectF(x - 30, plot.bottom() + 2, 60, 16), Qt.AlignmentFlag.AlignHCenter, str(tick))


class BarChart(Chart):
    """One bar per channel of one block: excitations in [0, 1], or differences around zero (``diverging``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros(0)  # in display order
        self.channels = np.zeros(0, dtype=int)  # the channel index of each bar
        self.value_name = "excitation"
        self.diverging = False
        self.color = SERIES_COLORS[0]
        self._limit = 1.0

    @property
    def channel_count(self) -> int:
        """How many bars (channels) are shown."""
        return len(self.values)

    def set_values(self, values: np.ndarray | None, title: str = "", *, diverging: bool = False,
                   value_name: str = "excitation", color: QColor | None = None,
                   order: np.ndarray | None = None) -> None:
        """Show ``values`` (C,) — excitations on a 0..1 axis, or with ``diverging`` signed values on a
        symmetric axis — with the channels left to right in ``order`` (default: by index)."""
        values = np.zeros(0) if values is None else np.asarray(values, np.float64)
        self.channels = np.arange(len(values)) if order is None else np.asarray(order, dtype=int)
        self.values = values[self.channels]
        self.title, self.diverging, self.value_name = title, diverging, value_name
        self.color = color or SERIES_COLORS[0]
        peak = float(np.abs(self.values).max()) if self.values.size else 0.0
        self._limit = max(peak, 1e-3) if diverging else 1.0
        self.update()

    def _range(self) -> tuple[float, float]:
        return (-self._limit, self._limit) if self.diverging else (0.0, 1.0)

    def paintEvent(self, event) -> None:
        painter = self._begin()
        plot = self.plot_rect()
        low, high = self._range()
        ticks = [low, 0.0, high] if self.diverging else [0.0, 0.5, 1.0]
        self._y_axis(painter, plot, low, high, [round(t, 3) for t in ticks])
        count = len(self.values)
        if not count or plot.width() < 2:
            return
        self._x_ticks(painter, plot, count)
        to_y = lambda v: plot.bottom() - (v - low) / (high - low) * plot.height()  # noqa: E731
        zero = to_y(0.0)
        painter.setPen(Qt.PenStyle.NoPen)
        if count <= plot.width():
            step = plot.width() / count
            gap = 1.0 if step >= 3 else 0.0
            xs = plot.left() + np.arange(count) * step
            tops = to_y(self.values)
            for positive, color in ((True, POSITIVE if self.diverging else self.color), (False, NEGATIVE)):
                chosen = self.values >= 0 if positive else self.values < 0
                rects = [QRectF(x, min(t, zero), max(step - gap, 1.0), abs(zero - t))
                         for x, t in zip(xs[chosen], tops[chosen])]
                painter.setBrush(color)
                painter.drawRects(rects)
        else:  # more channels than pixels: each pixel column spans the values of the channels it covers
            width = int(plot.width())
            starts = (np.arange(width) * count) // width
            highs = np.maximum(np.maximum.reduceat(self.values, starts), 0.0)
            lows = np.minimum(np.minimum.reduceat(self.values, starts), 0.0)
            for values, color in ((highs, POSITIVE if self.diverging else self.color), (lows, NEGATIVE)):
                painter.setPen(QPen(color, 1))
                painter.drawLines([QLineF(plot.left() + i + 0.5, zero, plot.left() + i + 0.5, y)
                                   for i, y in enumerate(to_y(values)) if abs(y - zero) >= 0.5])

    def channel_at(self, point: QPointF) -> int | None:
        """The position (0 = leftmost bar) under ``point``, or None; ``channels`` maps it to a channel."""
        plot = self.plot_rect()
        if not len(self.values) or not plot.contains(point):
            return None
        return min(int((point.x() - plot.left()) / plot.width() * len(self.values)), len(self.values) - 1)

    def tooltip_at(self, point: QPointF) -> str:
        """Block (or stage/class), channel and value under ``point``; '' outside the plot."""
        position = self.channel_at(point)
        if position is None:
            return ""
        name = f"{self.title.split(' — ')[0]} · " if self.title else ""
        channel, value = self.channels[position], self.values[position]
        return f"{name}channel {channel} · {self.value_name} {value:+.4f}" if self.diverging \
            else f"{name}channel {channel} · {self.value_name} {value:.4f}"


class Heatmap(Chart):
    """Blocks x channels: one row per block, its channels (in ``orders``) stretched over the full width."""

    row_clicked = Signal(int)
    MARGINS = (96, 22, 54, 8)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.rows: list[np.ndarray] = []
        self.orders: list[np.ndarray] = []
        self.diverging = False
        self.value_name = "excitation"
        self.selected = -1
        self._limit = 1.0
        self._image: QImage | None = None

    def set_rows(self, labels: list[str], rows: list[np.ndarray], orders: list[np.ndarray] | None = None, *,
                 diverging: bool = False, title: str = "", value_name: str = "excitation") -> None:
        """Show one row per block (``rows[i]`` has that block's C values); ``orders[i]`` lists the channels
        of row i from left to right (default: channel order). ``diverging`` uses a blue-white-red map
        symmetric around zero instead of 0..1 viridis."""
        self.labels, self.rows = list(labels), [np.asarray(r, np.float64) for r in rows]
        self.orders = list(orders) if orders is not None else [np.arange(len(r)) for r in self.rows]
        self.diverging, self.title, self.value_name = diverging, title, value_name
        peaks = [float(np.abs(r).max()) for r in self.rows if r.size]
        self._limit = max(max(peaks, default=0.0), 1e-3) if diverging else 1.0
        self._image = None
        self.update()

    def set_selected(self, row: int) -> None:
        """Outline row ``row`` (the block shown in the bar chart)."""
        self.selected = row
        self.update()

    def row_order(self, row: int) -> np.ndarray:
        """The channels of ``row`` from left to right."""
        return self.orders[row]

    def _range(self) -> tuple[float, float]:
        return (-self._limit, self._limit) if self.diverging else (0.0, 1.0)

    def render_image(self, width: int) -> QImage:
        """The rows resampled to ``width`` pixels and coloured (one pixel row per block)."""
        low, high = self._range()
        lut = DIVERGING if self.diverging else VIRIDIS
        pixels = np.stack([resample_row(row[order], width) for row, order in zip(self.rows, self.orders)])
        return to_qimage(colorize(pixels, low, high, lut))

    def resizeEvent(self, event) -> None:
        self._image = None
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        painter = self._begin()
        plot = self.plot_rect()
        if not self.rows or plot.width() < 2 or plot.height() < 2:
            return
        if self._image is None or self._image.width() != int(plot.width()):
            self._image = self.render_image(int(plot.width()))
        painter.drawImage(plot, self._image)
        row_height = plot.height() / len(self.rows)
        painter.setPen(TEXT)
        for index, label in enumerate(self.labels):
            if row_height >= 9 or index % max(1, int(round(9 / row_height))) == 0:
                painter.drawText(QRectF(2, plot.top() + index * row_height, plot.left() - 6, row_height),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        if 0 <= self.selected < len(self.rows):
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(plot.left(), plot.top() + self.selected * row_height, plot.width(), row_height))
        self._legend(painter, plot)

    def _legend(self, painter: QPainter, plot: QRectF) -> None:
        low, high = self._range()
        bar = QRectF(plot.right() + 8, plot.top(), 10, plot.height())
        ramp = (DIVERGING if self.diverging else VIRIDIS)[::-1][:, None, :].repeat(2, axis=1)
        painter.drawImage(bar, to_qimage(ramp))
        painter.setPen(TEXT)
        for value, y in ((high, bar.top()), ((low + high) / 2, bar.center().y()), (low, bar.bottom())):
            painter.drawText(QRectF(bar.right() + 2, y - 8, 40, 16), Qt.AlignmentFlag.AlignVCenter, f"{value:.2g}")

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        """(row, channel) under ``point`` (the channel's own index, whatever the order), or None."""
        plot = self.plot_rect()
        if not self.rows or not plot.contains(point):
            return None
        row = min(int((point.y() - plot.top()) / plot.height() * len(self.rows)), len(self.rows) - 1)
        count = len(self.rows[row])
        position = min(int((point.x() - plot.left()) / plot.width() * count), count - 1)
        return row, int(self.orders[row][position])

    def tooltip_at(self, point: QPointF) -> str:
        """Block (or stage/class), channel and value under ``point``; '' outside the plot."""
        cell = self.cell_at(point)
        if cell is None:
            return ""
        row, channel = cell
        value = self.rows[row][channel]
        return f"{self.labels[row]} · channel {channel} · {self.value_name} " + \
            (f"{value:+.4f}" if self.diverging else f"{value:.4f}")

    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(QPointF(event.position()))
        if cell is not None:
            self.row_clicked.emit(cell[0])
        super().mousePressEvent(event)
