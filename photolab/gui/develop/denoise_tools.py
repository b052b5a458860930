"""The window's side of denoising: Auto (measure the photo's noise), the denoiser list, the loupe dock, and
what the user is told when a denoiser cannot run.

The denoise step itself is part of the recipe (``photolab.core.develop.denoise``), so previews, the 100 %
view and exports denoise through the same renders as every other edit, with progress and Cancel in the
status bar. torch is imported by jobs only, never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence

from photolab.core.develop.denoise import DenoiseParams
from photolab.core.noise_measure import auto_denoise_params
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe
from photolab.gui.jobs import BACKGROUND, JobHandle
from photolab.gui.viewer.loupe import Loupe, LoupePanel
from photolab.gui.widgets import dialogs
from photolab.gui.widgets.docks import add_dock
from photolab.jobs import Job
from photolab.services import installed_denoiser_names

OPERATION = "denoise"


def measure_noise(context, photo: Photo, recipe: Recipe) -> DenoiseParams:
    """Job work: :func:`~photolab.core.noise_measure.auto_denoise_params` of the full-resolution ``photo``."""
    context.progress(0.0, "Measuring the noise")
    params = auto_denoise_params(photo, recipe, progress=context.subtask(0.0, 0.5).progress)
    context.check_cancelled()
    return params


def installed_denoisers(context) -> tuple[list[str], str]:
    """Job work: the installed denoisers' names and the default's."""
    return installed_denoiser_names()


class DenoiseTools(QObject):
    """Auto, the model list, the loupe and denoise errors for one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.controls = window.develop.denoise
        self._auto: JobHandle | None = None
        self._models_listed = False
        self._reported: set[str] = set()  # warnings already shown for this photo
        self.controls.auto_requested.connect(self.estimate)
        window.preview_shown.connect(self._on_rendered)
        window.document_changed.connect(self._on_document)
        self._build_loupe()

    def _build_loupe(self) -> None:
        window = self.window
        self.loupe_panel = LoupePanel()
        self.loupe = Loupe(window, self.loupe_panel)
        # Below Develop (and the panels tabbed with it), so both are seen at once.
        dock = add_dock(window, "Loupe", "loupeDock", self.loupe_panel, Qt.DockWidgetArea.RightDockWidgetArea,
                        floatable=True, orientation=Qt.Orientation.Vertical, hidden=True)
        self.loupe_dock = dock
        action = dock.toggleViewAction()
        action.setText("&Loupe")
        action.setShortcut(QKeySequence("L"))
        action.setStatusTip("A 100 % view of the photo around the cursor, before and after")
        dock.visibilityChanged.connect(self.loupe.set_active)
        dock.visibilityChanged.connect(self.controls.loupe_button.setChecked)
        self.controls.loupe_toggled.connect(self.set_loupe_visible)
        window.add_action("view", "loupe", action, before="show_develop")

    def set_loupe_visible(self, visible: bool) -> None:
        if visible != self.loupe_dock.isVisible():
            self.loupe_dock.setVisible(visible)
            if visible:
                self.loupe_dock.raise_()

    # --- Auto ----------------------------------------------------------------------------------------
    def estimate(self) -> JobHandle | None:
        """Measure the current photo's noise at full resolution in the background, then set the strength
        (one undoable edit)."""
        window = self.window
        document = window.document
        if document is None or self._auto is not None:
            return None
        if document.full_photo is None:
            dialogs.show_info(window, "Denoise", "The photo is still loading; press Auto when it has opened.")
            return None
        handle = window.runner.submit(Job(measure_noise, document.full_photo, document.recipe,
                                          title="Measuring the noise"), lane=BACKGROUND, visible=True)
        handle.finished.connect(lambda params, d=document: self._on_measured(d, params))
        handle.failed.connect(lambda message: dialogs.show_error(window, "Denoise", message))
        handle.ended.connect(self._on_auto_ended)
        self._auto = handle
        self.controls.set_auto_busy(True)
        return handle

    def _on_measured(self, document, params: DenoiseParams) -> None:
        window = self.window
        if document is not window.document:
            return
        window.apply_edit(document.recipe.with_params(OPERATION, params), "Denoise auto")
        found = f"noise σ {params.sigma:g}" if params.sigma > 0 else "no noise"
        window.statusBar().showMessage(f"Measured {found} in {document.path.name}", 8000)

    def _on_auto_ended(self, _handle) -> None:
        self._auto = None
        self.controls.set_auto_busy(False)

    # --- the model list ------------------------------------------------------------------------------
    def list_models(self) -> JobHandle | None:
        """Fill the model selector (once; importing torch takes a moment, so it is a job)."""
        if self._models_listed:
            return None
        self._models_listed = True
        handle = self.window.runner.submit(Job(installed_denoisers, title="Listing denoisers"),
                                           lane=BACKGROUND, visible=False)
        handle.finished.connect(lambda found: self.controls.set_models(*found))
        return handle

    def relist_models(self) -> JobHandle | None:
        """List the denoisers again (a new one was saved)."""
        self._models_listed = False
        return self.list_models()

    # --- errors --------------------------------------------------------------------------------------
    def _on_document(self, document) -> None:
        self._reported.clear()
        if document is not None:
            document.recipe_changed.connect(self._on_recipe)
            self._on_recipe(document.recipe)

    def _on_recipe(self, recipe: Recipe) -> None:
        if recipe.is_active(OPERATION):
            self.list_models()

    def _on_rendered(self, rendered) -> None:
        """A render left denoising out (the weights are missing or damaged): say so once per photo."""
        message = rendered.warning
        if not message or message in self._reported:
            return
        self._reported.add(message)
        if "look" in message.lower():
            self.window.statusBar().showMessage("The look is off: it cannot be applied", 10000)
            dialogs.show_error(self.window, "Cannot apply the look", f"{message}\n\nThe photo is shown without "
                                                                    f"its learned steps.")
            return
        self.window.statusBar().showMessage("Denoising is off: the denoiser cannot run", 10000)
        dialogs.show_error(self.window, "Cannot denoise", f"{message}\n\nThe photo is shown without denoising.")
