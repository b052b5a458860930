"""The loupe: a 100 % view of the photo around the cursor, before and after, in a dock.

``LoupeView`` draws the two crops split by a line the user can drag; ``LoupePanel`` adds a caption and a
message line; ``Loupe`` keeps them in step with the window: it follows the cursor over the viewer (and
outlines the region there), the recipe, the before/after and crop-tool modes, and renders each request
as a job on its own lane (``loupe_render.render_loupe``), one at a time, the newest request waiting —
so the loupe answers within a fraction of a second while the whole photo is still being denoised.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from photolab.core.noise_measure import NoiseCache
from photolab.core.render import output_size, region_around
from photolab.gui.jobs import LOUPE, JobHandle
from photolab.gui.viewer.loupe_render import LOUPE_SIDE, LoupeRequest, LoupeResult, render_loupe
from photolab.jobs import Job

HANDLE_GRAB = 6  # widget pixels either side of the split line that grab it


class LoupeView(QWidget):
    """Two equally sized images, "before" left of a movable vertical line and "after" right of it."""

    split_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(LOUPE_SIDE, LOUPE_SIDE)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.before: QImage | None = None
        self.after: QImage | None = None
        self.split = 0.5  # fraction of the width that shows "before"
        self.message = "Move the cursor over the photo"
        self._dragging = False

    def set_images(self, before: QImage | None, after: QImage | None) -> None:
        self.before, self.after = before, after
        self.update()

    def set_message(self, message: str) -> None:
        """Drawn over the images (or alone, when there are none)."""
        self.message = message
        self.update()

    def set_split(self, fraction: float) -> None:
        self.split = min(max(float(fraction), 0.0), 1.0)
        self.update()
        self.split_changed.emit(self.split)

    def device_side(self) -> int:
        """Photo pixels that fill the view at 100 % on this screen."""
        return round(LOUPE_SIDE * self.devicePixelRatioF())

    def _draw(self, painter: QPainter, image: QImage, clip: QRectF) -> None:
        image.setDevicePixelRatio(self.devicePixelRatioF())
        painter.save()
        painter.setClipRect(clip)
        # An image smaller than the view (a small photo) is centred.
        size = image.deviceIndependentSize()
        origin = QPointF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2)
        painter.drawImage(origin, image)
        painter.restore()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 38, 38))
        x = self.split * self.width()
        if self.after is not None:
            self._draw(painter, self.after, QRectF(x, 0, self.width() - x, self.height()))
        if self.before is not None:
            self._draw(painter, self.before, QRectF(0, 0, x, self.height()))
        if self.before is not None or self.after is not None:
            painter.setPen(QPen(QColor(255, 255, 255, 210), 1))
            painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            painter.setPen(QColor(235, 235, 235))
            for text, rect, align in (("Before", QRectF(4, 4, 60, 18), Qt.AlignmentFlag.AlignLeft),
                                      ("After", QRectF(self.width() - 64, 4, 60, 18), Qt.AlignmentFlag.AlignRight)):
                painter.fillRect(rect, QColor(0, 0, 0, 130))
                painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, f" {text} ")
        if self.message:
            painter.setPen(QColor(200, 200, 200))
            rect = QRectF(self.rect()).adjusted(8, 0, -8, 0)
            if self.before is not None:
                rect = QRectF(0, self.height() - 40, self.width(), 40)
                painter.fillRect(rect, QColor(0, 0, 0, 150))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self.set_split(event.position().x() / self.width())

    def mouseMoveEvent(self, event) -> None:
        if self._dragging:
            self.set_split(event.position().x() / self.width())
        near = abs(event.position().x() - self.split * self.width()) <= HANDLE_GRAB
        self.setCursor(Qt.CursorShape.SplitHCursor if near or self._dragging else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event) -> None:
        self._dragging = False


class LoupePanel(QWidget):
    """The loupe's dock content: where it looks, the view, and what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("100 %")
        self.view = LoupeView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)


