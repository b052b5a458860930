"""File ▸ Export… and Export with Previous Settings: the window's export commands and the export jobs they start.

Export with Previous Settings never replaces a file: it numbers the new one (NAME-1.jpg, NAME-2.jpg, ...).

``ExportCommands(window)`` adds both actions to the File menu through the window's command API and runs each
export as a Job on the window's runner, tracked so that quitting asks about it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from photolab.gui.export.dialog import ExportDialog, ExportRequest, export_job, remembered_request
from photolab.gui.jobs import JobHandle
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.actions import new_action


class ExportCommands(QObject):
    """Export the window's photo at full resolution: through the dialog, or as last time."""

    finished = Signal(object)  # Path written

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        window.add_action("file", "export", new_action(window, "&Export…", self.choose_and_export, ["Ctrl+Shift+E"],
                                                       tip="Export the developed photo"), before="quit_section")
        window.add_action("file", "export_again", new_action(
            window, "Export with &Previous Settings", self.export_with_previous, ["Ctrl+E"],
            tip="Export beside the original, as last time, numbering the file rather than replacing one"),
            before="quit_section")

    def set_enabled(self, enabled: bool) -> None:
        """Export needs the whole photo: enabled once it has fully loaded."""
        for name in ("export", "export_again"):
            self.window.action(name).setEnabled(enabled)

    def choose_and_export(self) -> None:
        """Ask for format and target, then export."""
        window = self.window
        if not self._check_exportable():
            return
        dialog = ExportDialog(window.document.path, window.settings, window, metadata=self._metadata())
        if window.exec_dialog(dialog):
            self.start(dialog.request())

    def export_with_previous(self) -> None:
        """Export beside the original with the last settings; an existing file is never replaced: the export
        is numbered instead (NAME-1.jpg, NAME-2.jpg, ...)."""
        window = self.window
        if not self._check_exportable():
            return
        request = remembered_request(window.settings, window.document.path, self._metadata())
        self.start(dataclasses.replace(request, replace=False))

    def _metadata(self):
        return self.window.document.metadata  # the full photo's once it has loaded

    def _check_exportable(self) -> bool:
        document = self.window.document
        if document is None:
            return False
        if not document.is_fully_loaded:
            dialogs.show_info(self.window, "Export", "The photo is still loading; export when it has opened.")
            return False
        return True

    def start(self, request: ExportRequest) -> JobHandle:
        """Export the current photo at full resolution in the background."""
        window = self.window
        document = window.document
        handle = window.runner.submit(export_job(document.full_photo, document.recipe, request))
        window.track_job(handle)
        handle.finished.connect(self._on_exported)
        handle.failed.connect(lambda message: dialogs.show_error(window, "Export failed", message))
        handle.cancelled.connect(lambda: window.statusBar().showMessage("Export cancelled", 5000))
        return handle

    def _on_exported(self, path) -> None:
        self.window.statusBar().showMessage(f"Exported {path}", 10000)
        self.finished.emit(Path(path))
