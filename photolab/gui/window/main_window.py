"""The main window: viewer in the middle, histogram, Develop and Info on the right, jobs in the status bar.

The window owns no photo data: it opens a ``Document``, shows what the ``PreviewRenderer`` makes of it, and
turns panel edits into undo commands on the document's recipe. Features plug in through its command API:
``add_action(menu_id, name, action)`` / ``menu(menu_id)`` / ``action(name)`` (see ``window.menus``) for their
commands, and ``track_job(handle, description)`` for work that quitting must ask about.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QMenu
from PySide6.QtWidgets import (QDialog, QGroupBox, QMainWindow, QScrollArea, QToolButton,
                               QVBoxLayout, QWidget)

from photolab.core import io
from photolab.core.recipe import Recipe
from photolab.gui.attention.view import AttentionView
from photolab.gui.classify.panel import ClassifyPanel
from photolab.gui.develop.denoise_tools import DenoiseTools
from photolab.gui.develop.level_tool import LevelTool
from photolab.gui.develop.panel import DevelopPanel
from photolab.gui.document import Document
from photolab.gui.export.commands import ExportCommands
from photolab.gui.denoise_adapt.wizard import install_adapt_action
from photolab.gui.look.wizard import install_look_action
from photolab.gui.finetune.wizard import install_finetune_action
from photolab.gui.folder.commands import FolderCommands
from photolab.gui.jobs import JobHandle, JobRunner
from photolab.gui.merge.commands import install_merge_action
from photolab.gui.models.manager_dialog import ModelManagerDialog
from photolab.gui.models.service import CurrentPhoto, ModelService
from photolab.gui.presets.commands import SettingsCommands
from photolab.gui.undo import RecipeEdit
from photolab.gui.viewer.histogram import HistogramWidget
from photolab.gui.viewer.image_viewer import ImageViewer
from photolab.gui.viewer.info_panel import InfoPanel
from photolab.gui.viewer.navigator import Navigator
from photolab.gui.viewer.rendering import PreviewRenderer, RenderedImage
from photolab.gui.viewer.split_view import SplitView
from photolab.gui.viewer.zoom_menu import ZOOM_ACTIONS, install_zoom_menu
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.docks import add_dock
from photolab.gui.window.job_status import JobStatus
from photolab.gui.window.menus import WindowCommands, install_window_actions
from photolab.gui.window.recent_files import RecentFiles
from photolab.gui.window.tools import ViewTools

APP_NAME = "PhotoLab"
OPEN_FOLDER_KEY = "open/folder"


def quit_question(running: list[str]) -> str:
    """What closing the window asks while the ``running`` jobs (their descriptions) would be cancelled."""
    if len(running) == 1:
        return f"{running[0]} is still running. Quit and cancel it?"
    titles = "".join(f"\n• {description}" for description in running)
    return f"{len(running)} jobs are still running:{titles}\n\nQuit and cancel them?"


class MainWindow(QMainWindow):
    """PhotoLab's single window."""

    document_changed = Signal(object)  # the new Document, or None
    preview_shown = Signal(object)  # RenderedImage now on screen

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 model_manager=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.settings = settings if settings is not None else QSettings()
        self.recent = RecentFiles(self.settings)
        self.document: Document | None = None
        self._opening: Document | None = None  # being read; replaces ``document`` once it shows something
        self.runner = JobRunner(self)
        self.undo_stack = QUndoStack(self)
        self.renderer = PreviewRenderer(self.runner, self)
        self.models = ModelService(self.runner, self.settings, model_manager, self)  # ModelManager, chosen model
        self.current_photo = CurrentPhoto(self)
        self.attention_view = None  # made when first shown
        self.model_manager_dialog = None
        self._tracked_jobs: dict[JobHandle, str] = {}  # running jobs a feature asked the quit check about

        self.viewer = ImageViewer()
        self.setCentralWidget(self.viewer)
        self.histogram = HistogramWidget()
        self.develop = DevelopPanel()
        self.info = InfoPanel()
        self._build_side_panel()
        self._build_classify_dock()
        self.tools = ViewTools(self)
        self.job_status = JobStatus(self.runner)
        self.zoom_label = QToolButton()  # the zoom, and the zoom menu (zoom_menu)
        self.statusBar().addPermanentWidget(self.job_status)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.commands = WindowCommands(self)
        install_window_actions(self)
        install_zoom_menu(self)  # Fill, 50 %, 200 % and the status bar's zoom menu
        self.split_view = SplitView(self)  # View ▸ Split Before / After
        self.level_tool = LevelTool(self)  # Photo ▸ Level Tool
        self.navigator = Navigator(self)  # View ▸ Navigator
        self.exports = ExportCommands(self)
        self.presets = SettingsCommands(self)  # Copy / Paste Settings, Presets
        self.folder = FolderCommands(self)  # Open Folder, the filmstrip, ratings, batch export
        install_finetune_action(self)
        install_adapt_action(self)
        install_look_action(self)
        install_merge_action(self)
        self.denoise_tools = DenoiseTools(self)  # Auto, the loupe dock, denoiser errors
        self.setAcceptDrops(True)

        self.renderer.preview_ready.connect(self._show_render)
        self.renderer.full_ready.connect(self._show_render)
        self.viewer.full_resolution_wanted.connect(self.renderer.set_full_resolution_wanted)
        self.viewer.fit_area_changed.connect(self.renderer.set_fit_area)
        self.viewer.zoom_changed.connect(self._show_zoom)
        self.develop.edit_requested.connect(self.apply_edit)
        self.develop.dragging.connect(self.renderer.set_dragging)  # drafts while a slider is dragged
        self._update_actions()
        self.resize(1400, 900)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    # --- construction -----------------------------------------------------------------------------
    def _build_side_panel(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.histogram)
        layout.addWidget(self.develop)
        info_box = QGroupBox("Info")
        QVBoxLayout(info_box).addWidget(self.info)
        layout.addWidget(info_box)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        self.side_dock = add_dock(self, "Develop", "developDock", scroll, Qt.DockWidgetArea.RightDockWidgetArea)

    def _build_classify_dock(self) -> None:
        """The Classify panel, in a dock tabbed behind Develop (it works only while shown)."""
        self.classify = ClassifyPanel(self.models, self.current_photo)
        self.classify.manage_requested.connect(self.show_model_manager)
        self.classify_dock = add_dock(self, "Classify", "classifyDock", self.classify,
                                      Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.side_dock, self.classify_dock)
        self.side_dock.raise_()

    def show_attention_view(self):
        """Show the (non-modal) Attention window for the current photo."""
        if self.attention_view is None:
            self.attention_view = AttentionView(self.models, self.current_photo, self.settings, self.recent.paths,
                                                self)
        self.attention_view.show()
        self.attention_view.raise_()
        return self.attention_view

    def show_model_manager(self):
        """Show the (non-modal) Model Manager dialog."""
        if self.model_manager_dialog is None:
            self.model_manager_dialog = ModelManagerDialog(self.models, self)
        self.model_manager_dialog.show()
        self.model_manager_dialog.raise_()
        return self.model_manager_dialog

    # --- the command API features use ------------------------------------------------------------------
    def add_action(self, menu_id: str, name: str, action: QAction, *, after: str | None = None,
                   before: str | None = None) -> QAction:
        """Put ``action`` in the menu ``menu_id`` and register it as ``name`` (see ``WindowCommands``)."""
        return self.commands.add_action(menu_id, name, action, after=after, before=before)

    def action(self, name: str) -> QAction:
        """The action registered as ``name``."""
        return self.commands.action(name)

    def menu(self, menu_id: str) -> QMenu:
        """The menu registered as ``menu_id``: file, edit, photo, view, models, help or recent."""
        return self.commands.menu(menu_id)

    def track_job(self, handle: JobHandle, description: str | None = None) -> JobHandle:
        """Ask about ``handle`` (as ``description``, else its title) when quitting while it runs, and cancel it
        on quit, whichever runner runs it."""
        self._tracked_jobs[handle] = description or handle.title
        handle.ended.connect(lambda ended: self._tracked_jobs.pop(ended, None))
        return handle

    def running_jobs(self) -> list[str]:
        """What every unfinished job that quitting would cancel does: the tracked ones, then the runner's other
        user work."""
        untracked = [h for h in self.runner.unfinished_work() if h not in self._tracked_jobs]
        return [d for h, d in self._tracked_jobs.items() if not h.is_done] + [h.title for h in untracked]

    def _update_actions(self) -> None:
        has_photo = self.document is not None
        for name in ("reset", "rotate_left", "rotate_right", "pick", "crop", "level", "before", "split",
                     *ZOOM_ACTIONS):
            self.action(name).setEnabled(has_photo)
        self.exports.set_enabled(has_photo and self.document.is_fully_loaded)
        self.presets.update_enabled()
        self.develop.setEnabled(has_photo)

    # --- opening --------------------------------------------------------------------------------------
    def open_folder(self) -> Path:
        """Where the Open dialog starts: the folder last chosen in it, else the current photo's, else home."""
        remembered = str(self.settings.value(OPEN_FOLDER_KEY, ""))
        if remembered and Path(remembered).is_dir():
            return Path(remembered)
        if self.document is not None:
            return self.document.path.parent
        return Path.home()

    def choose_and_open(self) -> None:
        path = dialogs.get_open_path(self, "Open photo", str(self.open_folder()), dialogs.open_file_filter())
        if path:
            self.settings.setValue(OPEN_FOLDER_KEY, str(Path(path).parent))
            self.open_path(path)

    def open_path(self, path: str | Path) -> Document:
        """Start opening ``path``; the current photo stays until the new one can be shown."""
        self._abandon_opening()
        document = Document(path, self.runner, parent=self)
        document.photo_changed.connect(lambda d=document: self._on_photo_changed(d))
        document.fully_loaded.connect(lambda d=document: self._on_fully_loaded(d))
        document.load_failed.connect(lambda message, d=document: self._on_load_failed(d, message))
        document.load_cancelled.connect(lambda d=document: self._on_load_cancelled(d))
        document.recipe_changed.connect(lambda recipe, d=document: self._on_recipe_changed(d, recipe))
        document.sidecar_warning.connect(lambda message: dialogs.show_warning(self, "Edits not loaded", message))
        document.sidecar_conflict.connect(lambda message, d=document: self._on_sidecar_conflict(d, message))
        document.sidecar_save_failed.connect(
            lambda message: dialogs.show_warning(self, "Edits not saved", f"Your edits cannot be saved: {message}"))
        self._opening = document
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        document.load()
        return document

    def _abandon_opening(self) -> None:
        """Stop reading the photo that has not been shown yet and let it go."""
        if self._opening is not None:
            self._opening.cancel_loading()
            self._opening.deleteLater()
            self._opening = None

    def _on_photo_changed(self, document: Document) -> None:
        if document is self._opening:
            self._opening = None
            self._switch_to(document)
        elif document is self.document:  # the full-resolution photo replaced the preview
            self.develop.set_photo(document.full_size, document.as_shot_white, document.metadata)
            self.info.set_metadata(document.metadata)
            self.renderer.invalidate()

    def _on_fully_loaded(self, document: Document) -> None:
        if document is self.document:
            self._update_actions()
            self.statusBar().showMessage(f"Opened {document.path.name}", 4000)

    def _switch_to(self, document: Document | None) -> None:
        if self.document is not None:
            self.document.close()
            self.document.deleteLater()
        self.document = document
        self.undo_stack.clear()
        self.tools.reset()
        self.renderer.set_document(document)
        if document is None:
            self.viewer.clear()
            self.histogram.set_counts(None)
            self.info.set_metadata(None)
            self.develop.set_photo(None)
            self.setWindowTitle(APP_NAME)
        else:
            self.viewer.clear()
            self.develop.set_photo(document.full_size, document.as_shot_white, document.metadata)
            self.develop.set_recipe(document.recipe)
            self.info.set_metadata(document.metadata)
            self.recent.add(document.path)
            self.setWindowTitle(f"{document.path.name} — {APP_NAME}")
        self._update_actions()
        self.document_changed.emit(document)

    def _on_load_failed(self, document: Document, message: str) -> None:
        if document is self._opening:
            self._abandon_opening()
        elif document is self.document:
            self._switch_to(None)
        else:
            return
        self.statusBar().showMessage("Could not open the photo", 5000)
        dialogs.show_error(self, "Cannot open photo", message)

    def _on_load_cancelled(self, document: Document) -> None:
        if document is self._opening:
            self._abandon_opening()
        elif document is self.document:
            self._switch_to(None)
        self.statusBar().showMessage(f"Opening {document.path.name} cancelled", 5000)

    def close_document(self) -> None:
        """Save the current photo's edits and show no photo."""
        self._switch_to(None)

    # --- recent files ---------------------------------------------------------------------------------
    def open_recent(self, path: str) -> None:
        """Open an Open Recent entry; one that no longer exists is removed, with a message."""
        if not Path(path).exists():
            self.recent.remove(path)
            dialogs.show_info(self, "Photo not found",
                              f"{path} no longer exists; it was removed from Open Recent.")
            return
        self.open_path(path)

    # --- drag and drop --------------------------------------------------------------------------------
    @staticmethod
    def dropped_path(mime) -> str | None:
        """The first local file in a drag whose extension PhotoLab reads, or None."""
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            url = QUrl(url)
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in io.SUPPORTED_EXTENSIONS:
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event) -> None:
        if self.dropped_path(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        path = self.dropped_path(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.open_path(path)
        else:
            event.ignore()

    # --- editing --------------------------------------------------------------------------------------
    def apply_edit(self, recipe: Recipe, text: str, merge_key: str = "") -> None:
        """Make ``recipe`` the document's recipe as one undoable step (merged with the previous step when
        both carry the same ``merge_key``, as the changes of one slider drag do)."""
        document = self.document
        if document is None or recipe == document.recipe:
            return
        self.undo_stack.push(RecipeEdit(document, document.recipe, recipe, text, merge_key))

    def reset_all_edits(self) -> None:
        self.apply_edit(Recipe(), "Reset all edits")

    def _on_recipe_changed(self, document: Document, recipe: Recipe) -> None:
        if document is self.document:
            self.develop.set_recipe(recipe)
            self.renderer.invalidate()
            self.tools.recipe_changed()

    def _on_sidecar_conflict(self, document: Document, message: str) -> None:
        question = f"{message}\n\nReplace it with the edits made now? (No keeps it; your edits are then not saved.)"
        if dialogs.ask_yes_no(self, "Replace edit file?", question):
            document.save_sidecar(overwrite_unreadable=True)
        else:
            document.sidecar_writes_refused = True
            self.statusBar().showMessage("Edits are not being saved for this photo", 8000)

    def keyPressEvent(self, event) -> None:
        if not self.tools.handle_key(event.key()):
            super().keyPressEvent(event)

    # --- showing --------------------------------------------------------------------------------------
    def _show_render(self, rendered: RenderedImage) -> None:
        self.viewer.set_rendered(rendered)
        if rendered.histogram is not None:
            self.histogram.set_counts(rendered.histogram)
        self.preview_shown.emit(rendered)

    def _show_zoom(self, zoom: float) -> None:
        text = f"{zoom * 100:.0f} %"
        self.zoom_label.setText(f"Fit ({text})" if self.viewer.is_fit else text)

    # --- dialogs --------------------------------------------------------------------------------------
    def exec_dialog(self, dialog: QDialog) -> bool:
        """Run a modal dialog; True when accepted (tests replace this)."""
        return dialog.exec() == QDialog.DialogCode.Accepted

    # --- closing --------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        running = self.running_jobs()
        if running and not dialogs.ask_yes_no(self, "Jobs running", quit_question(running)):
            event.ignore()
            return
        self._abandon_opening()
        self._switch_to(None)  # saves the edits
        for handle in list(self._tracked_jobs):
            handle.cancel()
        self.runner.cancel_all()
        self.runner.wait_for_done(10000)
        self.settings.setValue("window/geometry", self.saveGeometry())
        super().closeEvent(event)
