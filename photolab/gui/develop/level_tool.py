"""The level tool (Photo ▸ Level Tool, Shift+L, or Level beside the straighten slider): the user draws a line
along the horizon or a vertical on the photo, and the straighten angle is set so that it becomes level (or
plumb); one undoable edit, then the tool ends (Esc ends it without a line)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF

from photolab.core.level import levelled
from photolab.gui.widgets.actions import new_action

STATUS = "Draw a line along the horizon or a vertical on the photo (Esc: stop)"


class LevelTool(QObject):
    """The level tool of one main window (its action "level" and the panel's Level button drive it)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.action = window.add_action("photo", "level", new_action(
            window, "&Level Tool", self.set_active, ["Shift+L"], checkable=True,
            tip="Draw a line along the horizon or a vertical: the photo is straightened to make it level"),
            after="crop")
        button = window.develop.level_button
        button.toggled.connect(self.action.setChecked)
        self.action.toggled.connect(button.setChecked)
        window.viewer.level_drawn.connect(self.level)
        window.document_changed.connect(lambda _document: self.set_active(False))
        window.develop.eyedropper.toggled.connect(lambda on: on and self.set_active(False))

    def set_active(self, on: bool) -> None:
        """Start (a drag on the photo then draws the line) or stop the tool."""
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # comes back here through the action
            return
        window = self.window
        if on:
            window.develop.set_eyedropper_checked(False)
            window.statusBar().showMessage(STATUS)
        elif window.statusBar().currentMessage() == STATUS:
            window.statusBar().clearMessage()
        window.viewer.set_level_mode(on)

    def level(self, start: QPointF, end: QPointF) -> None:
        """Straighten so that the line from ``start`` to ``end`` (scene pixels of the photo as shown) is level."""
        window, document = self.window, self.window.document
        if document is None or not self.action.isChecked():
            return
        shown = window.viewer.displayed  # the line was drawn on this render: its straighten angle is the start
        basis = shown.recipe if shown is not None else document.recipe
        try:
            straighten = levelled(basis, (start.x(), start.y()), (end.x(), end.y())).get("straighten")
        except ValueError:
            return
        recipe = document.recipe.with_enabled("straighten", True).with_params("straighten", straighten)
        self.set_active(False)
        window.apply_edit(recipe, "Level")
