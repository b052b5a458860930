"""Split before/after (View ▸ Split Before / After, Y): the unedited photo left of a draggable divider, the
edit right of it, in the main viewer (as the denoise loupe does at 100 %).

``SplitView`` keeps a second ``PreviewRenderer``, in "before" mode, rendering the window's document for the
viewer's left side; it renders again only when the geometry changes (the "before" photo is the photo with
its turns, straighten and crop only), so slider edits cost nothing more in split view. The painting helpers
here draw the divider and its captions.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from photolab.core.render import geometry_recipe
from photolab.gui.viewer.rendering import PreviewRenderer, RenderedImage
from photolab.gui.widgets.actions import new_action

HANDLE_GRAB = 6.0  # widget pixels either side of the divider that grab it
CAPTION = QRectF(0, 0, 64, 20)


def near_divider(split: float, width: float, point: QPointF) -> bool:
    """True when ``point`` (widget coordinates) grabs the divider at ``split`` of ``width``."""
    return abs(point.x() - split * width) <= HANDLE_GRAB


def same_scene(a: RenderedImage, b: RenderedImage) -> bool:
    """True when two renders show a photo of the same size (the "before" matches the edit's geometry)."""
    return all(abs(x - y) < 1.0 for x, y in zip(a.scene_size, b.scene_size))


def paint_divider(painter: QPainter, x: float, width: float, height: float) -> None:
    """The divider at ``x`` with a grip, "Before" top left and "After" top right of the viewer."""
    painter.save()
    painter.setPen(QPen(QColor(255, 255, 255, 220), 1))
    painter.drawLine(QPointF(x, 0), QPointF(x, height))
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(255, 255, 255, 220))
    painter.drawEllipse(QPointF(x, height / 2), HANDLE_GRAB, HANDLE_GRAB)
    painter.setPen(QColor(235, 235, 235))
    for text, rect in (("Before", CAPTION.translated(8, 8)), ("After", CAPTION.translated(width - 8 - CAPTION.width(), 8))):
        painter.fillRect(rect, QColor(0, 0, 0, 150))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


class SplitView(QObject):
    """The split view of one main window; its action ("split") turns it on and off."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.position = 0.5  # where the divider goes when split view comes on
        self.renderer = PreviewRenderer(window.runner, self)
        self.renderer.set_before(True)
        self._document = None
        self._geometry = None  # the geometry recipe the "before" photo was last rendered with
        viewer = window.viewer
        self.renderer.preview_ready.connect(viewer.set_before_rendered)
        self.renderer.full_ready.connect(viewer.set_before_rendered)
        viewer.full_resolution_wanted.connect(self.renderer.set_full_resolution_wanted)
        viewer.fit_area_changed.connect(self.renderer.set_fit_area)
        viewer.split_changed.connect(self._remember_position)
        window.document_changed.connect(self._on_document)
        window.action("crop").toggled.connect(self.renderer.set_crop_editing)
        self.action = window.add_action("view", "split", new_action(
            window, "&Split Before / After", self.set_active, ["Y"], checkable=True,
            tip="The photo before the edits left of a draggable divider, after them right of it"), after="before")
        window.action("before").toggled.connect(lambda on: on and self.action.setChecked(False))

    @property
    def active(self) -> bool:
        return self.action.isChecked()

    def set_active(self, on: bool) -> None:
        """Split view on (the Before / After toggle goes off) or off."""
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # comes back here through the action
            return
        viewer = self.window.viewer
        if on:
            self.window.action("before").setChecked(False)
            viewer.set_split(self.position)
            self.renderer.set_fit_area(*viewer.fit_area())
            self.renderer.set_crop_editing(self.window.action("crop").isChecked())
            self.renderer.set_full_resolution_wanted(viewer.wants_full_resolution)
            self._render(self.window.document)
        else:
            viewer.set_split(None)
            self._render(None)

    def _remember_position(self, fraction: float) -> None:
        self.position = fraction

    def _on_document(self, document) -> None:
        if self._document is not None:
            for signal, slot in ((self._document.recipe_changed, self._on_recipe),
                                 (self._document.photo_changed, self.renderer.invalidate)):
                try:
                    signal.disconnect(slot)
                except (RuntimeError, TypeError):  # already deleted or disconnected
                    pass
        self._document = document
        if document is not None:
            document.recipe_changed.connect(self._on_recipe)
            document.photo_changed.connect(self.renderer.invalidate)
        if self.active:
            self._render(document)

    def _render(self, document) -> None:
        self._geometry = geometry_recipe(document.recipe) if document is not None else None
        self.renderer.set_document(document)

    def _on_recipe(self, recipe) -> None:
        geometry = geometry_recipe(recipe)
        if self.active and geometry != self._geometry:
            self._geometry = geometry
            self.renderer.invalidate()