class Loupe(QObject):
    """Keeps a ``LoupePanel`` showing the window's photo at 100 % around the cursor."""

    shown = Signal(object)  # the LoupeResult now on screen

    def __init__(self, window, panel: LoupePanel) -> None:
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.active = False
        self.center: tuple[float, float] | None = None  # scene pixels; None: the middle of the photo
        self.result: LoupeResult | None = None
        self._document = None
        self._serial = 0
        self._handle: JobHandle | None = None
        self._pending = False
        self._noise = NoiseCache()  # the photo's noise, measured once for adaptive denoising
        self._coalesce = QTimer(self, singleShot=True, interval=0)
        self._coalesce.timeout.connect(self._start)
        window.viewer.hovered.connect(self.set_center)
        window.document_changed.connect(self._on_document)
        for action in (window.action("before"), window.action("crop")):
            action.toggled.connect(lambda _on: self.refresh())

    # --- inputs ------------------------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """The loupe is visible (it works only then)."""
        if active == self.active:
            return
        self.active = active
        if active:
            self.refresh()
        else:
            self.window.viewer.set_marker(None)

    def set_center(self, x: float, y: float) -> None:
        """Look at scene position (x, y) (full-resolution pixels of the photo as shown)."""
        self.center = (x, y)
        self.refresh()

    def _on_document(self, document) -> None:
        if self._document is not None:
            for signal in (self._document.recipe_changed, self._document.fully_loaded):
                try:
                    signal.disconnect(self.refresh)
                except (RuntimeError, TypeError):  # already deleted or disconnected
                    pass
        self._document = document
        self._noise = NoiseCache()
        self.center = None
        self.result = None
        self.panel.view.set_images(None, None)
        self.window.viewer.set_marker(None)
        if document is not None:
            document.recipe_changed.connect(self.refresh)
            document.fully_loaded.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args) -> None:
        """Render again (soon): the position, the photo or the recipe changed."""
        if self.active:
            self._coalesce.start()

    # --- rendering ---------------------------------------------------------------------------------
    def _current_request(self) -> LoupeRequest | None:
        document = self.window.document
        recipe = self.window.renderer.current_recipe()
        if document is None or recipe is None or document.full_size is None:
            return None
        size = output_size(document.full_size, recipe)
        center = self.center or (size[0] / 2, size[1] / 2)
        side = self.panel.view.device_side()
        x0, y0, x1, y1 = region_around(size, center, side)
        self.window.viewer.set_marker(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.panel.caption.setText(f"100 % at {int(center[0])}, {int(center[1])}")
        if document.full_photo is None:
            return None
        self._serial += 1
        return LoupeRequest(document.full_photo, document.proxy, recipe, center, side, self._serial, self._noise)

    def _start(self) -> None:
        if not self.active:
            return
        if self._handle is not None:
            self._pending = True  # the newest request starts when the running one ends
            return
        self._pending = False
        request = self._current_request()
        if request is None:
            loading = self.window.document is not None
            self.panel.view.set_message("Loading the full-resolution photo…" if loading else "No photo")
            return
        handle = self.window.runner.submit(Job(render_loupe, request, title="Loupe"), lane=LOUPE, visible=False)
        handle.finished.connect(lambda result, d=self.window.document: self._on_result(result, d))
        handle.failed.connect(self._on_failed)
        handle.ended.connect(self._on_ended)
        self._handle = handle

    def _on_result(self, result: LoupeResult, document) -> None:
        if document is not self.window.document or not self.active:
            return
        self.result = result
        self.panel.view.set_images(result.before, result.after)
        self.panel.view.set_message(result.warning)
        self.shown.emit(result)

    def _on_failed(self, message: str) -> None:
        self.panel.view.set_images(None, None)
        self.panel.view.set_message(message)

    def _on_ended(self, handle: JobHandle) -> None:
        self._handle = None
        if self._pending:
            self._start()

    @property
    def is_busy(self) -> bool:
        return self._handle is not None or self._coalesce.isActive()
