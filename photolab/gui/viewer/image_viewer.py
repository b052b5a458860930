"""The image viewer: the photo zoomed and panned (``zoom_pan``: fit, fill, 50/100/200 %, wheel zoom around the
cursor, drag to pan), eyedropper clicks, the crop tool, the split before/after view and the level tool's line.

The viewer works in *scene* coordinates: pixels of the full-resolution rendered photo. It shows the
rendered proxy, stretched over the scene, and a full-resolution render of the same recipe when one
arrives (``RenderedImage.full_resolution``); only the visible part of an image is ever drawn. In split view
the "before" renders are drawn left of a draggable divider (``split_view``).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from photolab.gui.viewer import crop_overlay, level_line, split_view
from photolab.gui.viewer.render_pair import RenderPair
from photolab.gui.viewer.rendering import RenderedImage, clipping_overlay
from photolab.gui.viewer.zoom_pan import FIT_MARGIN, ZoomPanView

__all__ = ["FIT_MARGIN", "ImageViewer"]

MAGNIFIED = 1.05  # the full photo is rendered once the proxy would be enlarged more than this on screen
BACKGROUND = QColor(38, 38, 38)


class ImageViewer(ZoomPanView):
    """Shows the rendered photo (zoomed and panned as ``ZoomPanView`` does); emits what the user does with the
    mouse."""

    full_resolution_wanted = Signal(bool)
    picked = Signal(float, float)  # eyedropper click, normalised (0..1) position in the rendered photo
    crop_edited = Signal(object, bool)  # crop tool: (left, top, right, bottom) fractions, drag finished
    hovered = Signal(float, float)  # the cursor moved over the photo: its scene (full-resolution pixel) position
    split_changed = Signal(float)  # split view: the divider moved (fraction of the viewer's width)
    level_drawn = Signal(QPointF, QPointF)  # level tool: a line drawn on the photo, in scene coordinates

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._after = RenderPair()  # what is shown (the edited photo, or the unedited one in before mode)
        self._before = RenderPair()  # split view: the unedited photo, left of the divider
        self._split: float | None = None  # split view: the divider's x, a fraction of the width; None: off
        self._split_drag = False
        self._level_mode = False
        self._level_line: tuple[QPointF, QPointF] | None = None  # level tool: the line being drawn (widget)
        self._drag_from: QPointF | None = None
        self._pick_mode = False
        self._crop: crop_overlay.Rect | None = None  # the crop tool's rectangle, when the tool is on
        self._crop_drag: tuple[str, QPointF, crop_overlay.Rect] | None = None  # part, start, rect at start
        self._wanted_full = False
        self._marker: QRectF | None = None  # a scene rectangle outlined on the photo (the loupe's region)
        self.overlay_text = ""  # drawn in the top-left corner ("Before")
        self.show_clipping = False  # clipped highlights red, crushed shadows blue (J)
        self._clipping: tuple[object, QImage] | None = None  # (the displayed image, its overlay)
        self.placeholder_text = "Open a photo (Ctrl+O) or drop it here"

    # --- content --------------------------------------------------------------------------------------
    def set_rendered(self, rendered: RenderedImage) -> None:
        """Show a render; a proxy render replaces a full-resolution one made for another recipe."""
        self._after.set(rendered)
        self._set_scene(*rendered.scene_size)
        self._update_full_resolution_wanted()
        self.update()

    def clear(self) -> None:
        """Show nothing (no photo open)."""
        self._after.clear()
        self._before.clear()
        self._scene = QSizeF(0, 0)
        self._fit = True
        self.update()
        self.view_changed.emit()

    @property
    def displayed(self) -> RenderedImage | None:
        """The render being drawn (full resolution when available)."""
        return self._after.displayed

    @property
    def has_image(self) -> bool:
        return self._after.displayed is not None

    # --- split before / after ---------------------------------------------------------------------------
    @property
    def split(self) -> float | None:
        """Where the split view's divider is (a fraction of the width), or None when split view is off."""
        return self._split

    def set_split(self, fraction: float | None) -> None:
        """Split view on with the divider at ``fraction`` of the width (the "before" photo left of it), or off."""
        if fraction is None:
            self._split, self._split_drag = None, False
            self._before.clear()
        else:
            self._split = min(max(float(fraction), 0.0), 1.0)
            self.split_changed.emit(self._split)
        self.update()

    def set_before_rendered(self, rendered: RenderedImage) -> None:
        """Split view: a render of the unedited ("before") photo, drawn left of the divider."""
        if self._split is not None:
            self._before.set(rendered)
            self.update()

    @property
    def displayed_before(self) -> RenderedImage | None:
        """Split view: the "before" render being drawn, or None."""
        return self._before.displayed

    # --- level tool -------------------------------------------------------------------------------------
    def set_level_mode(self, on: bool) -> None:
        """While on, a drag draws a line and emits ``level_drawn`` instead of panning."""
        self._level_mode = bool(on)
        self._level_line = None
        self.setCursor(Qt.CursorShape.CrossCursor if on or self._pick_mode else Qt.CursorShape.OpenHandCursor)
        self.update()

    # --- full resolution when zoomed in ---------------------------------------------------------------
    def _zoom_applied(self) -> None:
        self._update_full_resolution_wanted()

    @property
    def wants_full_resolution(self) -> bool:
        """True while the proxy would look soft at this zoom (``full_resolution_wanted`` said so last)."""
        return self._wanted_full

    def _update_full_resolution_wanted(self) -> None:
        wanted = self._proxy_is_magnified()
        if wanted != self._wanted_full:
            self._wanted_full = wanted
            if not wanted:  # the proxy (and its fitted copy) is sharp enough and quicker to draw
                self._after.detail = self._before.detail = None
            self.full_resolution_wanted.emit(wanted)

    def _proxy_is_magnified(self) -> bool:
        """True when the proxy has fewer pixels than the screen shows (for a 24 MP photo and its 1600 px
        proxy, from about 28 % zoom): then the full-resolution render is worth its time."""
        base = self._after.base
        if base is None or self._scene.width() <= 0:
            return False
        if base.draft:  # a drag's draft is smaller than the proxy for a moment: the answer stays
            return self._wanted_full
        proxy_px_per_photo_px = base.image.width() / self._scene.width()
        return self.zoom > proxy_px_per_photo_px * MAGNIFIED

    def set_marker(self, rect: QRectF | None) -> None:
        """Outline ``rect`` (scene coordinates) on the photo, e.g. the region the loupe shows; None: none."""
        if rect != self._marker:
            self._marker = None if rect is None else QRectF(rect)
            self.update()

    # --- eyedropper -----------------------------------------------------------------------------------
    def set_pick_mode(self, on: bool) -> None:
        """While on, a click emits ``picked`` instead of starting a pan."""
        self._pick_mode = on
        self.setCursor(Qt.CursorShape.CrossCursor if on or self._level_mode else Qt.CursorShape.OpenHandCursor)

    # --- crop tool ------------------------------------------------------------------------------------
    def set_crop_overlay(self, crop: crop_overlay.Rect | None) -> None:
        """Show the crop rectangle over the (uncropped) photo and let it be dragged; None hides it."""
        self._crop = crop
        if crop is None:
            self._crop_drag = None
        self.update()

    @property
    def crop_overlay(self) -> crop_overlay.Rect | None:
        return self._crop

    def _crop_press(self, position: QPointF) -> bool:
        if self._crop is None:
            return False
        part = crop_overlay.hit_test(self._crop, self.image_rect(), position)
        if part is None:
            return False
        self._crop_drag = (part, position, self._crop)
        return True

    def _crop_move(self, position: QPointF, finished: bool) -> None:
        part, start, rect = self._crop_drag
        image = self.image_rect()
        dx = (position.x() - start.x()) / image.width()
        dy = (position.y() - start.y()) / image.height()
        self._crop = crop_overlay.dragged(rect, part, dx, dy)
        if finished:
            self._crop_drag = None
        self.update()
        self.crop_edited.emit(self._crop, finished)

    # --- events ---------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(900, 650)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.has_image:
            return super().mousePressEvent(event)
        if self._level_mode:
            self._level_line = (event.position(), event.position())
            return
        if self._split is not None and split_view.near_divider(self._split, self.width(), event.position()):
            self._split_drag = True
            return
        if self._crop_press(event.position()):
            return
        if self._pick_mode:
            scene = self.widget_to_scene(event.position())
            u, v = scene.x() / self._scene.width(), scene.y() / self._scene.height()
            if 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0:
                self.picked.emit(u, v)
            return
        self._drag_from = event.position()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self.has_image and self._drag_from is None:
            scene = self.widget_to_scene(event.position())
            if 0 <= scene.x() < self._scene.width() and 0 <= scene.y() < self._scene.height():
                self.hovered.emit(scene.x(), scene.y())
        if self._level_line is not None:
            self._level_line = (self._level_line[0], event.position())
            self.update()
        elif self._split_drag:
            self.set_split(event.position().x() / max(self.width(), 1))
        elif self._crop_drag is not None:
            self._crop_move(event.position(), finished=False)
        elif self._drag_from is None:
            self.setCursor(self._hover_cursor(event.position()))
        if self._drag_from is not None:
            delta = event.position() - self._drag_from
            self._drag_from = event.position()
            self.pan_by(delta.x(), delta.y())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._level_line is not None:
            start, end = self._level_line[0], event.position()
            self._level_line = None
            self.update()
            if (end - start).manhattanLength() >= level_line.MIN_LENGTH:
                self.level_drawn.emit(self.widget_to_scene(start), self.widget_to_scene(end))
            return
        self._split_drag = False
        if self._crop_drag is not None:
            self._crop_move(event.position(), finished=True)
        if self._drag_from is not None:
            self._drag_from = None
            self.setCursor(QCursor(Qt.CursorShape.CrossCursor if self._pick_mode else Qt.CursorShape.OpenHandCursor))
        super().mouseReleaseEvent(event)

    def _hover_cursor(self, position: QPointF) -> Qt.CursorShape:
        """The cursor over ``position`` when no button is down: what a press there would do."""
        if self._pick_mode or self._level_mode:
            return Qt.CursorShape.CrossCursor
        if self._split is not None and split_view.near_divider(self._split, self.width(), position):
            return Qt.CursorShape.SplitHCursor
        if self._crop is not None:
            part = crop_overlay.hit_test(self._crop, self.image_rect(), position)
            return crop_overlay.CURSORS.get(part, Qt.CursorShape.OpenHandCursor)
        return Qt.CursorShape.OpenHandCursor

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.has_image and not (self._pick_mode or self._level_mode):
            self.toggle_zoom(event.position())

    def _draw_fitted(self, painter: QPainter, shown: RenderedImage, target: QRectF) -> bool:
        """Draw the worker's pre-shrunk copy 1:1 when it matches the photo's size on screen (fit zoom)."""
        fitted = shown.fitted
        ratio = self.devicePixelRatioF()
        if fitted is None or abs(fitted.width() - target.width() * ratio) > 1 \
                or abs(fitted.height() - target.height() * ratio) > 1:
            return False
        painter.drawImage(target, fitted)
        return True

    def _draw_render(self, painter: QPainter, shown: RenderedImage, target: QRectF, visible: QRectF) -> QRectF:
        """Draw the ``visible`` part of ``shown`` stretched over ``target``; returns the image's part drawn."""
        image = shown.image
        sx, sy = image.width() / target.width(), image.height() / target.height()
        source = QRectF((visible.left() - target.left()) * sx, (visible.top() - target.top()) * sy,
                        visible.width() * sx, visible.height() * sy)
        if not self._draw_fitted(painter, shown, target):
            device_px_per_image_px = self.devicePixelRatioF() / sx
            # Smooth when shrinking or mildly enlarging; crisp pixels when peeping at 200 % and more.
            smooth = device_px_per_image_px < 2.0 or shown.draft  # a draft is stretched, never pixelated
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(visible, image, source)
        return source

    def set_show_clipping(self, on: bool) -> None:
        """Show or hide the clipping warnings (View ▸ Clipping Warnings, J)."""
        self.show_clipping = bool(on)
        self.update()

    def clipping_image(self) -> QImage:
        """The clipping overlay of the displayed image (computed once per image)."""
        image = self.displayed.image
        if self._clipping is None or self._clipping[0] is not image:
            self._clipping = (image, clipping_overlay(image))
        return self._clipping[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        shown = self.displayed
        if shown is None:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder_text)
            return
        target = self.image_rect()
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        source = self._draw_render(painter, shown, target, visible)
        if self.show_clipping:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(visible, self.clipping_image(), source)
        if self._split is not None:
            before = self._before.displayed
            divider = self._split * self.width()
            if before is not None and split_view.same_scene(before, shown):
                painter.save()
                painter.setClipRect(QRectF(0, 0, divider, self.height()))
                self._draw_render(painter, before, target, visible)
                painter.restore()
            split_view.paint_divider(painter, divider, self.width(), self.height())
        if self._level_line is not None:
            level_line.paint(painter, *self._level_line)
        if self._marker is not None:
            top_left = self.scene_to_widget(self._marker.topLeft())
            painter.setPen(QColor(255, 255, 255, 200))
            painter.drawRect(QRectF(top_left, self._marker.size() * self._zoom))
        if self._crop is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            crop_overlay.paint(painter, self._crop, target)
        if self.overlay_text:
            painter.setPen(QColor(235, 235, 235))
            painter.fillRect(QRectF(8, 8, 70, 22), QColor(0, 0, 0, 150))
            painter.drawText(QRectF(8, 8, 70, 22), Qt.AlignmentFlag.AlignCenter, self.overlay_text)
