"""The folder workflow of the window: File ▸ Open Folder… (and ``photolab FOLDER``), the filmstrip dock, moving
through the photos, ratings and the reject flag, Export Selected Photos, and pasting settings or a preset onto
every selected photo.

``FolderCommands(window)`` adds its actions through the window's command API. Ratings (keys 0-5, X toggles
the reject flag, as in Lightroom) apply to the photos selected in the filmstrip, else to the open photo, and
are written to their sidecars by a background job. Batch export and pasting run as jobs too; their failures
are listed per photo when they end.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMenu

from photolab.batch_export import BatchOptions, BatchOutcome, export_batch
from photolab.core.errors import PhotoLabError
from photolab.core.folder import list_photos
from photolab.core.rating import Rating, set_rating
from photolab.core.recipe import CopiedSettings
from photolab.core.settings_batch import PasteOutcome, paste_onto_files
from photolab.gui.export.dialog import remembered_request
from photolab.gui.folder.filmstrip import Filmstrip
from photolab.gui.jobs import JobHandle
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.actions import new_action
from photolab.gui.widgets.docks import add_dock
from photolab.jobs import Job

OPEN_DELAY_MS = 150  # holding an arrow key opens the photo it stops on, not every one it passes
LAST_FOLDER_KEY = "open/photo_folder"
MAX_LISTED_ERRORS = 20


def _rate(context, paths: list[Path], stars: int | None, rejected: bool | None) -> list[tuple[Path, object]]:
    """Job work: write the rating of each photo; (path, new Rating or an error message) per photo."""
    results = []
    for index, path in enumerate(paths):
        context.progress(index / max(1, len(paths)), f"Rating {path.name}")
        try:
            results.append((path, set_rating(path, stars=stars, rejected=rejected)))
        except (PhotoLabError, OSError, ValueError) as exc:
            results.append((path, str(exc)))
    return results


def _paste(context, paths: list[Path], settings: CopiedSettings) -> PasteOutcome:
    """Job work: paste ``settings`` into the sidecars of ``paths``."""
    return paste_onto_files(paths, settings, context=context)


def error_list(errors: list[tuple[Path, str]]) -> str:
    """One line per failed photo (at most MAX_LISTED_ERRORS, then how many more)."""
    lines = [f"• {path.name}: {message}" for path, message in errors[:MAX_LISTED_ERRORS]]
    if len(errors) > MAX_LISTED_ERRORS:
        lines.append(f"… and {len(errors) - MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


class FolderCommands(QObject):
    """Open Folder, the filmstrip, ratings, batch export and batch paste of one window."""

    batch_ended = Signal(object)  # the JobHandle of a batch export or paste, once its outcome is shown
    ratings_written = Signal()  # a rating job has ended

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.filmstrip = Filmstrip(window.runner)
        self.dock = add_dock(window, "Filmstrip", "filmstripDock", self.filmstrip,
                             Qt.DockWidgetArea.BottomDockWidgetArea, hidden=True)
        self._open_timer = QTimer(self, singleShot=True, interval=OPEN_DELAY_MS)
        self._open_timer.timeout.connect(self._open_current)
        self.rating_jobs: list[JobHandle] = []
        self._batch_sizes: dict[JobHandle, int] = {}  # photos per running batch export
        self._shown_before: dict[Path, Rating] = {}  # ratings shown before a rating job that has not ended
        self._install_actions()
        self.filmstrip.current_changed.connect(self._schedule_open)
        self.filmstrip.selection_changed.connect(self.update_enabled)
        window.document_changed.connect(self._on_document_changed)
        self.update_enabled()

    def _install_actions(self) -> None:
        window, add = self.window, self.window.add_action
        add("file", "open_folder", new_action(window, "Open &Folder…", self.choose_and_open_folder, ["Ctrl+Shift+O"],
                                              tip="Show a folder's photos in the filmstrip"), after="open")
        add("file", "export_selected", new_action(
            window, "Export &Selected Photos", self.export_selected, ["Ctrl+Alt+E"],
            tip="Export the photos selected in the filmstrip with the previous export settings"),
            before="quit_section")
        menu = QMenu("Ra&ting", window)
        window.commands.add_submenu("photo", "rating", menu)
        for stars in range(6):
            label = "&0  No stars" if stars == 0 else f"&{stars}  {'★' * stars}"
            add("rating", f"rate_{stars}", new_action(window, label, lambda checked=False, s=stars: self.rate(stars=s),
                                                      [str(stars)]))
        add("rating", "reject", new_action(window, "&Reject / Unreject", self.toggle_reject, ["X"],
                                           tip="Mark the photos as rejected (or no longer rejected)"))
        add("photo", "next_photo", new_action(window, "&Next Photo", lambda: self.filmstrip.move(1), ["Ctrl+Right"]))
        add("photo", "previous_photo", new_action(window, "Pre&vious Photo", lambda: self.filmstrip.move(-1),
                                                  ["Ctrl+Left"]))
        add("view", "show_filmstrip", self.dock.toggleViewAction())

    def update_enabled(self) -> None:
        has_folder = self.filmstrip.model.rowCount() > 0
        has_target = bool(self.targets())
        for name in ("next_photo", "previous_photo"):
            self.window.action(name).setEnabled(has_folder)
        for name in (*(f"rate_{stars}" for stars in range(6)), "reject", "export_selected"):
            self.window.action(name).setEnabled(has_target)

    # --- opening --------------------------------------------------------------------------------------
    def choose_and_open_folder(self) -> None:
        start = str(self.window.settings.value(LAST_FOLDER_KEY, "") or self.window.open_folder())
        folder = dialogs.get_folder_path(self.window, "Open folder", start)
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> bool:
        """Show ``folder``'s photos in the filmstrip and open the first; a folder that cannot be read or holds
        no photos is reported. True when it is shown."""
        folder = Path(folder)
        try:
            paths = list_photos(folder)
        except PhotoLabError as exc:
            dialogs.show_error(self.window, "Cannot open folder", str(exc))
            return False
        if not paths:
            dialogs.show_info(self.window, "Open folder", f"{folder} holds no photos PhotoLab reads.")
            return False
        self.window.settings.setValue(LAST_FOLDER_KEY, str(folder))
        self.filmstrip.set_folder(folder, paths)
        self.dock.show()
        self.filmstrip.move(0)
        self.filmstrip.view.setFocus()
        self.update_enabled()
        return True

    def _schedule_open(self, path) -> None:
        self._open_timer.start()

    def _open_current(self) -> None:
        path = self.filmstrip.current_path()
        document = self.window.document
        if path is None or (document is not None and document.path == path):
            return
        self.window.open_path(path)

    def _on_document_changed(self, document) -> None:
        """Keep the strip on the open photo; one opened from elsewhere leaves nothing selected in it, so the
        rating keys rate the photo on screen."""
        if document is not None and document.path != self.filmstrip.current_path():
            if not self.filmstrip.select_path(document.path, open_it=False):
                self.filmstrip.clear_selection()
        self.update_enabled()

    # --- ratings --------------------------------------------------------------------------------------
    def targets(self) -> list[Path]:
        """What the rating and export commands act on: the selected photos, else the open one."""
        selected = self.filmstrip.selected_paths()
        if selected:
            return selected
        document = self.window.document
        return [document.path] if document is not None else []

    def rate(self, *, stars: int | None = None, rejected: bool | None = None) -> JobHandle | None:
        """Set the stars and/or the reject flag of the targets: shown at once, written by a background job."""
        paths = self.targets()
        if not paths:
            return None
        model = self.filmstrip.model
        for path in paths:  # optimistic: the job reports any photo it could not rate
            row = model.row_of(path)
            if row >= 0:
                old = model.entries[row].rating
                self._shown_before.setdefault(path, old)  # what to show again if the write fails
                model.set_rating(path, Rating(old.stars if stars is None else stars,
                                              old.rejected if rejected is None else rejected))
        title = f"Rating {len(paths)} photos" if len(paths) > 1 else f"Rating {paths[0].name}"
        handle = self.window.runner.submit(Job(_rate, paths, stars, rejected, title=title), visible=len(paths) > 1)
        handle.finished.connect(self._on_rated)
        handle.ended.connect(self._on_rating_ended)
        self.rating_jobs.append(handle)
        label = "rejected" if rejected else "not rejected" if rejected is False else f"{stars} stars"
        self.window.statusBar().showMessage(f"{title}: {label}", 3000)
        return handle

    def toggle_reject(self) -> JobHandle | None:
        """Reject the targets, or un-reject them when all are rejected already."""
        paths = self.targets()
        model = self.filmstrip.model
        ratings = [model.entries[model.row_of(p)].rating for p in paths if model.row_of(p) >= 0]
        return self.rate(rejected=not (ratings and all(r.rejected for r in ratings)))

    def _on_rating_ended(self, handle: JobHandle) -> None:
        self.rating_jobs.remove(handle)
        self.ratings_written.emit()

    def _on_rated(self, results) -> None:
        errors = []
        for path, outcome in results:
            before = self._shown_before.pop(path, None)
            if isinstance(outcome, Rating):
                self.filmstrip.model.set_rating(path, outcome)
            else:
                errors.append((path, outcome))
                if before is not None:
                    self.filmstrip.model.set_rating(path, before)
        if errors:
            dialogs.show_warning(self.window, "Rating not saved",
                                 f"{len(errors)} photo(s) could not be rated:\n{error_list(errors)}")

    # --- batch export ---------------------------------------------------------------------------------
    def export_selected(self) -> JobHandle | None:
        """Export the targets at full resolution with the previous export settings, beside each original
        (numbered rather than replacing a file), in the background."""
        paths = self.targets()
        if not paths:
            return None
        self._save_open_edits()
        request = remembered_request(self.window.settings, paths[0])
        options = BatchOptions(request.file_format, request.quality, request.resize, request.sharpening,
                               request.color_space, request.name_template)
        job = Job(export_batch, paths, options, title=f"Exporting {len(paths)} photo{'s' * (len(paths) > 1)}")
        handle = self.window.track_job(self.window.runner.submit(job))
        self._batch_sizes[handle] = len(paths)
        handle.ended.connect(self._on_export_ended)
        return handle

    def _on_export_ended(self, handle: JobHandle) -> None:
        window, count = self.window, self._batch_sizes.pop(handle, 0)
        if handle.job.error is not None:
            dialogs.show_error(window, "Export failed", handle.job.error_message)
        elif handle.job.result is None:
            window.statusBar().showMessage("Export cancelled; the photos finished before are kept", 8000)
        else:
            outcome: BatchOutcome = handle.job.result
            if outcome.errors:
                dialogs.show_warning(window, "Export", f"{len(outcome.written)} of {count} photos exported; "
                                     f"{len(outcome.errors)} failed:\n{error_list(outcome.errors)}")
            else:
                window.statusBar().showMessage(f"Exported {len(outcome.written)} photos", 10000)
        self.batch_ended.emit(handle)

    # --- pasting onto several photos ------------------------------------------------------------------
    def apply_to_selection(self, settings: CopiedSettings, text: str) -> bool:
        """With several photos selected, paste ``settings`` onto all of them: the open one as an undoable
        edit, the others' sidecars by a background job. False (nothing done) with one photo or none."""
        paths = self.filmstrip.selected_paths()
        if len(paths) < 2:
            return False
        document = self.window.document
        others = [path for path in paths if document is None or path != document.path]
        if document is not None and len(others) < len(paths):
            self.window.apply_edit(settings.paste_onto(document.recipe), text)
        job = Job(_paste, others, settings, title=f"{text} ({len(paths)} photos)")
        handle = self.window.track_job(self.window.runner.submit(job))
        handle.ended.connect(self._on_paste_ended)
        return True

    def _on_paste_ended(self, handle: JobHandle) -> None:
        window = self.window
        if handle.job.error is not None:
            dialogs.show_error(window, handle.title, handle.job.error_message)
        elif handle.job.result is not None:
            outcome: PasteOutcome = handle.job.result
            if outcome.errors:
                dialogs.show_warning(window, handle.title, f"{len(outcome.errors)} photo(s) were not changed:\n"
                                     f"{error_list(outcome.errors)}")
            else:
                window.statusBar().showMessage(f"{handle.title}: done", 5000)
        self.batch_ended.emit(handle)

    def _save_open_edits(self) -> None:
        """Write the open photo's pending edits, so a batch reads them from its sidecar."""
        if self.window.document is not None:
            self.window.document.save_sidecar()
