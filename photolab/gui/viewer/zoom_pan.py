"""A widget that shows a scene (a photo, in its full-resolution pixels) zoomed and panned: fit, fill, any zoom
around an anchor, wheel zoom around the cursor, panning kept inside the photo, and the mapping between widget
and scene coordinates. ``ImageViewer`` draws the photo and its tools on it."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF, Signal
from PySide6.QtWidgets import QWidget

MIN_ZOOM = 0.02
MAX_ZOOM = 32.0
WHEEL_STEP = 1.25  # zoom factor per wheel notch
FIT_MARGIN = 8  # widget pixels of grey around the photo when it is fitted


class ZoomPanView(QWidget):
    """Zoom and pan over a scene of ``scene_size`` (set by the subclass with ``_set_scene``)."""

    zoom_changed = Signal(float)  # the zoom in device pixels per photo pixel (1.0 is 100 %)
    view_changed = Signal()  # the zoom, the position or the photo's size changed (see ``visible_scene_rect``)
    fit_area_changed = Signal(int, int)  # room for the fitted photo, in device pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QSizeF(0, 0)
        self._zoom = 1.0  # widget (logical) pixels per scene pixel
        self._fit = True
        self._center = QPointF()

    @property
    def scene_size(self) -> QSizeF:
        """The shown photo's size in full-resolution pixels (0 x 0 without a photo)."""
        return QSizeF(self._scene)

    def _set_scene(self, width: float, height: float) -> None:
        old = self._scene
        if abs(old.width() - width) < 0.5 and abs(old.height() - height) < 0.5:
            return
        if old.width() > 0 and old.height() > 0:  # keep looking at the same part of the photo
            self._center = QPointF(self._center.x() * width / old.width(), self._center.y() * height / old.height())
        else:
            self._center = QPointF(width / 2, height / 2)
        self._scene.setWidth(width)
        self._scene.setHeight(height)
        if self._fit:
            self.zoom_to_fit()
        else:
            self._clamp_center()
            self.update()

    # --- zoom and pan ---------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Device pixels per photo pixel: 1.0 is 100 %."""
        return self._zoom * self.devicePixelRatioF()

    @property
    def is_fit(self) -> bool:
        return self._fit

    def fit_zoom(self) -> float:
        """The zoom (device px per photo px) at which the whole photo fits the viewer; never above 100 %
        (a photo smaller than the viewer is shown at its own size, not enlarged)."""
        if self._scene.width() <= 0 or self._scene.height() <= 0:
            return 1.0
        width, height = max(self.width() - 2 * FIT_MARGIN, 1), max(self.height() - 2 * FIT_MARGIN, 1)
        logical = min(width / self._scene.width(), height / self._scene.height())
        return min(max(logical, 1e-6) * self.devicePixelRatioF(), 1.0)

    def zoom_to_fit(self) -> None:
        """Show the whole photo, centred; stays fitted when the window or the crop changes."""
        self._fit = True
        self._center = QPointF(self._scene.width() / 2, self._scene.height() / 2)
        self._apply_zoom(self.fit_zoom() / self.devicePixelRatioF())

    def fill_zoom(self) -> float:
        """The zoom (device px per photo px) at which the photo covers the whole viewer."""
        if self._scene.width() <= 0 or self._scene.height() <= 0:
            return 1.0
        logical = max(self.width() / self._scene.width(), self.height() / self._scene.height())
        return logical * self.devicePixelRatioF()

    def zoom_to_fill(self) -> None:
        """Fill the viewer with the photo (no grey around it), centred; what does not fit is panned to."""
        self.set_zoom(self.fill_zoom())
        self.center_on(QPointF(self._scene.width() / 2, self._scene.height() / 2))

    def zoom_to_actual(self, anchor: QPointF | None = None) -> None:
        """100 %: one photo pixel per screen pixel, around ``anchor`` (widget coordinates) if given."""
        self.set_zoom(1.0, anchor)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * WHEEL_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / WHEEL_STEP)

    def toggle_zoom(self, anchor: QPointF | None = None) -> None:
        """Between fit and 100 % (Lightroom's Z key, or a double-click at the cursor)."""
        if self._fit and abs(self.fit_zoom() - 1.0) > 1e-3:
            self.zoom_to_actual(anchor)
        else:
            self.zoom_to_fit()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``zoom`` (device px per photo px) keeping the photo point under ``anchor`` in place."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        logical = zoom / self.devicePixelRatioF()
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        fixed = self.widget_to_scene(anchor)
        self._fit = False
        self._zoom = logical
        # Move the centre so that ``fixed`` is under ``anchor`` again.
        self._center = QPointF(fixed.x() - (anchor.x() - self.width() / 2) / logical,
                               fixed.y() - (anchor.y() - self.height() / 2) / logical)
        self._apply_zoom(logical)

    def _apply_zoom(self, logical: float) -> None:
        self._zoom = logical
        self._clamp_center()
        self.update()
        self.zoom_changed.emit(self.zoom)
        self._zoom_applied()

    def _zoom_applied(self) -> None:
        """Called after every zoom change (subclasses react to it)."""

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the photo by (dx, dy) widget pixels."""
        self._center -= QPointF(dx / self._zoom, dy / self._zoom)
        self._fit = False
        self._clamp_center()
        self.update()

    def center_on(self, point: QPointF) -> None:
        """Look at scene position ``point`` (as far as the photo's edges allow), keeping the zoom."""
        self._center = QPointF(point)
        self._fit = self._fit and abs(self.zoom - self.fit_zoom()) < 1e-9
        self._clamp_center()
        self.update()

    def visible_scene_rect(self) -> QRectF:
        """The part of the photo on screen, in scene coordinates."""
        top_left = self.widget_to_scene(QPointF(0, 0))
        view = QRectF(top_left, QSizeF(self.width() / self._zoom, self.height() / self._zoom))
        return view.intersected(QRectF(QPointF(0, 0), self._scene))

    def _clamp_center(self) -> None:
        """Keep the photo on screen: centred along an axis where it is smaller than the viewer."""
        half_w, half_h = self.width() / (2 * self._zoom), self.height() / (2 * self._zoom)
        width, height = self._scene.width(), self._scene.height()
        x = width / 2 if width <= 2 * half_w else min(max(self._center.x(), half_w), width - half_w)
        y = height / 2 if height <= 2 * half_h else min(max(self._center.y(), half_h), height - half_h)
        self._center = QPointF(x, y)
        self.view_changed.emit()

    def widget_to_scene(self, point: QPointF) -> QPointF:
        return QPointF(self._center.x() + (point.x() - self.width() / 2) / self._zoom,
                       self._center.y() + (point.y() - self.height() / 2) / self._zoom)

    def scene_to_widget(self, point: QPointF) -> QPointF:
        return QPointF((point.x() - self._center.x()) * self._zoom + self.width() / 2,
                       (point.y() - self._center.y()) * self._zoom + self.height() / 2)

    def image_rect(self) -> QRectF:
        """Where the whole photo lies, in widget coordinates."""
        top_left = self.scene_to_widget(QPointF(0, 0))
        return QRectF(top_left.x(), top_left.y(), self._scene.width() * self._zoom, self._scene.height() * self._zoom)

    def fit_area(self) -> tuple[int, int]:
        """Room for the whole photo at fit zoom, in device pixels."""
        ratio = self.devicePixelRatioF()
        return (max(1, round((self.width() - 2 * FIT_MARGIN) * ratio)),
                max(1, round((self.height() - 2 * FIT_MARGIN) * ratio)))

    def resizeEvent(self, event) -> None:
        self.fit_area_changed.emit(*self.fit_area())
        if self._fit:
            self.zoom_to_fit()
        else:
            self._clamp_center()
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            event.ignore()
            return
        self.set_zoom(self.zoom * math.pow(WHEEL_STEP, steps), event.position())
        event.accept()
