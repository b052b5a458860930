"""The window's viewing and picking tools: before/after, the white-balance eyedropper, the crop tool.

Each tool changes what the viewer shows or how a click on it is read; edits they make go through the
window's ``apply_edit`` like every other edit, so they are undoable.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Qt

from photolab.gui.develop.white_balance_pick import spot_white_balance_job
from photolab.gui.jobs import INTERACTIVE, JobHandle
from photolab.gui.widgets import dialogs


class ViewTools(QObject):
    """Before/after, eyedropper and crop tool of one main window (its actions drive them)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._crop_drags = 0  # numbers the crop tool's drags: one drag, one undo step
        window.viewer.picked.connect(self.pick_white_balance)
        window.viewer.crop_edited.connect(self._on_crop_dragged)
        window.develop.eyedropper_toggled.connect(self._on_eyedropper)

    def reset(self) -> None:
        """Every tool off (another photo was opened)."""
        self.window.action("before").setChecked(False)
        self.window.action("crop").setChecked(False)
        self.window.develop.set_eyedropper_checked(False)

    def recipe_changed(self) -> None:
        if self.window.action("crop").isChecked():
            self._show_crop_overlay()

    def handle_key(self, key: int) -> bool:
        """Escape stops the eyedropper or the level tool; Enter or Escape ends the crop tool. True when the key
        was used."""
        window = self.window
        if key == Qt.Key.Key_Escape and window.develop.eyedropper.isChecked():
            window.develop.set_eyedropper_checked(False)
            return True
        if key == Qt.Key.Key_Escape and window.action("level").isChecked():
            window.action("level").setChecked(False)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape) and window.action("crop").isChecked():
            self.set_crop_tool(False)
            return True
        return False

    # --- before / after ---------------------------------------------------------------------------
    def set_before(self, before: bool) -> None:
        """Show the photo without its tone and colour edits (geometry kept), or with them."""
        window = self.window
        if window.action("before").isChecked() != before:
            window.action("before").setChecked(before)  # comes back here through the action
            return
        window.viewer.overlay_text = "Before" if before else ""
        window.renderer.set_before(before)
        window.viewer.update()

    # --- white-balance eyedropper -----------------------------------------------------------------
    def _on_eyedropper(self, on: bool) -> None:
        self.window.viewer.set_pick_mode(on)
        if on:
            self.window.statusBar().showMessage("Click something neutral grey or white in the photo (Esc: stop)")
        else:
            self.window.statusBar().clearMessage()

    def pick_white_balance(self, u: float, v: float) -> JobHandle | None:
        """White balance from the neutral spot at (u, v) (fractions of the shown photo)."""
        window = self.window
        document = window.document
        if document is None or document.proxy is None:
            return None
        window.develop.set_eyedropper_checked(False)
        recipe = document.recipe
        # (u, v) is a position in the photo as shown: uncropped while the crop tool is on.
        shown = recipe.with_enabled("crop", False) if window.action("crop").isChecked() else recipe
        handle = window.runner.submit(spot_white_balance_job(document.proxy, shown, u, v), lane=INTERACTIVE,
                                      visible=False)

        def apply(params, d=document, r=recipe):
            if d is window.document and d.recipe == r:
                window.apply_edit(r.with_params("white_balance", params), "White balance (picked)")
        handle.finished.connect(apply)
        handle.failed.connect(lambda message: dialogs.show_error(window, "White balance", message))
        return handle

    # --- crop tool --------------------------------------------------------------------------------
    def set_crop_tool(self, on: bool) -> None:
        """Edit the crop on the photo: the whole photo is shown with the crop as a draggable rectangle."""
        window = self.window
        if window.action("crop").isChecked() != on:
            window.action("crop").setChecked(on)  # comes back here through the action
            return
        window.renderer.set_crop_editing(on)
        if on:
            self._show_crop_overlay()
            window.statusBar().showMessage("Drag the crop rectangle; Enter or R when done")
        else:
            window.viewer.set_crop_overlay(None)
            window.statusBar().clearMessage()

    def _show_crop_overlay(self) -> None:
        document = self.window.document
        crop = document.recipe.get("crop") if document is not None else None
        self.window.viewer.set_crop_overlay(None if crop is None else (crop.left, crop.top, crop.right, crop.bottom))

    def _on_crop_dragged(self, rect, finished: bool) -> None:
        document = self.window.document
        if document is None:
            return
        left, top, right, bottom = rect
        crop = dataclasses.replace(document.recipe.get("crop"), left=left, top=top, right=right, bottom=bottom)
        self.window.apply_edit(document.recipe.with_params("crop", crop), "Crop", f"crop-drag#{self._crop_drags}")
        if finished:
            self._crop_drags += 1
