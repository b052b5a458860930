"""The navigator (View ▸ Navigator, Ctrl+Shift+N): the whole photo, small, with a rectangle around the part the
viewer shows; dragging the rectangle (or clicking elsewhere) pans the viewer. Zoom buttons sit above it.

``NavigatorView`` only draws and reports drags, in the photo's (scene) coordinates; ``Navigator`` keeps it in
step with the window's viewer and puts it in a dock.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from photolab.gui.viewer.zoom_menu import ZOOM_LEVELS
from photolab.gui.widgets.docks import add_dock

MARGIN = 4  # widget pixels around the thumbnail


class NavigatorView(QWidget):
    """A thumbnail of the photo and the visible part as a rectangle; emits where to centre the view."""

    pan_requested = Signal(QPointF)  # centre the viewer on this scene position

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(160, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self._image: QImage | None = None
        self._thumbnail: tuple[QImage, QSize, QImage] | None = None  # (image, size, scaled copy)
        self._scene = QSizeF(0, 0)
        self._visible = QRectF()
        self._grab: QPointF | None = None  # while dragging: the press's offset from the rectangle's centre

    def sizeHint(self) -> QSize:
        return QSize(240, 160)

    def set_image(self, image: QImage | None) -> None:
        """The photo as shown (any size; it is scaled down here)."""
        self._image = image
        self.update()

    def set_view(self, scene: QSizeF, visible: QRectF) -> None:
        """The photo's size and the part of it on screen, in scene coordinates."""
        self._scene, self._visible = QSizeF(scene), QRectF(visible)
        self.update()

    # --- geometry ------------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the thumbnail lies in the widget (the photo's shape, fitted and centred)."""
        if self._scene.width() <= 0 or self._scene.height() <= 0:
            return QRectF()
        room = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        scale = min(room.width() / self._scene.width(), room.height() / self._scene.height())
        size = QSizeF(self._scene.width() * scale, self._scene.height() * scale)
        return QRectF(room.center() - QPointF(size.width() / 2, size.height() / 2), size)

    def _scale(self) -> float:
        return self.image_rect().width() / self._scene.width()

    def frame_rect(self) -> QRectF:
        """The visible part's rectangle, in widget coordinates."""
        image = self.image_rect()
        if image.isEmpty():
            return QRectF()
        scale = self._scale()
        return QRectF(image.left() + self._visible.left() * scale, image.top() + self._visible.top() * scale,
                      self._visible.width() * scale, self._visible.height() * scale)

    def to_scene(self, point: QPointF) -> QPointF:
        """A widget position as a scene position."""
        image = self.image_rect()
        scale = self._scale()
        return QPointF((point.x() - image.left()) / scale, (point.y() - image.top()) / scale)

    # --- painting --------------------------------------------------------------------------------------
    def _scaled(self, target: QRectF) -> QImage:
        size = target.size().toSize() * self.devicePixelRatioF()
        cached = self._thumbnail
        if cached is None or cached[0] is not self._image or cached[1] != size:
            scaled = self._image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
            scaled.setDevicePixelRatio(self.devicePixelRatioF())
            self._thumbnail = cached = (self._image, size, scaled)
        return cached[2]

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 38, 38))
        image = self.image_rect()
        if self._image is None or image.isEmpty():
            return
        painter.drawImage(image.topLeft(), self._scaled(image))
        frame = self.frame_rect()
        outside = QPainterPath()
        outside.addRect(image)
        inside = QPainterPath()
        inside.addRect(frame)
        painter.fillPath(outside.subtracted(inside), QColor(0, 0, 0, 110))
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.drawRect(frame)

    # --- dragging --------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.image_rect().isEmpty():
            return super().mousePressEvent(event)
        frame = self.frame_rect()
        # Inside the rectangle: drag it from where it was grabbed; elsewhere: centre it there, then drag.
        self._grab = frame.center() - event.position() if frame.contains(event.position()) else QPointF()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self.pan_requested.emit(self.to_scene(event.position() + self._grab))

    def mouseMoveEvent(self, event) -> None:
        if self._grab is not None:
            self.pan_requested.emit(self.to_scene(event.position() + self._grab))

    def mouseReleaseEvent(self, event) -> None:
        self._grab = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)


class NavigatorPanel(QWidget):
    """The zoom buttons above the navigator view."""

    def __init__(self, window, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = NavigatorView()
        self.buttons: dict[str, QToolButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        for name in ZOOM_LEVELS:
            button = QToolButton()
            button.setDefaultAction(window.action(name))  # shows the action's short icon text
            button.setAutoRaise(True)
            self.buttons[name] = button
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.view)
        layout.addStretch(1)


class Navigator(QObject):
    """Keeps a navigator dock showing the window's photo and where the viewer looks."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = NavigatorPanel(window)
        self.view = self.panel.view
        dock = add_dock(window, "Navigator", "navigatorDock", self.panel, Qt.DockWidgetArea.LeftDockWidgetArea,
                        floatable=True, hidden=True)
        self.dock = dock
        action = dock.toggleViewAction()
        action.setText("&Navigator")
        action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        action.setStatusTip("The whole photo with the part on screen outlined; drag the outline to pan")
        window.add_action("view", "navigator", action, before="show_develop")
        viewer = window.viewer
        viewer.view_changed.connect(self._follow_view)
        window.preview_shown.connect(self._follow_image)
        window.document_changed.connect(lambda document: self._follow_image(None))
        self.view.pan_requested.connect(viewer.center_on)

    def _follow_view(self) -> None:
        viewer = self.window.viewer
        self.view.set_view(viewer.scene_size, viewer.visible_scene_rect())

    def _follow_image(self, rendered) -> None:
        if rendered is None:
            self.view.set_image(None)
        elif not rendered.full_resolution:  # the proxy (its fitted copy when there is one) is plenty
            self.view.set_image(rendered.fitted or rendered.image)
        self._follow_view()
