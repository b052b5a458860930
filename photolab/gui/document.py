"""The open photo as a plain observable object: path, photos, proxy and recipe (the napari-style model).

Widgets observe a ``Document`` through its signals and change it only through ``set_recipe`` (called by
undo commands). Opening reads a fast preview first and the full-resolution photo in the background; the
recipe saved beside the photo (its sidecar) is applied on open and edits are written back to it, a moment
after each change and when the document closes. The original file is only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from photolab.core import io
from photolab.core import recipe as recipes
from photolab.core.develop.white_balance import as_shot_temperature
from photolab.core.errors import RecipeError
from photolab.core.photo import Photo, PhotoMetadata, downscaled
from photolab.core.recipe import Recipe
from photolab.gui.jobs import BACKGROUND, JobHandle, JobRunner
from photolab.jobs import Job

PROXY_SIDE = 1600  # long side of the screen-sized copy that sliders edit live
SIDECAR_SAVE_DELAY_MS = 700


@dataclass(frozen=True)
class _Loaded:
    photo: Photo
    proxy: Photo
    as_shot_white: tuple[float, float]  # (kelvin, tint) of the camera's white balance


def _loaded(photo: Photo, proxy_side: int) -> _Loaded:
    """The photo with what the window needs from it, computed here, off the GUI thread."""
    as_shot = tuple(float(value) for value in as_shot_temperature(photo.color))
    return _Loaded(photo, downscaled(photo, proxy_side), as_shot)


def _read_preview(context, path: str, proxy_side: int) -> _Loaded:
    photo = io.read_preview(path)
    context.check_cancelled()
    return _loaded(photo, proxy_side)


def _read_full(context, path: str, proxy_side: int) -> _Loaded:
    photo = io.read_photo(path, context=context.subtask(0.0, 0.9))
    context.progress(0.92, "Preparing the preview")
    return _loaded(photo, proxy_side)


def _write_sidecar(context, path: Path, recipe: Recipe, overwrite_unreadable: bool) -> Recipe:
    """Job work: save ``recipe`` beside the photo (nothing to write for a neutral recipe without a sidecar)."""
    if not recipe.is_neutral or recipes.sidecar_path(path).exists():
        recipes.save_sidecar(path, recipe, overwrite_unreadable=overwrite_unreadable)
    return recipe


class Document(QObject):
    """One photo being developed."""

    photo_changed = Signal()  # a first or better photo (and proxy) is available
    fully_loaded = Signal()  # the full-resolution photo is in ``full_photo``
    load_failed = Signal(str)  # a message for a person; the document is unusable
    load_cancelled = Signal()
    recipe_changed = Signal(object)  # the new Recipe
    sidecar_warning = Signal(str)  # the existing sidecar was ignored (invalid or from a newer version)
    sidecar_conflict = Signal(str)  # saving would overwrite a sidecar we cannot read: ask the user
    sidecar_save_failed = Signal(str)  # the sidecar could not be written (read-only folder, disk full)

    def __init__(self, path: str | Path, runner: JobRunner, *, proxy_side: int = PROXY_SIDE,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.proxy_side = proxy_side
        self.photo: Photo | None = None  # best available: the full photo once loaded, else the preview
        self.full_photo: Photo | None = None
        self.proxy: Photo | None = None  # ``photo`` downscaled to at most proxy_side
        self.as_shot_white: tuple[float, float] | None = None  # (kelvin, tint) the camera balanced for
        self.recipe = Recipe()
        self.saved_recipe = Recipe()  # what the sidecar on disk holds (or the neutral recipe)
        self.sidecar_writes_refused = False  # the user declined overwriting an unreadable sidecar
        self._runner = runner
        self._sidecar_read = False
        self._failed = False
        self._preview_error = ""
        self._handles: list[JobHandle] = []
        self._save_timer = QTimer(self, singleShot=True, interval=SIDECAR_SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._save_in_background)
        self._save_error_reported = False
        self._background_save: JobHandle | None = None
        self._save_again = False  # the recipe changed while a background save was running
        self._saves_started = 0  # the newest save wins; older outcomes are ignored

    # --- loading ---------------------------------------------------------------------------------------
    @property
    def metadata(self) -> PhotoMetadata | None:
        return self.photo.metadata if self.photo is not None else None

    @property
    def is_fully_loaded(self) -> bool:
        return self.full_photo is not None

    @property
    def is_loading(self) -> bool:
        return any(not handle.is_done for handle in self._handles)

    @property
    def full_size(self) -> tuple[int, int] | None:
        """(width, height) of the full-resolution upright photo, known from the preview's metadata."""
        if self.full_photo is not None:
            return self.full_photo.width, self.full_photo.height
        metadata = self.metadata
        if metadata is not None and metadata.width and metadata.height:
            return int(metadata.width), int(metadata.height)
        return (self.photo.width, self.photo.height) if self.photo is not None else None

    @property
    def proxy_scale(self) -> float:
        """Proxy pixels per full-resolution pixel (1.0 when the photo is small)."""
        size = self.full_size
        if self.proxy is None or size is None:
            return 1.0
        return self.proxy.width / size[0]

    def load(self) -> None:
        """Start reading: a quick preview and, in parallel, the full photo (shown in the status bar)."""
        path, name = str(self.path), self.path.name
        preview = Job(_read_preview, path, self.proxy_side, title=f"Preview of {name}")
        full = Job(_read_full, path, self.proxy_side, title=f"Opening {name}")
        preview_handle = self._runner.submit(preview, lane=BACKGROUND, visible=False)
        preview_handle.finished.connect(self._on_preview)
        preview_handle.failed.connect(self._on_preview_failed)
        full_handle = self._runner.submit(full, lane=BACKGROUND, visible=True, ask_before_quit=False)
        full_handle.finished.connect(self._on_full)
        full_handle.failed.connect(self._on_full_failed)
        full_handle.cancelled.connect(self._on_full_cancelled)
        self._handles = [preview_handle, full_handle]

    def cancel_loading(self) -> None:
        """Stop reading (the full photo may still be missing afterwards)."""
        for handle in self._handles:
            handle.cancel()

    def _on_preview(self, result: _Loaded) -> None:
        if self.full_photo is not None or self._failed:
            return
        self.photo, self.proxy, self.as_shot_white = result.photo, result.proxy, result.as_shot_white
        self._read_sidecar_once()
        self.photo_changed.emit()

    def _on_preview_failed(self, message: str) -> None:
        self._preview_error = message  # the full read reports the definitive error

    def _on_full(self, result: _Loaded) -> None:
        if self._failed:
            return
        self.photo = self.full_photo = result.photo
        self.proxy, self.as_shot_white = result.proxy, result.as_shot_white
        self._read_sidecar_once()
        self.photo_changed.emit()
        self.fully_loaded.emit()

    def _on_full_failed(self, message: str) -> None:
        self._failed = True
        self.load_failed.emit(message or self._preview_error or f"{self.path}: cannot be opened")

    def _on_full_cancelled(self) -> None:
        self._failed = True
        self.load_cancelled.emit()

    # --- the recipe and its sidecar -----------------------------------------------------------------
    def _read_sidecar_once(self) -> None:
        if self._sidecar_read:
            return
        self._sidecar_read = True
        recipe, warning = recipes.load_sidecar(self.path)
        if recipe is not None:
            self.recipe = self.saved_recipe = recipe
            self.recipe_changed.emit(recipe)
        if warning:
            self.sidecar_warning.emit(warning)

    def set_recipe(self, recipe: Recipe) -> None:
        """Replace the recipe (undo commands call this); the sidecar is saved shortly after."""
        if recipe == self.recipe:
            return
        self.recipe = recipe
        self.recipe_changed.emit(recipe)
        self._save_timer.start()

    @property
    def has_unsaved_edits(self) -> bool:
        return self.recipe != self.saved_recipe

    def _needs_saving(self, overwrite_unreadable: bool) -> bool:
        if not self.has_unsaved_edits or not self._sidecar_read:
            return False
        return overwrite_unreadable or not self.sidecar_writes_refused

    def _save_in_background(self) -> None:
        """The debounced save: written by a job, so a slow disk never stalls the window."""
        if not self._needs_saving(False):
            return
        if self._background_save is not None:
            self._save_again = True
            return
        self._saves_started += 1
        serial, recipe = self._saves_started, self.recipe
        handle = self._runner.submit(Job(_write_sidecar, self.path, recipe, False, title="Saving edits"),
                                     lane=BACKGROUND, visible=False)
        handle.ended.connect(lambda ended: self._on_background_saved(ended, serial, recipe))
        self._background_save = handle

    def _on_background_saved(self, handle: JobHandle, serial: int, recipe: Recipe) -> None:
        self._background_save = None
        if serial == self._saves_started:  # no newer save since
            if handle.job.error is None:
                self.saved_recipe = recipe
            else:
                self._report_save_error(handle.job.error, handle.job.error_message)
        if self._save_again:
            self._save_again = False
            self._save_in_background()

    def _report_save_error(self, error: BaseException, message: str) -> None:
        if isinstance(error, RecipeError):
            self.sidecar_conflict.emit(message)
        elif not self._save_error_reported:
            self._save_error_reported = True
            self.sidecar_save_failed.emit(message)

    def save_sidecar(self, *, overwrite_unreadable: bool = False) -> bool:
        """Write the recipe beside the photo now if it changed; True when the sidecar is up to date.

        Used when the photo closes and when the user agreed to replace an unreadable sidecar. Emits
        ``sidecar_conflict`` instead of overwriting a sidecar this version cannot read (the window asks
        the user and calls again with ``overwrite_unreadable=True``), and ``sidecar_save_failed`` (once per
        document) when the folder cannot be written.
        """
        self._save_timer.stop()
        self._save_again = False
        if self._background_save is not None:
            self._background_save.wait(10.0)  # it must not land after this newer save
        if not self._needs_saving(overwrite_unreadable):
            return not self.has_unsaved_edits
        self._saves_started += 1
        job = Job(_write_sidecar, self.path, self.recipe, overwrite_unreadable, title="Saving edits")
        job.run()
        if job.error is not None:
            self._report_save_error(job.error, job.error_message)
            return False
        self.saved_recipe = self.recipe
        self.sidecar_writes_refused = False
        return True

    def close(self) -> None:
        """Save pending edits and stop any loading; the document is not used afterwards."""
        self.save_sidecar()
        self.cancel_loading()
